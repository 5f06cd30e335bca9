/**
 * The client package (client/): its generated types are what the served OpenAPI document says
 * (regenerated here and compared with the committed file), and it imports nothing of the
 * service, so it builds and ships on its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SCHEMA_FILE, generateSchema } from '../../client/scripts/generate.ts';

const CLIENT = fileURLToPath(new URL('../../client/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|mts|js)$/.test(e.name) ? [join(dir, e.name)] : []));
}

/** Every module specifier of a file: static and dynamic imports, re-exports, require. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const re of [/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g]) {
    for (const m of text.matchAll(re)) out.push(m[1] as string);
  }
  return out;
}

describe('client package', () => {
  it('client/src/schema.ts is what openapi-typescript makes of the served document (run client/scripts/generate.ts)', async () => {
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), await generateSchema(), 'client/src/schema.ts is stale: run `node --import tsx client/scripts/generate.ts`');
  });

  it('imports only its own modules and node: built-ins', () => {
    const files = sources(join(CLIENT, 'src'));
    assert.ok(files.length >= 4, 'found the client sources');
    const found: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        const ownModule = spec.startsWith('./') && !spec.includes('..');
        if (!ownModule && !spec.startsWith('node:')) found.push(`${file.slice(CLIENT.length)}: ${spec}`);
      }
    }
    assert.deepEqual(found, [], 'the client imports something outside client/src');
    // The scan itself sees each form of import (so an empty list above means something).
    assert.deepEqual(specifiers(`import a from '../src/x.ts';\nexport * from "../../queues/y.ts";\nconst w = await import('../workers/z.ts');\nimport 'side';`).sort(), [
      '../../queues/y.ts',
      '../src/x.ts',
      '../workers/z.ts',
      'side',
    ]);
  });

  it('is publishable on its own: not private, entry points and types in dist, MIT, Node 22+', () => {
    const pkg = JSON.parse(readFileSync(join(CLIENT, 'package.json'), 'utf8')) as Record<string, any>;
    assert.equal(pkg.private, undefined);
    assert.match(pkg.name, /^@invoice-worker\/client$/);
    assert.equal(pkg.license, 'MIT');
    assert.equal(pkg.engines.node, '>=22');
    assert.equal(pkg.exports['.'].default, './dist/index.js');
    assert.equal(pkg.types, './dist/index.d.ts');
    assert.deepEqual(pkg.files, ['dist', 'README.md']);
    assert.deepEqual(pkg.dependencies ?? {}, {}, 'no runtime dependencies: global fetch and node:crypto');
    const tsconfig = JSON.parse(readFileSync(join(CLIENT, 'tsconfig.json'), 'utf8')) as { include: string[]; compilerOptions: { outDir: string } };
    assert.deepEqual(tsconfig.include, ['src']);
    assert.equal(tsconfig.compilerOptions.outDir, 'dist');
  });
});

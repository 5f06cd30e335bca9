/**
 * The tree keeps the shape ARCHITECTURE.md describes: every repository path the README, the
 * architecture page, the docs and the source comments name exists; at most ten modules sit loose at
 * src/ top level; no source file in src/, queues/ or workers/ is over 500 lines; Lua lives in .lua
 * files. (The import-cycle check is `npm run cycles`, run by `npm test` before the tests.)
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

const ROOT = join(import.meta.dirname, '..', '..');

function walk(dir: string, keep: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path, keep));
    else if (keep(path)) out.push(path);
  }
  return out;
}

const SOURCE_DIRS = ['src', 'queues', 'workers'];
const sources = SOURCE_DIRS.flatMap((d) => walk(d, (p) => p.endsWith('.ts')));
const docs = ['README.md', 'ARCHITECTURE.md', ...walk('docs', (p) => p.endsWith('.md')), ...walk('bench', (p) => p.endsWith('.md'))];

/**
 * A repository path as prose names it: a top-level folder, then a file with an extension. Not one
 * inside a URL or another path (`dist/src/main.js`, a provider's repository on GitHub), not a glob.
 */
const PATH = /(?<![\w/.@-])(?:src|queues|workers|test|bench|deploy|client|docs)\/[\w./-]*\w\.(?:ts|lua|md|json|ya?ml|py|sh)\b/g;

function namedPaths(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...new Set([...text.matchAll(PATH)].map((m) => m[0]))];
}

describe('layout', () => {
  it('every repository path named in the README, ARCHITECTURE.md, docs and source comments exists', () => {
    const missing: string[] = [];
    for (const file of [...docs, ...sources]) {
      for (const path of namedPaths(file)) if (!existsSync(join(ROOT, path))) missing.push(`${file}: ${path}`);
    }
    assert.deepEqual(missing, []);
  });

  it('at most ten modules are loose at src/ top level', () => {
    const loose = readdirSync(join(ROOT, 'src')).filter((name) => name.endsWith('.ts'));
    assert.ok(loose.length <= 10, `${loose.length} loose modules: ${loose.join(', ')}`);
  });

  it('no source file in src/, queues/ or workers/ is over 500 lines', () => {
    const long = sources
      .map((path) => ({ path, lines: readFileSync(join(ROOT, path), 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > 500)
      .map((f) => `${f.path}: ${f.lines}`);
    assert.deepEqual(long, []);
  });

  it('Lua is kept in .lua files, not in TypeScript strings', () => {
    const inline = sources.filter((path) => /redis\.call\(/.test(readFileSync(join(ROOT, path), 'utf8')));
    assert.deepEqual(inline, []);
  });

  it('the README Layout names every folder under src/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const layout = readme.slice(readme.indexOf('## Layout'), readme.indexOf('\n## ', readme.indexOf('## Layout') + 1));
    const folders = readdirSync(join(ROOT, 'src')).filter((name) => statSync(join(ROOT, 'src', name)).isDirectory());
    const unnamed = folders.filter((name) => !layout.includes(`src/${name}/`)).map((name) => relative(ROOT, join(ROOT, 'src', name)));
    assert.deepEqual(unnamed, []);
  });
});

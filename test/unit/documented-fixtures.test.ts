// The documented-message fixtures stay what SOURCES.md says they are: every file listed exists,
// every file is listed and catalogued, every .json parses, and every source is a public page of
// one of the providers' documentation hosts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DOCUMENTED } from '../fixtures/providers/documented/index.ts';

const dir = fileURLToPath(new URL('../fixtures/providers/documented/', import.meta.url));
const OWN = new Set(['SOURCES.md', 'NOTES.md', 'index.ts']);
const HOSTS = new Set(['docs.cryptoprocessing.com', 'docs.lt.cryptoprocessing.com', 'docs.alphapo.net', 'docs.cryptosteroid.com']);

function walk(at: string): string[] {
  return readdirSync(at, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(at, entry.name)) : [relative(dir, join(at, entry.name)).split('\\').join('/')],
  );
}

interface Row {
  file: string;
  docFile: string | undefined;
  sources: string[];
}

/** The table rows of SOURCES.md: first column the fixture, second its doc text (or —), third the source URL(s). */
function sourceRows(): Row[] {
  const text = readFileSync(join(dir, 'SOURCES.md'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
      const file = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
      assert.ok(file !== undefined, `a SOURCES.md row names no file: ${line}`);
      const docFile = /^`([^`]+)`$/.exec(cells[2] ?? '')?.[1];
      const sources = (cells[3] ?? '').split(' ; ').map((source) => source.trim());
      return { file, docFile, sources };
    });
}

function isPublicDocSource(source: string): boolean {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:') return false;
  if (HOSTS.has(url.hostname)) return true;
  return url.hostname === 'github.com' && url.pathname.startsWith('/coinspaid/docs/');
}

describe('documented provider fixtures', () => {
  const rows = sourceRows();
  const onDisk = walk(dir).filter((file) => !OWN.has(file));

  it('lists at least the messages the adapters are tested against', () => {
    const listed = new Set(rows.map((row) => row.file));
    for (const file of [
      'platform/invoice-callback-installment-pending.json',
      'platform/invoice-callback-processing-mempool-convert-eur.json',
      'platform/invoice-callback-confirmed-after-installments.json',
      'platform/invoice-callback-failed-timer-not-paid.json',
      'platform/invoice-callback-failed-processing-too-long.json',
      'platform/invoice-callback-failed-paid-less.json',
      'platform/deposit-callback.json',
      'platform/transactions-info-by-foreign-id.json',
      'platform/cancel-invalid-state.json',
      'platform/error-amount-too-small.json',
    ]) {
      assert.ok(listed.has(file), `${file} is not in SOURCES.md`);
    }
  });

  it('every file listed in SOURCES.md exists', () => {
    const present = new Set(onDisk);
    for (const row of rows) {
      assert.ok(present.has(row.file), `${row.file} is listed but missing`);
      if (row.docFile !== undefined) assert.ok(present.has(row.docFile), `${row.docFile} is listed but missing`);
    }
  });

  it('every file in the folder is listed in SOURCES.md and catalogued', () => {
    const listed = new Set(rows.flatMap((row) => (row.docFile === undefined ? [row.file] : [row.file, row.docFile])));
    const catalogued = new Set(DOCUMENTED.map((message) => message.file));
    for (const file of onDisk) {
      assert.ok(listed.has(file), `${file} is not listed in SOURCES.md`);
      if (file.endsWith('.json')) assert.ok(catalogued.has(file), `${file} is not in the DOCUMENTED catalogue`);
    }
    assert.equal(DOCUMENTED.length, rows.length, 'one catalogue entry per SOURCES.md row');
  });

  it('every .json parses, and a .txt exists only beside a repaired .json', () => {
    for (const file of onDisk.filter((name) => name.endsWith('.json'))) {
      assert.doesNotThrow(() => JSON.parse(readFileSync(join(dir, file), 'utf8')), `${file} is not valid JSON`);
    }
    for (const file of onDisk.filter((name) => name.endsWith('.txt'))) {
      const repaired = DOCUMENTED.filter((message) => message.docFile === file);
      assert.ok(repaired.length > 0, `${file} is no repaired message's doc text`);
      for (const message of repaired) assert.ok((message.repair ?? '').length > 0, `${message.file} does not say what was repaired`);
    }
  });

  it('the catalogue agrees with SOURCES.md and with the files', () => {
    const byFile = new Map(rows.map((row) => [row.file, row]));
    for (const message of DOCUMENTED) {
      const row = byFile.get(message.file);
      assert.ok(row !== undefined, `${message.file} is catalogued but not in SOURCES.md`);
      assert.equal(row.sources[0], message.source, `${message.file}: the catalogue's source differs from SOURCES.md`);
      assert.equal(row.docFile, message.docFile, `${message.file}: doc text file differs`);
      assert.equal(message.file.split('/')[0], message.provider, `${message.file} is filed under another provider`);
      assert.deepEqual(message.body, JSON.parse(message.raw));
    }
  });

  it('every source is an https URL on one of the providers\u2019 public documentation hosts', () => {
    for (const row of rows) {
      assert.ok(row.sources.length > 0 && row.sources[0] !== '', `${row.file} has no source`);
      for (const source of row.sources) assert.ok(isPublicDocSource(source), `${row.file}: ${source} is not a public provider doc URL`);
    }
    for (const message of DOCUMENTED) assert.ok(isPublicDocSource(message.source), `${message.file}: ${message.source}`);
  });
});

/**
 * The OpenAPI document passes two independent linters with nothing to report: Redocly CLI with its
 * `recommended` ruleset and Spectral with `spectral:oas` (both pinned dev dependencies, run from
 * node_modules, offline: no telemetry, no update check, the rulesets built in). A warning counts
 * as a failure, so the document stays clean as it grows.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openApiJson } from '../../src/http/openapi.ts';

const run = promisify(execFile);
const bin = (name: string): string => join(import.meta.dirname, '..', '..', 'node_modules', '.bin', name);
const offline = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_UPDATE_NOTIFIER: '1' };

/** Runs a linter that exits non-zero when it found something; its report is read either way. */
async function lint(file: string, args: string[]): Promise<string> {
  try {
    return (await run(file, args, { env: offline, maxBuffer: 20 * 1024 * 1024, timeout: 120_000 })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; code?: number | string };
    if (typeof e.code === 'number' && e.stdout !== undefined) return e.stdout;
    throw err;
  }
}

describe('OpenAPI document linters', () => {
  let dir: string;
  let doc: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openapi-lint-'));
    doc = join(dir, 'openapi.json');
    writeFileSync(doc, openApiJson());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('Redocly (recommended) reports no error and no warning', async () => {
    const out = await lint(bin('redocly'), ['lint', doc, '--format=json', '--extends=recommended']);
    const report = JSON.parse(out) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string; location: Array<{ pointer?: string }> }> };
    const problems = report.problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location.map((l) => l.pointer).join(', ')}`);
    assert.deepEqual(problems, []);
    assert.deepEqual({ errors: report.totals.errors, warnings: report.totals.warnings }, { errors: 0, warnings: 0 });
  });

  it('Spectral (spectral:oas) reports nothing', async () => {
    const ruleset = join(dir, 'ruleset.json');
    writeFileSync(ruleset, JSON.stringify({ extends: ['spectral:oas'] }));
    const report = join(dir, 'spectral.json');
    await lint(bin('spectral'), ['lint', doc, '--ruleset', ruleset, '--format', 'json', '--output', report, '--fail-severity', 'hint']);
    const results = JSON.parse(readFileSync(report, 'utf8')) as Array<{ code: string; message: string; severity: number; path: string[] }>;
    assert.deepEqual(
      results.map((r) => `${r.code} (severity ${r.severity}): ${r.message} at ${r.path.join('/')}`),
      [],
    );
  });
});

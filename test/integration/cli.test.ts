/**
 * The operator CLI, spawned as a real process against the test Redis prefix, with the workers of
 * an in-process test system doing the submitting.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/index.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(t: TestSystem, args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL,
    QUEUE_PREFIX: t.prefix,
    CREATE_ATTEMPTS: '1',
    LOG_LEVEL: 'info',
    CRYPTOPROCESSING_BASE_URL: t.sandbox.baseUrls.cryptoprocessing,
    CRYPTOPROCESSING_API_KEY: SANDBOX_CREDENTIALS.cryptoprocessing.apiKey,
    CRYPTOPROCESSING_API_SECRET: SANDBOX_CREDENTIALS.cryptoprocessing.apiSecret,
    ALPHAPO_BASE_URL: t.sandbox.baseUrls.alphapo,
    ALPHAPO_API_KEY: SANDBOX_CREDENTIALS.alphapo.apiKey,
    ALPHAPO_API_SECRET: SANDBOX_CREDENTIALS.alphapo.apiSecret,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('cli', () => {
  let t: TestSystem;
  let dir: string;
  before(async () => {
    t = await startTestSystem({ env: { CREATE_ATTEMPTS: '1' } });
    dir = mkdtempSync(join(tmpdir(), 'iw-cli-'));
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const created = (provider: string, id: string) =>
    t.waitFor(async () => (await t.results()).find((r) => r.provider === provider && r.foreign_id === id && r.status === 'created'), `created ${id}`);

  it('enqueue reports each line (with line numbers and fields for invalid ones) and a summary', async () => {
    const a = sampleOrder('cryptoprocessing', 'cli-1');
    const lines = [
      JSON.stringify(a),
      '',
      '{"provider": "alphapo", ',
      JSON.stringify({ provider: 'cryptoprocessing', foreign_id: 'cli-bad', amount: 12.5, currency: 'EUR', title: 'x'.repeat(60) }),
      JSON.stringify(a),
      JSON.stringify({ ...a, amount: '99.00' }),
      JSON.stringify(sampleOrder('alphapo', 'cli-2')),
    ];
    const file = join(dir, 'orders.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const run = await cli(t, ['enqueue', file]);
    assert.equal(run.code, 2, `some lines were refused\n${run.stdout}${run.stderr}`);
    const out = run.stdout.trim().split('\n');
    assert.equal(out[0], 'line 1: accepted cryptoprocessing/cli-1 (queued)');
    assert.match(out[1] ?? '', /^line 3: invalid: \(line\): not valid JSON/);
    assert.match(out[2] ?? '', /^line 4: invalid: .*amount: .*title: /);
    assert.match(out[3] ?? '', /^line 5: existing cryptoprocessing\/cli-1/);
    assert.match(out[4] ?? '', /^line 6: conflict cli-1: /);
    assert.equal(out[5], 'line 7: accepted alphapo/cli-2 (queued)');
    assert.equal(out[6], 'summary: 6 orders: 2 accepted, 1 existing, 1 conflict, 2 invalid');
    await created('cryptoprocessing', 'cli-1');
    await created('alphapo', 'cli-2');
    assert.equal(await t.system.store.get('cryptoprocessing', 'cli-bad'), null, 'nothing recorded for an invalid line');
    assert.equal(t.sandbox.count('cryptoprocessing', 'cli-1'), 1);
  });

  it('show prints the invoice, its history and its job, without personal data; an unknown one exits 1', async () => {
    const [found, missing, usage] = await Promise.all([
      cli(t, ['show', 'cryptoprocessing', 'cli-1']),
      cli(t, ['show', 'cryptoprocessing', 'nope']),
      cli(t, ['show', 'bitpay', 'x']),
    ]);
    assert.equal(found.code, 0, found.stderr);
    const view = JSON.parse(found.stdout);
    assert.equal(view.status, 'created');
    assert.deepEqual(
      view.history.map((h: { to: string }) => h.to),
      ['queued', 'created'],
    );
    assert.equal(view.create_job.state, 'completed');
    assert.equal(found.stdout.includes('payer@example.com'), false);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no invoice for cryptoprocessing\/nope/);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /provider must be one of/);
  });

  it('failed lists failed submissions; retry --all-failed honours filters, limit and dry run; retry retries one', async () => {
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    for (const id of ['cli-f1', 'cli-f2', 'cli-f3']) assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', id))).status, 202);
    for (const id of ['cli-f1', 'cli-f2', 'cli-f3']) {
      await t.waitFor(async () => (await (await t.createJob('alphapo', id))?.getState()) === 'failed', `failed ${id}`);
    }
    t.sandbox.clearFaults();

    const [listed, none, dry] = await Promise.all([
      cli(t, ['failed', '--provider', 'alphapo', '--json']),
      cli(t, ['failed', '--provider', 'cryptoprocessing']),
      cli(t, ['retry', '--all-failed', '--provider', 'alphapo', '--reason', 'HTTP 500', '--dry-run']),
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    const items = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(items.map((i: { foreign_id: string }) => i.foreign_id).sort(), ['cli-f1', 'cli-f2', 'cli-f3']);
    assert.ok(items.every((i: { retryable: boolean; status: string }) => i.retryable && i.status === 'queued'));
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^0 failed submission/);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout.match(/^would retry alphapo\/cli-f\d$/gm)?.length, 3);
    assert.equal((await t.createCounts('failed')).failed, 3, 'a dry run changes nothing');

    const bulk = await cli(t, ['retry', '--all-failed', '--provider', 'alphapo', '--reason', 'http 500', '--limit', '2', '--by', 'night-shift']);
    assert.equal(bulk.code, 0, bulk.stderr);
    const retried = [...bulk.stdout.matchAll(/^retried alphapo\/(cli-f\d)$/gm)].map((m) => m[1] as string);
    assert.equal(retried.length, 2);
    assert.match(bulk.stdout, /summary: 2 matched, 2 retried, 0 skipped/);
    assert.match(bulk.stderr, /"msg":"submission retried"/);
    assert.match(bulk.stderr, /"by":"night-shift"/);
    assert.match(bulk.stderr, /"via":"cli"/);
    for (const id of retried) await created('alphapo', id);
    const left = ['cli-f1', 'cli-f2', 'cli-f3'].find((id) => !retried.includes(id)) as string;

    const one = await cli(t, ['retry', 'alphapo', left]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`^retrying alphapo/${left} \\(its job was failed\\)`));
    assert.match(one.stderr, /"by":"cli:/, 'defaults to the OS user');
    await created('alphapo', left);
    for (const id of ['cli-f1', 'cli-f2', 'cli-f3']) assert.equal(t.sandbox.count('alphapo', id), 1);

    const again = await cli(t, ['retry', 'alphapo', left]);
    assert.equal(again.code, 2);
    assert.match(again.stdout, /is created; only submissions not yet at the provider can be retried/);
  });
});

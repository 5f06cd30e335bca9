/**
 * docs/examples/receiver.py, the standard-library Python receiver docs/results.md shows, run with
 * python3 against real deliveries of a running system: it verifies and accepts every result of
 * the orders, drops a redelivered one as a duplicate, and refuses a forged, a tampered and a
 * stale request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const RECEIVER = fileURLToPath(new URL('../../docs/examples/receiver.py', import.meta.url));

type Line = { listening?: number; accepted?: string; duplicate?: string; refused?: string; foreign_id?: string; status?: string; event?: string };

function sign(secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}

describe('the Python receiver (standard library) against real deliveries', () => {
  let t: TestSystem;
  let python: ChildProcess;
  const lines: Line[] = [];
  let url = '';
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  before(async () => {
    python = spawn('python3', [RECEIVER, '0'], { env: { ...process.env, WEBHOOK_SECRETS: secret }, stdio: ['ignore', 'pipe', 'inherit'] });
    const listening = new Promise<number>((resolve, reject) => {
      python.once('error', reject);
      python.once('exit', (code) => reject(new Error(`receiver.py exited (${code}) before listening`)));
      createInterface({ input: python.stdout! }).on('line', (text) => {
        const line = JSON.parse(text) as Line;
        lines.push(line);
        if (line.listening) resolve(line.listening);
      });
    });
    url = `http://127.0.0.1:${await listening}/results`;
    t = await startTestSystem();
  });
  after(async () => {
    const exited = new Promise((resolve) => python.once('exit', resolve));
    python.kill();
    await exited;
    await t.close();
  });

  it('verifies and accepts every result, drops a redelivery, refuses forged, tampered and stale requests', async () => {
    const endpoint = await t.post('/v1/webhook-endpoints', { url, secret, description: 'python receiver' });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    const ids = ['py-1', 'py-2', 'py-3'];
    for (const id of ids) assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', id))).status, 202);
    // Withdraw one: its invoice has two results, delivered in order.
    await t.waitFor(async () => (await t.get('/v1/invoices/alphapo/py-1')).body.status === 'created', 'py-1 created');
    assert.equal((await t.post('/v1/invoices/alphapo/py-1/cancel', { reason: 'test' })).status, 200);

    const published = await t.waitFor(async () => {
      const mine = (await t.results()).filter((r) => ids.includes(r.foreign_id));
      return mine.length === 4 ? mine : null;
    }, 'four results published');
    const accepted = await t.waitFor(async () => {
      const got = lines.filter((l) => l.accepted);
      return got.length >= 4 ? got : null;
    }, 'the receiver accepted four results');
    assert.deepEqual(accepted.map((l) => l.accepted).sort(), published.map((r) => r.event_id).sort());
    assert.deepEqual(
      accepted.filter((l) => l.foreign_id === 'py-1').map((l) => l.status),
      ['created', 'cancelled'],
    );
    assert.deepEqual(
      lines.filter((l) => l.refused),
      [],
    );

    // The same result redelivered (same webhook-id) is verified and dropped.
    const redeliver = await t.post(`/v1/webhook-endpoints/${endpoint.body.endpoint.id}/redeliver`, { event_id: accepted[0]!.accepted });
    assert.equal(redeliver.status, 202);
    await t.waitFor(async () => lines.some((l) => l.duplicate === accepted[0]!.accepted), 'the redelivery dropped as a duplicate');

    // Forged: signed with another secret; tampered: a real signature over another body; stale: an hour old.
    const body = JSON.stringify({ ...published[0], status: 'paid' });
    const now = Math.floor(Date.now() / 1000);
    const forged = await fetch(url, { method: 'POST', headers: sign(`whsec_${randomBytes(32).toString('base64')}`, 'forged-1', now, body), body });
    assert.equal(forged.status, 401);
    const headers = sign(secret, 'tampered-1', now, body);
    const tampered = await fetch(url, { method: 'POST', headers, body: body.replace('"paid"', '"cancelled"') });
    assert.equal(tampered.status, 401);
    const stale = await fetch(url, { method: 'POST', headers: sign(secret, 'stale-1', now - 3600, body), body });
    assert.equal(stale.status, 401);
    await t.waitFor(async () => lines.filter((l) => l.refused).length === 3, 'three refusals printed');
    assert.deepEqual(
      lines.filter((l) => l.refused).map((l) => l.refused),
      ['no v1 signature matches', 'no v1 signature matches', 'timestamp too far from now'],
    );
    // Nothing forged was accepted.
    assert.equal(lines.filter((l) => l.accepted).length, 4);
  });
});

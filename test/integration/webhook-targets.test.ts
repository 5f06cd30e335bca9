/**
 * Webhook targets that cannot reach inside, through the real API and the real delivery worker:
 * registration refuses internal addresses in every spelling, credentials in the URL, plain http
 * and weak secrets (400 naming the field, nothing stored); a name that resolves inside at delivery
 * time is refused without a connection; secrets are never shown again. With the development switch
 * on (receivers on this machine): a 410 disables the endpoint and holds its deliveries until it is
 * enabled; a redirect is not followed; a receiver that drips its answer fails at the deadline and
 * frees the slot; a 50 MB answer is read no further than the cap.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { webhookJobId } from '../../queues/webhooks.ts';
import { INTERNAL_HOSTS } from '../helpers/internal-hosts.ts';

/** A receiver whose answer the test scripts; counts the requests it got. */
class Receiver {
  server: Server;
  url = '';
  hits = 0;
  constructor(public answer: (res: ServerResponse) => void) {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.hits++;
        this.answer(res);
      });
    });
  }
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const ok = (res: ServerResponse): void => void res.writeHead(204).end();

describe('webhook targets: internal addresses refused (WEBHOOK_ALLOW_PRIVATE off)', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_RETRY_SCHEDULE_MS: '100' } });
  });
  after(async () => {
    await t?.close();
  });

  it('every internal address form, credentials in the URL and plain http are refused at registration, 400 naming url; nothing is stored', async () => {
    const urls = [
      ...INTERNAL_HOSTS.map((h) => `https://${h}/hooks`),
      'https://localhost:22/',
      'https://localhost./x',
      'https://user:password@example.com/hooks',
      'http://example.com/hooks',
      'http://127.0.0.1:8080/hooks',
      'ftp://example.com/x',
    ];
    for (const url of urls) {
      const res = await t.post('/v1/webhook-endpoints', { url });
      assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(
        res.body.issues.map((i: { field: string }) => i.field),
        ['url'],
        url,
      );
    }
    assert.deepEqual((await t.get('/v1/webhook-endpoints')).body.endpoints, [], 'nothing stored');
  });

  it('weak secrets are refused, 400 naming secret', async () => {
    for (const secret of [
      `whsec_${Buffer.alloc(32).toString('base64')}`,
      `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
      `whsec_${Buffer.from('short-secret-16b').toString('base64')}`,
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    ]) {
      const res = await t.post('/v1/webhook-endpoints', { url: 'https://8.8.8.8/hooks', secret });
      assert.equal(res.status, 400, secret);
      assert.deepEqual(
        res.body.issues.map((i: { field: string }) => i.field),
        ['secret'],
      );
    }
  });

  it('a public address is accepted; its secret is shown once, then only a prefix, in the listing and in GET', async () => {
    const res = await t.post('/v1/webhook-endpoints', { url: 'https://8.8.8.8/hooks' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const secret = res.body.secret as string;
    const id = res.body.endpoint.id as string;
    const listing = await t.get('/v1/webhook-endpoints');
    const one = await t.get(`/v1/webhook-endpoints/${id}`);
    assert.equal(one.status, 200);
    for (const answer of [listing.body, one.body]) assert.equal(JSON.stringify(answer).includes(secret.slice(6, 20)), false, 'no secret shown again');
    assert.deepEqual(one.body.endpoint.secrets, [{ prefix: `${secret.slice(0, 10)}...` }]);
    const rotated = await t.post(`/v1/webhook-endpoints/${id}/rotate`, {});
    assert.equal(rotated.status, 201);
    const after = JSON.stringify((await t.get(`/v1/webhook-endpoints/${id}`)).body);
    assert.equal(after.includes((rotated.body.secret as string).slice(6, 20)) || after.includes(secret.slice(6, 20)), false);
    assert.equal((await t.get('/v1/webhook-endpoints/nope')).status, 404);
    assert.equal((await t.post(`/v1/webhook-endpoints/${id}/disable`, {})).status, 200, 'kept out of the delivery tests below');
  });

  it('a name that resolves to an internal address at delivery time is refused without a connection', async () => {
    // Registered while the name pointed elsewhere (stored directly: the API would refuse it now).
    let connections = 0;
    const inside = createTcpServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => inside.listen(0, '127.0.0.1', resolve));
    try {
      const port = (inside.address() as AddressInfo).port;
      const e = await t.system.endpoints.create({ url: `https://localhost:${port}/hooks` });
      assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'rebind-1'))).status, 202);
      const eventId = await t.waitFor(async () => (await t.results()).find((r) => r.foreign_id === 'rebind-1')?.event_id, 'the created result');
      const attempts = await t.waitFor(async () => {
        const log = await t.system.endpoints.deliveries(e.id, eventId);
        return log.length >= 2 ? log : undefined;
      }, 'two refused attempts');
      assert.deepEqual(
        attempts.map((a) => a.outcome),
        attempts.map(() => 'TARGET_REFUSED'),
      );
      assert.equal(connections, 0, 'never connected');
      await t.system.endpoints.remove(e.id);
    } finally {
      await new Promise((r) => inside.close(r));
    }
  });
});

describe('webhook receivers that misbehave (WEBHOOK_ALLOW_PRIVATE on: receivers on this machine)', () => {
  let t: TestSystem;
  const receivers: Receiver[] = [];
  const receiver = async (answer: (res: ServerResponse) => void): Promise<Receiver> => {
    const r = await new Receiver(answer).start();
    receivers.push(r);
    return r;
  };
  const register = async (url: string): Promise<string> => {
    const res = await t.post('/v1/webhook-endpoints', { url });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.endpoint.id as string;
  };
  const eventOf = (fid: string) => t.waitFor(async () => (await t.results()).find((r) => r.foreign_id === fid)?.event_id, `the result of ${fid}`);
  const attemptsOf = (endpoint: string, eventId: string, n: number) =>
    t.waitFor(async () => {
      const log = await t.system.endpoints.deliveries(endpoint, eventId);
      return log.length >= n ? log.reverse() : undefined;
    }, `${n} attempts to ${endpoint}`);

  before(async () => {
    t = await startTestSystem({
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE_MS: '200,200,200', WEBHOOK_TIMEOUT_MS: '1500', WEBHOOK_CONCURRENCY: '1' },
    });
  });
  after(async () => {
    await t?.close();
    for (const r of receivers) await r.stop();
  });
  const disableAll = async () => {
    for (const e of await t.system.endpoints.list()) await t.system.endpoints.setStatus(e.id, 'disabled');
  };

  it('a 410 disables the endpoint: nothing more is sent, GET says why, and enabling it delivers what was held', async () => {
    const gone = await receiver((res) => void res.writeHead(410).end());
    const id = await register(gone.url);
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'gone-1'))).status, 202);
    await t.waitFor(async () => (await t.get(`/v1/webhook-endpoints/${id}`)).body.endpoint.status === 'disabled', 'disabled by the 410');
    const shown = (await t.get(`/v1/webhook-endpoints/${id}`)).body.endpoint;
    assert.match(shown.disabled_reason, /410/);
    assert.equal(gone.hits, 1);
    // More results while it is disabled: held, not sent.
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'gone-2'))).status, 202);
    const held = await eventOf('gone-2');
    await t.waitFor(async () => (await (await t.system.webhooksQueue.getJob(webhookJobId(id, held)))?.getState()) === 'delayed', 'held while disabled');
    assert.equal(gone.hits, 1, 'nothing sent while disabled');
    gone.answer = ok;
    assert.equal((await t.post(`/v1/webhook-endpoints/${id}/enable`, {})).status, 200);
    await t.waitFor(async () => gone.hits >= 3, 'both results delivered after enabling');
    await disableAll();
  });

  it('a redirect is not followed: the attempt fails with the 3xx, and the target of the redirect sees nothing', async () => {
    const elsewhere = await receiver(ok);
    const redirecting = await receiver((res) => void res.writeHead(307, { location: elsewhere.url }).end());
    const id = await register(redirecting.url);
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'redir-1'))).status, 202);
    const attempts = await attemptsOf(id, await eventOf('redir-1'), 2);
    assert.deepEqual(
      attempts.slice(0, 2).map((a) => a.outcome),
      [307, 307],
    );
    assert.equal(elsewhere.hits, 0);
    await disableAll();
  });

  it('a receiver that drips its answer fails at the deadline and frees the slot for the others; a 50 MB answer is cut at the cap', async () => {
    let written = 0;
    const drips = await receiver((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const drip = setInterval(() => res.write('.'), 200);
      res.on('close', () => clearInterval(drip));
    });
    const huge = await receiver((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 0x2e);
      const pump = (): void => {
        while (written < 50 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const fine = await receiver(ok);
    const dripId = await register(drips.url);
    const hugeId = await register(huge.url);
    await register(fine.url);
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'slow-1'))).status, 202);
    const eventId = await eventOf('slow-1');
    // One delivery at a time (WEBHOOK_CONCURRENCY=1): the healthy receiver gets its result only
    // because the drip was cut at the deadline.
    await t.waitFor(async () => fine.hits >= 1, 'the healthy receiver served');
    const dripped = await attemptsOf(dripId, eventId, 1);
    assert.equal(dripped[0]?.outcome, 'DEADLINE');
    // The receiver's status line said 200: it has the result. Its body is not needed, and reading
    // it stops at the cap.
    const cut = await attemptsOf(hugeId, eventId, 1);
    assert.equal(cut[0]?.outcome, 200);
    assert.ok(written < 50 * 1024 * 1024, `the huge answer was cut (${written} bytes written)`);
    await disableAll();
  });
});

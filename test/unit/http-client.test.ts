/**
 * The provider HTTP client on real sockets: a refused connection (provably never delivered) is
 * tried again `connectRetries` times, then is ProviderUnavailable; an answered request goes out
 * once, whatever it says; a request that may have been delivered is never sent twice.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutcomeUnknown, ProviderUnavailable } from '../../src/errors.ts';
import { createHttpClient, type HttpRequest } from '../../src/providers/http.ts';
import { freePort } from '../helpers/ports.ts';

describe('provider HTTP client', () => {
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const req = (baseUrl: string): HttpRequest => ({ provider: 'test', baseUrl, method: 'POST', path: '/create', body: '{}' });

  it('a refused connection is tried 1 + connectRetries times, then is ProviderUnavailable', async () => {
    const baseUrl = `http://127.0.0.1:${await freePort()}`;
    for (const retries of [0, 2]) {
      const outcomes: Array<number | 'error'> = [];
      const http = createHttpClient({ connectRetries: retries, onResponse: (_r, res) => outcomes.push(res.status) });
      await assert.rejects(http.request(req(baseUrl)), ProviderUnavailable);
      assert.deepEqual(
        outcomes,
        Array.from({ length: retries + 1 }, () => 'error'),
      );
      await http.close();
    }
  });

  it('an answer, even a 503, is one request; a connection cut after sending is OutcomeUnknown, never re-sent', async () => {
    let hits = 0;
    const answering = await serve((_q, res) => {
      hits++;
      res.writeHead(503).end('busy');
    });
    const http = createHttpClient({ connectRetries: 2 });
    const res = await http.request(req(answering));
    assert.equal(res.status, 503);
    assert.equal(hits, 1);

    let received = 0;
    const cutting = await serve((q) => {
      received++;
      q.socket.destroy();
    });
    await assert.rejects(http.request(req(cutting)), OutcomeUnknown);
    assert.equal(received, 1, 'delivered once, not retried');
    await http.close();
  });
  it('a body dripping a byte every 300 ms fails at the one deadline (headers and body together) as OutcomeUnknown, and the socket is closed', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((r) => (closed = r));
    const dripping = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      // Each byte comes well within any idle timer: only an overall deadline ends this.
      const drip = setInterval(() => res.write(' '), 300);
      res.on('close', () => {
        clearInterval(drip);
        closed();
      });
    });
    const http = createHttpClient({ responseTimeoutMs: 1200 });
    const err = await http.request(req(dripping)).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof OutcomeUnknown, String(err));
    assert.match((err as Error).message, /no full answer within 1200 ms/);
    await serverSawClose;
    await http.close();
  });

  for (const announced of [true, false]) {
    it(`a 50 MB answer (${announced ? 'with' : 'without'} Content-Length) is cut at the cap: OutcomeUnknown, and the sender is stopped long before 50 MB`, async () => {
      const total = 50 * 1024 * 1024;
      let written = 0;
      let closed!: () => void;
      const serverSawClose = new Promise<void>((r) => (closed = r));
      const huge = await serve((_q, res) => {
        res.writeHead(200, { 'content-type': 'application/json', ...(announced ? { 'content-length': String(total) } : {}) });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = (): void => {
          while (written < total && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (written >= total) res.end();
        };
        res.on('close', () => closed());
        pump();
      });
      const http = createHttpClient({ maxBodyBytes: 1024 * 1024 });
      const err = await http.request(req(huge)).then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof OutcomeUnknown, String(err));
      assert.match((err as Error).message, /larger than 1048576 bytes/);
      await serverSawClose;
      assert.ok(written < total, `the sender was cut off (${written} of ${total} bytes written)`);
      await http.close();
    });
  }
});

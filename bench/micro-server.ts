/**
 * Servers for the hot-path measurements (hot-path.ts), each a process of its own so that its CPU
 * is read apart from the driver's. Prints one JSON line, `{"port":n}`, once listening.
 *
 * - MICRO=answer: every request is answered with a provider's create answer (the platform's
 *   invoice shape, about 700 bytes), for reading it through the provider HTTP client's options.
 * - MICRO=deadline-on / deadline-off: an express app whose one route reads a key from Redis
 *   (REDIS_URL) and answers it as JSON, with or without the Redis deadline in front of it
 *   (src/redis/watch.ts: its watch connection and the per-request bounded wait), mounted as
 *   src/http/app.ts mounts it.
 */
import { createServer } from 'node:http';
import express from 'express';
import { pino } from 'pino';
import { connect } from '../src/redis/connect.ts';
import { RedisWatch, lateAnswer, redisDeadline } from '../src/redis/watch.ts';

const mode = process.env.MICRO ?? 'answer';
const UNAVAILABLE_MS = 2000;

/** A platform invoice create answer, as the sandbox gives one (field for field, values made up). */
export const CREATE_ANSWER = JSON.stringify({
  data: {
    id: 1048576,
    foreign_id: 'bench-0f3c9a1e-1234',
    type: 'invoice',
    status: 'created',
    url: 'https://pay.cryptoprocessing.example/invoice/8a4b0c3e-2f51-4f7e-9d3a-5b6c7d8e9f01',
    amount: '100.50',
    currency: 'EUR',
    sender_currency: null,
    receiver_currency: 'EUR',
    timer: false,
    title: 'Order bench-0f3c9a1e-1234',
    description: 'Two mugs and a teapot',
    email_user: 'p***@example.com',
    end_user_reference: 'cust-42',
    url_success: 'https://shop.example/ok',
    url_failed: 'https://shop.example/fail',
    created_at: '2026-12-07T05:00:00+00:00',
    expires_at: null,
    transactions: [],
    fees: [],
  },
});

async function main(): Promise<void> {
  if (mode === 'answer') {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(CREATE_ANSWER) });
        res.end(CREATE_ANSWER);
      });
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));
    return;
  }
  if (mode !== 'deadline-on' && mode !== 'deadline-off') throw new Error(`unknown MICRO ${mode}`);
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const key = process.env.MICRO_KEY ?? 'bench-micro';
  const redis = connect(url);
  const app = express();
  if (mode === 'deadline-on') {
    const watch = new RedisWatch({ url, connectionName: 'bench-micro-watch', log: pino({ level: 'silent' }), unavailableMs: UNAVAILABLE_MS }).start();
    app.use(['/v1'], redisDeadline(watch, UNAVAILABLE_MS));
  }
  app.get('/v1/thing', async (_req, res) => {
    res.json({ value: await redis.get(key) });
  });
  app.use(lateAnswer);
  const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));
  server.keepAliveTimeout = 60_000;
}

process.once('SIGTERM', () => process.exit(0));
await main();

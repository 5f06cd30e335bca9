/**
 * Callback ingest: authentic provider callbacks (platform bodies signed with HMAC-SHA512 over the
 * exact bytes, CryptoSteroid webhooks with the order's token) for invoices the pipeline created,
 * sent open-loop at a fixed rate to the API's webhook routes. Measures the rate of 200s and the
 * time from sending each one to its 200; then how long the worker takes to apply them all.
 */
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Pool } from 'undici';
import type { RedisClient } from '../src/redis.ts';
import { signBody } from '../src/signing.ts';
import { scanKeys } from './redis-tools.ts';
import type { SandboxInfo } from './stack.ts';

interface Target {
  id: string;
  provider: string;
  kind: string;
  foreignId: string;
  providerInvoiceId: string;
  secret: string;
  amount: string;
}

interface Prepared {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Up to `limit` created invoices of the prefix, read straight from the store. */
async function targets(redis: RedisClient, prefix: string, limit: number): Promise<Target[]> {
  const out: Target[] = [];
  const fields = ['provider', 'kind', 'foreign_id', 'provider_invoice_id', 'secret', 'amount', 'status'] as const;
  await scanKeys(redis, `${prefix}:store:inv`, async (node, keys) => {
    if (out.length >= limit) return;
    const pipe = node.pipeline();
    for (const k of keys) pipe.hmget(k, ...fields);
    const res = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const v = (res[i]?.[1] ?? []) as Array<string | null>;
      if (out.length >= limit || v[6] !== 'created' || !v[3]) return;
      out.push({ id: k.slice(`${prefix}:store:inv:`.length), provider: v[0]!, kind: v[1]!, foreignId: v[2]!, providerInvoiceId: v[3], secret: v[4]!, amount: v[5]! });
    });
  });
  return out;
}

function prepare(t: Target, sandbox: SandboxInfo, i: number): Prepared {
  const now = Math.floor(Date.now() / 1000);
  if (t.provider === 'cryptosteroid') {
    const body = JSON.stringify({
      merchantId: sandbox.credentials.cryptosteroid.merchantId,
      invoiceId: t.providerInvoiceId,
      invoiceUrl: `${sandbox.url}/pay/bench-${i}`,
      status: 'WAITING',
      externalId: t.foreignId,
      fiatAmount: t.amount,
      fiatCurrency: 'EUR',
      expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
      payment: { method: 'USDT_TRC20', amount: '27.6', address: 'TXbench', paid: { received: '27.6', fiat: t.amount, finished: false } },
    });
    return { path: `/webhooks/cryptosteroid/${encodeURIComponent(t.id)}`, headers: { 'content-type': 'application/json', token: t.secret }, body };
  }
  const creds = sandbox.credentials[t.provider as 'cryptoprocessing' | 'alphapo'];
  const payload =
    t.kind === 'payment_request'
      ? {
          payment_request_id: t.providerInvoiceId,
          foreign_id: t.foreignId,
          type: 'payment_request',
          status: 'processing',
          end_user_email: 'payer@example.com',
          payment_request_amount: { currency: { iso: 'EUR', network_name: 'EUR' }, amount: t.amount },
          currency_sent: { currency: { iso: 'BTC', network_name: 'bitcoin' }, expected_amount: '0.0015', received_amount: '0.0015', remaining_amount: '0' },
          fixed_at: now,
          expires_at: now + 3600,
          valid_until: now + 3600,
        }
      : {
          id: Number(t.providerInvoiceId),
          foreign_id: t.foreignId,
          type: 'invoice',
          crypto_address: { id: 1000 + i, currency: 'BTC', convert_to: 'EUR', address: 'bc1qbench', tag: null },
          currency_sent: { currency: 'BTC', amount: '0.0015', remaining_amount: '0' },
          currency_received: { currency: 'EUR', amount: t.amount },
          transactions: [{ id: 5000 + i, currency: 'BTC', transaction_type: 'blockchain', type: 'deposit', address: 'bc1qbench', tag: null, amount: '0.0015', txid: `tx${i}`, confirmations: '0' }],
          fees: [],
          error: '',
          status: 'processing',
          fixed_at: now,
          expires_at: null,
        };
  const body = JSON.stringify(payload);
  return {
    path: `/webhooks/${t.provider}`,
    headers: { 'content-type': 'application/json', 'x-processing-key': creds.apiKey, 'x-processing-signature': signBody(body, creds.apiSecret) },
    body,
  };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export type CallbackFigures = {
  measured: true;
  offeredPerSecond: number;
  sent: number;
  ok: number;
  refused: Record<string, number>;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** From the first callback sent to the last one applied by the worker (events queue drained). */
  appliedPerSecond: number | null;
};

export async function callbackIngest(
  redis: RedisClient,
  prefix: string,
  apiUrl: string,
  sandbox: SandboxInfo,
  opts: { count: number; rate: number; timeoutMs: number },
): Promise<CallbackFigures | { measured: false; reason: string }> {
  const found = await targets(redis, prefix, opts.count);
  if (found.length < opts.count) return { measured: false, reason: `only ${found.length} created invoices to send callbacks for` };
  const prepared = found.map((t, i) => prepare(t, sandbox, i));
  const events = new Queue('invoice-events', { connection: redis, prefix });
  const pool = new Pool(apiUrl, { connections: 256, pipelining: 1 });
  const latencies: number[] = [];
  const refused: Record<string, number> = {};
  let ok = 0;
  let lastOk = 0;
  try {
    const before = (await events.getJobCounts('completed')).completed ?? 0;
    const pending: Array<Promise<void>> = [];
    const t0 = performance.now();
    const send = (p: Prepared): Promise<void> => {
      const start = performance.now();
      return pool
        .request({ method: 'POST', path: p.path, headers: p.headers, body: p.body })
        .then(async (res) => {
          await res.body.dump();
          const ms = performance.now() - start;
          if (res.statusCode === 200) {
            ok += 1;
            latencies.push(ms);
            lastOk = performance.now();
          } else refused[res.statusCode] = (refused[res.statusCode] ?? 0) + 1;
        })
        .catch((err: Error) => {
          refused[err.name] = (refused[err.name] ?? 0) + 1;
        });
    };
    // Open loop: each callback goes out at its own time, whatever the answers before it did.
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(prepared.length, Math.floor(((performance.now() - t0) / 1000) * opts.rate) + 1);
        while (next < due) pending.push(send(prepared[next++]!));
        if (next >= prepared.length) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    const sentMs = performance.now() - t0;
    await Promise.all(pending);
    // Applied: every event job completed (the worker ran the transition and published it).
    let appliedPerSecond: number | null = null;
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const done = ((await events.getJobCounts('completed')).completed ?? 0) - before;
      if (done >= ok) {
        appliedPerSecond = Math.round((ok / (performance.now() - t0)) * 1000);
        break;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    latencies.sort((a, b) => a - b);
    return {
      measured: true,
      offeredPerSecond: Math.round((prepared.length / sentMs) * 1000),
      sent: prepared.length,
      ok,
      refused,
      perSecond: Math.round((ok / (lastOk - t0)) * 1000),
      p50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
      p99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
      maxMs: Math.round((latencies[latencies.length - 1] ?? 0) * 10) / 10,
      appliedPerSecond,
    };
  } finally {
    await pool.close();
    await events.close();
  }
}

/**
 * Callback ingest: authentic provider callbacks (platform bodies signed with HMAC-SHA512 over the
 * exact bytes, CryptoSteroid webhooks with the order's token) for invoices the pipeline created,
 * sent to the API's webhook routes. Measures the rate of 200s and the time from sending each one
 * to its 200, with and without the worker applying them meanwhile; see `callbackIngest`.
 */
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Pool } from 'undici';
import type { RedisClient } from '../src/redis/connect.ts';
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

/** Up to `limit` open invoices of the prefix (created, or pending as CryptoSteroid's with a method), read straight from the store. */
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
      if (out.length >= limit || (v[6] !== 'created' && v[6] !== 'pending') || !v[3]) return;
      out.push({ id: k.slice(`${prefix}:store:inv:`.length), provider: v[0]!, kind: v[1]!, foreignId: v[2]!, providerInvoiceId: v[3], secret: v[4]!, amount: v[5]! });
    });
  });
  return out;
}

/**
 * Callback number `v` about invoice `t`: each variant is a distinct provider message (its dedupe
 * key differs: one more transaction on a platform invoice, another part-payment on a payment
 * request or a CryptoSteroid invoice), so every one is stored as a job of its own.
 */
function prepare(t: Target, sandbox: SandboxInfo, i: number, v: number): Prepared {
  const part = (units: number): string => `0.000${String(units).padStart(6, '0')}`;
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
      payment: { method: 'USDT_TRC20', amount: '27.6', address: 'TXbench', paid: { received: part(v + 1), fiat: '0.01', finished: false } },
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
          currency_sent: { currency: { iso: 'BTC', network_name: 'bitcoin' }, expected_amount: '0.0015', received_amount: part(v + 1), remaining_amount: '0.0014' },
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
          transactions: Array.from({ length: v + 1 }, (_, k) => ({
            id: 5000 + i * 100 + k,
            currency: 'BTC',
            transaction_type: 'blockchain',
            type: 'deposit',
            address: 'bc1qbench',
            tag: null,
            amount: '0.0015',
            txid: `tx${i}-${k}`,
            confirmations: '0',
          })),
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

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** What one load of callbacks did: the rate of 200s and the time from sending each to its 200. */
export interface LoadFigures {
  sent: number;
  ok: number;
  refused: Record<string, number>;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

class Load {
  readonly latencies: number[] = [];
  readonly refused: Record<string, number> = {};
  ok = 0;
  private first = Number.POSITIVE_INFINITY;
  private last = 0;
  constructor(private readonly pool: Pool) {}

  send(p: Prepared): Promise<void> {
    const start = performance.now();
    this.first = Math.min(this.first, start);
    return this.pool
      .request({ method: 'POST', path: p.path, headers: p.headers, body: p.body })
      .then(async (res) => {
        await res.body.dump();
        const ms = performance.now() - start;
        if (res.statusCode === 200) {
          this.ok += 1;
          this.latencies.push(ms);
          this.last = performance.now();
        } else this.refused[res.statusCode] = (this.refused[res.statusCode] ?? 0) + 1;
      })
      .catch((err: Error) => {
        this.refused[err.name] = (this.refused[err.name] ?? 0) + 1;
      });
  }

  figures(sent: number): LoadFigures {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      sent,
      ok: this.ok,
      refused: this.refused,
      perSecond: Math.round((this.ok / (this.last - this.first)) * 1000),
      p50Ms: round1(percentile(sorted, 50)),
      p99Ms: round1(percentile(sorted, 99)),
      maxMs: round1(sorted[sorted.length - 1] ?? 0),
    };
  }
}

/** Open loop: callback i goes out at i / rate seconds, whatever the answers before it did. */
export async function openLoop(pool: Pool, prepared: Prepared[], rate: number): Promise<LoadFigures> {
  const load = new Load(pool);
  const pending: Array<Promise<void>> = [];
  const t0 = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(prepared.length, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      while (next < due) pending.push(load.send(prepared[next++]!));
      if (next >= prepared.length) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  return load.figures(prepared.length);
}

/** Closed loop: `connections` senders, each sending its next callback when the last one is answered. */
export async function closedLoop(pool: Pool, prepared: Prepared[], connections: number): Promise<LoadFigures> {
  const load = new Load(pool);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < prepared.length) await load.send(prepared[next++]!);
  };
  await Promise.all(Array.from({ length: connections }, lane));
  return load.figures(prepared.length);
}

async function completedEvents(events: Queue): Promise<number> {
  return (await events.getJobCounts('completed')).completed ?? 0;
}

/** Waits until `target` event jobs have completed; the rate from `t0`, or null on time-out. */
async function waitApplied(events: Queue, target: number, t0: number, count: number, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await completedEvents(events)) >= target) return Math.round((count / (performance.now() - t0)) * 1000);
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type CallbackFigures = {
  measured: true;
  invoices: number;
  /** Ingest alone (the events queue paused, so no worker applies them meanwhile). */
  maxRate: LoadFigures & { connections: number };
  fixedRate: LoadFigures & { offeredPerSecond: number };
  /** The worker applying the stored callbacks, nothing else arriving. */
  appliedPerSecond: number | null;
  /** The same fixed rate while the worker applies them as they come. */
  fixedRateWithWorker: LoadFigures & { offeredPerSecond: number; appliedPerSecond: number | null };
};

export interface CallbackOptions {
  /** Callbacks per measured load. */
  count: number;
  rate: number;
  connections: number;
  warmup: number;
  timeoutMs: number;
  /** Between the phases (e.g. CPU snapshots per phase). */
  onPhase?: (phase: 'maxRate' | 'fixedRate' | 'applied' | 'fixedRateWithWorker', state: 'start' | 'end', callbacks: number) => Promise<void>;
}

/**
 * Ingest on invoices the pipeline created, in four phases:
 *   1. warm-up, then the maximum rate: a closed loop of `connections` senders, events queue paused;
 *   2. a fixed rate (open loop), events queue still paused: time to the 200 for the API alone;
 *   3. the worker applies everything stored so far (queue resumed): its apply rate;
 *   4. the fixed rate again while the worker applies them as they come (the whole system on one
 *      machine, as in the smallest deployment).
 */
export async function callbackIngest(
  redis: RedisClient,
  prefix: string,
  apiUrl: string,
  sandbox: SandboxInfo,
  opts: CallbackOptions,
): Promise<CallbackFigures | { measured: false; reason: string }> {
  const variants = 4;
  const need = opts.warmup + 3 * opts.count;
  const found = await targets(redis, prefix, Math.ceil(need / variants));
  if (found.length * variants < need) return { measured: false, reason: `only ${found.length} open invoices to send ${need} callbacks for` };
  // Variant-major: consecutive callbacks are about different invoices, as in real traffic.
  const prepared: Prepared[] = [];
  for (let v = 0; v < variants && prepared.length < need; v++) {
    found.forEach((t, i) => {
      if (prepared.length < need) prepared.push(prepare(t, sandbox, i, v));
    });
  }
  const take = (() => {
    let at = 0;
    return (n: number): Prepared[] => prepared.slice(at, (at += n));
  })();
  const events = new Queue('invoice-events', { connection: redis, prefix });
  const pool = new Pool(apiUrl, { connections: Math.max(256, opts.connections), pipelining: 1 });
  const phase = async <T>(name: Parameters<NonNullable<CallbackOptions['onPhase']>>[0], n: number, fn: () => Promise<T>): Promise<T> => {
    await opts.onPhase?.(name, 'start', n);
    const out = await fn();
    await opts.onPhase?.(name, 'end', n);
    return out;
  };
  try {
    await events.pause();
    const base = await completedEvents(events);
    await closedLoop(pool, take(opts.warmup), opts.connections);
    const maxRate = await phase('maxRate', opts.count, () => closedLoop(pool, take(opts.count), opts.connections));
    const fixedRate = await phase('fixedRate', opts.count, () => openLoop(pool, take(opts.count), opts.rate));
    const stored = opts.warmup + maxRate.ok + fixedRate.ok;
    const appliedPerSecond = await phase('applied', stored, async () => {
      const t0 = performance.now();
      await events.resume();
      return waitApplied(events, base + stored, t0, stored, opts.timeoutMs);
    });
    const t0 = performance.now();
    const withWorker = await phase('fixedRateWithWorker', opts.count, async () => {
      const load = await openLoop(pool, take(opts.count), opts.rate);
      return { ...load, appliedPerSecond: await waitApplied(events, base + stored + load.ok, t0, load.ok, opts.timeoutMs) };
    });
    return {
      measured: true,
      invoices: found.length,
      maxRate: { ...maxRate, connections: opts.connections },
      fixedRate: { ...fixedRate, offeredPerSecond: opts.rate },
      appliedPerSecond,
      fixedRateWithWorker: { ...withWorker, offeredPerSecond: opts.rate },
    };
  } finally {
    await events.resume().catch(() => undefined);
    await pool.close();
    await events.close();
  }
}

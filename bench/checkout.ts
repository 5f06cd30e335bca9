/**
 * The checkout scenario: what a customer feels. Orders are offered one POST each at a steady
 * rate (an open loop: the schedule does not wait for answers), and for each order the time from
 * its acceptance (`accepted_at` of the 202) to its `created` result (`occurred_at`) is taken,
 * minus the provider's own latency: what the pipeline adds. At 200 and 1,000 orders/s, with the
 * sandbox at 0 ms and at 50 ms. Then the same through the wait option (`?wait=10`): the time from
 * sending the POST to holding the payment URL, as the shop's checkout sees it.
 *
 * One API and one worker process, CryptoProcessing invoices only (one lane), on a fresh prefix.
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import type { RedisClient } from '../src/redis/connect.ts';
import { percentiles, type Percentiles } from './measure.ts';
import { order, runTag } from './orders.ts';
import { deletePrefix } from './redis-tools.ts';
import { startSandboxProcess, startStack } from './stack.ts';

export interface CheckoutOptions {
  dir: string;
  redis: RedisClient;
  redisUrl: string;
  seconds: number;
  rates: number[];
  latencies: number[];
  waitRate: number;
  concurrency: number;
  timeoutMs: number;
  logLevel: string;
  progress: (msg: string) => void;
  cleanup: Array<() => Promise<unknown>>;
}

/** Offers `rate` single-order POSTs a second for `seconds`, each on its own schedule; resolves with each answer. */
async function offer(
  api: string,
  rate: number,
  seconds: number,
  wait: boolean,
  dispatcher: Agent,
): Promise<Array<{ fid: string; status: number; body: Record<string, unknown>; sentAt: number; answeredAt: number }>> {
  const tag = runTag();
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  const pending: Array<Promise<{ fid: string; status: number; body: Record<string, unknown>; sentAt: number; answeredAt: number }>> = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const lag = due - performance.now();
    if (lag > 1) await new Promise((r) => setTimeout(r, lag));
    const fid = `${tag}-${i}`;
    const body = JSON.stringify(order('cryptoprocessing/invoice', fid, i));
    const sentAt = performance.now();
    pending.push(
      request(`${api}/v1/invoices${wait ? '?wait=10' : ''}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher }).then(async (res) => ({
        fid,
        status: res.statusCode,
        body: (await res.body.json()) as Record<string, unknown>,
        sentAt,
        answeredAt: performance.now(),
      })),
    );
  }
  return Promise.all(pending);
}

/** `created.occurred_at - accepted_at` of each order, from the results queue (the list the relay fills). */
async function createdTimes(redis: RedisClient, prefix: string, accepted: Map<string, number>, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  const out = new Map<string, number>();
  const key = `${prefix}:invoice-results:wait`;
  let seen = 0;
  while (out.size < accepted.size) {
    const ids = await redis.lrange(key, 0, -1);
    const fresh = ids.slice(0, ids.length - seen);
    seen = ids.length;
    const pipe = redis.pipeline();
    for (const id of fresh) pipe.hget(`${prefix}:invoice-results:${id}`, 'data');
    for (const [, data] of (await pipe.exec()) ?? []) {
      if (typeof data !== 'string') continue;
      const d = JSON.parse(data) as { foreign_id: string; status: string; event?: string; occurred_at: string };
      const at = accepted.get(d.foreign_id);
      if (d.status === 'created' && (d.event ?? 'transition') === 'transition' && at !== undefined) out.set(d.foreign_id, Date.parse(d.occurred_at) - at);
    }
    if (out.size >= accepted.size) break;
    if (Date.now() > deadline) throw new Error(`checkout: ${out.size} of ${accepted.size} created results in time`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return [...out.values()];
}

export async function scenarioCheckout(o: CheckoutOptions): Promise<Record<string, unknown>> {
  const dispatcher = new Agent({ connections: 256, keepAliveTimeout: 30_000 });
  o.cleanup.push(() => dispatcher.close());
  const runs: Array<Record<string, unknown>> = [];
  for (const latencyMs of o.latencies) {
    const prefix = `bench-${runTag()}-checkout`;
    o.cleanup.push(() => deletePrefix(o.redis, prefix));
    const sb = await startSandboxProcess(o.dir, latencyMs, `sandbox-checkout-${latencyMs}`);
    const stack = await startStack({
      dir: o.dir,
      redisUrl: o.redisUrl,
      prefix,
      sandbox: sb.info,
      concurrency: o.concurrency,
      workers: 1,
      logLevel: o.logLevel,
      name: `checkout-${latencyMs}`,
    });
    try {
      await offer(stack.apiUrl, 100, 2, false, dispatcher); // warm-up
      for (const rate of o.rates) {
        o.progress(`checkout: ${rate} orders/s for ${o.seconds} s, provider ${latencyMs} ms`);
        const answers = await offer(stack.apiUrl, rate, o.seconds, false, dispatcher);
        const accepted = new Map<string, number>();
        for (const a of answers) {
          const inv = a.body.invoice as { accepted_at?: string } | undefined;
          if (a.status === 202 && inv?.accepted_at) accepted.set(a.fid, Date.parse(inv.accepted_at));
        }
        const pipeline = (await createdTimes(o.redis, prefix, accepted, o.timeoutMs)).map((ms) => Math.max(0, ms - latencyMs));
        const acceptMs = answers.map((a) => a.answeredAt - a.sentAt);
        runs.push({
          mode: 'results queue',
          latencyMs,
          offeredPerSecond: rate,
          accepted: accepted.size,
          refused: answers.length - accepted.size,
          acceptToCreatedMinusProvider: percentiles(pipeline),
          apiAnswerMs: percentiles(acceptMs),
        });
      }
      o.progress(`checkout: ${o.waitRate} orders/s with ?wait=10, provider ${latencyMs} ms`);
      const waited = await offer(stack.apiUrl, o.waitRate, o.seconds, true, dispatcher);
      const withUrl = waited.filter((a) => (a.body.invoice as { payment_url?: string } | undefined)?.payment_url);
      runs.push({
        mode: 'wait option',
        latencyMs,
        offeredPerSecond: o.waitRate,
        answered: waited.length,
        withPaymentUrl: withUrl.length,
        timeToPaymentUrl: percentiles(withUrl.map((a) => a.answeredAt - a.sentAt)),
        timeToPaymentUrlMinusProvider: percentiles(withUrl.map((a) => Math.max(0, a.answeredAt - a.sentAt - latencyMs))),
      });
    } finally {
      await stack.stop();
      await sb.child.stop();
      await deletePrefix(o.redis, prefix);
    }
  }
  return {
    seconds: o.seconds,
    concurrency: o.concurrency,
    runs,
    note: 'results queue: created.occurred_at - accepted_at, minus the sandbox latency; wait option: client send to answer with payment_url',
  };
}

export function checkoutRows(c: { runs: Array<Record<string, any>> }): Array<[string, string, string]> {
  const p = (x: Percentiles): string => `${x.p50} / ${x.p99} / ${x.max} ms`;
  return c.runs.map((r) =>
    r.mode === 'wait option'
      ? [
          `checkout: payment URL in one call (?wait), ${r.offeredPerSecond}/s, provider ${r.latencyMs} ms: p50 / p99 / max`,
          `${p(r.timeToPaymentUrl)} (${r.withPaymentUrl} of ${r.answered})`,
          `minus provider: ${p(r.timeToPaymentUrlMinusProvider)}`,
        ]
      : [
          `checkout: accept to created minus provider, ${r.offeredPerSecond}/s, provider ${r.latencyMs} ms: p50 / p99 / max`,
          p(r.acceptToCreatedMinusProvider),
          `202 answered in p50 ${r.apiAnswerMs.p50} ms, p99 ${r.apiAnswerMs.p99} ms`,
        ],
  );
}

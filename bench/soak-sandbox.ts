/**
 * The sandbox for `npm run soak`, in a process of its own (like sandbox-process.ts, with the
 * lifecycle settings a soak needs). Options from the environment; prints one JSON line (URL,
 * base URLs, credentials) once listening. The platform callback URLs are set afterwards through
 * the control API (`POST /_sandbox/callback-url`), once the API's port is known.
 *
 * SOAK_SANDBOX_TIME_SCALE  multiplies every provider duration (timer 900 s, CryptoSteroid 30 min,
 *                          payment request lifetime, redelivery delays); 0.1 = ten times faster
 * SOAK_SANDBOX_PAY_SHARE   share of new invoices the sandbox pays in full, SOAK_SANDBOX_PAY_DELAY_MS
 *                          after creation (real ms); the rest wait and expire at their deadline
 * SOAK_SANDBOX_LATENCY_MS  delay before every provider API answer
 * SOAK_SANDBOX_FORGET_MS   forget an invoice this long after it ended (default 600000; 0 keeps
 *                          everything, as the sandbox does by itself)
 *
 * Forgetting: the sandbox keeps every invoice it ever created and every callback delivery it ever
 * made, for tests to inspect. Over a soak of hundreds of thousands of invoices that is gigabytes of
 * heap, and its garbage collector then takes more than a core of a 2-core machine: the stand-in
 * for the provider would slow the pipeline down more every minute, which no real provider does.
 * So this process keeps no delivery log and drops finished invoices (and their callback queues)
 * SOAK_SANDBOX_FORGET_MS after their last change, reaching into the sandbox's store and dispatcher
 * from here rather than changing the sandbox. Nothing asks about an invoice that long after its
 * end: the worker stops polling an invoice once it knows it ended, and the soak redelivers nothing.
 */
import { Dispatcher } from '../src/sandbox/callbacks.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import { isTerminal } from '../src/sandbox/lifecycle.ts';
import { Store, type Rec } from '../src/sandbox/store.ts';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
};

// The sandbox's own bookkeeping, as it is at runtime (private in TypeScript only).
interface StoreInternals {
  all: Rec[];
  unique: Map<string, Rec>;
  tokens: Map<string, Rec>;
  ids: Map<string, Rec>;
}
interface DispatcherInternals {
  queues: Map<Rec, { items: unknown[]; busy: boolean }>;
}
const forgetMs = num('SOAK_SANDBOX_FORGET_MS', 600_000);
let store: StoreInternals | undefined;
let dispatcher: DispatcherInternals | undefined;
let forgotten = 0;
if (forgetMs > 0) {
  const add = Object.getOwnPropertyDescriptor(Store.prototype, 'add')?.value as (this: Store, rec: Rec) => void;
  Store.prototype.add = function (this: Store, rec: Rec): void {
    store ??= this as unknown as StoreInternals;
    add.call(this, rec);
  };
  const proto = Dispatcher.prototype as unknown as { enqueue: (item: unknown) => void; record: (...args: unknown[]) => void };
  const enqueue = proto.enqueue;
  proto.enqueue = function (this: unknown, item: unknown): void {
    dispatcher ??= this as DispatcherInternals;
    enqueue.call(this, item);
  };
  // No delivery log (GET /_sandbox/deliveries answers an empty list).
  proto.record = () => undefined;
}

/** Drops invoices that ended more than forgetMs ago from every index of the store, and their callback queues. */
function forget(): void {
  const now = Date.now();
  const old = (r: Rec): boolean => isTerminal(r) && now - (r.updatedAt ?? r.createdAt) > forgetMs;
  if (store) {
    const { all, unique, tokens, ids } = store;
    let w = 0;
    for (let i = 0; i < all.length; i++) {
      const r = all[i]!;
      if (!old(r)) {
        all[w++] = r;
        continue;
      }
      tokens.delete(r.token);
      ids.delete(`${r.provider}\u0000${r.id}`);
      if (r.provider !== 'cryptosteroid' && r.foreignId !== null) unique.delete(`${r.provider}\u0000${r.kind}\u0000${r.foreignId}`);
      forgotten += 1;
    }
    all.length = w;
  }
  if (dispatcher) {
    for (const [rec, q] of dispatcher.queues) if (!q.busy && q.items.length === 0 && old(rec)) dispatcher.queues.delete(rec);
  }
}

const sandbox = await startSandbox({
  port: 0,
  host: '127.0.0.1',
  latencyMs: num('SOAK_SANDBOX_LATENCY_MS', 0),
  timeScale: num('SOAK_SANDBOX_TIME_SCALE', 0.1),
  // A soak keeps tens of thousands of CryptoSteroid invoices unpaid at once; the real cap is the
  // merchant's business, not our memory figures.
  cryptosteroidNewCap: 1_000_000_000,
  schedule: { paid: num('SOAK_SANDBOX_PAY_SHARE', 0.6), delayMs: num('SOAK_SANDBOX_PAY_DELAY_MS', 30_000) },
  strictUrls: true,
});
process.stdout.write(`${JSON.stringify({ url: sandbox.url, baseUrls: sandbox.baseUrls, credentials: sandbox.credentials })}\n`);

const sweeper =
  forgetMs > 0
    ? setInterval(() => {
        forget();
        process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), kept: store?.all.length ?? 0, forgotten, callbackQueues: dispatcher?.queues.size ?? 0 })}\n`);
      }, 30_000)
    : undefined;

const stop = (): void => {
  clearInterval(sweeper);
  void sandbox.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

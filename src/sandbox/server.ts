/**
 * Starts the sandbox: one HTTP server, each provider under its own mount so it gets its own base
 * URL, the control surface under `/_sandbox` and the payment pages under `/pay`. `close()` stops
 * every timer, aborts callback deliveries and destroys every socket (hanging ones included).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { accountCallbackBody, type AccountCallbackOptions, type AccountCallbackType } from './account-callbacks.ts';
import { Dispatcher } from './callbacks.ts';
import type { SandboxContext } from './context.ts';
import { HabitsSchema, controlRouter, pageRouter, type ControlApi } from './control.ts';
import { resolveCredentials } from './credentials.ts';
import { cryptosteroidRouter } from './cryptosteroid.ts';
import { Faults } from './faults.ts';
import { Lifecycle } from './lifecycle.ts';
import { platformRouter } from './platform.ts';
import { Stats, Store, view } from './store.ts';
import { Timers } from './timers.ts';
import type {
  CallbackHabits,
  Delivery,
  FaultRule,
  PlatformProvider,
  SandboxAction,
  SandboxCredentials,
  SandboxInvoice,
  SandboxKind,
  SandboxOptions,
  SandboxProvider,
  SandboxStats,
} from './types.ts';

export interface ActionOptions {
  /** Amount in the invoice's currency (decimal string); defaults: all that is left / half of it. */
  amount?: string;
  /** Amount in the payer's crypto (decimal string) instead of `amount`. */
  crypto?: string;
  /** false: a full payment stays unconfirmed (platform `processing`, CryptoSteroid `WAITING`) until `confirm`. */
  confirm?: boolean;
  /** The payer's crypto (platform invoice still `created`: `pick-currency`, or `pay` picking it first). */
  currency?: string;
  /** Disambiguates a platform foreign_id used by both an invoice and a payment request. */
  kind?: SandboxKind;
}

export interface Sandbox {
  /** Public base URL of the sandbox. */
  url: string;
  baseUrls: Record<SandboxProvider, string>;
  credentials: SandboxCredentials;
  close(): Promise<void>;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  faults(): FaultRule[];
  invoices(provider?: SandboxProvider): SandboxInvoice[];
  invoice(provider: SandboxProvider, ref: string, kind?: SandboxKind): SandboxInvoice | undefined;
  /** Records the provider holds for a foreign_id (CryptoSteroid: externalId). */
  count(provider: SandboxProvider, foreignId: string, kind?: SandboxKind): number;
  stats(): SandboxStats;
  act(provider: SandboxProvider, ref: string, action: SandboxAction, opts?: ActionOptions): SandboxInvoice;
  pay(provider: SandboxProvider, ref: string, opts?: ActionOptions): SandboxInvoice;
  payPartly(provider: SandboxProvider, ref: string, opts?: ActionOptions): SandboxInvoice;
  expire(provider: SandboxProvider, ref: string, opts?: ActionOptions): SandboxInvoice;
  cancel(provider: SandboxProvider, ref: string, opts?: ActionOptions): SandboxInvoice;
  fail(provider: SandboxProvider, ref: string, opts?: ActionOptions): SandboxInvoice;
  confirm(provider: SandboxProvider, ref: string, opts?: ActionOptions): SandboxInvoice;
  pickCurrency(provider: SandboxProvider, ref: string, opts?: ActionOptions): SandboxInvoice;
  setCallbackUrl(provider: PlatformProvider, url: string | null): void;
  setHabits(habits: Partial<CallbackHabits> & { reorder?: boolean }): CallbackHabits;
  deliveries(): Delivery[];
  /** Sends a signed deposit / withdrawal / exchange callback to the account's callback URL; returns its body. */
  sendAccountCallback(provider: PlatformProvider, type: AccountCallbackType, opts?: AccountCallbackOptions): Record<string, unknown>;
}

const share = (v: boolean | number | undefined, fallback: number): number => (v === undefined ? fallback : typeof v === 'boolean' ? (v ? 1 : 0) : Math.min(1, Math.max(0, v)));

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const random = options.random ?? Math.random;
  const timers = new Timers(options.timeScale ?? 1);
  let publicUrl = '';
  // Declared before the context so its hooks can reach it once built.
  let lifecycle: Lifecycle | undefined;
  const ctx: SandboxContext = {
    options: {
      latencyMs: options.latencyMs ?? 0,
      timeScale: options.timeScale ?? 1,
      cryptosteroidNewCap: options.cryptosteroidNewCap ?? 50,
      ...(options.cryptosteroidCapReply ? { cryptosteroidCapReply: { ...options.cryptosteroidCapReply } } : {}),
      ...(options.redeliveryDelaysMs ? { redeliveryDelaysMs: [...options.redeliveryDelaysMs] } : {}),
      callbackTimeoutMs: options.callbackTimeoutMs ?? 10_000,
      ...(options.schedule ? { schedule: { ...options.schedule } } : {}),
      strictUrls: options.strictUrls ?? true,
      random,
    },
    credentials: resolveCredentials(options.credentials),
    store: new Store(),
    stats: new Stats(),
    faults: new Faults(random),
    timers,
    log: options.logger ?? pino({ level: 'silent' }),
    habits: {
      duplicateRate: share(options.duplicateRate, 0),
      lateRate: options.reorder ? 1 : share(options.lateRate, 0),
      escapeSlashes: share(options.escapeSlashes, 0.5),
    },
    callbackUrls: { ...options.callbackUrls },
    url: () => publicUrl,
    lifecycle: {
      created: (rec) => lifecycle?.created(rec),
      cancel: (rec) => lifecycle?.cancel(rec) ?? false,
    },
  };
  const dispatcher = new Dispatcher(ctx);
  const life = new Lifecycle(ctx, dispatcher);
  lifecycle = life;

  const setCallbackUrl = (provider: PlatformProvider, url: string | null): void => {
    if (url) ctx.callbackUrls[provider] = url;
    else delete ctx.callbackUrls[provider];
  };
  const setHabits = (h: Partial<CallbackHabits> & { reorder?: boolean }): CallbackHabits => {
    const parsed = HabitsSchema.parse(h);
    if (parsed.duplicateRate !== undefined) ctx.habits.duplicateRate = parsed.duplicateRate;
    if (parsed.lateRate !== undefined) ctx.habits.lateRate = parsed.lateRate;
    if (parsed.reorder !== undefined) ctx.habits.lateRate = parsed.reorder ? 1 : 0;
    if (parsed.escapeSlashes !== undefined) ctx.habits.escapeSlashes = share(parsed.escapeSlashes, 0.5);
    return { ...ctx.habits };
  };
  const sendAccountCallback = (provider: PlatformProvider, type: AccountCallbackType, opts: AccountCallbackOptions = {}): Record<string, unknown> => {
    const payload = accountCallbackBody(type, opts, () => ctx.store.smallId());
    const foreignId = typeof payload.foreign_id === 'string' ? payload.foreign_id : null;
    dispatcher.platform({ provider, kind: 'account', id: String(payload.id), foreignId }, payload);
    return payload;
  };
  const api: ControlApi = { ctx, lifecycle: life, deliveries: () => dispatcher.deliveries(), setCallbackUrl, setHabits, sendAccountCallback };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use('/cryptoprocessing', platformRouter(ctx, 'cryptoprocessing'));
  app.use('/alphapo', platformRouter(ctx, 'alphapo'));
  app.use('/cryptosteroid', cryptosteroidRouter(ctx));
  app.use('/_sandbox', controlRouter(api));
  app.use('/pay', pageRouter(api));
  app.get('/', (_req, res) => void res.json({ sandbox: true, baseUrls: baseUrls() }));

  const server = createServer(app);
  // A hanging request must not be cut by Node's own timeouts: only close() ends it.
  server.requestTimeout = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  publicUrl = (options.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  const baseUrls = (): Record<SandboxProvider, string> => ({
    cryptoprocessing: `${publicUrl}/cryptoprocessing`,
    alphapo: `${publicUrl}/alphapo`,
    cryptosteroid: `${publicUrl}/cryptosteroid`,
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      timers.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await dispatcher.close();
      await closed;
    })();
    return closing;
  };

  const act = (provider: SandboxProvider, ref: string, action: SandboxAction, opts: ActionOptions = {}): SandboxInvoice => view(life.act(provider, ref, action, opts));

  return {
    url: publicUrl,
    baseUrls: baseUrls(),
    credentials: ctx.credentials,
    close,
    addFault: (rule) => ctx.faults.add(rule),
    clearFaults: () => ctx.faults.clear(),
    faults: () => ctx.faults.list(),
    invoices: (provider) => ctx.store.list(provider).map(view),
    invoice: (provider, ref, kind) => {
      const rec = ctx.store.resolve(provider, ref, kind);
      return rec ? view(rec) : undefined;
    },
    count: (provider, foreignId, kind) => ctx.store.count(provider, foreignId, kind),
    stats: () => ctx.stats.snapshot(),
    act,
    pay: (provider, ref, opts) => act(provider, ref, 'pay', opts),
    payPartly: (provider, ref, opts) => act(provider, ref, 'pay-partly', opts),
    expire: (provider, ref, opts) => act(provider, ref, 'expire', opts),
    cancel: (provider, ref, opts) => act(provider, ref, 'cancel', opts),
    fail: (provider, ref, opts) => act(provider, ref, 'fail', opts),
    confirm: (provider, ref, opts) => act(provider, ref, 'confirm', opts),
    pickCurrency: (provider, ref, opts) => act(provider, ref, 'pick-currency', opts),
    setCallbackUrl,
    setHabits,
    deliveries: () => dispatcher.deliveries(),
    sendAccountCallback,
  };
}

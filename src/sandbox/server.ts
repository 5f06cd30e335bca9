/**
 * Starts the sandbox: one HTTP server, each provider of the registry (and any the options add)
 * under its own mount so it gets its own base URL, the control surface under `/_sandbox` and the
 * payment pages under `/pay`. `close()` stops every timer, aborts callback deliveries and destroys
 * every socket (hanging ones included).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { Dispatcher } from './callbacks.ts';
import type { SandboxContext, SandboxProvider } from './context.ts';
import { HabitsSchema, controlRouter, pageRouter, type ControlApi } from './control.ts';
import { resolveCredentials } from './credentials.ts';
import { Faults } from './faults.ts';
import { Lifecycle, SandboxActionError } from './lifecycle.ts';
import { SANDBOX_PROVIDERS, type BuiltinProvider, type ProviderOptions, type SandboxCredentials } from './registry.ts';
import { Stats, Store } from './store.ts';
import { Timers } from './timers.ts';
import type {
  AccountCallbackOptions,
  CallbackHabits,
  Credentials,
  Delivery,
  FaultRule,
  ProviderStats,
  SandboxAction,
  SandboxCoreOptions,
  SandboxInvoice,
  SandboxKind,
} from './types.ts';

export interface SandboxOptions extends SandboxCoreOptions, ProviderOptions {
  /** Providers to run beside the registry's (a test's own provider); an id of the registry's replaces it. */
  providers?: readonly SandboxProvider[];
}

/** Create requests and outcomes per provider: the built-in ones always, any other the sandbox runs too. */
export type SandboxStats = Record<BuiltinProvider, ProviderStats> & Record<string, ProviderStats>;

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
  baseUrls: Record<BuiltinProvider, string> & Readonly<Record<string, string>>;
  credentials: SandboxCredentials & Readonly<Record<string, Credentials>>;
  close(): Promise<void>;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  faults(): FaultRule[];
  invoices(provider?: string): SandboxInvoice[];
  invoice(provider: string, ref: string, kind?: SandboxKind): SandboxInvoice | undefined;
  /** Records the provider holds for a foreign_id (CryptoSteroid: externalId). */
  count(provider: string, foreignId: string, kind?: SandboxKind): number;
  stats(): SandboxStats;
  act(provider: string, ref: string, action: SandboxAction, opts?: ActionOptions): SandboxInvoice;
  pay(provider: string, ref: string, opts?: ActionOptions): SandboxInvoice;
  payPartly(provider: string, ref: string, opts?: ActionOptions): SandboxInvoice;
  expire(provider: string, ref: string, opts?: ActionOptions): SandboxInvoice;
  cancel(provider: string, ref: string, opts?: ActionOptions): SandboxInvoice;
  fail(provider: string, ref: string, opts?: ActionOptions): SandboxInvoice;
  confirm(provider: string, ref: string, opts?: ActionOptions): SandboxInvoice;
  pickCurrency(provider: string, ref: string, opts?: ActionOptions): SandboxInvoice;
  /** The merchant-account callback URL of a provider that has one (`null` clears it). */
  setCallbackUrl(provider: string, url: string | null): void;
  setHabits(habits: Partial<CallbackHabits> & { reorder?: boolean }): CallbackHabits;
  deliveries(): Delivery[];
  /** Sends a provider's callback about the merchant account (the platform's deposit / withdrawal / exchange, signed) to its callback URL; returns its body. */
  sendAccountCallback(provider: string, type: string, opts?: AccountCallbackOptions): Record<string, unknown>;
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
  const providers = new Map<string, SandboxProvider>();
  for (const p of [...SANDBOX_PROVIDERS, ...(options.providers ?? [])]) providers.set(p.id, p);
  const ids = [...providers.keys()];
  let publicUrl = '';
  // Declared before the context so its hooks can reach them once built.
  let lifecycle: Lifecycle | undefined;
  let dispatcher: Dispatcher | undefined;
  const ctx: SandboxContext = {
    options: {
      latencyMs: options.latencyMs ?? 0,
      timeScale: options.timeScale ?? 1,
      ...(options.redeliveryDelaysMs ? { redeliveryDelaysMs: [...options.redeliveryDelaysMs] } : {}),
      callbackTimeoutMs: options.callbackTimeoutMs ?? 10_000,
      ...(options.schedule ? { schedule: { ...options.schedule } } : {}),
      random,
    },
    credentials: resolveCredentials([...providers.values()], options.credentials),
    providers,
    store: new Store(providers),
    stats: new Stats(ids),
    faults: new Faults(random, ids),
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
      arm: (rec) => lifecycle?.arm(rec),
      disarm: (rec) => lifecycle?.disarm(rec),
    },
    callbacks: {
      enqueue: (item) => dispatcher?.enqueue(item),
      escapeThisOne: () => dispatcher?.escapeThisOne() ?? false,
    },
  };
  const callbacks = new Dispatcher(ctx);
  dispatcher = callbacks;
  const life = new Lifecycle(ctx);
  lifecycle = life;

  const setCallbackUrl = (provider: string, url: string | null): void => {
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
  const sendAccountCallback = (provider: string, type: string, opts: AccountCallbackOptions = {}): Record<string, unknown> => {
    const account = providers.get(provider)?.accountCallbacks;
    if (!account?.types.includes(type)) throw new SandboxActionError('not_found', `${provider} sends no ${type} callback`);
    return account.send(ctx, type, opts);
  };
  const api: ControlApi = { ctx, lifecycle: life, deliveries: () => callbacks.deliveries(), setCallbackUrl, setHabits, sendAccountCallback };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  for (const p of providers.values()) app.use(`/${p.id}`, p.routes(ctx, options));
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
  // Every provider the registry lists is in `providers`, so the built-in keys are there.
  const baseUrls = (): Sandbox['baseUrls'] => Object.fromEntries(ids.map((id) => [id, `${publicUrl}/${id}`])) as Sandbox['baseUrls'];

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      timers.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await callbacks.close();
      await closed;
    })();
    return closing;
  };

  const act = (provider: string, ref: string, action: SandboxAction, opts: ActionOptions = {}): SandboxInvoice => ctx.store.view(life.act(provider, ref, action, opts));

  return {
    url: publicUrl,
    baseUrls: baseUrls(),
    credentials: ctx.credentials as Sandbox['credentials'],
    close,
    addFault: (rule) => ctx.faults.add(rule),
    clearFaults: () => ctx.faults.clear(),
    faults: () => ctx.faults.list(),
    invoices: (provider) => ctx.store.list(provider).map((rec) => ctx.store.view(rec)),
    invoice: (provider, ref, kind) => {
      const rec = ctx.store.resolve(provider, ref, kind);
      return rec ? ctx.store.view(rec) : undefined;
    },
    count: (provider, foreignId, kind) => ctx.store.count(provider, foreignId, kind),
    stats: () => ctx.stats.snapshot() as SandboxStats,
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
    deliveries: () => callbacks.deliveries(),
    sendAccountCallback,
  };
}

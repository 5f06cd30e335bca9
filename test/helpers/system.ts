/**
 * A whole system for integration tests: the real sandbox on port 0, the real API on port 0,
 * real BullMQ workers on a fresh queue prefix in real Redis. `close()` tears everything down and
 * deletes the prefix's keys.
 */
import { Writable } from 'node:stream';
import type { Job, JobType } from 'bullmq';
import { createJobId } from '../../queues/create.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startSystem, type System, type SystemOptions } from '../../src/system.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.ts';
import type { AccountConfig } from '../../src/lanes/accounts.ts';
import { providerModules, sandboxAccounts } from '../../src/providers/registry.ts';
import type { ProviderModule } from '../../src/providers/types.ts';
import type { InvoiceResult } from '../../queues/results.ts';
import { REDIS_URL, assertNoLeakedConnections, deleteByPrefix, uniquePrefix } from './redis.ts';
import { waitFor } from './wait.ts';

export interface TestSystem {
  system: System;
  sandbox: Sandbox;
  api: string;
  prefix: string;
  config: Readonly<Config>;
  /** Every log line written, for assertions on what reaches logs. */
  logs: string[];
  results(): Promise<InvoiceResult[]>;
  /** The create job of an order in its lane's queue (`lane`: `provider` or `provider@account`). */
  createJob(lane: string, foreignId: string): Promise<Job | undefined>;
  /** Job counts summed over every lane's create queue. */
  createCounts(...types: JobType[]): Promise<Record<string, number>>;
  waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs?: number): Promise<T>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export interface TestSystemOptions {
  env?: Record<string, string>;
  sandbox?: SandboxOptions;
  /** Use this running sandbox instead of starting one. */
  useSandbox?: Sandbox;
  /** Override settings of the sandbox's default account of these providers (e.g. wrong credentials: `{apiSecret}`). */
  credentials?: Record<string, Record<string, unknown>>;
  /** More accounts (lanes) besides the sandbox's default ones. */
  accounts?: AccountConfig[];
  /** Providers registered for this test only, besides the registry's. */
  providers?: ProviderModule[];
  role?: SystemOptions['role'];
  workerOptions?: SystemOptions['workerOptions'];
  prefix?: string;
  /** Another Redis (e.g. a `redis+cluster://` URL); its keys are the caller's to clean up. */
  redisUrl?: string;
  /** Point the sandbox's platform callback URLs at this API's webhooks once it listens. */
  callbacks?: boolean;
  /** BullMQ telemetry from `startTracing` (tracing tests). */
  telemetry?: SystemOptions['telemetry'];
  /** Process metrics on /metrics (off by default: many systems run in one test process). */
  defaultMetrics?: boolean;
}

export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const prefix = options.prefix ?? uniquePrefix();
  const sandbox = options.useSandbox ?? (await startSandbox({ port: 0, cryptosteroidNewCap: 100_000, ...options.sandbox }));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'debug', sink);
  const base = loadConfig({
    QUEUE_PREFIX: prefix,
    CREATE_BACKOFF_MS: '50',
    RATE_LIMIT_DELAY_MS: '200',
    HTTP_RESPONSE_TIMEOUT_MS: '3000',
    // Tests' webhook receivers listen on 127.0.0.1 over plain http (a test of the policy sets it to false).
    WEBHOOK_ALLOW_PRIVATE: 'true',
    ...options.env,
  });
  const modules = providerModules(options.providers);
  const accounts = sandboxAccounts(sandbox, modules).map((a) => {
    const over = options.credentials?.[a.provider];
    return over ? { ...a, settings: { ...(a.settings as object), ...over } } : a;
  });
  const config: Readonly<Config> = Object.freeze({ ...base, accounts: [...accounts, ...(options.accounts ?? [])] });
  const system = await startSystem({
    providers: modules,
    config,
    redisUrl: options.redisUrl ?? REDIS_URL,
    log,
    role: options.role,
    workerOptions: options.workerOptions,
    sweep: { intervalMs: 200, graceMs: 500 },
    defaultMetrics: options.defaultMetrics ?? false,
    telemetry: options.telemetry,
  });
  const api = await system.listen(0);
  if (options.callbacks) {
    for (const p of ['cryptoprocessing', 'alphapo'] as const) sandbox.setCallbackUrl(p, `${api}/webhooks/${p}`);
  }

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any };
  };

  const t: TestSystem = {
    system,
    sandbox,
    api,
    prefix,
    config,
    logs,
    async results() {
      const jobs = (await system.resultsQueue.getJobs(['wait', 'active', 'completed', 'failed', 'delayed', 'prioritized'], 0, -1, true)) as Job<InvoiceResult>[];
      return jobs.map((j) => j.data);
    },
    waitFor: (fn, what, timeoutMs) => waitFor(fn, what, timeoutMs, 25),
    async createJob(lane, foreignId) {
      const l = system.lanes.get(lane);
      if (!l) throw new Error(`no lane ${lane}`);
      return l.createQueue.getJob(createJobId(lane, foreignId));
    },
    async createCounts(...types) {
      const total: Record<string, number> = {};
      for (const l of system.lanes.values()) {
        for (const [k, v] of Object.entries(await l.createQueue.getJobCounts(...types))) total[k] = (total[k] ?? 0) + v;
      }
      return total;
    },
    post: (path, body, headers) => call('POST', path, body, headers),
    get: (path) => call('GET', path),
    async close() {
      await system.close();
      if (!options.useSandbox) await sandbox.close();
      for (const lane of system.lanes.values()) await lane.createQueue.obliterate({ force: true }).catch(() => {});
      if (!options.redisUrl) {
        await deleteByPrefix(prefix);
        // A stopped system holds nothing open: every worker, queue and client of its prefix is closed.
        await assertNoLeakedConnections(prefix);
      }
    },
  };
  return t;
}

/** A valid order for each connector; override fields as needed. */
export function sampleOrder(provider: 'cryptoprocessing' | 'alphapo' | 'cryptosteroid', foreignId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (provider === 'cryptosteroid') {
    return {
      provider,
      foreign_id: foreignId,
      amount: '25.50',
      currency: 'EUR',
      description: 'Order ' + foreignId,
      payment_currency: 'USDT_TRC20',
      urls: { success: 'https://shop.example/ok', failure: 'https://shop.example/fail' },
      ...extra,
    };
  }
  return {
    provider,
    kind: 'invoice',
    foreign_id: foreignId,
    amount: '100.50',
    currency: 'EUR',
    title: 'Order ' + foreignId.slice(0, 40),
    description: 'Two mugs',
    customer: { reference: 'cust-42', email: 'payer@example.com' },
    urls: { success: 'https://shop.example/ok', failure: 'https://shop.example/fail' },
    timer: false,
    ...extra,
  };
}

export function samplePaymentRequest(provider: 'cryptoprocessing' | 'alphapo', foreignId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    provider,
    kind: 'payment_request',
    foreign_id: foreignId,
    amount: '100.50',
    currency: 'EUR',
    description: 'Subscription',
    expires_in_seconds: 3600,
    customer: { reference: 'cust-42', email: 'payer@example.com' },
    urls: { success: 'https://shop.example/ok', failure: 'https://shop.example/fail', store: 'https://shop.example' },
    ...extra,
  };
}

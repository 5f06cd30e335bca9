/**
 * Entry point. `npm start` runs every role in one process (API, workers and, when no provider
 * has credentials, the built-in sandbox). Production runs `--role api` and `--role worker` as
 * separate processes on one Redis; the worker role serves only /healthz, /readyz and /metrics
 * (on OPS_PORT).
 *
 * Shutdown (SIGTERM, SIGINT) goes through one idempotent handler: stop HTTP intake, let workers
 * finish the jobs in flight within SHUTDOWN_TIMEOUT_MS (jobs still running after that stay locked
 * and BullMQ's stalled check hands them to another worker), publish the outbox, close connections.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './errors.ts';
import { loadConfig, type Config } from './config.ts';
import { createLogger } from './observability/logger.ts';
import { providerModules, sandboxAccounts } from './providers/registry.ts';
import { lanesToRun } from './lanes/key.ts';
import { resolveRedis } from './redis/connect.ts';
import { startSystem, type Role, type System } from './system.ts';
import { startTracing, tracingFromEnv, type Tracing } from './observability/tracing.ts';

const { values } = parseArgs({ options: { role: { type: 'string', default: 'all' } } });
const role = values.role as Role;
if (!['all', 'api', 'worker'].includes(role)) {
  console.error(`invalid --role ${values.role}: use all, api or worker`);
  process.exit(1);
}

let config: Readonly<Config>;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error('Configuration error:');
    for (const issue of err.issues) console.error(`  ${issue.field}: ${issue.message}`);
    process.exit(1);
  }
  throw err;
}

const log = createLogger(config.LOG_LEVEL);

// Registered before anything starts, so a signal during boot still shuts down in order.
let system: System | undefined;
let sandbox: { close(): Promise<void>; url: string } | undefined;
let redis: Awaited<ReturnType<typeof resolveRedis>> | undefined;
let stopping: Promise<void> | undefined;
let tracing: Tracing | undefined;

function shutdown(reason: string, exitCode = 0): void {
  if (stopping) {
    log.info({ signal: reason }, 'already shutting down');
    return;
  }
  stopping = (async () => {
    log.info({ signal: reason, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down');
    // Last resort: the bounded steps below should finish well within this.
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 10_000);
    force.unref();
    try {
      await system?.close(config.SHUTDOWN_TIMEOUT_MS);
      await sandbox?.close();
      await redis?.stop();
      // Last: the spans of the shutdown's own work are exported too.
      await tracing?.shutdown();
      log.info('stopped');
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      exitCode = 1;
    }
    // Every job has finished or been released by now; leftover handles must not keep us alive.
    process.exit(exitCode);
  })();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  shutdown('uncaughtException', 1);
});
process.on('unhandledRejection', (err) => {
  log.error({ err }, 'unhandled promise rejection');
});

/**
 * A worker's job is the queue, not its health port: when OPS_PORT is taken (several workers on one
 * host), it keeps working and serves health and metrics on a free port, loudly.
 */
async function listenOps(s: System): Promise<string> {
  try {
    return await s.listen(config.OPS_PORT, config.HOST);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE' || config.OPS_PORT === 0) throw err;
    const url = await s.listen(0, config.HOST);
    log.error({ wanted: config.OPS_PORT, url }, 'OPS_PORT is in use: serving health and metrics on a free port instead');
    return url;
  }
}

// Tracing only when the OTEL_* variables ask for it (README "Tracing"); otherwise the SDK is never loaded.
if (tracingFromEnv()) {
  tracing = await startTracing({ serviceName: role === 'all' ? 'invoice-worker' : `invoice-worker-${role}` });
  log.info({ exporter: tracingFromEnv()?.exporter }, 'tracing on');
}

if (config.sandbox) {
  if (role !== 'all') {
    console.error('No provider credentials are set. Set them (see .env.example), or run `npm start` for the all-in-one sandbox mode.');
    process.exit(1);
  }
  // Loaded only in this mode: the production image (the compiled build, production dependencies
  // only) does not contain the sandbox, and never needs it once credentials are set.
  const sandboxModule = await import('./sandbox/index.ts').catch((err: unknown) => {
    console.error(
      `No provider credentials are set, and the built-in sandbox is not part of this installation (${(err as Error).message}). Set a provider's credentials (see .env.example), or run \`npm install && npm start\` from a checkout for the sandbox mode.`,
    );
    process.exit(1);
  });
  const { startSandbox } = sandboxModule;
  const box = await startSandbox({ port: config.SANDBOX_PORT, host: '127.0.0.1', logger: log.child({ component: 'sandbox' }) });
  sandbox = box;
  const publicBase = config.PUBLIC_BASE_URL ?? `http://127.0.0.1:${config.PORT}`;
  const modules = providerModules();
  // Providers with one callback route per account are told it; per-invoice ones get theirs with each order.
  for (const m of modules.values()) {
    if (m.callbacks === 'merchant' && m.id in box.baseUrls) box.setCallbackUrl(m.id, `${publicBase}/webhooks/${m.id}`);
  }
  config = Object.freeze({ ...config, PUBLIC_BASE_URL: publicBase, accounts: sandboxAccounts(box, modules) });
}

// Before anything connects (resolving Redis may probe one): the lanes LANES names must be configured.
lanesToRun(config.LANES, config.accounts);

try {
  redis = await resolveRedis(config.REDIS_URL, log);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error('Configuration error:');
  for (const issue of err.issues) console.error(`  ${issue.field}: ${issue.message}`);
  process.exit(1);
}

system = await startSystem({ config, redisUrl: redis.url, log, role, telemetry: tracing?.telemetry });
const url = role === 'worker' ? await listenOps(system) : await system.listen(config.PORT, config.HOST);
const apiUrl = role === 'worker' ? undefined : url;
if (!config.API_TOKEN && !config.API_KEYS_FILE && role !== 'worker') log.warn('API_TOKEN and API_KEYS_FILE are not set: the producer API accepts unauthenticated requests');
const perInvoice = [...system.lanes.values()].filter((l) => l.adapter.callbacks === 'per-invoice').map((l) => l.key);
if (role === 'worker' && !config.PUBLIC_BASE_URL && perInvoice.length) {
  log.warn({ fallback: `http://127.0.0.1:${config.PORT}`, lanes: perInvoice }, 'PUBLIC_BASE_URL is not set: per-invoice callback URLs will point at this machine');
}

log.info(
  {
    role,
    api: apiUrl ?? null,
    ops: url,
    redis: redis.source,
    sandbox: sandbox?.url ?? null,
    lanes: [...system.lanes.keys()],
    queuePrefix: config.QUEUE_PREFIX,
    admin:
      role === 'worker'
        ? null
        : config.ADMIN_USER || config.adminUsers.length
          ? { users: config.adminUsers.length + (config.ADMIN_USER ? 1 : 0) }
          : config.sandbox
            ? 'open (sandbox)'
            : 'disabled',
    apiKeys: role === 'worker' ? null : (system.keys?.size ?? 0),
  },
  'invoice worker started',
);
if (process.stdout.isTTY || config.sandbox) {
  const lines = [
    '',
    `  invoice worker (${role})`,
    apiUrl ? `  API           ${apiUrl}/v1/invoices` : '',
    apiUrl ? `  Bull Board    ${apiUrl}/admin/queues` : '',
    `  health        ${url}/healthz  ${url}/readyz  ${url}/metrics`,
    `  Redis         ${redis.source === 'embedded' ? 'embedded (data is lost on exit)' : redis.source}`,
    sandbox ? `  sandbox       ${sandbox.url}  (lanes: ${[...system.lanes.keys()].join(', ')})` : '',
    '',
  ].filter((l) => l !== '');
  process.stderr.write(`${lines.join('\n')}\n\n`);
}

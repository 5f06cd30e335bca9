/**
 * Entry point. `npm start` runs every role in one process (API, workers and, when no provider
 * has credentials, the built-in sandbox). Production runs `--role api` and `--role worker` as
 * separate processes on one Redis.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './errors.ts';
import { loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { resolveRedis } from './redis.ts';
import { startSystem, type Role } from './system.ts';

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
const redis = await resolveRedis(config.REDIS_URL, log);

let sandbox: Awaited<ReturnType<typeof import('./sandbox/index.ts').startSandbox>> | undefined;
if (config.sandbox) {
  if (role !== 'all') {
    console.error('No provider credentials are set. Set them (see .env.example), or run `npm start` for the all-in-one sandbox mode.');
    process.exit(1);
  }
  const { startSandbox, SANDBOX_CREDENTIALS } = await import('./sandbox/index.ts');
  sandbox = await startSandbox({ port: config.SANDBOX_PORT, host: '127.0.0.1', logger: log.child({ component: 'sandbox' }) });
  const publicBase = config.PUBLIC_BASE_URL ?? `http://127.0.0.1:${config.PORT}`;
  sandbox.setCallbackUrl('cryptoprocessing', `${publicBase}/webhooks/cryptoprocessing`);
  sandbox.setCallbackUrl('alphapo', `${publicBase}/webhooks/alphapo`);
  config = Object.freeze({
    ...config,
    PUBLIC_BASE_URL: publicBase,
    providers: {
      cryptoprocessing: { baseUrl: sandbox.baseUrls.cryptoprocessing, ...SANDBOX_CREDENTIALS.cryptoprocessing },
      alphapo: { baseUrl: sandbox.baseUrls.alphapo, ...SANDBOX_CREDENTIALS.alphapo },
      cryptosteroid: { baseUrl: sandbox.baseUrls.cryptosteroid, ...SANDBOX_CREDENTIALS.cryptosteroid },
    },
  });
}

const system = await startSystem({ config, redisUrl: redis.url, log, role });
let apiUrl: string | undefined;
if (role === 'all' || role === 'api') apiUrl = await system.listen(config.PORT, config.HOST);

log.info(
  {
    role,
    api: apiUrl ?? null,
    redis: redis.source,
    sandbox: sandbox?.url ?? null,
    providers: Object.keys(config.providers),
    queuePrefix: config.QUEUE_PREFIX,
  },
  'invoice worker started',
);
if (process.stdout.isTTY || config.sandbox) {
  const lines = [
    '',
    `  invoice worker (${role})`,
    apiUrl ? `  API           ${apiUrl}/v1/invoices` : '',
    apiUrl ? `  health        ${apiUrl}/healthz` : '',
    `  Redis         ${redis.source === 'embedded' ? 'embedded (data is lost on exit)' : redis.source}`,
    sandbox ? `  sandbox       ${sandbox.url}  (providers: ${Object.keys(config.providers).join(', ')})` : '',
    '',
  ].filter((l) => l !== '');
  process.stderr.write(`${lines.join('\n')}\n\n`);
}

let stopping: Promise<void> | undefined;
function shutdown(signal: string): void {
  stopping ??= (async () => {
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    await system.close();
    await sandbox?.close();
    await redis.stop();
    log.info('stopped');
  })();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

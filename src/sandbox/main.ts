/**
 * `npm run sandbox`: runs the sandbox provider on SANDBOX_PORT (default 3100) and prints its base
 * URLs and its own fixed test credentials, so a worker can be pointed at it by hand.
 * Optional: SANDBOX_HOST, SANDBOX_PUBLIC_URL, SANDBOX_TIME_SCALE, SANDBOX_CALLBACK_URL (both
 * platform accounts), CRYPTOPROCESSING_CALLBACK_URL / ALPHAPO_CALLBACK_URL,
 * SANDBOX_CRYPTOSTEROID_NEW_CAP (unpaid NEW invoices per merchant, default 50).
 */
import { z } from 'zod';
import { createLogger } from '../observability/logger.ts';
import { serviceEnv } from './env.ts';
import { startSandbox } from './index.ts';

const Env = z.object({
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_PUBLIC_URL: z.url().optional(),
  SANDBOX_TIME_SCALE: z.coerce.number().positive().max(1000).default(1),
  SANDBOX_CALLBACK_URL: z.url().optional(),
  CRYPTOPROCESSING_CALLBACK_URL: z.url().optional(),
  ALPHAPO_CALLBACK_URL: z.url().optional(),
  SANDBOX_CRYPTOSTEROID_NEW_CAP: z.coerce.number().int().min(1).default(50),
});

const cleaned = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== ''));
const parsed = Env.safeParse(cleaned);
if (!parsed.success) {
  for (const issue of parsed.error.issues) console.error(`${String(issue.path[0])}: ${issue.message}`);
  process.exit(1);
}
const env = parsed.data;
const log = createLogger();
const callbackUrls: { cryptoprocessing?: string; alphapo?: string } = {};
const cp = env.CRYPTOPROCESSING_CALLBACK_URL ?? env.SANDBOX_CALLBACK_URL;
const ap = env.ALPHAPO_CALLBACK_URL ?? env.SANDBOX_CALLBACK_URL;
if (cp) callbackUrls.cryptoprocessing = cp;
if (ap) callbackUrls.alphapo = ap;

const sandbox = await startSandbox({
  port: env.SANDBOX_PORT,
  host: env.SANDBOX_HOST,
  timeScale: env.SANDBOX_TIME_SCALE,
  cryptosteroidNewCap: env.SANDBOX_CRYPTOSTEROID_NEW_CAP,
  callbackUrls,
  logger: log,
  ...(env.SANDBOX_PUBLIC_URL ? { publicUrl: env.SANDBOX_PUBLIC_URL } : {}),
});

// Plain stdout on purpose: these are the sandbox's own fixed test credentials (not redacted).
const envLines = Object.entries(serviceEnv(sandbox))
  .map(([name, value]) => `  ${name}=${value}`)
  .join('\n');
console.log(`sandbox provider listening on ${sandbox.url}
${envLines}
control: ${sandbox.url}/_sandbox (faults, invoices, deliveries, stats, callback-url, habits)`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'sandbox stopping');
  const timer = setTimeout(() => {
    log.error('sandbox did not stop in time');
    process.exit(1);
  }, 5000);
  timer.unref();
  await sandbox.close();
  log.info('sandbox stopped');
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

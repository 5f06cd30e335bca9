/**
 * Operator CLI (`npm run cli -- <command>`), on the same env configuration as the service. It
 * talks to Redis directly, like a producer: the same Intake (validation, idempotency) and the
 * same retry rules as the HTTP API.
 *
 *   enqueue <file.jsonl>                         one order per line; per-line outcomes and a summary
 *   show <provider> <foreign_id> [--account a]   the invoice, its history and its create job
 *   failed [--provider p] [--account a] [--reason text] [--limit n] [--json]
 *   retry <provider> <foreign_id> [--account a] [--confirm-not-created]
 *   retry --all-failed [--provider p] [--account a] [--reason text] [--limit n] [--dry-run]
 *   lanes [--json]                               each lane: breaker, waiting orders, oldest wait
 *   cancel <provider> <foreign_id> [--account a] [--reason text]          withdraw an order not yet sent
 *   abandon <provider> <foreign_id> --reason text [--status failed] [--account a]
 *   attach <provider> <foreign_id> --invoice-id id --payment-url url --reason text [--account a]
 *   reissue <provider> <foreign_id> --reason text [--account a]
 *   hash-password                                reads a password on stdin, prints its scrypt hash (ADMIN_USERS_FILE)
 *
 * `--by <name>` names the operator in the audit log (default: the OS user). Exit codes: 0 done,
 * 1 error (usage, config, Redis), 2 done but some items were refused (invalid, conflict, not
 * retryable).
 */
import { createReadStream, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createJobId } from '../queues/create.ts';
import { within } from './background/within.ts';
import { hashPassword } from './access/admin-users.ts';
import { loadConfig, type Config } from './config.ts';
import { ConfigError } from './errors.ts';
import { toView, type IntakeResult } from './invoice/intake.ts';
import { AttachSchema, abandon, attach, cancelBeforeSending, reissue, type RepairOutcome } from './invoice/repair.ts';
import { listFailed, retryFailed, retrySubmission, type RetryDeps } from './ops/retry.ts';
import { repairDeps } from './ops/repairs.ts';
import { AccountName, DEFAULT_ACCOUNT, laneKey } from './lanes/key.ts';
import { createLogger } from './observability/logger.ts';
import { sandboxAccounts } from './providers/registry.ts';
import type { RedisClient } from './redis/connect.ts';
import { startSystem, type System } from './system.ts';

const USAGE = `usage: npm run cli -- <command>
  enqueue <file.jsonl> [--batch n]
  show <provider> <foreign_id> [--account a]
  failed [--provider p] [--account a] [--reason text] [--limit n] [--json]
  retry <provider> <foreign_id> [--account a] [--confirm-not-created] [--by name]
  retry --all-failed [--provider p] [--account a] [--reason text] [--limit n] [--dry-run] [--by name]
  lanes [--json]
  cancel <provider> <foreign_id> [--account a] [--reason text] [--by name]
  abandon <provider> <foreign_id> --reason text [--status cancelled|failed] [--account a] [--by name]
  attach <provider> <foreign_id> --invoice-id id --payment-url url --reason text [--account a] [--by name]
  reissue <provider> <foreign_id> --reason text [--account a] [--by name]
  hash-password                  (password on stdin; prints the hash for ADMIN_USERS_FILE)`;

class UsageError extends Error {
  override name = 'UsageError';
}

/** Whether the progress bar is on screen; output lines clear it first when both share a terminal. */
let barShown = false;
function out(line: string): void {
  if (barShown) {
    process.stderr.write('\r\x1b[2K');
    barShown = false;
  }
  process.stdout.write(`${line}\n`);
}

function operator(given: string | undefined): string {
  if (given) return given;
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER ?? 'unknown'}`;
  }
}

function provider(ctx: Ctx, value: string | undefined): string {
  const known = [...new Set([...ctx.system.lanes.values()].map((l) => l.provider))];
  if (!value || !known.includes(value)) throw new UsageError(`provider must be one of ${known.join(', ')}`);
  return value;
}

function account(value: string | undefined): string | undefined {
  if (value !== undefined && !AccountName.safeParse(value).success) throw new UsageError('--account must be an account name (a-z, 0-9, _ and -)');
  return value;
}

/** The lane key a <provider> [--account] pair names; refused when that lane is not configured. */
function lane(ctx: Ctx, p: string | undefined, a: string | undefined): string {
  const key = laneKey(provider(ctx, p), account(a) ?? DEFAULT_ACCOUNT);
  if (!ctx.system.lanes.has(key)) throw new UsageError(`no account ${a ?? DEFAULT_ACCOUNT} is configured for ${p}`);
  return key;
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

interface Ctx {
  config: Readonly<Config>;
  system: System;
  deps: RetryDeps;
}

/** A one-line progress bar on stderr, redrawn at most every 100 ms; silent when stderr is not a terminal. */
function progressBar(total: number): { update(done: number, lines: number): void; end(): void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  const draw = (done: number, lines: number): void => {
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const width = 30;
    const filled = Math.round(ratio * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${lines} lines`);
    barShown = true;
  };
  return {
    update(done, lines) {
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      draw(done, lines);
    },
    end() {
      if (!tty || !barShown) return;
      process.stderr.write('\n');
      barShown = false;
    },
  };
}

function describeResult(n: number, r: IntakeResult): string {
  switch (r.outcome) {
    case 'accepted':
    case 'existing':
      return `line ${n}: ${r.outcome} ${r.invoice.provider}/${r.invoice.foreign_id} (${r.invoice.status})`;
    case 'conflict':
      return `line ${n}: conflict ${r.foreign_id}: ${r.message}`;
    case 'invalid':
      return `line ${n}: invalid: ${r.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`;
  }
}

async function enqueue(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { batch: { type: 'string' } } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('enqueue takes one file');
  const batchSize = Math.min(positive(values.batch, 500, 'batch'), 1000);
  const size = statSync(file).size;
  const bar = progressBar(size);
  const intake = ctx.system.intake;
  const counts = { accepted: 0, existing: 0, conflict: 0, invalid: 0 };
  let lineNo = 0;
  let bytes = 0;
  let batch: Array<{ line: number; order?: unknown; error?: string }> = [];

  const flush = async (): Promise<void> => {
    const orders = batch.filter((b) => b.error === undefined);
    const results = await intake.acceptMany(orders.map((b) => b.order));
    let i = 0;
    for (const item of batch) {
      const result: IntakeResult = item.error !== undefined ? { outcome: 'invalid', issues: [{ field: '(line)', message: item.error }] } : (results[i++] as IntakeResult);
      counts[result.outcome] += 1;
      out(describeResult(item.line, result));
    }
    batch = [];
  };

  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo += 1;
    bytes += Buffer.byteLength(line) + 1;
    if (line.trim() === '') continue;
    try {
      batch.push({ line: lineNo, order: JSON.parse(line) as unknown });
    } catch (err) {
      batch.push({ line: lineNo, error: `not valid JSON (${(err as Error).message})` });
    }
    if (batch.length >= batchSize) await flush();
    bar.update(bytes, lineNo);
  }
  if (batch.length) await flush();
  bar.update(size, lineNo);
  bar.end();
  const total = counts.accepted + counts.existing + counts.conflict + counts.invalid;
  out(`summary: ${total} orders: ${counts.accepted} accepted, ${counts.existing} existing, ${counts.conflict} conflict, ${counts.invalid} invalid`);
  return counts.conflict + counts.invalid > 0 ? 2 : 0;
}

async function show(ctx: Ctx, args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { account: { type: 'string' } } });
  if (positionals.length !== 2) throw new UsageError('show takes <provider> <foreign_id>');
  const p = lane(ctx, positionals[0], values.account);
  const foreignId = positionals[1] as string;
  const record = await ctx.system.store.get(p, foreignId);
  if (!record) {
    process.stderr.write(`no invoice for ${p}/${foreignId}\n`);
    return 1;
  }
  const job = await ctx.system.lane(record.provider, record.account).createQueue.getJob(createJobId(p, foreignId));
  const view = {
    ...toView(record, await ctx.system.store.history(record.id)),
    create_job: job ? { id: job.id, state: await job.getState(), attempts: job.attemptsMade, failed_reason: job.failedReason || null } : null,
  };
  out(JSON.stringify(view, null, 2));
  return 0;
}

async function failed(ctx: Ctx, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { provider: { type: 'string' }, account: { type: 'string' }, reason: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  });
  const items = await listFailed(ctx.deps, {
    provider: values.provider === undefined ? undefined : provider(ctx, values.provider),
    account: account(values.account),
    reason: values.reason,
    limit: positive(values.limit, 1000, 'limit'),
  });
  for (const item of items) {
    if (values.json) out(JSON.stringify(item));
    else
      out(
        `${item.lane}/${item.foreign_id}\t${item.status}\tattempts=${item.attempts}\t${item.failed_at ?? '-'}\t${item.retryable ? 'retryable' : 'not-retryable'}\t${item.failed_reason}`,
      );
  }
  if (!values.json) process.stderr.write(`${items.length} failed submission(s)\n`);
  return 0;
}

async function retry(ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'all-failed': { type: 'boolean' },
      provider: { type: 'string' },
      account: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'confirm-not-created': { type: 'boolean' },
      by: { type: 'string' },
    },
  });
  const by = operator(values.by);
  if (values['all-failed']) {
    if (positionals.length) throw new UsageError('retry --all-failed takes no positional arguments');
    const result = await retryFailed(
      ctx.deps,
      {
        provider: values.provider === undefined ? undefined : provider(ctx, values.provider),
        account: account(values.account),
        reason: values.reason,
        limit: positive(values.limit, 100, 'limit'),
      },
      { by, via: 'cli', dryRun: values['dry-run'] },
    );
    for (const r of result.retried) out(`${result.dry_run ? 'would retry' : 'retried'} ${r.provider}/${r.foreign_id}`);
    for (const s of result.skipped) out(`skipped ${s.provider}/${s.foreign_id}: ${s.why}`);
    out(`summary: ${result.matched} matched, ${result.retried.length} ${result.dry_run ? 'would be retried' : 'retried'}, ${result.skipped.length} skipped`);
    return result.skipped.length ? 2 : 0;
  }
  if (positionals.length !== 2) throw new UsageError('retry takes <provider> <foreign_id>, or --all-failed');
  const p = lane(ctx, positionals[0], values.account);
  const foreignId = positionals[1] as string;
  const result = await retrySubmission(ctx.deps, p, foreignId, { by, via: 'cli', confirmNotCreated: values['confirm-not-created'] });
  switch (result.outcome) {
    case 'retrying':
      out(`retrying ${p}/${foreignId} (its job was ${result.previous_job_state})`);
      return 0;
    case 'not_found':
      process.stderr.write(`no invoice for ${p}/${foreignId}\n`);
      return 1;
    case 'not_retryable':
      out(`not retried: ${p}/${foreignId} is ${result.status}; only submissions not yet at the provider can be retried`);
      return 2;
    case 'needs_reconciliation':
      out(`not retried: ${p}/${foreignId} is parked (${result.reconcile}); check at the provider, then retry with --confirm-not-created`);
      return 2;
  }
}

async function reachable(redis: RedisClient, url: string): Promise<void> {
  const ok = await within(redis.ping(), 5000, 'Redis ping').then(
    () => true,
    () => false,
  );
  if (!ok) throw new UsageError(`cannot reach Redis at ${url.replace(/\/\/[^@/]*@/, '//***@')}`);
}

async function lanes(ctx: Ctx, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const all = await ctx.system.laneStatus();
  for (const l of all) {
    if (values.json) out(JSON.stringify(l));
    else
      out(
        `${l.lane}\t${l.breaker}${l.probe_at ? ` until ${l.probe_at}` : ''}\tfailures=${l.failures}\twaiting=${l.waiting}\tfailed=${l.failed}\toldest_wait=${l.oldest_wait_seconds.toFixed(1)}s${l.paused_seconds ? `\tpaused=${l.paused_seconds.toFixed(1)}s` : ''}${l.unpaid !== undefined ? `\tunpaid=${l.unpaid}/${l.max_unpaid}` : ''}`,
      );
  }
  return 0;
}

/** cancel, abandon, attach and reissue: the same repairs as the API (src/invoice/repair.ts). */
async function repairCommand(what: 'cancel' | 'abandon' | 'attach' | 'reissue', ctx: Ctx, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      reason: { type: 'string' },
      by: { type: 'string' },
      status: { type: 'string' },
      'invoice-id': { type: 'string' },
      'payment-url': { type: 'string' },
    },
  });
  if (positionals.length !== 2) throw new UsageError(`${what} takes <provider> <foreign_id>`);
  const key = lane(ctx, positionals[0], values.account);
  const foreignId = positionals[1] as string;
  const reason = values.reason?.trim();
  if (what !== 'cancel' && !reason) throw new UsageError(`${what} needs --reason`);
  const req = { by: operator(values.by), via: 'cli', reason: reason ?? 'requested from the CLI' };
  const deps = repairDeps({
    store: ctx.system.store,
    lanes: ctx.system.lanes,
    log: ctx.deps.log,
    track: { pollIdleMs: ctx.config.POLL_IDLE_MS, graceMs: ctx.config.DEADLINE_GRACE_MS },
  });
  let result: RepairOutcome;
  if (what === 'cancel') result = await cancelBeforeSending(deps, key, foreignId, req);
  else if (what === 'abandon') {
    if (values.status !== undefined && values.status !== 'cancelled' && values.status !== 'failed') throw new UsageError('--status must be cancelled or failed');
    result = await abandon(deps, key, foreignId, { ...req, status: values.status });
  } else if (what === 'reissue') result = await reissue(deps, key, foreignId, req);
  else {
    const id = values['invoice-id']?.trim();
    const url = values['payment-url'];
    if (!id) throw new UsageError('attach needs --invoice-id');
    if (!url || !AttachSchema.shape.payment_url.safeParse(url).success) throw new UsageError('attach needs --payment-url, an http(s) URL');
    result = await attach(deps, key, foreignId, { ...req, providerInvoiceId: id, paymentUrl: url });
  }
  const past = { cancel: 'cancelled', abandon: 'abandoned', attach: 'attached', reissue: 'reissued' }[what];
  switch (result.outcome) {
    case 'done':
      out(`${past} ${key}/${foreignId}: ${result.status}${result.record.provider_foreign_id ? ` as ${result.record.provider_foreign_id}` : ''}`);
      return 0;
    case 'not_found':
      process.stderr.write(`no invoice for ${key}/${foreignId}\n`);
      return 1;
    case 'refused':
      out(`not ${past}: ${key}/${foreignId} is ${result.status}; ${result.why}`);
      return 2;
    case 'invalid':
      throw new UsageError(result.issues.map((i) => `${i.field === 'payment_url' ? '--payment-url' : i.field} ${i.message}`).join('; '));
  }
}

/**
 * The first line of stdin (typed, or piped: `printf '%s' "$PW" | npm run cli -- hash-password`),
 * hashed for ADMIN_USERS_FILE. The password is never echoed or logged.
 */
async function hashPasswordCommand(args: string[]): Promise<number> {
  if (args.length) throw new UsageError('hash-password takes no arguments: it reads the password on stdin');
  const tty = !!process.stdin.isTTY;
  if (tty) process.stderr.write('password (not shown): ');
  // On a terminal, readline echoes to its output: a sink that drops everything keeps the password off the screen.
  const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const lines = createInterface({ input: process.stdin, output: tty ? sink : undefined, terminal: tty });
  let password = '';
  for await (const line of lines) {
    password = line;
    break;
  }
  lines.close();
  if (tty) process.stderr.write('\n');
  if (password.length < 12) throw new UsageError('the password must be at least 12 characters');
  out(await hashPassword(password));
  return 0;
}

const COMMANDS: Record<string, (ctx: Ctx, args: string[]) => Promise<number>> = {
  enqueue,
  show,
  failed,
  retry,
  lanes,
  cancel: (ctx, args) => repairCommand('cancel', ctx, args),
  abandon: (ctx, args) => repairCommand('abandon', ctx, args),
  attach: (ctx, args) => repairCommand('attach', ctx, args),
  reissue: (ctx, args) => repairCommand('reissue', ctx, args),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE);
    return command ? 0 : 1;
  }
  // Needs neither configuration nor Redis: it only hashes what it reads.
  if (command === 'hash-password') return hashPasswordCommand(args);
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command ${command}`);
  let config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, process.stderr);
  const url = config.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (config.sandbox) {
    // The service runs the sandbox's accounts: the same lanes here, for validation and ids (nothing is sent from the CLI).
    // Loaded only here: the production image has no sandbox (and has provider credentials).
    const { SANDBOX_CREDENTIALS } = await import('./sandbox/credentials.ts');
    const box = { baseUrls: new Proxy({}, { get: () => 'http://sandbox.invalid' }) as Record<string, string>, credentials: SANDBOX_CREDENTIALS };
    config = Object.freeze({ ...config, accounts: sandboxAccounts(box) });
  }
  // The same composition as the API role, without listening: the same intake, lanes and store.
  const system = await startSystem({ config, redisUrl: url, log: log.child({ component: 'cli' }), role: 'api', defaultMetrics: false });
  try {
    await reachable(system.redis, url);
    return await run({ config, system, deps: { store: system.store, lanes: system.lanes, log: log.child({ component: 'cli' }) } }, args);
  } finally {
    await system.close(1000);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write('Configuration error:\n');
      for (const issue of err.issues) process.stderr.write(`  ${issue.field}: ${issue.message}\n`);
    } else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    } else if ((err as { code?: string }).code === 'ENOENT') {
      process.stderr.write(`${(err as Error).message}\n`);
    } else {
      process.stderr.write(`failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);

/**
 * `npm run chaos`: the whole system under faults, then the guarantees checked (see harness.ts
 * and checks.ts). Exits 1 when any check fails.
 *
 *   CHAOS_ORDERS       orders to push (default 2000)
 *   CHAOS_SEED         random seed (default: random, printed so a run can be repeated)
 *   CHAOS_REDIS_PORT   port of the run's own Redis (default 6390)
 *   CHAOS_CRASH_FSYNC  fsync policy when Redis is crashed mid-run: `always` (default) or
 *                      `everysec` (shows what a crash under everysec can lose; see RESULTS.md)
 *   CHAOS_KEEP_LOGS=1  keep the processes' logs (always kept when a check fails)
 *   CHAOS_STALL_MS     a wait of the run (a process starting, Redis coming back, the intake, the
 *                      settling) gives up after this long without any progress (default 60000)
 *   CHAOS_CAP_MS       safety cap on the whole run, however it progresses (default 1800000, 30 min)
 *   --write            also write the report to test/chaos/RESULTS.md
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureAofCrash, type AofTrial } from './aof-probe.ts';
import { runChaos, type ChaosOptions, type ChaosReport } from './harness.ts';

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} must be a positive integer, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const orders = int('CHAOS_ORDERS', 2000);
const seed = int('CHAOS_SEED', 1 + Math.floor(Math.random() * 2 ** 31));
const crashFsync = process.env.CHAOS_CRASH_FSYNC === 'everysec' ? 'everysec' : 'always';
const write = process.argv.includes('--write');

export function defaultOptions(n: number, s: number): ChaosOptions {
  return {
    orders: n,
    seed: s,
    redisPort: int('CHAOS_REDIS_PORT', 6390),
    workers: 2,
    // 15 min timers last 9 s, CryptoSteroid's 30 min 18 s, the first callback redelivery 0.6 s.
    timeScale: 0.01,
    schedule: { paid: 0.45, partly: 0.15, expired: 0.25, failed: 0.15, delayMs: 2500 },
    habits: { duplicateRate: 0.15, lateRate: 0.15 },
    faults: [
      { fault: 'latency', rate: 0.2, ms: 300 },
      { fault: '5xx', rate: 0.05 },
      { fault: '429', rate: 0.02 },
      { fault: 'reset', rate: 0.02 },
      { fault: 'commit-then-drop', rate: 0.02 },
      { fault: 'hang', rate: 0.01, commit: true },
      { fault: 'hang', rate: 0.01 },
    ],
    storms: { everyMs: 15_000, count: 40 },
    events: [
      { afterAccepted: Math.round(n * 0.3), action: 'redis-shutdown' },
      { afterAccepted: Math.round(n * 0.65), action: 'redis-crash', fsync: crashFsync },
    ],
    randomKills: { minGapMs: 6000, maxGapMs: 14_000, afterLoadMs: 15_000 },
    restartDelayMs: [500, 3000],
    forged: Math.max(45, Math.round(n * 0.15)),
    ratePerSec: 30,
    maxBatch: 40,
    duplicateShare: 0.1,
    conflictShare: 0.03,
    finishAfterMs: 30_000,
    stallMs: int('CHAOS_STALL_MS', 60_000),
    capMs: int('CHAOS_CAP_MS', 30 * 60_000),
  };
}

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : `${(v / 1000).toFixed(2)} s`);
const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

export function formatReport(r: ChaosReport, o: ChaosOptions, command: string, aof: AofTrial[] = []): string {
  const L: string[] = [];
  const f = r.figures as Record<string, any>;
  L.push(`# Chaos run`, '');
  L.push(`- command: \`${command}\``);
  L.push(`- machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`);
  L.push(`- seed ${o.seed}; ${o.orders} orders over 4 connectors; ${o.workers} worker processes + 1 API process; one Redis with AOF (everysec)`);
  L.push(
    `- faults on provider creates: ${o.faults.map((x) => `${x.fault}${x.commit ? ' (committed)' : ''} ${x.rate !== undefined ? `${x.rate * 100}%` : `x${x.count}`}`).join(', ')}${o.storms ? `; a 429 storm of ${o.storms.count} every ${o.storms.everyMs / 1000} s` : ''}`,
  );
  L.push(`- callbacks: ${o.habits.duplicateRate * 100}% duplicated, ${o.habits.lateRate * 100}% late/out of order, half PHP-escaped; ${o.forged} forged or replayed by the runner`);
  L.push(`- time: setup ${ms(r.durations.setupMs)}, intake ${ms(r.durations.intakeMs)}, settle ${ms(r.durations.settleMs)}, total ${ms(r.durations.totalMs)}`);
  if (!r.settle.settled) L.push(`- the settling gave up: ${r.settle.detail}`);
  L.push('', '## Checks', '');
  L.push('| check | result | figure |', '|---|---|---|');
  for (const c of r.checks) L.push(`| ${c.name} | ${c.ok ? 'PASS' : '**FAIL**'} | ${c.detail} |`);
  const failing = r.checks.filter((c) => !c.ok && c.examples.length);
  if (failing.length) {
    L.push('');
    for (const c of failing) {
      L.push(`- ${c.name}:`);
      for (const e of c.examples) L.push(`  - ${e}`);
    }
  }
  L.push('', '## Recovery', '');
  L.push('| fault | when | stalled jobs | first stall seen | all of them done | back up |', '|---|---|---|---|---|---|');
  const t0 = r.startedAt;
  for (const k of r.kills) {
    L.push(
      `| SIGKILL ${k.worker} | +${ms(k.at - t0)} | ${k.stalled}${k.unfinished ? ` (${k.unfinished} unfinished)` : ''} | ${ms(k.detectMs)} | ${ms(k.recoverMs)} | restarted and ready after ${ms(k.restartMs)} |`,
    );
  }
  for (const x of r.restarts) {
    L.push(
      `| Redis ${x.how === 'shutdown' ? '`redis-cli shutdown`' : 'SIGKILL'} (${x.fsync}) | +${ms(x.at - t0)} | ${x.stalled} | | next result ${ms(x.nextResultMs)}, next created ${ms(x.nextCreatedMs)} after Redis answered | down ${ms(x.downtimeMs)}; ${x.probe.lost} of ${x.probe.acked} acknowledged probe writes lost |`,
    );
  }
  const recover = r.kills.map((k) => k.recoverMs).filter((v): v is number => v !== null);
  L.push(
    '',
    `Worker kill to its stalled jobs done: median ${ms(median(recover))}, max ${ms(recover.length ? Math.max(...recover) : null)} (lock ${'2 s'}, stalled check every 1 s).`,
  );
  L.push('', '## Figures', '');
  L.push(
    `- intake: ${Object.entries(r.intake)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  L.push(
    `- final statuses: ${Object.entries(f.statuses ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  L.push(
    `- settlement: ${Object.entries(f.settlement ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  L.push(
    `- on the reconciliation list, by reason: ${
      Object.entries(f.parkedReasons ?? {})
        .map(([k, v]) => `"${k}" ${v}`)
        .join('; ') || 'none'
    } (of which already terminal: ${f.terminalParked ?? 0})`,
  );
  L.push(
    `- results published: ${Object.entries(f.resultsByStatus ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  L.push(
    `- invoices at the provider per order: ${Object.entries(f.invoicesPerOrder ?? {})
      .map(([k, v]) => `${k}: ${v} orders`)
      .join(', ')}`,
  );
  const stats = r.sandbox.stats as Record<string, { received: number; byStatus: Record<string, number> }>;
  L.push(
    `- provider create requests: ${Object.entries(stats)
      .map(
        ([p, s]) =>
          `${p} ${s.received} (${Object.entries(s.byStatus)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')})`,
      )
      .join('; ')}`,
  );
  L.push(
    `- callbacks delivered by the sandbox: ${Object.entries(r.sandbox.deliveries)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; sandbox invoices ended by the runner's clock: ${r.sandbox.finishedByRunner}`,
  );
  L.push(
    `- forged and replayed callbacks, by kind and answer: ${Object.entries(f.forged ?? {})
      .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
      .join(', ')}`,
  );
  L.push(`- stalled jobs seen: ${f.stalledTotal}; callback jobs in the failed set: ${f.failedEvents}; log lines scanned: ${f.logLines}`);
  L.push('', '## Reading these figures', '');
  L.push(
    '- Guarantee 1 is counted at the provider: invoices the sandbox holds per (provider, kind, foreign_id). Orders with 0 were refused (`rejected`) or parked before anything reached the provider.',
  );
  L.push(
    '- "Parked" orders wait on the reconciliation list with their reason: CryptoSteroid orders whose create request may have been committed but whose answer was lost are never re-sent (the provider does not refuse a duplicate), so an operator checks them at the provider.',
  );
  L.push(
    "- The runner ends, at the sandbox, invoices the sandbox itself would leave open for ever (a partly paid CryptoSteroid invoice stays WAITING): it plays the provider's clock, then checks that the system followed.",
  );
  L.push(
    '- Recovery after a worker SIGKILL: from the kill to the moment every job it held was found stalled, handed to another worker and finished (lock 2 s, stalled check every 1 s). After a Redis restart: from Redis answering again to the next result published.',
  );
  L.push(
    '- Redis is restarted twice under load: `redis-cli shutdown` (Redis writes and fsyncs the AOF before it exits: nothing acknowledged is lost) and SIGKILL with `appendfsync always` (every acknowledged write is on disk). Under `appendfsync everysec` a crash can lose up to about 2 s of acknowledged writes, which no application code can win back: an order answered 202 in that window can vanish, and a CryptoSteroid order whose write-ahead marker vanished can be sent twice. `CHAOS_CRASH_FSYNC=everysec npm run chaos` runs the crash that way; the table below measures the window.',
  );
  if (aof.length) {
    L.push('', '## What the AOF gives back after a Redis crash (SIGKILL)', '');
    L.push('Two clients with 16 commands in flight each INCR one counter for 3 s, then Redis is killed and restarted; acknowledged = the highest value Redis answered.', '');
    L.push('| appendfsync | writes/s | acknowledged | after restart | acknowledged writes lost |', '|---|---|---|---|---|');
    for (const a of aof) L.push(`| ${a.fsync} | ${a.writesPerSecond} | ${a.acked} | ${a.recovered} | ${a.lost} |`);
  }
  return L.join('\n');
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const options = { ...defaultOptions(orders, seed), keepLogs: process.env.CHAOS_KEEP_LOGS === '1', say: (l: string) => console.log(l) };
  const command = `CHAOS_ORDERS=${orders} CHAOS_SEED=${seed}${crashFsync === 'everysec' ? ' CHAOS_CRASH_FSYNC=everysec' : ''} npm run chaos`;
  console.log(`chaos run: ${orders} orders, seed ${seed}`);
  let report: ChaosReport;
  try {
    report = await runChaos({ ...options, keepLogs: true });
  } catch (err) {
    console.error('the chaos run could not complete:', err);
    process.exit(1);
  }
  let aof: AofTrial[] = [];
  if (process.env.CHAOS_SKIP_AOF_PROBE !== '1') {
    console.log('measuring what the AOF gives back after a crash...');
    aof = await measureAofCrash(['everysec', 'everysec', 'everysec', 'everysec', 'everysec', 'everysec', 'always', 'always']).catch((err) => {
      console.error('AOF probe failed:', err);
      return [];
    });
  }
  const text = formatReport(report, options, command, aof);
  console.log(`\n${text}\n`);
  if (write) writeFileSync(new URL('./RESULTS.md', import.meta.url), `${text}\n`);
  if (report.ok && !options.keepLogs) {
    const { rmSync } = await import('node:fs');
    rmSync(report.logDir, { recursive: true, force: true });
  } else {
    console.log(`logs kept in ${report.logDir}`);
  }
  console.log(report.ok ? 'chaos: all checks passed' : 'chaos: CHECKS FAILED');
  process.exit(report.ok ? 0 : 1);
}

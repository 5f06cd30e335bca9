/**
 * The product's own processes for the chaos run: `src/main.ts --role api|worker`, configured by
 * environment only, exactly as deployed. Each start of a process writes its stdout and stderr to
 * a log file of its own (`worker-1.2.log` is the second life of worker 1), so the run can scan
 * every line any process ever wrote for secrets and personal data.
 *
 * Also the run's way of waiting (`Patience`, `ProgressWatch`, `waitWhileProgressing`): a wait goes
 * on as long as something it can measure still moves (a process's CPU time and log, orders
 * settling, results published...) and gives up only after a stall window with no progress at all,
 * or at the run's safety cap. A slow machine makes the run slower, not red.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How long a wait may last: until `stallMs` pass without any progress, or the run's safety cap (`deadline`, epoch ms). */
export interface Patience {
  stallMs: number;
  deadline: number;
  /** True once the run is stopping (it failed elsewhere): the wait ends at once. */
  stopped?: () => boolean;
}

/**
 * Numbers that move when the thing awaited moves: a wait sees progress when any of them reaches a
 * new best (a new high, or a new low for the ones named "lower is better").
 */
export type Progress = Record<string, number>;

export const DEFAULT_PATIENCE = (): Patience => ({ stallMs: 60_000, deadline: Date.now() + 30 * 60_000 });

const fmt = (p: Progress): string =>
  Object.entries(p)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'nothing measured';

/** A wait that stalled (no progress for its stall window) or ran into the run's safety cap. */
export class StalledWaitError extends Error {
  constructor(
    readonly wait: string,
    readonly why: 'stalled' | 'cap',
    readonly last: Progress,
    message: string,
  ) {
    super(message);
    this.name = 'StalledWaitError';
  }
}

/**
 * Keeps the best marks of one wait's progress numbers and says when it has stalled: no number
 * reached a new best for `stallMs`, or the safety cap passed. A number that goes down and up again
 * (a queue that fills and drains) is progress only when it beats its best, so churn alone never
 * keeps a wait alive.
 */
export class ProgressWatch {
  readonly startedAt = Date.now();
  private lastProgressAt = Date.now();
  private readonly best = new Map<string, number>();
  private last: Progress = {};
  private note = '';

  constructor(
    readonly name: string,
    readonly patience: Patience,
  ) {}

  /** Records one reading; true when it is progress. */
  observe(progress: Progress, opts: { lowerIsBetter?: string[]; note?: string } = {}): boolean {
    this.last = progress;
    this.note = opts.note ?? '';
    let moved = false;
    for (const [k, v] of Object.entries(progress)) {
      if (!Number.isFinite(v)) continue;
      const b = this.best.get(k);
      const better = b !== undefined && (opts.lowerIsBetter?.includes(k) ? v < b : v > b);
      if (b === undefined || better) {
        this.best.set(k, v);
        if (b !== undefined) moved = true;
      }
    }
    if (moved) this.lastProgressAt = Date.now();
    return moved;
  }

  /** Notes a reading that could not be taken (e.g. Redis is restarting): no progress, but said in the error. */
  missed(why: string): void {
    this.note = why;
  }

  verdict(now = Date.now()): 'stalled' | 'cap' | null {
    if (now >= this.patience.deadline) return 'cap';
    if (now - this.lastProgressAt >= this.patience.stallMs) return 'stalled';
    return null;
  }

  describe(why: 'stalled' | 'cap'): string {
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const now = Date.now();
    const head =
      why === 'stalled'
        ? `${this.name} stalled: no progress for ${s(now - this.lastProgressAt)} (stall window ${s(this.patience.stallMs)}, waited ${s(now - this.startedAt)})`
        : `${this.name} hit the run's safety cap (waited ${s(now - this.startedAt)}, last progress ${s(now - this.lastProgressAt)} before)`;
    return `${head}; last numbers: ${fmt(this.last)}${this.note ? `; ${this.note}` : ''}`;
  }

  error(why: 'stalled' | 'cap'): StalledWaitError {
    return new StalledWaitError(this.name, why, { ...this.last }, this.describe(why));
  }
}

export interface Reading<T> {
  done: boolean;
  value?: T;
  progress: Progress;
  lowerIsBetter?: string[];
  note?: string;
}

/**
 * Polls `read` every `intervalMs` until it says done; throws a StalledWaitError naming the wait
 * and its last numbers when they stopped moving for the stall window, or at the safety cap.
 * Errors thrown by `read` end the wait at once (a process that died, say).
 */
export async function waitWhileProgressing<T>(name: string, patience: Patience, read: () => Promise<Reading<T>> | Reading<T>, intervalMs = 250): Promise<T> {
  const watch = new ProgressWatch(name, patience);
  for (;;) {
    if (patience.stopped?.()) throw new Error(`${name}: the run is stopping`);
    const r = await read();
    if (r.done) return r.value as T;
    watch.observe(r.progress, { lowerIsBetter: r.lowerIsBetter, note: r.note });
    const v = watch.verdict();
    if (v) throw watch.error(v);
    await new Promise((res) => setTimeout(res, intervalMs));
  }
}

/** Awaits `work`, watching `progress` while it is pending: gives up as `waitWhileProgressing` does. */
export async function settleWhileProgressing<T>(name: string, patience: Patience, work: Promise<T>, progress: () => Progress, intervalMs = 250): Promise<T> {
  let over = false;
  const watching = waitWhileProgressing(name, patience, () => ({ done: over, progress: progress() }), intervalMs);
  watching.catch(() => undefined);
  try {
    return await Promise.race([work, watching.then(() => work)]);
  } finally {
    over = true;
  }
}

/** CPU time (clock ticks, user + system) a process has used so far, from /proc; undefined where there is no /proc. */
export function cpuTicks(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return undefined;
  }
}

export function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export interface AppProcess {
  name: string;
  role: 'api' | 'worker';
  child: ChildProcess;
  pid: number;
  logFile: string;
  startedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Has it logged that it started? */
  started(): boolean;
  output(): string;
  /** What shows the process is still working on something: its CPU time and its log's size. */
  progress(): Progress;
  /**
   * Resolves once the process logged that it started; rejects if it exits first, or when it made
   * no progress at all (no CPU time used, nothing logged) for the stall window, or at the cap.
   */
  ready(patience?: Patience): Promise<number>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const STARTED = '"msg":"invoice worker started"';
const running = new Set<ChildProcess>();
// A runner that dies (an uncaught error) must not leave the product's processes behind.
process.once('exit', () => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function startApp(name: string, role: 'api' | 'worker', env: Record<string, string>, logDir: string): AppProcess {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const output = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  let startedSeen = false;
  let readyAfter: number | undefined;
  const started = (): boolean => {
    if (!startedSeen && output().includes(STARTED)) {
      startedSeen = true;
      readyAfter ??= Date.now() - startedAt;
    }
    return startedSeen;
  };
  const progress = (): Progress => {
    const p: Progress = { 'log bytes': fileBytes(logFile) };
    const ticks = cpuTicks(child.pid);
    if (ticks !== undefined) p['cpu ticks'] = ticks;
    return p;
  };
  const startedAt = Date.now();
  return {
    name,
    role,
    child,
    pid: child.pid,
    logFile,
    startedAt,
    exited,
    alive,
    started,
    output,
    progress,
    async ready(patience = DEFAULT_PATIENCE()) {
      return waitWhileProgressing(
        `${name} to start`,
        patience,
        () => {
          if (started()) return { done: true, value: readyAfter ?? Date.now() - startedAt, progress: {} };
          if (!alive()) throw new Error(`${name} exited before it started:\n${output().slice(-2000)}`);
          return { done: false, progress: progress(), note: `alive, ${((Date.now() - startedAt) / 1000).toFixed(1)} s since spawn` };
        },
        50,
      );
    },
    async kill(signal) {
      if (alive()) child.kill(signal);
      return exited;
    },
  };
}

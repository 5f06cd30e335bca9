/**
 * Child processes of the benchmark (sandbox, API, workers, reference worker) and what we read
 * about them: resident memory and CPU time from /proc (Linux), output in a log file so a busy
 * worker's logging costs what it costs in production (a write to a file descriptor).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
export { freePort } from '../test/helpers/ports.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * How the product runs: `dist` (default; the compiled build, as production runs it: `npm run bench`
 * builds it first) or `tsx` (the TypeScript sources through the loader, as `npm start` runs them:
 * about 35 MB more resident memory per process, the same code once loaded).
 */
export const RUNTIME: 'dist' | 'tsx' = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'dist';

/** The command line that runs `script` (a .ts path from the root): compiled when it is the product's. */
function commandFor(script: string, runtime: 'dist' | 'tsx'): string[] {
  if (runtime === 'dist' && /^(src|workers|queues)\//.test(script)) return [join(ROOT, 'dist', script.replace(/\.ts$/, '.js'))];
  return ['--import', 'tsx', script];
}
const TICKS_PER_SECOND = 100;

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  logFile: string;
  output(): string;
  /** Resident set size in bytes (undefined off Linux or after exit). */
  rss(): number | undefined;
  /** User + system CPU time in ms (undefined off Linux or after exit). */
  cpuMs(): number | undefined;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

/** Every child still running; killed if the benchmark exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/**
 * `runtime`: how a product script runs (RUNTIME unless the scenario says, e.g. `tsx` for the
 * one-process start exactly as `npm start` runs it).
 */
export function spawnTs(
  name: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  dir: string,
  nodeFlags: string[] = [],
  runtime: 'dist' | 'tsx' = RUNTIME,
): Child {
  return spawnNode(name, [...nodeFlags, ...commandFor(script, runtime), ...args], env, dir);
}

/**
 * `node <argv>` in `cwd` (this checkout, or another revision's tree: bench/all-in-one.ts
 * `BENCH_ALL_IN_ONE_BEFORE`), its output in `<dir>/<name>.log`.
 */
export function spawnNode(name: string, argv: string[], env: Record<string, string>, dir: string, cwd: string = ROOT): Child {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const proc = spawn(process.execPath, argv, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`could not start ${name}`);
  running.add(proc);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      running.delete(proc);
      resolve(code);
    }),
  );
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  return {
    name,
    pid,
    proc,
    logFile,
    exited,
    output: () => readFileSync(logFile, 'utf8'),
    rss() {
      if (!alive()) return undefined;
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    cpuMs() {
      if (!alive()) return undefined;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
      } catch {
        return undefined;
      }
    },
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (!alive()) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until the child's output satisfies `test`; fails early with its output if it exits. */
export async function waitForOutput<T>(child: Child, test: (out: string) => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = child.output();
    const found = test(out);
    if (found !== undefined) return found;
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${child.name} exited before ${what}:\n${out.slice(-3000)}`);
    }
    if (Date.now() > deadline) throw new Error(`${child.name}: timed out waiting for ${what}:\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

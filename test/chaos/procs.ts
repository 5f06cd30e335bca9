/**
 * The product's own processes for the chaos run: `src/main.ts --role api|worker`, configured by
 * environment only, exactly as deployed. Each start of a process writes its stdout and stderr to
 * a log file of its own (`worker-1.2.log` is the second life of worker 1), so the run can scan
 * every line any process ever wrote for secrets and personal data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface AppProcess {
  name: string;
  role: 'api' | 'worker';
  child: ChildProcess;
  pid: number;
  logFile: string;
  startedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  output(): string;
  /** Resolves once the process logged that it started; rejects if it exits first or times out. */
  ready(timeoutMs?: number): Promise<number>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const output = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
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
    output,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (output().includes('"msg":"invoice worker started"')) return Date.now() - startedAt;
        if (!alive()) throw new Error(`${name} exited before it started:\n${output().slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`${name} did not start within ${timeoutMs} ms:\n${output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill(signal) {
      if (alive()) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs the real worker role (`src/main.ts --role worker`) as a child process against a test
 * sandbox and queue prefix, so tests can kill it with SIGKILL or SIGTERM like production would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serviceEnv } from '../../src/sandbox/env.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { REDIS_URL } from './redis.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function workerEnv(sandbox: Sandbox, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    SANDBOX: 'off',
    LOG_LEVEL: 'info',
    ...serviceEnv(sandbox),
    CREATE_BACKOFF_MS: '50',
    WORKER_LOCK_DURATION_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    ...extra,
  };
}

export function startWorkerProcess(env: Record<string, string>, role = 'worker'): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += String(d)));
  child.stderr?.on('data', (d) => (out += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    output: () => out,
    exited,
    kill(signal) {
      child.kill(signal);
      return exited;
    },
  };
}

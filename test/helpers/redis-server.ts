/**
 * A throwaway single `redis-server` on a free loopback port, for tests and benchmarks that need a
 * Redis of their own (to make it refuse writes, or to measure it with nobody else's traffic). No
 * persistence unless the caller's args say so; its dir and log are removed by `stop()`, and a
 * process that exits without calling it still kills the server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';

export interface LocalRedis {
  port: number;
  url: string;
  /** The server's process id (to freeze it with SIGSTOP and thaw it with SIGCONT). */
  pid: number;
  /** A plain client for the caller's own commands (CONFIG SET, INFO...). */
  client: Redis;
  stop(): Promise<void>;
}

/** The first of these programs missing from PATH, as a skip reason; undefined when all are there. */
export function missingOnPath(...bins: string[]): string | undefined {
  for (const bin of bins) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} not found on PATH`;
    }
  }
  return undefined;
}

export async function startRedisServer(opts: { args?: string[]; parentDir?: string } = {}): Promise<LocalRedis> {
  const dir = await mkdtemp(join(opts.parentDir ?? tmpdir(), 'redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...(opts.args ?? [])];
  const log = openSync(join(dir, 'redis.log'), 'w');
  const proc = spawn('redis-server', args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const kill = (): void => void proc.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  // Refused while the server starts; the commands below still fail if it never answers.
  client.on('error', () => undefined);
  const stop = async (): Promise<void> => {
    client.disconnect();
    // A frozen server would never act on SIGTERM.
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGCONT');
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    process.off('exit', kill);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await client.connect().catch(() => undefined);
    const deadline = Date.now() + 15_000;
    while ((await client.ping().catch(() => '')) !== 'PONG') {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with code ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    return { port, url: `redis://127.0.0.1:${port}`, pid: proc.pid as number, client, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A Redis of the chaos run's own: one `redis-server` on loopback with AOF on
 * (`appendonly yes`, `appendfsync everysec`), its data in a temp folder, started, stopped, crashed
 * and restarted by the run. Nothing else uses it, so it can be killed at will.
 *
 * Two ways down, because they promise different things:
 * - `shutdown()`: `redis-cli shutdown`, Redis flushes and fsyncs the AOF before it exits, so
 *   every acknowledged write is back after the restart.
 * - `crash()`: SIGKILL. With `everysec`, Redis answers a write before the write reaches the AOF
 *   when the last fsync is still running (it postpones the write for up to 2 s), so a crash can
 *   lose acknowledged writes. `appendfsync always` closes that window (`setFsync`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
export { freePort } from '../helpers/ports.ts';
import { freePort } from '../helpers/ports.ts';
import { redisAnswers } from '../../src/redis/connect.ts';

const run = promisify(execFile);

export interface AofRedis {
  port: number;
  url: string;
  /** Where the AOF and the server log live (removed by `stop()`). */
  dir: string;
  logFile: string;
  /** Clean stop: `redis-cli shutdown` (AOF flushed). Resolves when the process has exited. */
  shutdown(): Promise<void>;
  /** Crash: SIGKILL. */
  crash(): Promise<void>;
  /** Starts the server again on the same port and data; resolves when it answers PING. */
  start(): Promise<void>;
  /** `everysec` or `always`, at runtime (CONFIG SET); a restart goes back to `everysec`. */
  setFsync(mode: 'everysec' | 'always'): Promise<void>;
  /** Is the server process running? */
  running(): boolean;
  /** Final stop: kills the server and removes its folder. */
  stop(): Promise<void>;
}

/** True when nothing listens on 127.0.0.1:port. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function ping(port: number): Promise<boolean> {
  // LOADING is an error reply: the server answers only once the AOF is loaded.
  return redisAnswers(`redis://127.0.0.1:${port}`, 300);
}

export async function startAofRedis(port?: number): Promise<AofRedis> {
  const chosen = port ?? (await freePort());
  if (!(await portFree(chosen))) throw new Error(`port ${chosen} is taken: set another one for the chaos Redis`);
  const dir = await mkdtemp(join(tmpdir(), 'chaos-redis-'));
  const logFile = join(dir, 'redis.log');
  let child: ChildProcess | undefined;
  const alive = (): boolean => !!child && child.exitCode === null && child.signalCode === null;
  const killOnExit = (): void => {
    if (alive()) child?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const exited = (c: ChildProcess): Promise<void> => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((resolve) => c.once('exit', () => resolve())));

  const server: AofRedis = {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    dir,
    logFile,
    running: alive,
    async start() {
      if (alive()) return;
      child = spawn(
        'redis-server',
        [
          '--port',
          String(chosen),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--appendonly',
          'yes',
          '--appendfsync',
          'everysec',
          '--save',
          '',
          '--maxmemory-policy',
          'noeviction',
          '--logfile',
          logFile,
        ],
        { stdio: 'ignore' },
      );
      const deadline = Date.now() + 30_000;
      while (!(await ping(chosen))) {
        if (!alive()) throw new Error(`redis-server on ${chosen} exited at start (see its log)`);
        if (Date.now() > deadline) throw new Error(`redis-server on ${chosen} did not answer within 30 s`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async shutdown() {
      if (!child || !alive()) return;
      const done = exited(child);
      // SHUTDOWN closes the connection instead of answering: redis-cli exits non-zero on that.
      await run('redis-cli', ['-h', '127.0.0.1', '-p', String(chosen), 'shutdown'], { timeout: 30_000 }).catch(() => undefined);
      await done;
    },
    async crash() {
      if (!child || !alive()) return;
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    },
    async setFsync(mode) {
      await run('redis-cli', ['-h', '127.0.0.1', '-p', String(chosen), 'config', 'set', 'appendfsync', mode], { timeout: 10_000 });
    },
    async stop() {
      if (child && alive()) {
        const done = exited(child);
        child.kill('SIGKILL');
        await done;
      }
      process.off('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

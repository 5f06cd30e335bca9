/**
 * Throwaway replicated Redis on loopback for failover tests: a primary, replicas (`--replicaof`),
 * optionally Sentinels (`redis-server --sentinel`), each a `redis-server` on a free port with no
 * persistence, in a temp dir. Unlike test/helpers/redis-server.ts every node can be killed with a
 * signal (SIGKILL: a crash, nothing flushed) and promoted. A process that exits without `stop()`
 * still kills them.
 *
 * `startLinkProxy` puts a TCP proxy between a replica and its primary whose primary-to-replica
 * direction can be held: what the primary sends after `hold()` never reaches the replica, which
 * makes "the primary answered, then died before the replica had it" deterministic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';
import { missingOnPath } from './redis-server.ts';

export interface RedisNode {
  port: number;
  url: string;
  /** A plain client for the test's own commands (INFO, REPLICAOF...). */
  client: Redis;
  proc: ChildProcess;
  /** Sends the signal and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface RedisGroup {
  dir: string;
  nodes: RedisNode[];
  /** Starts one more `redis-server` (data node or sentinel) in the group's dir. */
  start(args: string[], opts?: { conf?: string; sentinel?: boolean }): Promise<RedisNode>;
  stop(): Promise<void>;
}

/** Why replicated Redis cannot start here, or undefined. */
export function replicaUnavailable(): string | undefined {
  return missingOnPath('redis-server');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function redisGroup(): Promise<RedisGroup> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-repl-'));
  const nodes: RedisNode[] = [];
  const killAll = (): void => {
    for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const group: RedisGroup = {
    dir,
    nodes,
    async start(args, opts = {}) {
      const port = await freePort();
      const base = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
      let argv: string[];
      if (opts.sentinel) {
        // A sentinel rewrites its config file: one file per sentinel, written here.
        const conf = join(dir, `sentinel-${port}.conf`);
        await writeFile(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\n${opts.conf ?? ''}`);
        argv = [conf, '--sentinel', ...args];
      } else {
        argv = [...base, '--save', '', '--appendonly', 'no', '--dbfilename', `dump-${port}.rdb`, ...args];
      }
      const log = openSync(join(dir, `${opts.sentinel ? 'sentinel' : 'redis'}-${port}.log`), 'w');
      const proc = spawn('redis-server', argv, { stdio: ['ignore', log, log] });
      closeSync(log);
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      client.on('error', () => undefined);
      const node: RedisNode = {
        port,
        url: `redis://127.0.0.1:${port}`,
        client,
        proc,
        async kill(signal = 'SIGKILL') {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          await exited;
          client.disconnect();
        },
      };
      nodes.push(node);
      await client.connect().catch(() => undefined);
      await until(`redis-server on ${port}`, async () => {
        if (proc.exitCode !== null) throw new Error(`redis-server on ${port} exited with code ${proc.exitCode}`);
        return (await client.ping()) === 'PONG';
      });
      return node;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
      process.off('exit', killAll);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return group;
}

/** Resolves once `replica` reports its link to the primary up and its offset caught up with `primary`'s. */
export async function inSync(primary: RedisNode, replica: RedisNode, timeoutMs = 15_000): Promise<void> {
  await until(
    `replica ${replica.port} in sync`,
    async () => {
      const r = await replica.client.info('replication');
      if (!/master_link_status:up/.test(r)) return false;
      const p = await primary.client.info('replication');
      const want = Number(/master_repl_offset:(\d+)/.exec(p)?.[1]);
      const have = Number(/slave_repl_offset:(\d+)/.exec(r)?.[1]);
      return have >= want;
    },
    timeoutMs,
  );
}

/** A primary and `replicas` replicas of it, each in sync. */
export async function startReplicated(replicas = 1): Promise<{ group: RedisGroup; primary: RedisNode; replicas: RedisNode[] }> {
  const group = await redisGroup();
  try {
    const primary = await group.start([]);
    const list: RedisNode[] = [];
    for (let i = 0; i < replicas; i++) list.push(await group.start(['--replicaof', '127.0.0.1', String(primary.port)]));
    for (const r of list) await inSync(primary, r);
    return { group, primary, replicas: list };
  } catch (err) {
    await group.stop();
    throw err;
  }
}

/** Makes `node` a primary (`REPLICAOF NO ONE`) and waits until it says so. */
export async function promote(node: RedisNode): Promise<void> {
  await node.client.replicaof('NO', 'ONE');
  await until(`${node.port} to be a primary`, async () => /role:master/.test(await node.client.info('replication')));
}

/**
 * Three sentinels (quorum 2) watching `primary` as `name`, with short timeouts (down after 500 ms),
 * each having seen the replicas and the other sentinels, so a failover can start at once.
 */
export async function startSentinels(group: RedisGroup, primary: RedisNode, replicas: number, name = 'iwmaster', count = 3): Promise<RedisNode[]> {
  const conf = [
    `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
    `sentinel down-after-milliseconds ${name} 500`,
    `sentinel failover-timeout ${name} 5000`,
    `sentinel parallel-syncs ${name} 1`,
    '',
  ].join('\n');
  const sentinels: RedisNode[] = [];
  for (let i = 0; i < count; i++) sentinels.push(await group.start([], { sentinel: true, conf }));
  for (const s of sentinels) {
    await until(
      `sentinel ${s.port} to see the replicas and the other sentinels`,
      async () => {
        const master = (await s.client.call('SENTINEL', 'MASTER', name)) as string[];
        const field = (k: string): number => Number(master[master.indexOf(k) + 1]);
        return field('num-slaves') >= replicas && field('num-other-sentinels') >= count - 1;
      },
      20_000,
    );
  }
  return sentinels;
}

/** The primary's port the sentinel currently names. */
export async function sentinelPrimary(sentinel: RedisNode, name = 'iwmaster'): Promise<number> {
  const addr = (await sentinel.client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string] | null;
  return Number(addr?.[1]);
}

export interface LinkProxy {
  port: number;
  /** From now on, nothing the primary sends reaches the replica (it stays in this process, unread). */
  hold(): void;
  /** Drops every connection, and whatever was held with them. */
  close(): Promise<void>;
}

/** A TCP proxy to `targetPort`, for a replica's link to its primary (`--replicaof 127.0.0.1 <proxy.port>`). */
export async function startLinkProxy(targetPort: number): Promise<LinkProxy> {
  const sockets = new Set<Socket>();
  const upstreams = new Set<Socket>();
  let held = false;
  const server: Server = createServer((down) => {
    const up = createConnection({ host: '127.0.0.1', port: targetPort, noDelay: true });
    down.setNoDelay(true);
    sockets.add(down);
    upstreams.add(up);
    if (held) up.pause();
    // Replica to primary (REPLCONF ACK...) keeps flowing; primary to replica stops on hold().
    down.on('data', (d) => up.write(d));
    up.on('data', (d) => {
      if (!held) down.write(d);
    });
    const end = (): void => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      upstreams.delete(up);
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  return {
    port,
    hold() {
      held = true;
      // Stop reading: the primary's further bytes wait in the kernel for a reader that never comes.
      for (const up of upstreams) up.pause();
    },
    async close() {
      for (const s of [...sockets, ...upstreams]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

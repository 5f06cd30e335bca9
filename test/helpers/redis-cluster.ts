/**
 * A throwaway Redis Cluster on loopback: N masters from the machine's `redis-server`, no replicas,
 * no persistence, config and node files in a temp dir. Ports are picked free at start (each with
 * its cluster bus port, +10000), so parallel runs do not collide. `stop()` kills the servers and
 * removes the dir; a process that exits without calling it still kills them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { missingOnPath } from './redis-server.ts';

const run = promisify(execFile);

export interface LocalCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...`, what REDIS_URL takes. */
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Ports p with p and its bus port p+10000 both free, in 20000-29999. */
async function pickPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count && tries < 500; tries++) {
    const p = 20000 + Math.floor(Math.random() * 10000);
    if (ports.includes(p)) continue;
    if ((await free(p)) && (await free(p + 10000))) ports.push(p);
  }
  if (ports.length < count) throw new Error('no free ports for a local Redis Cluster');
  return ports;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`local Redis Cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Why a local cluster cannot start here (no `redis-server` / `redis-cli` on PATH), or undefined. */
export function clusterUnavailable(): string | undefined {
  return missingOnPath('redis-server', 'redis-cli');
}

export async function startRedisCluster(masters = 3): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async (): Promise<void> => {
    const exited = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
    killAll();
    await Promise.all(exited);
    process.off('exit', killAll);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await pickPorts(masters);
    for (const port of ports) {
      const conf = join(dir, `${port}.conf`);
      await writeFile(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          'cluster-enabled yes',
          `cluster-config-file nodes-${port}.conf`,
          'cluster-node-timeout 5000',
          'save ""',
          'appendonly no',
          'loglevel warning',
          `logfile ${join(dir, `${port}.log`)}`,
        ].join('\n') + '\n',
      );
      children.push(spawn('redis-server', [conf], { stdio: 'ignore' }));
    }
    for (const port of ports) await until(`node ${port}`, async () => (await cli(port, 'PING')).trim() === 'PONG');
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    // Every node must know every slot before clients connect, or the first commands get CLUSTERDOWN.
    for (const port of ports) {
      await until(`cluster state on ${port}`, async () => {
        const info = await cli(port, 'CLUSTER', 'INFO');
        return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes(`cluster_known_nodes:${masters}`);
      });
    }
    return { url: `redis+cluster://${nodes.join(',')}`, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * What the AOF gives back after a Redis crash (SIGKILL), measured rather than assumed: clients
 * with many commands in flight INCR one counter as fast as they can; the highest value Redis acknowledged is compared
 * with the value found after the restart. Under `appendfsync everysec` Redis may acknowledge a
 * write before writing it to the AOF (it postpones the write while the previous fsync is still
 * running, for up to 2 s), so a crash can lose acknowledged writes; under `always` it cannot.
 */
import { connect } from '../../src/redis/connect.ts';
import { startAofRedis } from './redis-server.ts';

export interface AofTrial {
  fsync: 'everysec' | 'always';
  acked: number;
  recovered: number;
  lost: number;
  writesPerSecond: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function measureAofCrash(plan: Array<'everysec' | 'always'>, loadMs = 3000, clients = 2, inFlight = 16): Promise<AofTrial[]> {
  const trials: AofTrial[] = [];
  for (const fsync of plan) {
    // A fresh server and AOF for every trial, so one trial's file does not shape the next.
    const server = await startAofRedis();
    try {
      await server.setFsync(fsync);
      const conns = Array.from({ length: clients }, () => connect(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null }));
      for (const c of conns) c.on('error', () => {});
      await conns[0]?.del('probe');
      let acked = 0;
      let running = true;
      // Several commands in flight per connection (pipelined), the way a busy client writes.
      const loops = conns.flatMap((c) =>
        Array.from({ length: inFlight }, async () => {
          while (running) {
            try {
              const v = await c.incr('probe');
              if (v > acked) acked = v;
            } catch {
              return;
            }
          }
        }),
      );
      const started = Date.now();
      await sleep(loadMs);
      await server.crash();
      running = false;
      await Promise.allSettled(loops);
      const elapsed = Date.now() - started;
      for (const c of conns) c.disconnect();
      await server.start();
      const check = connect(server.url);
      const recovered = Number((await check.get('probe')) ?? 0);
      check.disconnect();
      trials.push({ fsync, acked, recovered, lost: Math.max(0, acked - recovered), writesPerSecond: Math.round((acked / elapsed) * 1000) });
    } finally {
      await server.stop();
    }
  }
  return trials;
}

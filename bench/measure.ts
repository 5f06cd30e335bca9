/**
 * The figures every scenario takes the same way: a median with its spread over runs, resident
 * memory sampled while a load runs, and CPU time per order of each process (from /proc) and of
 * Redis (INFO cpu) over a stretch of work.
 */
import type { Redis } from 'ioredis';
import type { Child } from './procs.ts';
import { redisCpuMs } from './redis-tools.ts';

export interface Series {
  runs: number[];
  median: number;
  min: number;
  max: number;
}

export function series(values: number[]): Series {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { runs: values.map(Math.round), median: Math.round(median), min: Math.round(sorted[0]!), max: Math.round(sorted[sorted.length - 1]!) };
}

/** Samples resident memory of some processes while a load runs. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  readonly samples: number[] = [];
  constructor(private readonly children: () => Child[]) {}
  start(): this {
    this.timer = setInterval(() => {
      for (const c of this.children()) {
        const r = c.rss();
        if (r !== undefined) this.samples.push(r);
      }
    }, 200);
    return this;
  }
  stop(): { maxMb: number; medianMb: number } | null {
    clearInterval(this.timer);
    if (!this.samples.length) return null;
    const s = series(this.samples);
    return { maxMb: Math.round(s.max / 1048576), medianMb: Math.round(s.median / 1048576) };
  }
}

/** CPU time of each process (and Redis) over a stretch of work. */
export async function cpuSnapshot(children: Record<string, Child | undefined>, redis?: Redis): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, c] of Object.entries(children)) {
    const v = c?.cpuMs();
    if (v !== undefined) out[name] = v;
  }
  if (redis) out.redis = await redisCpuMs(redis);
  return out;
}

export function cpuPerOrder(before: Record<string, number>, after: Record<string, number>, orders: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after)) {
    if (before[k] === undefined) continue;
    out[k] = Math.round((((after[k] ?? 0) - (before[k] ?? 0)) / orders) * 1000) / 1000;
  }
  return out;
}

/** The median of each process's CPU per order over runs (µs resolution). */
export function medianCpu(rows: Array<Record<string, number>>): Record<string, number> {
  const keys = new Set(rows.flatMap((r) => Object.keys(r)));
  return Object.fromEntries([...keys].map((k) => [k, Math.round(series(rows.map((r) => (r[k] ?? 0) * 1000)).median) / 1000]));
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** p50, p99 and max of some durations (ms), rounded to `digits` decimals. */
export function percentiles(ms: number[], digits = 1): Percentiles {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  const r = (n: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
  return { count: s.length, p50: r(at(0.5)), p99: r(at(0.99)), max: r(s[s.length - 1] ?? Number.NaN) };
}

/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`). Each sample is charged to the nearest
 * frame on its stack that belongs to an npm package or to our own files, so the Node core and
 * native work a library asks for (socket writes, JSON, hashing) counts as that library's. The
 * packages are then grouped into concerns (logging, Redis client, queue, validation...). Shares
 * are of busy (non-idle) time.
 */
import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
export interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const CONCERNS: Record<string, string[]> = {
  'logging (pino)': ['pino', 'sonic-boom', '@pinojs/redact', 'pino-std-serializers', 'quick-format-unescaped', 'safe-stable-stringify', 'fast-redact'],
  'Redis client (ioredis)': ['ioredis', 'redis-parser', '@ioredis/commands', 'denque', 'cluster-key-slot', 'redis-errors', 'standard-as-callback'],
  'queue (bullmq)': ['bullmq', 'msgpackr', 'cron-parser', 'luxon', 'semver', 'node-abort-controller', 'uuid'],
  'HTTP client (undici)': ['undici'],
  'HTTP server (express)': [
    'express',
    'router',
    'body-parser',
    'raw-body',
    'iconv-lite',
    'type-is',
    'mime-types',
    'mime-db',
    'content-type',
    'on-finished',
    'finalhandler',
    'http-errors',
    'statuses',
    'qs',
    'accepts',
    'send',
    'path-to-regexp',
    'depd',
    'debug',
  ],
  'validation (zod)': ['zod'],
  'metrics (prom-client)': ['prom-client', 'tdigest', 'bintrees'],
  'TypeScript loader (tsx)': ['tsx', 'esbuild', 'get-tsconfig'],
};
const CONCERN_OF = new Map(Object.entries(CONCERNS).flatMap(([concern, pkgs]) => pkgs.map((p) => [p, concern] as const)));

/** The npm package (or our file, as `ours: src/...`) a frame's script belongs to; undefined for Node core and native frames. */
export function owner(url: string): string | undefined {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const m = /\/(src|workers|queues|bench)\/(.+?)(\?.*)?$/.exec(url);
  return m ? `ours: ${m[1]}/${m[2]}` : undefined;
}

/** What a sample with no package or file of ours on its stack is. */
export function unowned(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8 / native (program)';
  if (url.startsWith('node:')) return 'Node core, no package on the stack';
  return 'other (no package on the stack)';
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  byConcern: Array<{ what: string; ms: number; share: number }>;
  byOwner: Array<{ what: string; ms: number; share: number }>;
}

function ranked(totals: Map<string, number>, busy: number, limit: number): Array<{ what: string; ms: number; share: number }> {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([what, ms]) => ({ what, ms: Math.round(ms), share: busy ? Math.round((ms / busy) * 1000) / 10 : 0 }));
}

export function readProfile(file: string): Profile {
  return JSON.parse(readFileSync(file, 'utf8')) as Profile;
}

/** Each node by id, and each node's caller. */
export function tree(profile: Profile): { byId: Map<number, ProfileNode>; parent: Map<number, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return { byId, parent };
}

/**
 * Calls `fn` with each sample's node and its duration in ms; with `window`, only for samples taken
 * between those times (microseconds of the monotonic clock, see `summarizeProfile`).
 */
export function forEachSample(profile: Profile, window: { fromUs: number; toUs: number } | undefined, fn: (id: number, ms: number) => void): void {
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    fn(id, (profile.timeDeltas[i] ?? 0) / 1000);
  });
}

/**
 * `window`: only samples taken between these times, in microseconds of the monotonic clock that
 * both V8 and `process.hrtime` read on Linux (so startup and shutdown can be left out).
 */
export function summarizeProfile(file: string, window?: { fromUs: number; toUs: number }, limit = 12): ProfileSummary {
  const profile = readProfile(file);
  const { byId, parent } = tree(profile);
  const charged = new Map<number, string>();
  const chargeOf = (id: number): string => {
    const cached = charged.get(id);
    if (cached) return cached;
    let cur: number | undefined = id;
    let found: string | undefined;
    while (cur !== undefined && !found) {
      const node = byId.get(cur);
      if (!node) break;
      found = owner(node.callFrame.url);
      cur = parent.get(cur);
    }
    const result = found ?? unowned(byId.get(id)!);
    charged.set(id, result);
    return result;
  };
  const byOwner = new Map<string, number>();
  forEachSample(profile, window, (id, ms) => {
    const who = chargeOf(id);
    byOwner.set(who, (byOwner.get(who) ?? 0) + ms);
  });
  const idleMs = byOwner.get('(idle)') ?? 0;
  byOwner.delete('(idle)');
  const busyMs = [...byOwner.values()].reduce((a, b) => a + b, 0);
  const byConcern = new Map<string, number>();
  for (const [who, ms] of byOwner) {
    const concern = who.startsWith('ours: ') ? 'our code' : (CONCERN_OF.get(who) ?? who);
    byConcern.set(concern, (byConcern.get(concern) ?? 0) + ms);
  }
  return { busyMs: Math.round(busyMs), idleMs: Math.round(idleMs), byConcern: ranked(byConcern, busyMs, limit), byOwner: ranked(byOwner, busyMs, limit) };
}

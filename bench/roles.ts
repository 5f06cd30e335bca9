/**
 * Where the CPU of the one-process start (`npm start`: API, workers and relay together) goes, by
 * role: a V8 `.cpuprofile`'s self time attributed to the API, the create worker, the relay,
 * callbacks and polls, BullMQ/ioredis, tracing, logging, garbage collection and the rest.
 *
 * Each sample is charged by walking its stack from the leaf up to the first frame that decides:
 * a package or file of a concern every role uses (logging, tracing, the Redis client and queue)
 * decides at once, so a Redis write the create worker makes is BullMQ/ioredis; a file of ours
 * that belongs to a role decides for that role, so zod validating an order under the intake is
 * the API. Files every role shares (the store, state, money, ids) and other packages (express,
 * zod, undici) pass on to their caller. A stack with no deciding frame (the continuation of an
 * await starts with no caller on it) goes to the role of the first package on it that has one
 * (express: the API; undici: the create worker, whose provider requests it makes), else to
 * `other`, which names its files. The rules go by folder, so files that move within one keep
 * their role.
 */
import { forEachSample, owner, readProfile, tree, type Profile } from './cpu-profile.ts';

export const ROLES = [
  'API (express, parsing, validation, intake)',
  'create worker (submit, providers)',
  'relay',
  'callbacks and polls',
  'BullMQ/ioredis',
  'tracing',
  'logging',
  'GC',
  'other',
] as const;
export type Role = (typeof ROLES)[number];
const [API, CREATE, RELAY, CALLBACKS, REDIS, TRACING, LOGGING, GC, OTHER] = ROLES;

/** Packages whose frames decide at once, whoever called them. */
const DECIDING_PACKAGES: Record<string, Role> = {
  pino: LOGGING,
  'sonic-boom': LOGGING,
  'thread-stream': LOGGING,
  '@pinojs/redact': LOGGING,
  'fast-redact': LOGGING,
  'pino-std-serializers': LOGGING,
  'quick-format-unescaped': LOGGING,
  'safe-stable-stringify': LOGGING,
  'on-exit-leak-free': LOGGING,
  bullmq: REDIS,
  ioredis: REDIS,
  'redis-parser': REDIS,
  'redis-errors': REDIS,
  '@ioredis/commands': REDIS,
  denque: REDIS,
  'cluster-key-slot': REDIS,
  'standard-as-callback': REDIS,
  msgpackr: REDIS,
  'bullmq-otel': TRACING,
};

/** Packages that pass on to their caller, with the role they fall back to when nothing above them decides. */
const FALLBACK_PACKAGES: Record<string, Role> = {
  express: API,
  router: API,
  'body-parser': API,
  'raw-body': API,
  'iconv-lite': API,
  'type-is': API,
  'content-type': API,
  'on-finished': API,
  finalhandler: API,
  'path-to-regexp': API,
  qs: API,
  send: API,
  'http-errors': API,
  undici: CREATE,
  'p-retry': CREATE,
};

/** Our files by folder: the first rule that matches decides; a file no rule names is shared and passes on. */
const OUR_RULES: Array<[RegExp, Role]> = [
  [/^src\/observability\/tracing/, TRACING],
  [/^src\/observability\//, LOGGING],
  [/^src\/redis\//, REDIS],
  [/^src\/http\/callbacks/, CALLBACKS],
  [/^src\/invoice\/(track|poll)/, CALLBACKS],
  [/^(workers|queues)\/(events|poll)/, CALLBACKS],
  [/^src\/background\/poll/, CALLBACKS],
  [/^src\/http\//, API],
  [/^src\/access\//, API],
  [/^src\/invoice\/intake/, API],
  [/^src\/invoice\/relay/, RELAY],
  [/^queues\/results/, RELAY],
  [/^workers\/webhooks/, RELAY],
  [/^src\/results\//, RELAY],
  [/^src\/invoice\/submit/, CREATE],
  [/^src\/providers\//, CREATE],
  [/^src\/lanes\/(?!key)/, CREATE],
  [/^src\/signing/, CREATE],
  [/^(workers|queues)\//, CREATE],
  [/^src\/(background|ops)\//, OTHER],
];

/** The role a package or file of ours decides for; `pass` when it passes on to its caller (with a fallback role, if any). */
export function roleOfOwner(who: string): { decides: Role } | { pass: Role | undefined } {
  if (who.startsWith('ours: ')) {
    const file = who.slice('ours: '.length);
    const rule = OUR_RULES.find(([re]) => re.test(file));
    return rule ? { decides: rule[1] } : { pass: undefined };
  }
  if (who.startsWith('@opentelemetry/')) return { decides: TRACING };
  const deciding = DECIDING_PACKAGES[who];
  if (deciding) return { decides: deciding };
  return { pass: FALLBACK_PACKAGES[who] };
}

export interface RoleSummary {
  busyMs: number;
  idleMs: number;
  roles: Array<{ role: Role; ms: number; share: number; top: Array<{ what: string; ms: number }> }>;
}

/**
 * Self time by role over the samples in `window` (see `summarizeProfile` in cpu-profile.ts); each
 * role lists the packages and files its time was spent in (the nearest on each stack), most first.
 */
export function summarizeRolesOf(profile: Profile, window?: { fromUs: number; toUs: number }, topPerRole = 6): RoleSummary {
  const { byId, parent } = tree(profile);
  const cache = new Map<number, { role: Role | 'idle'; what: string }>();
  const charge = (id: number): { role: Role | 'idle'; what: string } => {
    const hit = cache.get(id);
    if (hit) return hit;
    const leaf = byId.get(id);
    const name = leaf?.callFrame.functionName;
    let out: { role: Role | 'idle'; what: string } | undefined;
    if (name === '(idle)') out = { role: 'idle', what: '(idle)' };
    else if (name === '(garbage collector)') out = { role: GC, what: 'garbage collection' };
    else if (name === '(program)') out = { role: OTHER, what: 'V8 / native (program)' };
    let nearest: string | undefined;
    let fallback: Role | undefined;
    for (let cur: number | undefined = id; !out && cur !== undefined; cur = parent.get(cur)) {
      const who = owner(byId.get(cur)?.callFrame.url ?? '');
      if (!who) continue;
      nearest ??= who;
      const r = roleOfOwner(who);
      if ('decides' in r) out = { role: r.decides, what: nearest };
      else fallback ??= r.pass;
    }
    out ??= { role: fallback ?? OTHER, what: nearest ?? (leaf?.callFrame.url.startsWith('node:') ? 'Node core' : 'native') };
    cache.set(id, out);
    return out;
  };
  const ms = new Map<Role, Map<string, number>>();
  let idleMs = 0;
  forEachSample(profile, window, (id, t) => {
    const c = charge(id);
    if (c.role === 'idle') {
      idleMs += t;
      return;
    }
    let m = ms.get(c.role);
    if (!m) ms.set(c.role, (m = new Map()));
    m.set(c.what, (m.get(c.what) ?? 0) + t);
  });
  const total = (m: Map<string, number> | undefined): number => [...(m?.values() ?? [])].reduce((a, b) => a + b, 0);
  const busyMs = ROLES.reduce((s, r) => s + total(ms.get(r)), 0);
  return {
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleMs),
    roles: ROLES.map((role) => {
      const t = total(ms.get(role));
      const top = [...(ms.get(role)?.entries() ?? [])]
        .sort((a, b) => b[1] - a[1])
        .slice(0, topPerRole)
        .map(([what, v]) => ({ what, ms: Math.round(v) }));
      return { role, ms: Math.round(t), share: busyMs ? Math.round((t / busyMs) * 1000) / 10 : 0, top };
    }),
  };
}

export function summarizeRoles(file: string, window?: { fromUs: number; toUs: number }): RoleSummary {
  return summarizeRolesOf(readProfile(file), window);
}

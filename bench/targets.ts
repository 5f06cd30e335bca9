/**
 * The targets, together at the head of the bench's table: each read from the figures of the same
 * run and said met or missed. A target whose scenario did not run (or could not measure) says
 * so instead of passing.
 */

export interface Target {
  figure: string;
  /** The figure, or null when its scenario did not give it. */
  value: number | null;
  unit: string;
  op: '>=' | '<=';
  limit: number;
  /** The scenario that gives it. */
  from: string;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

export function targets(r: Record<string, any>): Target[] {
  const pinned = r.pinned?.measured ? r.pinned : undefined;
  return [
    { figure: 'all-in-one: one `npm start` process / reference', value: num(r['all-in-one']?.ratio), unit: '', op: '>=', limit: 0.7, from: 'all-in-one' },
    { figure: 'split roles, Redis on a core of its own: ours / reference', value: num(pinned?.ratio), unit: '', op: '>=', limit: 0.85, from: 'pinned' },
    { figure: 'Redis CPU per order, sharing the cores (split roles)', value: num(r.create?.cpuMsPerOrder?.system?.redis), unit: ' ms', op: '<=', limit: 0.15, from: 'create' },
    {
      figure: 'Redis CPU per order, sharing the cores (all-in-one)',
      value: num(r['all-in-one']?.cpuMsPerOrder?.system?.redis),
      unit: ' ms',
      op: '<=',
      limit: 0.15,
      from: 'all-in-one',
    },
    { figure: 'worker CPU per order (split roles, 0 ms provider)', value: num(r.create?.cpuMsPerOrder?.system?.worker), unit: ' ms', op: '<=', limit: 0.25, from: 'create' },
    { figure: 'worker RSS median at concurrency 400 (50 ms provider)', value: num(r.latency?.workerRss?.medianMb), unit: ' MB', op: '<=', limit: 200, from: 'latency' },
  ];
}

export function verdict(t: Target): 'met' | 'missed' | 'not measured' {
  if (t.value === null) return 'not measured';
  return (t.op === '>=' ? t.value >= t.limit : t.value <= t.limit) ? 'met' : 'missed';
}

/** Rows for the bench's table: [figure, value, target: verdict]. */
export function targetRows(r: Record<string, any>): Array<[string, string, string]> {
  return targets(r).map((t) => [
    `TARGET ${t.figure}`,
    t.value === null ? `n/a (scenario ${t.from} not run)` : `${t.value.toLocaleString('en-US')}${t.unit}`,
    `${t.op} ${t.limit.toLocaleString('en-US')}${t.unit}: ${verdict(t)}`,
  ]);
}

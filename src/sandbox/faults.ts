/**
 * The fault rules: latency, 5xx, 429, connection reset, "committed, then the response is lost",
 * hang, an answer that drips a byte at a time (`drip`) and one of 50 MB (`huge`), set by tests and
 * the control API, and which rule hits a given request. Running a request through them is
 * `gate.ts`.
 */
import { z } from 'zod';
import { KINDS } from '../invoice/order.ts';
import type { FaultRule, SandboxKind } from './types.ts';

/** A fault rule as the control API takes it; `providers` are the ids a rule may name. */
export const faultRuleSchema = (providers: readonly string[]) =>
  z
    .strictObject({
      provider: z.enum(providers).optional(),
      kind: z.enum(KINDS).optional(),
      fault: z.enum(['latency', '5xx', '429', 'reset', 'commit-then-drop', 'hang', 'drip', 'huge']),
      count: z.number().int().min(1).optional(),
      rate: z.number().min(0).max(1).optional(),
      ms: z.number().int().min(0).max(600_000).optional(),
      status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).optional(),
      commit: z.boolean().optional(),
      op: z.enum(['create', 'cancel', 'update']).optional(),
    })
    .refine((r) => r.count === undefined || r.rate === undefined, { message: 'count and rate are exclusive', path: ['rate'] });

export class Faults {
  private rules: FaultRule[] = [];
  private cycle = 0;
  /** What `add` takes: a rule naming one of this sandbox's providers, or none. */
  readonly schema: ReturnType<typeof faultRuleSchema>;

  constructor(
    private readonly random: () => number,
    providers: readonly string[],
  ) {
    this.schema = faultRuleSchema(providers);
  }

  add(rule: FaultRule): void {
    this.rules.push({ ...this.schema.parse(rule) });
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /**
   * Decides what happens to one create request: the sum of matching latency rules, plus the first
   * matching non-latency rule that fires. Count-limited rules are spent only when they fire.
   */
  take(provider: string, kind: SandboxKind, op: 'create' | 'cancel' | 'update' = 'create'): { latencyMs: number; fault?: FaultRule } {
    let latencyMs = 0;
    let fault: FaultRule | undefined;
    for (const rule of this.rules) {
      if ((rule.op ?? 'create') !== op) continue;
      if (rule.provider && rule.provider !== provider) continue;
      if (rule.kind && rule.kind !== kind) continue;
      if (rule.fault !== 'latency' && fault) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      if (rule.count !== undefined) rule.count -= 1;
      if (rule.fault === 'latency') latencyMs += rule.ms ?? 1000;
      else fault = rule;
    }
    this.rules = this.rules.filter((r) => r.count === undefined || r.count > 0);
    return fault ? { latencyMs, fault } : { latencyMs };
  }

  nextServerStatus(status?: number): number {
    if (status) return status;
    const statuses = [500, 502, 503] as const;
    return statuses[this.cycle++ % statuses.length] as number;
  }
}

/**
 * Normalized invoice statuses and the one transition table. `transition()` is pure: it says
 * whether a move is applied, ignored (duplicate, late or backwards) or illegal.
 */
export const STATUSES = ['queued', 'created', 'pending', 'processing', 'paid', 'expired', 'failed', 'cancelled', 'rejected'] as const;
export type Status = (typeof STATUSES)[number];

export const TERMINAL: ReadonlySet<Status> = new Set(['paid', 'expired', 'failed', 'cancelled', 'rejected']);

/** Progress rank of the open statuses: a move to a lower or equal rank is never applied. */
const RANK: Record<Status, number> = {
  queued: 0,
  created: 1,
  pending: 2,
  processing: 3,
  paid: 9,
  expired: 9,
  failed: 9,
  cancelled: 9,
  rejected: 9,
};

export type TransitionOutcome = { kind: 'apply'; from: Status; to: Status } | { kind: 'ignore'; reason: 'duplicate' | 'terminal' | 'backwards' };

export function isTerminal(status: Status): boolean {
  return TERMINAL.has(status);
}

/**
 * Decides a move. Terminal states absorb everything; a repeat of the current status is a
 * duplicate; open statuses only move forward. `rejected` is only reachable from `queued`
 * (the provider refused the order before any invoice existed).
 */
export function transition(from: Status, to: Status): TransitionOutcome {
  if (from === to) return { kind: 'ignore', reason: 'duplicate' };
  if (isTerminal(from)) return { kind: 'ignore', reason: 'terminal' };
  if (to === 'queued') return { kind: 'ignore', reason: 'backwards' };
  if (to === 'rejected' && from !== 'queued') return { kind: 'ignore', reason: 'backwards' };
  if (RANK[to] <= RANK[from]) return { kind: 'ignore', reason: 'backwards' };
  return { kind: 'apply', from, to };
}

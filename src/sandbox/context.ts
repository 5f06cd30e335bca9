/**
 * What every part of the sandbox shares: resolved options, credentials, state, timers and the
 * lifecycle hooks. Handlers compute a `Reply` instead of writing to the response, so the fault
 * layer can decide afterwards whether the client ever sees it (commit-then-drop).
 */
import type { Response } from 'express';
import type { Logger } from 'pino';
import type { Faults } from './faults.ts';
import type { Rec, Stats, Store } from './store.ts';
import type { Timers } from './timers.ts';
import type { CallbackHabits, PlatformProvider, SandboxCredentials, SandboxSchedule } from './types.ts';

export interface ResolvedOptions {
  latencyMs: number;
  timeScale: number;
  cryptosteroidNewCap: number;
  cryptosteroidCapReply?: { status: number; message: string };
  redeliveryDelaysMs?: number[];
  callbackTimeoutMs: number;
  schedule?: SandboxSchedule;
  strictUrls: boolean;
  random: () => number;
}

/** Lifecycle hooks the provider routes call; implemented in `lifecycle.ts`. */
export interface LifecycleHooks {
  /** A new record was stored: start its deadline and any scheduled outcome. */
  created(rec: Rec): void;
  /** The platform cancel endpoint (docs/providers.md 1.4, 6.6); returns false when the state forbids it. */
  cancel(rec: Rec): boolean;
}

export interface SandboxContext {
  options: ResolvedOptions;
  credentials: SandboxCredentials;
  store: Store;
  stats: Stats;
  faults: Faults;
  timers: Timers;
  log: Logger;
  habits: CallbackHabits;
  callbackUrls: Partial<Record<PlatformProvider, string>>;
  /** Public base URL (known once the server listens). */
  url: () => string;
  lifecycle: LifecycleHooks;
}

export interface Reply {
  status: number;
  body: string;
  contentType: string;
}

export const json = (status: number, value: unknown): Reply => ({
  status,
  body: JSON.stringify(value),
  contentType: 'application/json',
});

export const text = (status: number, body: string, contentType = 'text/plain; charset=UTF-8'): Reply => ({
  status,
  body,
  contentType,
});

export function send(res: Response, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  res.status(reply.status).type(reply.contentType).send(Buffer.from(reply.body, 'utf8'));
}

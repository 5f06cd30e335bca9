/**
 * The one place that knows every provider: one line each. Adding a provider is one adapter file
 * (its `ProviderModule`) and one line here; config, webhooks, queues, workers and the CLI take
 * everything provider-shaped from the module.
 */
import { DEFAULT_ACCOUNT } from '../lanes/key.ts';
import type { AccountConfig } from '../lanes/accounts.ts';
import { cryptoSteroidModule } from './cryptosteroid.ts';
import { platformModule } from './platform.ts';
import type { ProviderModule, SandboxAccess } from './types.ts';

export const PROVIDER_MODULES: readonly ProviderModule[] = [platformModule('cryptoprocessing'), platformModule('alphapo'), cryptoSteroidModule];

/** Every provider id the registry knows. */
export const PROVIDER_IDS: readonly string[] = PROVIDER_MODULES.map((m) => m.id);

export type ProviderModules = ReadonlyMap<string, ProviderModule>;

export function providerModules(extra: readonly ProviderModule[] = []): ProviderModules {
  const map = new Map<string, ProviderModule>();
  for (const m of [...PROVIDER_MODULES, ...extra]) map.set(m.id, m);
  return map;
}

/**
 * The default account of every provider the sandbox emulates, pointed at it: what `npm start`
 * runs when no credentials are set, and what the tests run against.
 */
export function sandboxAccounts(box: SandboxAccess, modules: ProviderModules = providerModules()): AccountConfig[] {
  const out: AccountConfig[] = [];
  for (const module of modules.values()) {
    const raw = module.sandbox?.(box);
    // The sandbox serves its payment pages itself (plain http on this machine): its origin counts as a payment host.
    const origins = [...new Set(Object.values(box.baseUrls).map((u) => new URL(u).origin))];
    if (raw) out.push({ provider: module.id, account: DEFAULT_ACCOUNT, settings: module.settings.parse(raw), tuning: {}, source: 'sandbox', paymentHosts: origins });
  }
  return out;
}

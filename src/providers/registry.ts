/**
 * The one place that knows every provider: one line each. A provider without credentials is
 * absent, so an order for it is refused at intake instead of failing in a worker.
 */
import type { Config } from '../config.ts';
import type { ProviderId } from '../invoice/order.ts';
import { createCryptoSteroidAdapter } from './cryptosteroid.ts';
import { createPlatformAdapter } from './platform.ts';
import type { AdapterDeps, ProviderAdapter } from './types.ts';

export function createAdapters(providers: Config['providers'], deps: AdapterDeps): Map<ProviderId, ProviderAdapter> {
  const adapters = new Map<ProviderId, ProviderAdapter>();
  if (providers.cryptoprocessing) adapters.set('cryptoprocessing', createPlatformAdapter('cryptoprocessing', providers.cryptoprocessing, deps));
  if (providers.alphapo) adapters.set('alphapo', createPlatformAdapter('alphapo', providers.alphapo, deps));
  if (providers.cryptosteroid) adapters.set('cryptosteroid', createCryptoSteroidAdapter(providers.cryptosteroid, deps));
  return adapters;
}

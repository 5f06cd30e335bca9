/**
 * The sandbox's own fixed test credentials. They only open the local sandbox, so printing them
 * (`npm run sandbox`) and committing them is fine; real keys never belong here.
 */
import type { SandboxCredentials } from './types.ts';

export const SANDBOX_CREDENTIALS: Readonly<SandboxCredentials> = Object.freeze({
  cryptoprocessing: Object.freeze({ apiKey: 'sandbox-cp-key-3f9a1c', apiSecret: 'sandbox-cp-secret-7d2e8b4a6c1f' }),
  alphapo: Object.freeze({ apiKey: 'sandbox-ap-key-5b7d2e', apiSecret: 'sandbox-ap-secret-9c4f1a3e8d6b' }),
  // CryptoSteroid identifies the merchant by a UUID v4 in the path (docs/providers.md 4.1).
  cryptosteroid: Object.freeze({ apiKey: 'sandbox-cs-key-2a8f6d4c1e9b', merchantId: '3f6c2a1e-8b4d-4c7a-9e2f-5a1b7d3c9e04' }),
});

export function resolveCredentials(overrides: Partial<SandboxCredentials> = {}): SandboxCredentials {
  return {
    cryptoprocessing: { ...SANDBOX_CREDENTIALS.cryptoprocessing, ...overrides.cryptoprocessing },
    alphapo: { ...SANDBOX_CREDENTIALS.alphapo, ...overrides.alphapo },
    cryptosteroid: { ...SANDBOX_CREDENTIALS.cryptosteroid, ...overrides.cryptosteroid },
  };
}

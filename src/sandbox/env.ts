/**
 * The environment that points the service's default accounts at a running sandbox: each built-in
 * provider's base URL and the sandbox's own fixed test credentials. `npm run sandbox` prints it;
 * the tests and the benchmarks start worker processes with it.
 */
import type { BuiltinProvider, SandboxCredentials } from './registry.ts';

export interface SandboxAddress {
  baseUrls: Readonly<Record<BuiltinProvider, string>>;
  credentials: Pick<SandboxCredentials, BuiltinProvider>;
}

export function serviceEnv(sandbox: SandboxAddress): Record<string, string> {
  const c = sandbox.credentials;
  return {
    CRYPTOPROCESSING_BASE_URL: sandbox.baseUrls.cryptoprocessing,
    CRYPTOPROCESSING_API_KEY: c.cryptoprocessing.apiKey,
    CRYPTOPROCESSING_API_SECRET: c.cryptoprocessing.apiSecret,
    ALPHAPO_BASE_URL: sandbox.baseUrls.alphapo,
    ALPHAPO_API_KEY: c.alphapo.apiKey,
    ALPHAPO_API_SECRET: c.alphapo.apiSecret,
    CRYPTOSTEROID_BASE_URL: sandbox.baseUrls.cryptosteroid,
    CRYPTOSTEROID_API_KEY: c.cryptosteroid.apiKey,
    CRYPTOSTEROID_MERCHANT_ID: c.cryptosteroid.merchantId,
  };
}

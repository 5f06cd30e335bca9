/**
 * The sandbox's own fixed test credentials, as each provider's sandbox file declares them (listed
 * in registry.ts). They only open the local sandbox, so printing them (`npm run sandbox`) and
 * committing them is fine; real keys never belong here.
 */
import type { SandboxProvider } from './context.ts';
import { SANDBOX_PROVIDERS, type SandboxCredentials } from './registry.ts';
import type { Credentials } from './types.ts';

export const SANDBOX_CREDENTIALS: Readonly<SandboxCredentials> = Object.freeze(Object.fromEntries(SANDBOX_PROVIDERS.map((p) => [p.id, p.credentials])) as SandboxCredentials);

/** Every provider's credentials in one sandbox: its fixed ones, with the options' overrides field by field. */
export function resolveCredentials(providers: readonly SandboxProvider[], overrides: Partial<Record<string, Partial<Credentials>>> = {}): Record<string, Credentials> {
  return Object.fromEntries(providers.map((p) => [p.id, { ...p.credentials, ...overrides[p.id] } as Credentials]));
}

/**
 * The one place that knows every provider the sandbox emulates: one line each. Adding one is a
 * file of its own (its `SandboxProvider`: routes, message shapes, moves, callbacks; context.ts)
 * and a line here; the core (server, store, lifecycle, timers, faults, control) takes everything
 * provider-shaped from the entry. A test may run more providers beside these
 * (`startSandbox({ providers })`).
 */
import { cryptoSteroidSandbox, type CryptoSteroidSandboxOptions } from './cryptosteroid.ts';
import { platformSandbox, type PlatformSandboxOptions } from './platform.ts';

export const SANDBOX_PROVIDERS = [platformSandbox('cryptoprocessing'), platformSandbox('alphapo'), cryptoSteroidSandbox] as const;

type Builtin = (typeof SANDBOX_PROVIDERS)[number];

/** The id of a provider the sandbox always runs. */
export type BuiltinProvider = Builtin['id'];

/** The built-in providers' fixed test credentials, by provider. */
export type SandboxCredentials = { [P in Builtin as P['id']]: P['credentials'] };

/** What the built-in providers read from `startSandbox()`'s options, beside the core's. */
export type ProviderOptions = PlatformSandboxOptions & CryptoSteroidSandboxOptions;

/**
 * The sandbox provider: a local stand-in for CryptoProcessing, AlphaPo (invoices and payment
 * requests) and CryptoSteroid (the providers registry.ts lists), with fault injection, lifecycle
 * control and signed callbacks. Tests, benchmarks and the demo run against it; `npm start` uses it
 * when no credentials are set.
 */
export { startSandbox, type ActionOptions, type Sandbox, type SandboxOptions, type SandboxStats } from './server.ts';
export { SANDBOX_CREDENTIALS } from './credentials.ts';
export { SANDBOX_PROVIDERS, type BuiltinProvider, type SandboxCredentials } from './registry.ts';
export { SandboxActionError } from './lifecycle.ts';
export { phpJson } from './platform-callbacks.ts';
export { ACCOUNT_CALLBACK_TYPES, type AccountCallbackType } from './account-callbacks.ts';
export { rate, convert as convertAtSandboxRate } from './currencies.ts';
export type { PlatformProvider } from './platform.ts';
export type { SandboxContext, SandboxProvider, RecordMoves, Payment } from './context.ts';
export type {
  AccountCallbackOptions,
  CallbackHabits,
  Credentials,
  Delivery,
  FaultKind,
  FaultRule,
  ProviderStats,
  SandboxAction,
  SandboxInvoice,
  SandboxKind,
  SandboxSchedule,
} from './types.ts';

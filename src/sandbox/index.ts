/**
 * The sandbox provider: a local stand-in for CryptoProcessing, AlphaPo (invoices and payment
 * requests) and CryptoSteroid, with fault injection, lifecycle control and signed callbacks.
 * Tests, benchmarks and the demo run against it; `npm start` uses it when no credentials are set.
 */
export { startSandbox, type ActionOptions, type Sandbox } from './server.ts';
export { SANDBOX_CREDENTIALS } from './credentials.ts';
export { SandboxActionError } from './lifecycle.ts';
export { phpJson } from './callbacks.ts';
export { ACCOUNT_CALLBACK_TYPES, type AccountCallbackOptions, type AccountCallbackType } from './account-callbacks.ts';
export { rate, convert as convertAtSandboxRate } from './currencies.ts';
export type {
  CallbackHabits,
  Delivery,
  FaultKind,
  FaultRule,
  PlatformProvider,
  ProviderStats,
  SandboxAction,
  SandboxCredentials,
  SandboxInvoice,
  SandboxKind,
  SandboxOptions,
  SandboxProvider,
  SandboxSchedule,
  SandboxStats,
} from './types.ts';

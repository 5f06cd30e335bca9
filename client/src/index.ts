/**
 * @invoice-worker/client: the invoice worker's producer API (orders, listing, export, repairs,
 * result webhook endpoints) with typed errors, and `verifyDelivery` for receiving its result
 * webhooks. Types come from the service's OpenAPI document (schema.ts, generated).
 */
export * from './client.ts';
export * from './errors.ts';
export * from './webhooks.ts';
export type { components, paths, operations, webhooks } from './schema.ts';

/**
 * The producer API's OpenAPI 3.1 document, put together: its info, tags and security, the paths
 * (openapi-paths.ts), the components (openapi-components.ts) and the results as `webhooks`, all
 * generated from the zod schemas that validate the requests and describe the answers, with zod's
 * own `z.toJSONSchema` (openapi-kit.ts). Nothing here restates a field by hand;
 * test/integration/openapi.test.ts checks a real request and answer of every operation against it.
 * Each operation's scope comes from the table the API enforces (auth.ts).
 *
 * Served at `GET /openapi.json`, with a reference page at `GET /docs` (openapi-routes.ts).
 */
import { SCOPES } from '../access/api-keys.ts';
import { requiredScope } from './auth.ts';
import { components, resultWebhooks } from './openapi-components.ts';
import { answer, ref } from './openapi-kit.ts';
import { paths } from './openapi-paths.ts';

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

function build(): OpenApiDocument {
  const schemas = components();

  const doc: OpenApiDocument = {
    openapi: '3.1.1',
    info: {
      title: 'Invoice worker: producer API',
      version: '1',
      description:
        'Orders in, invoices at crypto payment providers out. An order is recorded once per (provider, account, foreign_id) and sent to the provider by a worker; ' +
        'its state is read with GET, or followed on the results queue. When the server has `API_TOKEN` or `API_KEYS_FILE` set every call needs `Authorization: Bearer <token>`. ' +
        'Each operation needs a scope of the key (`security` names it): `orders:write`, `orders:read`, `repairs` or `webhooks`; a key limited to lanes reads only their orders (another lane is 404) and acts only on them (403). ' +
        'After repeated failed authentications from one address, that address gets 429 with Retry-After for up to a minute. ' +
        'Results (one per change of an invoice) reach the order system on the results queue and, signed, on registered webhook endpoints: `webhooks` below describes each event.',
      license: { name: 'MIT', identifier: 'MIT' },
      contact: { name: 'invoice-worker maintainers', url: 'https://github.com/invoice-worker/invoice-worker/issues' },
    },
    servers: [{ url: '/', description: 'this service, where the document is served' }],
    tags: [
      ...TAGS.map(({ name, description }) => ({ name, description })),
      { name: 'Results', description: 'the results the order system receives, one per change of an invoice' },
    ],
    security: [{ bearer: [] }],
    paths: paths(),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: `an API key's token: \`API_TOKEN\` (every scope) or a key of \`API_KEYS_FILE\`; scopes: ${SCOPES.map((x) => `\`${x}\``).join(', ')} (docs/security.md)`,
        },
      },
      schemas,
    },
    webhooks: resultWebhooks(),
  };
  // Each operation's scope, from the table the API enforces (auth.ts), so the two cannot drift.
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item) as Array<[string, { security?: unknown; responses: Record<string, unknown>; description?: string }]>) {
      const scope = requiredScope(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'));
      const scopes = scope === 'all' ? [...SCOPES] : [scope];
      // Bearer tokens carry no OAuth scopes, so the scope is stated beside the requirement
      // (`x-required-scopes`, and in words) rather than inside it.
      op.security = [{ bearer: [] }];
      (op as Record<string, unknown>)['x-required-scopes'] = scopes;
      (op as Record<string, unknown>).tags = [TAGS.find((t) => t.match(path))?.name ?? 'Orders'];
      op.responses['403'] = answer(`the API key lacks the scope ${scopes.map((x) => `\`${x}\``).join(', ')}, or may not act on this lane`, ref('Forbidden'));
      op.description = `${op.description ? `${op.description} ` : ''}Needs the scope ${scopes.map((x) => `\`${x}\``).join(', ')}.`;
    }
  }
  return doc;
}

/** The document's tags: which operations each holds. */
const TAGS: Array<{ name: string; description: string; match: (path: string) => boolean }> = [
  {
    name: 'Webhook endpoints',
    description: 'signed result webhooks: register, rotate, enable, disable, deliveries, redeliver',
    match: (p) => p.startsWith('/v1/webhook-endpoints'),
  },
  { name: 'Listing', description: 'listing and export for reconciliation', match: (p) => p === '/v1/invoices/export' },
  {
    name: 'Repairs',
    description: 'operator repairs: retry, abandon, attach, reissue, accept',
    match: (p) => /\/(retry|abandon|attach|reissue|accept)$/.test(p),
  },
  { name: 'Orders', description: 'orders in, invoices out: create, read, list, cancel, choose the payment method', match: () => true },
];

let cached: string | undefined;

/** The document (a fresh copy). */
export function openApiDocument(): OpenApiDocument {
  cached ??= JSON.stringify(build());
  return JSON.parse(cached) as OpenApiDocument;
}

/** The document as served: built once per process. */
export function openApiJson(): string {
  cached ??= JSON.stringify(build());
  return cached;
}

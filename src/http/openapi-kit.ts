/**
 * The building blocks the OpenAPI document is written with: JSON Schema from zod's own
 * `z.toJSONSchema` (named components, inline parameter schemas), `$ref`s to components, and the
 * shapes of a JSON body, an answer and query parameters, so the components, the paths and the
 * document (openapi-components.ts, openapi-paths.ts, openapi.ts) state each of them one way.
 */
import { z } from 'zod';
import { LIST_DEFAULT, LIST_MAX } from './listing.ts';

export type JsonSchema = Record<string, unknown>;

export const ref = (id: string): JsonSchema => ({ $ref: `#/components/schemas/${id}` });

/** JSON Schemas of a set of named zod schemas; a named schema inside another becomes a `$ref`. */
export function componentSchemas(named: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema }) => {
      // Answers are open: v1 may add fields, which clients ignore (the test closes them to catch drift).
      if (io === 'output' && jsonSchema.additionalProperties === false) delete jsonSchema.additionalProperties;
    },
  });
  const out: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as JsonSchema;
    out[id] = rest;
  }
  return out;
}

/** An inline JSON Schema (parameters). */
export function inline(schema: z.ZodType): JsonSchema {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

export const json = (schema: JsonSchema, extra: Record<string, unknown> = {}) => ({ content: { 'application/json': { schema, ...extra } } });
export const answer = (description: string, schema: JsonSchema, headers?: Record<string, unknown>) => ({ description, ...(headers ? { headers } : {}), ...json(schema) });

/** A query's fields as optional query parameters (listing, export, deliveries). */
export const queryParams = (schema: z.ZodObject) =>
  Object.entries(inline(schema).properties as Record<string, JsonSchema>).map(([name, sch]) => {
    const { description, ...rest } = sch;
    // `limit` arrives as text and is read as a whole number: documented as the number it is.
    const schema = name === 'limit' ? { type: 'integer', minimum: 1, maximum: LIST_MAX, default: LIST_DEFAULT } : rest;
    return { name, in: 'query', required: false, ...(description ? { description } : {}), schema };
  });

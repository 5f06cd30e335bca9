/**
 * `GET /openapi.json` (the document, openapi.ts) and `GET /docs` (its reference page,
 * reference.ts), both without the bearer token: the document describes the API and holds no data.
 */
import { Router } from 'express';
import { openApiDocument, openApiJson } from './openapi.ts';
import { renderReference } from './reference.ts';

export const OPENAPI_PATH = '/openapi.json';
export const REFERENCE_PATH = '/docs';

/** `GET /openapi.json` and the reference page `GET /docs`: no token needed, nothing but the API's description. */
export function openApiRoutes(): Router {
  const r = Router();
  let page: string | undefined;
  r.get(OPENAPI_PATH, (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/json').send(openApiJson());
  });
  r.get(REFERENCE_PATH, (_req, res) => {
    page ??= renderReference(openApiDocument());
    res
      .set('Cache-Control', 'no-cache')
      .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
      .set('X-Content-Type-Options', 'nosniff')
      .type('html')
      .send(page);
  });
  return r;
}

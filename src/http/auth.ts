import type { RequestHandler } from 'express';
import { safeEqual } from '../signing.ts';

/** `Authorization: Bearer <token>`, compared in constant time. No token configured: open. */
export function bearerAuth(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (!token) return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match?.[1] || !safeEqual(match[1], token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized', message: 'missing or wrong bearer token' });
      return;
    }
    next();
  };
}

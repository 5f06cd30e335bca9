/**
 * What a sandbox handler answers. Handlers compute a `Reply` instead of writing to the response,
 * so the fault layer (gate.ts) can decide afterwards whether the client ever sees it
 * (commit-then-drop).
 */
import type { Response } from 'express';

export interface Reply {
  status: number;
  body: string;
  contentType: string;
}

export const json = (status: number, value: unknown): Reply => ({
  status,
  body: JSON.stringify(value),
  contentType: 'application/json',
});

export const text = (status: number, body: string, contentType = 'text/plain; charset=UTF-8'): Reply => ({
  status,
  body,
  contentType,
});

export function send(res: Response, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  res.status(reply.status).type(reply.contentType).send(Buffer.from(reply.body, 'utf8'));
}

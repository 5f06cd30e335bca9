/**
 * Identifiers derived from (lane, foreign_id): the lane key (`<provider>` for the default account,
 * `<provider>@<account>` otherwise: src/lanes/key.ts) and the order system's id. BullMQ job ids may not contain ':' and may not
 * be all digits, while a foreign_id may be digits only, contain colons, unicode or be 255 chars.
 * Safe ids are kept readable (`r.` prefix, shown as-is in Bull Board); anything else is
 * base64url-encoded (`b.` prefix). The prefixes keep the two forms from ever colliding.
 */
const READABLE = /^[A-Za-z0-9_-]{1,255}$/;

export function encodeForeignId(foreignId: string): string {
  return READABLE.test(foreignId) ? `r.${foreignId}` : `b.${Buffer.from(foreignId, 'utf8').toString('base64url')}`;
}

export function decodeForeignId(encoded: string): string {
  if (encoded.startsWith('r.')) return encoded.slice(2);
  if (encoded.startsWith('b.')) return Buffer.from(encoded.slice(2), 'base64url').toString('utf8');
  throw new TypeError('not an encoded foreign_id');
}

/** The invoice's stable id: `<lane>.<encoded foreign_id>`. */
export function invoiceId(lane: string, foreignId: string): string {
  return `${lane}.${encodeForeignId(foreignId)}`;
}

/** A job id for one queue and one invoice, optionally one step of it (e.g. a status). */
export function jobId(queue: string, lane: string, foreignId: string, step?: string): string {
  return [queue, invoiceId(lane, foreignId), step].filter(Boolean).join('.');
}

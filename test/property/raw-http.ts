/**
 * HTTP without the normalising of fetch: `request` sends the path and body bytes exactly as given
 * (fetch re-encodes `%`-escapes, refuses some header values and recodes string bodies as UTF-8),
 * and `rawExchange` writes bytes straight onto a socket, for what even node's client will not send
 * (a body that disagrees with its Content-Length).
 */
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The JSON answer, or the text when it is not JSON. */
  body: any;
}

export function request(base: string, method: string, path: string, headers: http.OutgoingHttpHeaders = {}, body?: Buffer | string): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Writes `bytes` to the server, half-closes, and returns everything it answered until it closed
 * (or `timeoutMs` passed), with the status code of every response found in it.
 */
export function rawExchange(base: string, bytes: Buffer, timeoutMs = 2000): Promise<{ text: string; statuses: number[] }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])) });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? finish() : reject(err)));
    socket.end(bytes);
  });
}

/** Whether every `%`-escape in a path segment decodes to UTF-8 text (what the router does to a parameter). */
export function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

const hex = (b: number): string => `%${b.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * Percent-escapes that do not decode: a lone or truncated `%`, bytes that never occur in UTF-8,
 * stray continuation bytes, truncated, overlong and surrogate sequences, code points past U+10FFFF.
 */
export const badEscape: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('%', '%F', '%G0', '%zz', '%%', '%FF', '%C0%80', '%E0%80', '%E0%80%80', '%ED%A0%80', '%ED%BF%BF', '%F4%90%80%80', '%F8%88%80%80%80', '%E2%82', '%F0%9F%98'),
  fc.integer({ min: 0x80, max: 0xbf }).map(hex),
  fc.integer({ min: 0xf5, max: 0xff }).map(hex),
  fc.integer({ min: 0xc2, max: 0xf4 }).map(hex),
);

/** Percent-escapes that decode: any single ASCII byte (including `/`, `?`, NUL) or a whole character. */
export const goodEscape: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }).map(hex),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 }).map((s) => encodeURIComponent(s)),
);

/** Printable ASCII but `/`, `?`, `#` and `%`: characters a path segment carries as they are. */
const pathChar = fc
  .integer({ min: 0x21, max: 0x7e })
  .filter((c) => !'/?#%'.includes(String.fromCharCode(c)))
  .map((c) => String.fromCharCode(c));

/** 0x7F-0xFF, which node's client sends as single raw bytes (Latin-1) in the request line. */
const rawHighByte = fc.integer({ min: 0x7f, max: 0xff }).map((c) => String.fromCharCode(c));

const validPart = fc.oneof(pathChar, goodEscape, fc.string({ minLength: 1, maxLength: 6 }).map(encodeURIComponent));
const around = (middle: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(fc.array(validPart, { maxLength: 5 }), middle, fc.array(fc.oneof(validPart, badEscape), { maxLength: 5 })).map(([a, m, b]) => [...a, m, ...b].join(''));

/**
 * One path segment: one that decodes (plain characters and valid escapes), one with at least one
 * escape that does not, and, rarer, one with a raw high byte.
 */
export const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(validPart, { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')) },
  { weight: 5, arbitrary: around(badEscape) },
  { weight: 1, arbitrary: around(rawHighByte) },
);

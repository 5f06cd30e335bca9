/**
 * Root pino logger. Redaction covers keys, secrets, signatures, tokens, sender data and e-mails
 * wherever they sit in a logged object; personal data must never reach the logs.
 */
import { pino, type Logger } from 'pino';
import { maskPersonal } from './redact.ts';
import { traceIds } from './tracing.ts';

export const REDACT_PATHS = [
  'apiKey',
  'apiSecret',
  'secret',
  'token',
  'password',
  'authorization',
  'signature',
  '*.apiKey',
  '*.apiSecret',
  '*.secret',
  '*.token',
  '*.password',
  '*.authorization',
  '*.signature',
  'headers["x-processing-key"]',
  'headers["x-processing-signature"]',
  'headers["x-api-key"]',
  'headers.token',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-processing-signature"]',
  'req.headers["x-processing-key"]',
  'req.headers["x-api-key"]',
  'req.headers.token',
  'req.headers.cookie',
  'email',
  '*.email',
  'email_user',
  '*.email_user',
  'end_user_email',
  '*.end_user_email',
  'sender',
  '*.sender',
  'sender_data',
  '*.sender_data',
  'customer',
  '*.customer',
  'order.customer',
  'cookie',
  '*.cookie',
  'headers["set-cookie"]',
  'req.headers["proxy-authorization"]',
];

/**
 * `destination` defaults to stdout, written asynchronously: a line goes out at once when no write
 * is in flight, and the lines logged meanwhile leave together in the next write, so a busy worker
 * makes one write system call per burst instead of one per line. What is still buffered is flushed
 * when the process exits (also on a fatal error); only a SIGKILL can cut the last lines.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'invoice-worker' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // The path list above is fast but shallow; this catches personal fields at any depth and
      // e-mail addresses inside strings (error messages, raw bodies).
      formatters: { log: (obj) => maskPersonal(obj) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // trace_id and span_id of the active span, when tracing is on (src/tracing.ts).
      mixin: traceIds,
    },
    (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };

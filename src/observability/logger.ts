/**
 * Root pino logger. Masking covers keys, secrets, signatures, tokens, sender data and e-mails
 * wherever they sit in a logged object; personal data must never reach the logs.
 */
import { pino, type Logger } from 'pino';
import { maskPersonal } from './redact.ts';
import { traceIds } from './tracing.ts';

/**
 * Keys the logs must never show a value of, as the providers, HTTP and our records spell them.
 * `maskPersonal` (src/observability/redact.ts) masks each of them at any depth, in every line and every
 * binding; logs.test.ts logs each one and checks its value never appears.
 */
export const SECRET_KEYS = [
  'apiKey',
  'apiSecret',
  'secret',
  'token',
  'password',
  'authorization',
  'proxy-authorization',
  'signature',
  'x-processing-key',
  'x-processing-signature',
  'x-api-key',
  'cookie',
  'set-cookie',
  'email',
  'email_user',
  'end_user_email',
  'sender',
  'sender_data',
  'customer',
] as const;

/**
 * `destination` defaults to stdout, written asynchronously: a line goes out at once when no write
 * is in flight, and the lines logged meanwhile leave together in the next write, so a busy worker
 * makes one write system call per burst instead of one per line. What is still buffered is flushed
 * when the process exits (also on a fatal error); only a SIGKILL can cut the last lines.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream): Logger {
  const root = pino(
    {
      level,
      base: { service: 'invoice-worker' },
      // Personal and secret fields masked by name at any depth, and e-mail addresses inside strings
      // (error messages, raw bodies), in the line and in a child logger's bindings. No pino
      // `redact` path list on top: it repeated what this does and cost about 13 µs a line (most
      // of a line's cost; bench/RESULTS.md).
      formatters: { log: (obj) => maskPersonal(obj), bindings: (b) => maskPersonal(b) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // trace_id and span_id of the active span, when tracing is on (src/observability/tracing.ts).
      mixin: traceIds,
    },
    (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false }),
  );
  // pino formats only the root's bindings; a child's (`log.child({...})`) are masked here, once
  // per child. Children inherit this `child` from the root, so theirs are masked too.
  const child = Reflect.get(root, 'child') as unknown as (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;
  root.child = function (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) {
    return child.call(this, maskPersonal(bindings), options);
  } as unknown as Logger['child'];
  return root;
}

export type { Logger };

/**
 * Who may call the producer API, and what each caller may do (docs/security.md).
 *
 * `API_KEYS_FILE` is a JSON array of keys: `{id, token_sha256, scopes, lanes?}`. The file holds
 * only the SHA-256 (hex) of each token, so reading it does not give anyone a token. A request's
 * bearer token is hashed and compared, in constant time, with every key's hash. `API_TOKEN`, when
 * set, is one more key with id `default`, every scope and every lane.
 *
 * Scopes: `orders:write` (create, batch, cancel), `orders:read` (get, list, export), `repairs`
 * (retry, confirm_not_created, abandon, attach, reissue, accept) and `webhooks` (result webhook
 * endpoints and redelivery). `lanes` limits a key to those lanes (lane keys: `provider` is the
 * provider's default account, `provider@account` another one); without it a key reaches every
 * lane.
 *
 * The file is watched (a stat every second): a change is read again; a file that no longer parses
 * keeps the keys in force and logs an error, so a typo during a rotation never locks callers out.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError, type FieldIssue } from '../errors.ts';
import { safeEqual } from '../signing.ts';

export const SCOPES = ['orders:write', 'orders:read', 'repairs', 'webhooks'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Key ids and Bull Board user names: the actor in histories and audit lines. A narrow charset (no
 * `@`, no spaces), so an actor is never mistaken for, or masked as, an e-mail address.
 */
export const ActorName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 characters: letters, digits, _ . and -, starting with a letter or digit');

/** A lane key: `provider` (its default account) or `provider@account`. */
const LaneRefText = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}(@[a-z0-9][a-z0-9_-]{0,31})?$/, 'must be a lane: provider or provider@account');

const KeySchema = z.strictObject({
  id: ActorName,
  token_sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the SHA-256 of the token, 64 hex digits')
    .transform((h) => h.toLowerCase()),
  scopes: z.array(z.enum(SCOPES)).min(1),
  lanes: z.array(LaneRefText).min(1).optional(),
});
const FileSchema = z.array(KeySchema);

/** Whoever a request authenticated as. `lanes` null: every lane. */
export interface Principal {
  id: string;
  scopes: ReadonlySet<Scope>;
  lanes: ReadonlySet<string> | null;
}

interface StoredKey extends Principal {
  hash: Buffer;
}

/** The id of `API_TOKEN` as a key. */
export const DEFAULT_KEY_ID = 'default';
/** The caller of an API that has no key configured at all (the local sandbox start). */
export const OPEN_ACCESS: Principal = Object.freeze({ id: 'anonymous', scopes: new Set(SCOPES), lanes: null });

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function mayUseLane(p: Principal, lane: string): boolean {
  return p.lanes === null || p.lanes.has(lane);
}

/**
 * Whether a key may use something that belongs to these lanes (a result webhook endpoint): a key
 * for every lane may; a key limited to lanes only when it has every one of them, and never what
 * names no lane (that one is for every lane).
 */
export function mayUseAllOf(p: Principal, lanes: readonly string[] | undefined): boolean {
  if (p.lanes === null) return true;
  const own = p.lanes;
  return !!lanes?.length && lanes.every((l) => own.has(l));
}

/** The scope a key lacks for what needs `scope` (`all`: every scope), or undefined when it has it. */
export function missingScope(p: Principal, scope: Scope | 'all'): Scope | 'all' | undefined {
  if (scope === 'all') return p.scopes.size < SCOPES.length ? 'all' : undefined;
  return p.scopes.has(scope) ? undefined : scope;
}

/**
 * Reads and checks a keys file. Every problem names the file and the field (`keys[2].scopes.0`);
 * `knownProviders`, when given, also refuses lanes of providers this system does not have.
 */
export function loadKeysFile(path: string, knownProviders?: readonly string[]): Principal[] {
  return parseKeys(path, knownProviders).map(({ hash: _h, ...p }) => p);
}

function parseKeys(path: string, knownProviders?: readonly string[]): StoredKey[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ field: 'API_KEYS_FILE', message: `${path} could not be read as JSON (${(err as Error).message})` }]);
  }
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ field: `API_KEYS_FILE: keys${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`, message: i.message })),
    );
  }
  const problems: FieldIssue[] = [];
  const ids = new Set<string>();
  const hashes = new Set<string>();
  parsed.data.forEach((k, i) => {
    if (ids.has(k.id)) problems.push({ field: `API_KEYS_FILE: keys[${i}].id`, message: `${k.id} is used twice` });
    if (k.id === DEFAULT_KEY_ID) problems.push({ field: `API_KEYS_FILE: keys[${i}].id`, message: `${DEFAULT_KEY_ID} is API_TOKEN's id` });
    if (hashes.has(k.token_sha256)) problems.push({ field: `API_KEYS_FILE: keys[${i}].token_sha256`, message: 'the same token is given to two keys' });
    ids.add(k.id);
    hashes.add(k.token_sha256);
    k.lanes?.forEach((lane, j) => {
      const provider = lane.split('@')[0] ?? '';
      if (knownProviders && !knownProviders.includes(provider)) {
        problems.push({ field: `API_KEYS_FILE: keys[${i}].lanes[${j}]`, message: `unknown provider ${provider} (known: ${knownProviders.join(', ')})` });
      }
    });
  });
  if (problems.length) throw new ConfigError(problems);
  return parsed.data.map((k) => ({ id: k.id, scopes: new Set(k.scopes), lanes: k.lanes ? new Set(k.lanes) : null, hash: Buffer.from(k.token_sha256, 'hex') }));
}

export interface KeyRingOptions {
  /** `API_TOKEN`: a key with id `default`, every scope, every lane. */
  token?: string;
  /** `API_KEYS_FILE`. */
  file?: string;
  knownProviders?: readonly string[];
  log: Logger;
  /** How often the file is looked at (ms). */
  intervalMs?: number;
}

/**
 * The keys in force. Emits `reload` (`{keys}`) after a change of the file was taken, `reload-error`
 * (`{message}`) when a changed file was refused and the previous keys stay.
 */
export class KeyRing extends EventEmitter {
  private keys: StoredKey[];
  private readonly token?: string;
  private readonly listener?: (curr: Stats, prev: Stats) => void;

  constructor(private readonly opts: KeyRingOptions) {
    super();
    this.token = opts.token;
    this.keys = opts.file ? parseKeys(opts.file, opts.knownProviders) : [];
    if (opts.file) {
      const file = opts.file;
      this.listener = (curr, prev) => {
        if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
        this.reload(file);
      };
      watchFile(file, { interval: opts.intervalMs ?? 1000, persistent: false }, this.listener);
    }
  }

  /** Whether any credential is configured (none: the API is open, as for the local sandbox). */
  get open(): boolean {
    return !this.token && !this.opts.file;
  }

  get size(): number {
    return this.keys.length + (this.token ? 1 : 0);
  }

  /** Reads the file again now (the watcher calls this on a change). */
  reload(file = this.opts.file): boolean {
    if (!file) return false;
    try {
      this.keys = parseKeys(file, this.opts.knownProviders);
      this.opts.log.info({ keys: this.keys.length, ids: this.keys.map((k) => k.id) }, 'API keys reloaded');
      this.emit('reload', { keys: this.keys.length });
      return true;
    } catch (err) {
      const message = err instanceof ConfigError ? err.issues.map((i) => `${i.field}: ${i.message}`).join('; ') : (err as Error).message;
      this.opts.log.error({ problems: message }, 'API keys file refused: the previous keys stay in force');
      this.emit('reload-error', { message });
      return false;
    }
  }

  /**
   * The key a bearer token belongs to, or null. Every key's hash is compared (constant time each),
   * so the time taken does not say which key, if any, came close.
   */
  authenticate(token: string): Principal | null {
    let found: Principal | null = null;
    if (this.token && safeEqual(token, this.token)) found = { id: DEFAULT_KEY_ID, scopes: OPEN_ACCESS.scopes, lanes: null };
    if (this.keys.length) {
      const hash = createHash('sha256').update(token, 'utf8').digest();
      for (const k of this.keys) {
        if (timingSafeEqual(hash, k.hash) && !found) found = k;
      }
    }
    return found ? { id: found.id, scopes: found.scopes, lanes: found.lanes } : null;
  }

  close(): void {
    if (this.opts.file && this.listener) unwatchFile(this.opts.file, this.listener);
  }
}

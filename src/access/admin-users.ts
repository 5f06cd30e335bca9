/**
 * Bull Board users (docs/security.md): `ADMIN_USERS_FILE` is a JSON array of
 * `{user, password_hash, role}`, `role` `viewer` (looks) or `operator` (retries, cleans, repairs).
 * Passwords are stored as scrypt hashes (RFC 7914), encoded `scrypt$N$r$p$salt$hash` with salt and
 * hash in base64url; `npm run cli -- hash-password` makes one from a password read on stdin.
 * The file is read at boot; a change needs a restart (rotation: add the new user, restart, remove
 * the old one).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ActorName } from './api-keys.ts';
import { ConfigError } from '../errors.ts';

export type AdminRole = 'viewer' | 'operator';

/** Whether a role may change anything (retry, clean, repair); a viewer only looks. */
export function mayOperate(role: AdminRole): boolean {
  return role === 'operator';
}

export interface AdminUser {
  user: string;
  /** `scrypt$N$r$p$salt$hash`. */
  passwordHash: string;
  role: AdminRole;
}

/** Costs of new hashes: N = 2^15, r = 8, p = 1 (about 32 MB and 50-100 ms per check). */
const NEW = { N: 32768, r: 8, p: 1 };
const KEY_LENGTH = 32;
const HASH = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{32,128})$/;

function scrypt(password: string, salt: Buffer, length: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, length, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

interface Parsed {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** A hash's parts, or why it is not one this code makes and checks (bounded costs: a typo cannot ask for gigabytes). */
function parseHash(encoded: string): Parsed | string {
  const m = HASH.exec(encoded);
  if (!m) return 'must be scrypt$N$r$p$salt$hash (make one with `npm run cli -- hash-password`)';
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 1024 || N > 1_048_576 || (N & (N - 1)) !== 0) return 'N must be a power of two from 1024 to 1048576';
  if (r < 1 || r > 32 || p < 1 || p > 16) return 'r must be 1-32 and p 1-16';
  return { N, r, p, salt: Buffer.from(m[4] as string, 'base64url'), hash: Buffer.from(m[5] as string, 'base64url') };
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LENGTH, { ...NEW, maxmem: 256 * NEW.N * NEW.r });
  return `scrypt$${NEW.N}$${NEW.r}$${NEW.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Whether `password` matches `encoded`, compared in constant time. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const h = parseHash(encoded);
  if (typeof h === 'string') return false;
  const got = await scrypt(password, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r });
  return timingSafeEqual(got, h.hash);
}

/** A hash no password matches, checked for unknown user names so they take as long as known ones. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(24).toString('base64url'));
  return decoy;
}

const UserSchema = z.strictObject({
  user: ActorName,
  password_hash: z.string().superRefine((v, ctx) => {
    const h = parseHash(v);
    if (typeof h === 'string') ctx.addIssue({ code: 'custom', message: h });
  }),
  role: z.enum(['viewer', 'operator']),
});

/** Reads and checks the users file; every problem names the file's field (`users[1].password_hash`). */
export function loadAdminUsers(path: string): AdminUser[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ field: 'ADMIN_USERS_FILE', message: `${path} could not be read as JSON (${(err as Error).message})` }]);
  }
  const parsed = z.array(UserSchema).min(1).safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ field: `ADMIN_USERS_FILE: users${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`, message: i.message })),
    );
  }
  const seen = new Set<string>();
  const problems = parsed.data.flatMap((u, i) => {
    const dup = seen.has(u.user);
    seen.add(u.user);
    return dup ? [{ field: `ADMIN_USERS_FILE: users[${i}].user`, message: `${u.user} is listed twice` }] : [];
  });
  if (problems.length) throw new ConfigError(problems);
  return parsed.data.map((u) => ({ user: u.user, passwordHash: u.password_hash, role: u.role }));
}

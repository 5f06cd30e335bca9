/**
 * Provider accounts, each a lane: the accounts file (ACCOUNTS_FILE) and the default account a
 * provider's environment variables describe.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type FieldIssue } from '../errors.ts';
import { AccountName, laneKey, type LaneRef } from './key.ts';
import { LaneTuningSchema, type LaneTuningInput } from './tuning.ts';

/** One configured account, before its adapter is built. `settings` is what its adapter's schema parsed. */
export interface AccountConfig extends LaneRef {
  settings: unknown;
  tuning: LaneTuningInput;
  /**
   * Hosts of this account's payment pages besides its provider's (`payment_hosts` in the accounts
   * file): an attached payment URL must be https on one of them. An entry with a scheme is an exact
   * origin (the built-in sandbox's `http://127.0.0.1:<port>`).
   */
  paymentHosts?: string[];
  /** Where it was configured, for messages: `env` or the accounts file's path. */
  source: string;
}

/** What the accounts file needs from each provider's declaration. */
export interface AccountSchemaSource {
  id: string;
  settings: z.ZodType;
}

const FileSchema = z.strictObject({
  accounts: z.array(z.looseObject({ provider: z.string(), account: AccountName, lane: z.unknown().optional(), payment_hosts: z.unknown().optional() })),
});

/** A payment host as the accounts file names it: a DNS name, lower case, no scheme, port or path. */
const PaymentHosts = z.array(z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a host name, e.g. pay.example.com')).max(50);

/**
 * Reads the accounts file: `{"accounts": [{"provider", "account", ...settings, "lane": {...}}]}`.
 * A setting may be `{"env": "NAME"}` to take a secret from the environment instead of the file.
 * Every problem names the file, the account and the field; nothing is half-loaded.
 */
export function loadAccountsFile(path: string, providers: ReadonlyMap<string, AccountSchemaSource>, env: NodeJS.ProcessEnv): AccountConfig[] {
  const where = (field: string): string => `${path}: ${field}`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ field: 'ACCOUNTS_FILE', message: `${path} could not be read as JSON (${(err as Error).message})` }]);
  }
  const file = FileSchema.safeParse(json);
  if (!file.success) {
    throw new ConfigError(file.error.issues.map((i) => ({ field: where(i.path.map(String).join('.') || '(file)'), message: i.message })));
  }
  const problems: FieldIssue[] = [];
  const out: AccountConfig[] = [];
  const seen = new Set<string>();
  file.data.accounts.forEach((entry, index) => {
    const name = `accounts[${index}] (${entry.provider}/${entry.account})`;
    const module = providers.get(entry.provider);
    if (!module) {
      problems.push({ field: where(`${name}.provider`), message: `unknown provider (known: ${[...providers.keys()].join(', ')})` });
      return;
    }
    const key = laneKey(entry.provider, entry.account);
    if (seen.has(key)) problems.push({ field: where(`${name}.account`), message: 'configured twice' });
    seen.add(key);
    const { provider: _p, account: _a, lane, payment_hosts, ...rest } = entry;
    const hosts = PaymentHosts.safeParse(payment_hosts ?? []);
    if (!hosts.success) {
      for (const i of hosts.error.issues) problems.push({ field: where(`${name}.payment_hosts${i.path.map((p) => `[${String(p)}]`).join('')}`), message: i.message });
    }
    const resolved: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) {
      const ref = z.strictObject({ env: z.string().min(1) }).safeParse(v);
      if (!ref.success) resolved[k] = v;
      else if (env[ref.data.env]) resolved[k] = env[ref.data.env];
      else problems.push({ field: where(`${name}.${k}`), message: `names environment variable ${ref.data.env}, which is not set` });
    }
    const settings = module.settings.safeParse(resolved);
    if (!settings.success) {
      for (const i of settings.error.issues) problems.push({ field: where(`${name}.${i.path.map(String).join('.') || '(settings)'}`), message: i.message });
    }
    const tuning = LaneTuningSchema.safeParse(lane ?? {});
    if (!tuning.success) {
      for (const i of tuning.error.issues) problems.push({ field: where(`${name}.lane.${i.path.map(String).join('.')}`), message: i.message });
    }
    if (settings.success && tuning.success) {
      out.push({
        provider: entry.provider,
        account: entry.account,
        settings: settings.data,
        tuning: tuning.data,
        source: path,
        ...(hosts.success && hosts.data.length ? { paymentHosts: hosts.data } : {}),
      });
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return out;
}

/**
 * The default account from a provider's environment variables: `names` maps each setting to its
 * variable. The credential settings come together: none set means no default account, some set
 * is an error naming the missing ones.
 */
export function envAccount(
  env: Readonly<Record<string, unknown>>,
  names: Record<string, string>,
  credentials: readonly string[],
): {
  settings?: Record<string, unknown>;
  names: Record<string, string>;
  problems: FieldIssue[];
} {
  const settings: Record<string, unknown> = {};
  for (const [setting, variable] of Object.entries(names)) if (env[variable] !== undefined) settings[setting] = env[variable];
  const set = credentials.filter((k) => settings[k] !== undefined);
  if (!set.length) return { names, problems: [] };
  if (set.length < credentials.length) {
    const given = set.map((k) => names[k]).join(', ');
    return { names, problems: credentials.filter((k) => settings[k] === undefined).map((k) => ({ field: names[k] ?? k, message: `required when ${given} is set` })) };
  }
  return { settings, names, problems: [] };
}

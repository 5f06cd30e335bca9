import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const MERCHANT_ID = '3f2b8c1e-9a4d-4e7b-8c2a-1d5e6f708192';

const CP = { CRYPTOPROCESSING_API_KEY: 'cp-key', CRYPTOPROCESSING_API_SECRET: 'cp-secret' };
const AP = { ALPHAPO_API_KEY: 'ap-key', ALPHAPO_API_SECRET: 'ap-secret' };
const CS = { CRYPTOSTEROID_API_KEY: 'cs-key', CRYPTOSTEROID_MERCHANT_ID: MERCHANT_ID };

/** Runs loadConfig expecting a ConfigError; returns it. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(caught)}`);
  assert.equal(caught.name, 'ConfigError');
  assert.ok(Array.isArray(caught.issues) && caught.issues.length > 0);
  for (const issue of caught.issues) {
    assert.equal(typeof issue.field, 'string');
    assert.ok(issue.message.length > 0);
    assert.ok(caught.message.includes(issue.field), `message names ${issue.field}`);
  }
  return caught;
}

/** The default accounts' settings by provider (what the provider variables configured). */
function providers(config: ReturnType<typeof loadConfig>): Record<string, unknown> {
  return Object.fromEntries(config.accounts.filter((a) => a.account === 'default').map((a) => [a.provider, a.settings]));
}

function fields(err: ConfigError): string[] {
  return err.issues.map((i) => i.field).sort();
}

test('an empty environment gives the documented defaults and the sandbox', () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 3000);
  assert.equal(config.HOST, '0.0.0.0');
  assert.equal(config.QUEUE_PREFIX, 'iw');
  assert.equal(config.LOG_LEVEL, 'info');
  assert.equal(config.SANDBOX, 'auto');
  assert.equal(config.SANDBOX_PORT, 3100);
  assert.equal(config.REDIS_URL, undefined);
  assert.equal(config.API_TOKEN, undefined);
  assert.equal(config.PUBLIC_BASE_URL, undefined);
  assert.equal(config.CREATE_CONCURRENCY, 50);
  assert.equal(config.CREATE_ATTEMPTS, 10);
  assert.equal(config.CREATE_BACKOFF_MS, 2000);
  assert.equal(config.RATE_LIMIT_DELAY_MS, 5000);
  assert.equal(config.HTTP_CONNECT_TIMEOUT_MS, 5000);
  assert.equal(config.HTTP_RESPONSE_TIMEOUT_MS, 20000);
  assert.deepEqual(providers(config), {});
  assert.equal(config.sandbox, true);
});

test('the config is frozen', () => {
  const config = loadConfig({});
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as { PORT: number }).PORT = 1;
  }, TypeError);
});

test('empty strings count as unset', () => {
  const config = loadConfig({ PORT: '', REDIS_URL: '', CRYPTOPROCESSING_API_KEY: '', CRYPTOPROCESSING_API_SECRET: '', SANDBOX: '' });
  assert.equal(config.PORT, 3000);
  assert.equal(config.REDIS_URL, undefined);
  assert.deepEqual(providers(config), {});
  assert.equal(config.sandbox, true);
});

test('numeric variables are coerced from strings', () => {
  const config = loadConfig({ PORT: '8080', SANDBOX_PORT: '0', CREATE_CONCURRENCY: '4', CREATE_ATTEMPTS: '3' });
  assert.equal(config.PORT, 8080);
  assert.equal(config.SANDBOX_PORT, 0);
  assert.equal(config.CREATE_CONCURRENCY, 4);
  assert.equal(config.CREATE_ATTEMPTS, 3);
});

test('sandbox auto mode: on with no credentials, off once any provider is configured', () => {
  assert.equal(loadConfig({ SANDBOX: 'auto' }).sandbox, true);
  for (const group of [CP, AP, CS]) {
    const config = loadConfig({ SANDBOX: 'auto', ...group });
    assert.equal(config.sandbox, false, JSON.stringify(group));
    assert.equal(Object.keys(providers(config)).length, 1);
  }
  assert.equal(loadConfig(CP).sandbox, false);
});

test('SANDBOX=on forces the sandbox, SANDBOX=off disables it', () => {
  assert.equal(loadConfig({ SANDBOX: 'on', ...CP, ...AP, ...CS }).sandbox, true);
  assert.equal(loadConfig({ SANDBOX: 'off' }).sandbox, false);
  assert.equal(loadConfig({ SANDBOX: 'off', ...CP }).sandbox, false);
});

test('a complete credential group enables its provider with the default base URL', () => {
  const config = loadConfig({ ...CP, ...AP, ...CS });
  assert.deepEqual(providers(config), {
    cryptoprocessing: { baseUrl: 'https://app.cryptoprocessing.com', apiKey: 'cp-key', apiSecret: 'cp-secret' },
    alphapo: { baseUrl: 'https://app.alphapo.net', apiKey: 'ap-key', apiSecret: 'ap-secret' },
    cryptosteroid: { baseUrl: 'https://api.cryptosteroid.com', apiKey: 'cs-key', merchantId: MERCHANT_ID },
  });
});

test('a configured base URL overrides the default', () => {
  const config = loadConfig({
    ...CP,
    ...CS,
    CRYPTOPROCESSING_BASE_URL: 'https://app.sandbox.cryptoprocessing.com',
    CRYPTOSTEROID_BASE_URL: 'http://127.0.0.1:3100',
  });
  assert.equal((providers(config).cryptoprocessing as { apiKey: string; apiSecret: string; baseUrl: string } | undefined)?.baseUrl, 'https://app.sandbox.cryptoprocessing.com');
  assert.equal((providers(config).cryptosteroid as { baseUrl: string } | undefined)?.baseUrl, 'http://127.0.0.1:3100');
});

test('a base URL alone does not enable a provider', () => {
  const config = loadConfig({ ALPHAPO_BASE_URL: 'https://app.alphapo.net' });
  assert.deepEqual(providers(config), {});
  assert.equal(config.sandbox, true);
});

test('credentials are trimmed', () => {
  const config = loadConfig({ CRYPTOPROCESSING_API_KEY: ' cp-key ', CRYPTOPROCESSING_API_SECRET: 'cp-secret\n' });
  assert.equal((providers(config).cryptoprocessing as { apiKey: string; apiSecret: string; baseUrl: string } | undefined)?.apiKey, 'cp-key');
  assert.equal((providers(config).cryptoprocessing as { apiKey: string; apiSecret: string; baseUrl: string } | undefined)?.apiSecret, 'cp-secret');
});

const PARTIAL: Array<[given: NodeJS.ProcessEnv, missing: string, present: string]> = [
  [{ CRYPTOPROCESSING_API_KEY: 'k' }, 'CRYPTOPROCESSING_API_SECRET', 'CRYPTOPROCESSING_API_KEY'],
  [{ CRYPTOPROCESSING_API_SECRET: 's' }, 'CRYPTOPROCESSING_API_KEY', 'CRYPTOPROCESSING_API_SECRET'],
  [{ ALPHAPO_API_KEY: 'k' }, 'ALPHAPO_API_SECRET', 'ALPHAPO_API_KEY'],
  [{ ALPHAPO_API_SECRET: 's' }, 'ALPHAPO_API_KEY', 'ALPHAPO_API_SECRET'],
  [{ CRYPTOSTEROID_API_KEY: 'k' }, 'CRYPTOSTEROID_MERCHANT_ID', 'CRYPTOSTEROID_API_KEY'],
  [{ CRYPTOSTEROID_MERCHANT_ID: MERCHANT_ID }, 'CRYPTOSTEROID_API_KEY', 'CRYPTOSTEROID_MERCHANT_ID'],
];

for (const [given, missing, present] of PARTIAL) {
  test(`${present} without ${missing} names ${missing}`, () => {
    const err = configError(given);
    assert.deepEqual(fields(err), [missing]);
    assert.match(err.issues[0]!.message, new RegExp(present));
  });
}

test('a partial group with the other half set to an empty string is still partial', () => {
  const err = configError({ ALPHAPO_API_KEY: 'k', ALPHAPO_API_SECRET: '' });
  assert.deepEqual(fields(err), ['ALPHAPO_API_SECRET']);
});

test('several partial groups are all reported', () => {
  const err = configError({ CRYPTOPROCESSING_API_KEY: 'k', ALPHAPO_API_SECRET: 's', CRYPTOSTEROID_API_KEY: 'k' });
  assert.deepEqual(fields(err), ['ALPHAPO_API_KEY', 'CRYPTOPROCESSING_API_SECRET', 'CRYPTOSTEROID_MERCHANT_ID']);
});

test('a whitespace-only credential is refused, not taken as set', () => {
  const err = configError({ CRYPTOPROCESSING_API_KEY: '   ', CRYPTOPROCESSING_API_SECRET: 's' });
  assert.deepEqual(fields(err), ['CRYPTOPROCESSING_API_KEY']);
});

for (const port of ['abc', '70000', '65536', '-1', '80.5', '3000abc']) {
  test(`PORT=${JSON.stringify(port)} is refused and named`, () => {
    assert.deepEqual(fields(configError({ PORT: port })), ['PORT']);
  });
}

test('a whitespace-only PORT does not silently become port 0', () => {
  let port: number | undefined;
  try {
    port = loadConfig({ PORT: ' ' }).PORT;
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(fields(err), ['PORT']);
    return;
  }
  assert.equal(port, 3000);
});

for (const url of ['not a url', 'localhost', '://no-scheme', 'ftp://redis.example.com:6379']) {
  test(`REDIS_URL=${JSON.stringify(url)} is refused and named`, () => {
    assert.deepEqual(fields(configError({ REDIS_URL: url })), ['REDIS_URL']);
  });
}

test('REDIS_URL accepts redis:// and rediss:// URLs', () => {
  assert.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).REDIS_URL, 'redis://127.0.0.1:6379');
  assert.equal(loadConfig({ REDIS_URL: 'rediss://user:pass@redis.example.com:6380/0' }).REDIS_URL, 'rediss://user:pass@redis.example.com:6380/0');
});

for (const id of ['merchant-1', '12345', '3f2b8c1e9a4d4e7b8c2a1d5e6f708192', `${MERCHANT_ID}x`]) {
  test(`CRYPTOSTEROID_MERCHANT_ID=${JSON.stringify(id)} is refused and named`, () => {
    assert.deepEqual(fields(configError({ CRYPTOSTEROID_API_KEY: 'k', CRYPTOSTEROID_MERCHANT_ID: id })), ['CRYPTOSTEROID_MERCHANT_ID']);
  });
}

test('other bad values are each named', () => {
  const cases: Array<[NodeJS.ProcessEnv, string]> = [
    [{ QUEUE_PREFIX: 'iw:prod' }, 'QUEUE_PREFIX'],
    [{ QUEUE_PREFIX: 'x'.repeat(65) }, 'QUEUE_PREFIX'],
    [{ API_TOKEN: 'too-short' }, 'API_TOKEN'],
    [{ PUBLIC_BASE_URL: 'example.com' }, 'PUBLIC_BASE_URL'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ SANDBOX: 'yes' }, 'SANDBOX'],
    [{ CRYPTOPROCESSING_BASE_URL: 'app.cryptoprocessing.com' }, 'CRYPTOPROCESSING_BASE_URL'],
    [{ CREATE_CONCURRENCY: '0' }, 'CREATE_CONCURRENCY'],
    [{ CREATE_ATTEMPTS: 'ten' }, 'CREATE_ATTEMPTS'],
  ];
  for (const [env, field] of cases) assert.deepEqual(fields(configError(env)), [field], JSON.stringify(env));
});

test('every bad variable is reported at once', () => {
  const err = configError({ PORT: 'abc', REDIS_URL: 'not a url', CRYPTOSTEROID_API_KEY: 'k', CRYPTOSTEROID_MERCHANT_ID: 'merchant-1' });
  assert.deepEqual(fields(err), ['CRYPTOSTEROID_MERCHANT_ID', 'PORT', 'REDIS_URL']);
});

test('valid optional values are accepted', () => {
  const config = loadConfig({
    QUEUE_PREFIX: '{iw}',
    API_TOKEN: 'a'.repeat(16),
    PUBLIC_BASE_URL: 'https://worker.example.com',
    LOG_LEVEL: 'silent',
    PORT: '0',
  });
  assert.equal(config.QUEUE_PREFIX, '{iw}');
  assert.equal(config.API_TOKEN, 'a'.repeat(16));
  assert.equal(config.PUBLIC_BASE_URL, 'https://worker.example.com');
  assert.equal(config.LOG_LEVEL, 'silent');
  assert.equal(config.PORT, 0);
});

test('a ConfigError does not echo secret values', () => {
  const token = 'S3cr3tT0k3n';
  const err = configError({ API_TOKEN: token, CRYPTOPROCESSING_API_KEY: 'cp-key-XYZ' });
  assert.ok(!err.message.includes(token));
  assert.ok(!err.message.includes('cp-key-XYZ'));
  assert.ok(!JSON.stringify(err.issues).includes(token));
  assert.ok(!JSON.stringify(err.issues).includes('cp-key-XYZ'));
});

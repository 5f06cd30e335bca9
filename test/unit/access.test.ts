/**
 * The parts of access control that need no server: the keys file and the users file (each problem
 * named), token and password checks, the payment host rule of attach, and the per-address brake's
 * window and memory bound.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { hashPassword, loadAdminUsers, verifyPassword } from '../../src/access/admin-users.ts';
import { KeyRing, loadKeysFile, sha256Hex } from '../../src/access/api-keys.ts';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { AuthFailures, requiredScope } from '../../src/http/auth.ts';
import { knownPaymentUrl } from '../../src/invoice/repair.ts';
import { loadAccountsFile } from '../../src/lanes/accounts.ts';
import { providerModules } from '../../src/providers/registry.ts';
import { createLogger } from '../../src/observability/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'access-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const fields = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => i.field);
  }
  assert.fail('no ConfigError');
};
const log = createLogger('silent');

describe('API keys file', () => {
  it('names every bad field, and refuses a duplicate id, a shared token and an unknown provider', () => {
    const path = file('bad.json', [
      { id: 'a@b.example', token_sha256: 'xyz', scopes: ['orders:delete'] },
      { id: 'ok', token_sha256: sha256Hex('t1'), scopes: [] },
    ]);
    assert.deepEqual(fields(() => loadKeysFile(path)).sort(), [
      'API_KEYS_FILE: keys[0].id',
      'API_KEYS_FILE: keys[0].scopes[0]',
      'API_KEYS_FILE: keys[0].token_sha256',
      'API_KEYS_FILE: keys[1].scopes',
    ]);
    const dup = file('dup.json', [
      { id: 'x', token_sha256: sha256Hex('t1'), scopes: ['orders:read'] },
      { id: 'x', token_sha256: sha256Hex('t1'), scopes: ['orders:read'], lanes: ['nosuch@eu'] },
    ]);
    assert.deepEqual(fields(() => loadKeysFile(dup, ['alphapo'])).sort(), ['API_KEYS_FILE: keys[1].id', 'API_KEYS_FILE: keys[1].lanes[0]', 'API_KEYS_FILE: keys[1].token_sha256']);
    assert.deepEqual(
      fields(() => loadKeysFile(file('notjson.json', '{'))),
      ['API_KEYS_FILE'],
    );
  });

  it('a bad keys file at boot is a configuration error naming the field', () => {
    const path = file('boot.json', [{ id: 'k', token_sha256: 'short', scopes: ['repairs'] }]);
    assert.deepEqual(
      fields(() => loadConfig({ API_KEYS_FILE: path, SANDBOX: 'on' })),
      ['API_KEYS_FILE: keys[0].token_sha256'],
    );
  });

  it('authenticates by the token hash; API_TOKEN is the full-access key `default`', () => {
    const path = file('good.json', [{ id: 'shop', token_sha256: sha256Hex('shop-token-123').toUpperCase(), scopes: ['orders:write'], lanes: ['alphapo'] }]);
    const ring = new KeyRing({ token: 'the-api-token-0123', file: path, log, intervalMs: 60_000 });
    try {
      const shop = ring.authenticate('shop-token-123');
      assert.equal(shop?.id, 'shop');
      assert.deepEqual([...(shop?.scopes ?? [])], ['orders:write']);
      assert.deepEqual([...(shop?.lanes ?? [])], ['alphapo']);
      const all = ring.authenticate('the-api-token-0123');
      assert.equal(all?.id, 'default');
      assert.equal(all?.lanes, null);
      assert.equal(all?.scopes.size, 4);
      assert.equal(ring.authenticate('shop-token-124'), null);
      assert.equal(ring.authenticate(''), null);
      assert.equal(ring.open, false);
    } finally {
      ring.close();
    }
    assert.equal(new KeyRing({ log }).open, true);
  });
});

describe('scopes', () => {
  it('each route has its scope; an unlisted route needs every scope', () => {
    assert.equal(requiredScope('POST', '/v1/invoices'), 'orders:write');
    assert.equal(requiredScope('POST', '/v1/invoices/batch'), 'orders:write');
    assert.equal(requiredScope('POST', '/v1/invoices/alphapo/x/cancel'), 'orders:write');
    assert.equal(requiredScope('GET', '/v1/invoices/alphapo/x'), 'orders:read');
    for (const r of ['retry', 'abandon', 'attach', 'reissue', 'accept']) assert.equal(requiredScope('POST', `/v1/invoices/alphapo/x/${r}`), 'repairs');
    assert.equal(requiredScope('POST', '/v1/invoices/retry'), 'repairs');
    assert.equal(requiredScope('DELETE', '/v1/webhook-endpoints/ep_1'), 'webhooks');
    assert.equal(requiredScope('POST', '/v1/something-new'), 'all');
  });
});

describe('Bull Board users file and passwords', () => {
  it('hashes with scrypt and verifies only the right password', async () => {
    const hash = await hashPassword('a-long-password-1');
    assert.match(hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await verifyPassword('a-long-password-1', hash), true);
    assert.equal(await verifyPassword('a-long-password-2', hash), false);
    assert.equal(await verifyPassword('a-long-password-1', 'plain'), false);
    assert.notEqual(await hashPassword('a-long-password-1'), hash, 'salted');
  });

  it('names every bad field', async () => {
    const good = await hashPassword('a-long-password-1');
    const path = file('users.json', [
      { user: 'alice', password_hash: good, role: 'operator' },
      { user: 'bob@corp.example', password_hash: 'md5$abc', role: 'admin' },
      { user: 'alice', password_hash: good, role: 'viewer' },
      { user: 'carol', password_hash: 'scrypt$3$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', role: 'viewer' },
    ]);
    assert.deepEqual(fields(() => loadAdminUsers(path)).sort(), [
      'ADMIN_USERS_FILE: users[1].password_hash',
      'ADMIN_USERS_FILE: users[1].role',
      'ADMIN_USERS_FILE: users[1].user',
      'ADMIN_USERS_FILE: users[3].password_hash',
    ]);
    const dup = file('dup-users.json', [
      { user: 'alice', password_hash: good, role: 'operator' },
      { user: 'alice', password_hash: good, role: 'viewer' },
    ]);
    assert.deepEqual(
      fields(() => loadAdminUsers(dup)),
      ['ADMIN_USERS_FILE: users[1].user'],
    );
  });
});

describe('attach: payment hosts', () => {
  const hosts = ['pay.cryptoprocessing.com', 'http://127.0.0.1:3100'];
  it('https on a listed host, or an exact listed origin; nothing else', () => {
    assert.equal(knownPaymentUrl('https://pay.cryptoprocessing.com/invoice/1', hosts), true);
    assert.equal(knownPaymentUrl('https://PAY.cryptoprocessing.com:443/x', hosts), true);
    assert.equal(knownPaymentUrl('http://127.0.0.1:3100/pay/x', hosts), true);
    for (const url of [
      'http://pay.cryptoprocessing.com/x',
      'https://pay.cryptoprocessing.com:8443/x',
      'https://pay.cryptoprocessing.com.evil.example/x',
      'https://evil.example/pay.cryptoprocessing.com',
      'https://user:pw@pay.cryptoprocessing.com/x',
      'http://127.0.0.1:3101/pay/x',
      'https://127.0.0.1:3100/x',
      'not a url',
    ]) {
      assert.equal(knownPaymentUrl(url, hosts), false, url);
    }
    assert.equal(knownPaymentUrl('https://pay.cryptoprocessing.com/x', []), false);
  });
});

describe('failed authentication brake', () => {
  const req = (ip: string): Request => ({ ip, originalUrl: '/v1/x?token=abc', method: 'GET', socket: {} }) as unknown as Request;

  it('refuses an address after the limit until its minute is over; other addresses are not affected', () => {
    let now = 1_000_000;
    const f = new AuthFailures({ log, limit: 3, now: () => now });
    for (let i = 0; i < 2; i++) f.failed('api', req('10.0.0.1'));
    assert.equal(f.retryAfter('10.0.0.1'), 0);
    f.failed('api', req('10.0.0.1'));
    assert.equal(f.retryAfter('10.0.0.1'), 60);
    assert.equal(f.retryAfter('10.0.0.2'), 0);
    now += 59_500;
    assert.equal(f.retryAfter('10.0.0.1'), 1);
    now += 500;
    assert.equal(f.retryAfter('10.0.0.1'), 0, 'the window passed');
    f.failed('api', req('10.0.0.1'));
    assert.equal(f.retryAfter('10.0.0.1'), 0, 'a new window starts from one');
  });

  it('remembers a bounded number of addresses, forgetting the least recently failing first', () => {
    const f = new AuthFailures({ log, limit: 1 });
    for (let i = 0; i < 10_050; i++) f.failed('api', req(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
    const windows = (f as unknown as { windows: Map<string, unknown> }).windows;
    assert.equal(windows.size, 10_000);
    assert.equal(f.retryAfter('10.0.0.0'), 0, 'the oldest was forgotten');
    assert.ok(f.retryAfter(`10.0.39.65`) > 0, 'the newest is remembered');
  });

  it('a limit of 0 never brakes', () => {
    const f = new AuthFailures({ log, limit: 0 });
    for (let i = 0; i < 100; i++) f.failed('admin', req('10.0.0.1'));
    assert.equal(f.retryAfter('10.0.0.1'), 0);
  });
});

describe('accounts file: payment_hosts', () => {
  it("extends an account's payment hosts; a bad host is named", () => {
    const good = file('accounts.json', {
      accounts: [{ provider: 'alphapo', account: 'eu', api_key: 'k', api_secret: 's', payment_hosts: ['pay.brand-b.example'] }],
    });
    const [eu] = loadAccountsFile(good, providerModules(), {});
    assert.deepEqual(eu?.paymentHosts, ['pay.brand-b.example']);
    const bad = file('accounts-bad.json', {
      accounts: [{ provider: 'alphapo', account: 'eu', api_key: 'k', api_secret: 's', payment_hosts: ['https://pay.example/x', 'ok.example'] }],
    });
    assert.deepEqual(
      fields(() => loadAccountsFile(bad, providerModules(), {})),
      [`${bad}: accounts[0] (alphapo/eu).payment_hosts[0]`],
    );
  });
});

/**
 * The webhook target policy on its own: every internal address, in every spelling a URL may carry
 * it, is refused; public addresses pass; the development switch lets internal ones (and http:// to
 * this machine) through. The connect-time lookup refuses a name that resolves inside, and weak
 * secrets are refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkedLookup, internalRange, targetIssue, targetUrlIssue, type Resolve } from '../../src/results/target.ts';
import { newEndpointSecret, secretIssue } from '../../src/results/signing.ts';
import { INTERNAL_HOSTS } from '../helpers/internal-hosts.ts';

describe('webhook target policy', () => {
  it('refuses every internal address in every spelling, at registration, with the development switch off', async () => {
    for (const host of INTERNAL_HOSTS) {
      const url = `https://${host}/hooks`;
      assert.ok(targetUrlIssue(url, false), `${url} refused on its face`);
      assert.ok(await targetIssue(url, false), `${url} refused at registration`);
    }
  });

  it('lets public addresses through, and internal ones only with the development switch', async () => {
    for (const url of ['https://8.8.8.8/hooks', 'https://[2606:4700:4700::1111]/hooks', 'https://1.1.1.1:8443/x', 'https://100.128.0.1/']) {
      assert.equal(targetUrlIssue(url, false), undefined, url);
    }
    for (const host of INTERNAL_HOSTS) assert.equal(targetUrlIssue(`https://${host}/hooks`, true), undefined, `${host} allowed for development`);
  });

  it('https only; http:// only to this machine and only for development; never credentials in the URL', () => {
    assert.match(targetUrlIssue('http://8.8.8.8/hooks', false) ?? '', /https/);
    assert.match(targetUrlIssue('http://example.com/hooks', true) ?? '', /https/);
    assert.match(targetUrlIssue('http://127.0.0.1:9/hooks', false) ?? '', /https/);
    assert.equal(targetUrlIssue('http://127.0.0.1:9/hooks', true), undefined);
    assert.equal(targetUrlIssue('http://localhost:9/hooks', true), undefined);
    assert.equal(targetUrlIssue('http://[::1]:9/hooks', true), undefined);
    assert.match(targetUrlIssue('ftp://example.com/x', true) ?? '', /https/);
    assert.match(targetUrlIssue('https://user:pw@example.com/x', false) ?? '', /credentials/);
    assert.match(targetUrlIssue('https://user@example.com/x', true) ?? '', /credentials/);
    assert.match(targetUrlIssue('not a url', false) ?? '', /URL/);
  });

  it('a name is resolved: one internal address among its answers is enough to refuse it; no answer is refused too', async () => {
    const dns: Record<string, string[]> = { 'public.test': ['93.184.215.14'], 'mixed.test': ['93.184.215.14', '10.1.2.3'], 'inside.test': ['::ffff:169.254.169.254'] };
    const resolve: Resolve = async (host) => {
      const found = dns[host];
      if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    assert.equal(await targetIssue('https://public.test/x', false, resolve), undefined);
    assert.match((await targetIssue('https://mixed.test/x', false, resolve)) ?? '', /internal address \(private\)/);
    assert.match((await targetIssue('https://inside.test/x', false, resolve)) ?? '', /internal address \(ipv4Mapped\)/);
    assert.match((await targetIssue('https://nowhere.test/x', false, resolve)) ?? '', /does not resolve/);
    // The real resolver: localhost is this machine.
    assert.match((await targetIssue('https://localhost/x', false)) ?? '', /internal address/);
  });

  it('the connect-time lookup hands the socket only checked addresses, and refuses a name that now resolves inside', async () => {
    let answer = ['93.184.215.14'];
    const resolve: Resolve = async () => answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const lookup = checkedLookup(false, resolve);
    const call = (all: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((done) => lookup('rebind.test', { all }, (err, address) => done({ err, address })));
    assert.deepEqual(await call(false), { err: null, address: '93.184.215.14' });
    assert.deepEqual((await call(true)).address, [{ address: '93.184.215.14', family: 4 }]);
    answer = ['127.0.0.1'];
    const refused = await call(false);
    assert.equal((refused.err as { code?: string } | null)?.code, 'TARGET_REFUSED');
    assert.equal((await call(true)).err?.name, 'TargetRefused');
  });

  it('ranges are named after what they are', () => {
    assert.equal(internalRange('169.254.169.254'), 'linkLocal');
    assert.equal(internalRange('100.64.0.1'), 'carrierGradeNat');
    assert.equal(internalRange('::ffff:127.0.0.1'), 'ipv4Mapped');
    assert.equal(internalRange('8.8.8.8'), undefined);
  });

  it('weak secrets are refused: all zero, one repeated byte, too short, the published example; a generated one is fine', () => {
    const b64 = (bytes: Buffer) => `whsec_${bytes.toString('base64')}`;
    assert.match(secretIssue(b64(Buffer.alloc(32))) ?? '', /repeated byte/);
    assert.match(secretIssue(b64(Buffer.alloc(32, 0x41))) ?? '', /repeated byte/);
    assert.match(secretIssue(b64(Buffer.from('0123456789abcdef0123'))) ?? '', /24 bytes/);
    assert.match(secretIssue('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') ?? '', /example/);
    assert.match(secretIssue('plain') ?? '', /whsec_/);
    assert.equal(secretIssue(newEndpointSecret()), undefined);
  });
});

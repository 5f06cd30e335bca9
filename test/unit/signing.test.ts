import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newOrderSecret, safeEqual, signBody, verifyBody } from '../../src/signing.ts';

// The provider's published test vector (docs/providers.md 1.1).
const SECRET = 'AbCdEfG123456';
const BODY = '{"currency":"BTC","foreign_id":"123456"}';
const SPACED_BODY = '{"currency": "BTC", "foreign_id": "123456"}';

test('signBody matches the documented test vector', () => {
  const sig = signBody(BODY, SECRET);
  assert.match(sig, /^[0-9a-f]{128}$/);
  assert.ok(sig.startsWith('03c25fcf7cd35e7d'), sig);
  assert.ok(sig.endsWith('29195fa1ec'), sig);
});

test('signBody gives the same digest for the string and its UTF-8 bytes', () => {
  assert.equal(signBody(Buffer.from(BODY, 'utf8'), SECRET), signBody(BODY, SECRET));
  const nonAscii = '{"last_name":"Müller"}';
  assert.equal(signBody(Buffer.from(nonAscii, 'utf8'), SECRET), signBody(nonAscii, SECRET));
  assert.notEqual(signBody(Buffer.from(nonAscii, 'latin1'), SECRET), signBody(nonAscii, SECRET));
});

test('the same body with spaces after ":" and "," gives a different digest', () => {
  const spaced = signBody(SPACED_BODY, SECRET);
  assert.match(spaced, /^[0-9a-f]{128}$/);
  assert.notEqual(spaced, signBody(BODY, SECRET));
  assert.ok(!spaced.startsWith('03c25fcf7cd35e7d'));
});

test('reordered keys give a different digest', () => {
  assert.notEqual(signBody('{"foreign_id":"123456","currency":"BTC"}', SECRET), signBody(BODY, SECRET));
});

test('signBody depends on the secret', () => {
  assert.notEqual(signBody(BODY, 'AbCdEfG123457'), signBody(BODY, SECRET));
});

test('verifyBody accepts the exact raw bytes with the right signature', () => {
  const sig = signBody(BODY, SECRET);
  assert.equal(verifyBody(Buffer.from(BODY, 'utf8'), sig, SECRET), true);
});

test('verifyBody accepts an upper-case hex signature', () => {
  const sig = signBody(BODY, SECRET).toUpperCase();
  assert.equal(verifyBody(Buffer.from(BODY, 'utf8'), sig, SECRET), true);
});

test('verifyBody refuses a tampered body', () => {
  const sig = signBody(BODY, SECRET);
  const tampered = [
    '{"currency":"BTC","foreign_id":"123457"}',
    '{"currency":"ETH","foreign_id":"123456"}',
    SPACED_BODY,
    `${BODY}\n`,
    ` ${BODY}`,
    '{"foreign_id":"123456","currency":"BTC"}',
    BODY.slice(0, -1),
    '',
  ];
  for (const body of tampered) {
    assert.equal(verifyBody(Buffer.from(body, 'utf8'), sig, SECRET), false, JSON.stringify(body));
  }
});

test('verifyBody refuses a body with a single flipped bit', () => {
  const sig = signBody(BODY, SECRET);
  const raw = Buffer.from(BODY, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const flipped = Buffer.from(raw);
    flipped[i] = flipped[i]! ^ 0x01;
    assert.equal(verifyBody(flipped, sig, SECRET), false, `byte ${i}`);
  }
});

test('verifyBody refuses a wrong, missing, truncated or padded signature', () => {
  const raw = Buffer.from(BODY, 'utf8');
  const sig = signBody(BODY, SECRET);
  assert.equal(verifyBody(raw, signBody(BODY, 'wrong-secret'), SECRET), false);
  assert.equal(verifyBody(raw, undefined, SECRET), false);
  assert.equal(verifyBody(raw, '', SECRET), false);
  assert.equal(verifyBody(raw, sig.slice(0, 127), SECRET), false);
  assert.equal(verifyBody(raw, sig.slice(0, 64), SECRET), false);
  assert.equal(verifyBody(raw, `${sig} `, SECRET), false);
  assert.equal(verifyBody(raw, `${sig}00`, SECRET), false);
  assert.equal(verifyBody(raw, Buffer.from(sig, 'hex').toString('base64'), SECRET), false);
  const lastFlipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
  assert.equal(verifyBody(raw, lastFlipped, SECRET), false);
});

test('safeEqual is true only for identical strings', () => {
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('', ''), true);
  assert.equal(safeEqual('Müller', 'Müller'), true);
  assert.equal(safeEqual('abc', 'abd'), false);
  assert.equal(safeEqual('abc', 'ABC'), false);
});

test('safeEqual returns false (without throwing) on different lengths', () => {
  assert.equal(safeEqual('abc', 'abcd'), false);
  assert.equal(safeEqual('abcd', 'abc'), false);
  assert.equal(safeEqual('', 'a'), false);
  assert.equal(safeEqual('a', ''), false);
  const sig = signBody(BODY, SECRET);
  assert.equal(safeEqual(sig, sig.slice(0, 64)), false);
  // Same UTF-16 length, different UTF-8 byte length.
  assert.equal('é'.length, 'a'.length);
  assert.equal(safeEqual('é', 'a'), false);
  assert.equal(safeEqual('a', 'é'), false);
});

test('newOrderSecret returns distinct url-safe secrets of 24 random bytes', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const secret = newOrderSecret();
    assert.match(secret, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(Buffer.from(secret, 'base64url').length, 24);
    seen.add(secret);
  }
  assert.equal(seen.size, 100);
});

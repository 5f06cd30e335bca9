import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reissuedForeignId } from '../../src/invoice/repair.ts';

describe('reissuedForeignId', () => {
  it('appends ~r<n> to the order foreign_id', () => {
    assert.equal(reissuedForeignId('order-1', 1), 'order-1~r1');
    assert.equal(reissuedForeignId('order-1', 12), 'order-1~r12');
  });

  it('cuts a long foreign_id to fit 255 characters, by code points, never splitting a character', () => {
    const long = 'x'.repeat(255);
    const id = reissuedForeignId(long, 3);
    assert.equal(id.length, 255);
    assert.ok(id.endsWith('~r3'));
    // Characters of two UTF-16 units each: cut by characters, so the result stays well-formed.
    const wide = '😀'.repeat(254);
    const cut = reissuedForeignId(wide, 1);
    assert.ok(cut.isWellFormed());
    assert.equal(Array.from(cut).length, 255);
    assert.ok(cut.endsWith('~r1'));
  });

  it('differs from the order id and between reissues', () => {
    const ids = new Set([1, 2, 3].map((n) => reissuedForeignId('a', n)));
    assert.equal(ids.size, 3);
    assert.ok(!ids.has('a'));
  });
});

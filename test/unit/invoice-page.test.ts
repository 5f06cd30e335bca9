/**
 * Which repairs the invoice page offers for a record's state (src/http/admin-invoices.ts): the
 * implementation decides again under its compare-and-set, but a form that can only be refused is
 * not shown.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applicableRepairs } from '../../src/http/admin-invoices.ts';
import type { InvoiceRecord } from '../../src/invoice/record.ts';

const record = (status: InvoiceRecord['status'], reconcile: string | null = null): InvoiceRecord => ({ status, reconcile }) as InvoiceRecord;

describe('repairs offered on the invoice page', () => {
  it('a queued order: abandon, attach, retry, and reissue only where the provider refuses a repeated foreign_id', () => {
    assert.deepEqual(applicableRepairs(record('queued'), false), ['abandon', 'attach', 'retry']);
    assert.deepEqual(applicableRepairs(record('queued', 'outcome_unknown: lost answer'), true), ['abandon', 'attach', 'reissue', 'retry']);
  });

  it('accept only for a payment parked as underpaid or unverifiable', () => {
    assert.deepEqual(applicableRepairs(record('processing', 'underpaid: 0.01 of 0.02 BTC'), false), ['abandon', 'accept']);
    assert.deepEqual(applicableRepairs(record('pending', 'unverifiable_amount: no figures'), false), ['abandon', 'accept']);
    assert.deepEqual(applicableRepairs(record('pending', 'stuck: no answer'), false), ['abandon']);
    assert.deepEqual(applicableRepairs(record('created'), false), ['abandon']);
  });

  it('nothing once finished', () => {
    for (const status of ['paid', 'expired', 'cancelled', 'failed'] as const) assert.deepEqual(applicableRepairs(record(status, 'underpaid: x'), true), [], status);
  });
});

/**
 * `POST /v1/invoices/{provider}/{foreign_id}/payment-method` `{payment_method}`: chooses how the
 * payer pays an invoice already created, where the connector supports it (CryptoSteroid while the
 * invoice is NEW), so a merchant can run its own payment page: the answer is the invoice with its
 * `pay_to` (address and amount), stored by a fields-only change (created -> pending when the
 * provider now waits for the transfer). Elsewhere a 409 says why.
 */
import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ProviderError, ProviderRejected, zodIssues } from '../errors.ts';
import { toView } from '../invoice/intake.ts';
import type { InvoiceStore } from '../invoice/store.ts';
import type { Lanes } from '../lanes/lane.ts';
import { params } from './invoices.ts';

export const PaymentMethodBody = z.strictObject({
  payment_method: z
    .string()
    .min(1)
    .max(40)
    .regex(/^[A-Za-z0-9_]+$/, 'must be a payment method code, e.g. BTC or USDT_TRC20')
    .describe("the provider's payment method code, e.g. `BTC` or `USDT_TRC20` (CryptoSteroid)"),
});

export function paymentMethodRoutes(deps: { store: InvoiceStore; lanes: Lanes; log: Logger }): Router {
  const r = Router();
  r.post('/v1/invoices/:provider/:foreign_id/payment-method', async (req, res) => {
    const p = params(req, res, deps.lanes);
    if (!p) return;
    const body = PaymentMethodBody.safeParse(req.body ?? {});
    if (!body.success) {
      res.status(400).json({ error: 'invalid_body', issues: zodIssues(body.error.issues) });
      return;
    }
    const adapter = deps.lanes.get(p.lane)?.adapter;
    const method = body.data.payment_method.toUpperCase();
    if (adapter?.paymentMethods && !adapter.paymentMethods.includes(method)) {
      res.status(400).json({ error: 'invalid_body', issues: [{ field: 'payment_method', message: `must be one of ${adapter.paymentMethods.join(', ')}` }] });
      return;
    }
    const record = await deps.store.get(p.lane, p.foreignId);
    if (!record) {
      res.status(404).json({ error: 'not_found', message: 'no invoice for this provider and foreign_id' });
      return;
    }
    const refuse = (message: string): void => void res.status(409).json({ error: 'not_possible', message, status: record.status });
    if (!adapter?.choosePaymentMethod) return refuse(`${record.provider} offers no way to choose the payment method after creation; give payment_currency with the order`);
    if (record.status !== 'created' && record.status !== 'pending')
      return refuse(`the invoice is ${record.status}; a payment method can be chosen only while it waits for payment`);
    if (!record.provider_invoice_id) return refuse('the provider has not named this invoice yet');
    let update;
    try {
      update = await adapter.choosePaymentMethod({ kind: record.kind, foreignId: record.foreign_id, providerInvoiceId: record.provider_invoice_id }, method);
    } catch (err) {
      if (err instanceof ProviderRejected) return refuse(`the provider refused: ${(err.fields.message ?? err.message).slice(0, 200)}`);
      if (err instanceof ProviderError) {
        deps.log.warn({ err, lane: p.lane }, 'choosing a payment method failed at the provider');
        res.status(503).set('Retry-After', '5').json({ error: 'provider_unavailable', message: 'the provider did not answer; nothing is known to have changed, try again' });
        return;
      }
      throw err;
    }
    // The provider's answer: its pay-to details, and NEW-with-a-method means waiting for the payer.
    const fields = { pay_to: update.payTo ? JSON.stringify(update.payTo) : null, provider_status: update.providerStatus ?? record.provider_status };
    const out = await deps.store.apply(p.lane, p.foreignId, {
      ...(record.status === 'created' && update.status === 'pending' ? { status: 'pending' as const } : {}),
      fields,
      source: 'api',
      reason: `payment method ${method} chosen`,
      whileIn: ['created', 'pending'],
      recorded: true,
    });
    if (out.kind === 'missing') {
      res.status(404).json({ error: 'not_found', message: 'no invoice for this provider and foreign_id' });
      return;
    }
    if (out.kind === 'ignored') return refuse(`the invoice moved on to ${out.record.status} meanwhile`);
    res.status(200).json({ outcome: 'done', invoice: toView(out.record) });
  });
  return r;
}

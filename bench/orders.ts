/**
 * The benchmark's order set: the four connectors in turn (CryptoProcessing invoice and payment
 * request, AlphaPo invoice, CryptoSteroid invoice), realistic sizes, amounts that vary. Also the
 * provider request each order becomes, for the reference pipeline (the same bodies our adapters
 * send, so both pipelines ask the sandbox for the same work).
 */
import { randomBytes } from 'node:crypto';

export type Connector = 'cryptoprocessing/invoice' | 'cryptoprocessing/payment_request' | 'alphapo/invoice' | 'cryptosteroid/invoice';
export const CONNECTORS: readonly Connector[] = ['cryptoprocessing/invoice', 'cryptoprocessing/payment_request', 'alphapo/invoice', 'cryptosteroid/invoice'];

export type BenchOrder = Record<string, unknown> & { provider: string; foreign_id: string };

function amount(i: number): string {
  // 10.00 .. 509.99: above every sandbox minimum, two decimals, never a float in transit.
  return `${10 + (i % 500)}.${String((i * 37) % 100).padStart(2, '0')}`;
}

export function order(connector: Connector, foreignId: string, i: number): BenchOrder {
  const urls = { success: 'https://shop.example/ok', failure: 'https://shop.example/fail', store: 'https://shop.example' };
  const customer = { reference: `cust-${i % 9973}`, email: `payer${i % 9973}@example.com` };
  switch (connector) {
    case 'cryptoprocessing/invoice':
    case 'alphapo/invoice':
      return {
        provider: connector.split('/')[0] as string,
        kind: 'invoice',
        foreign_id: foreignId,
        amount: amount(i),
        currency: 'EUR',
        title: `Order ${foreignId}`.slice(0, 50),
        description: 'Two mugs and a teapot',
        customer,
        urls: { success: urls.success, failure: urls.failure },
        timer: false,
      };
    case 'cryptoprocessing/payment_request':
      return {
        provider: 'cryptoprocessing',
        kind: 'payment_request',
        foreign_id: foreignId,
        amount: amount(i),
        currency: 'EUR',
        description: 'Subscription, one month',
        expires_in_seconds: 3600,
        customer,
        urls,
      };
    case 'cryptosteroid/invoice':
      return {
        provider: 'cryptosteroid',
        foreign_id: foreignId,
        amount: amount(i),
        currency: 'EUR',
        description: `Order ${foreignId}`,
        payment_currency: 'USDT_TRC20',
        urls: { success: urls.success, failure: urls.failure },
      };
  }
}

/** `count` orders across the four connectors, with foreign ids unique to `tag`. */
export function orders(tag: string, count: number, offset = 0): BenchOrder[] {
  const out: BenchOrder[] = [];
  for (let n = 0; n < count; n++) {
    const i = offset + n;
    const connector = CONNECTORS[i % CONNECTORS.length] as Connector;
    out.push(order(connector, `${tag}-${i}`, i));
  }
  return out;
}

export function runTag(): string {
  return randomBytes(4).toString('hex');
}

/** What the reference pipeline sends for one order: path, auth style and the JSON payload. */
export interface ProviderRequest {
  provider: 'cryptoprocessing' | 'alphapo' | 'cryptosteroid';
  path: string;
  signed: boolean;
  payload: Record<string, unknown>;
}

export function providerRequest(o: BenchOrder, cryptosteroidMerchant: string, callbackBase: string): ProviderRequest {
  const customer = o.customer as { reference: string; email: string } | undefined;
  const urls = o.urls as { success: string; failure: string; store?: string };
  if (o.provider === 'cryptosteroid') {
    return {
      provider: 'cryptosteroid',
      path: `/merchants/${cryptosteroidMerchant}/invoices`,
      signed: false,
      payload: {
        fiatCurrency: o.currency,
        fiatAmount: o.amount,
        description: o.description,
        externalId: o.foreign_id,
        paymentMethod: o.payment_currency,
        secret: randomBytes(24).toString('base64url'),
        processingUrl: `${callbackBase}/webhooks/cryptosteroid/${encodeURIComponent(o.foreign_id)}`,
        returnUrl: urls.success,
        failReturnUrl: urls.failure,
      },
    };
  }
  const provider = o.provider as 'cryptoprocessing' | 'alphapo';
  if (o.kind === 'payment_request') {
    return {
      provider,
      path: '/api/payments/v1/requests',
      signed: true,
      payload: {
        amount: o.amount,
        currency: { iso: o.currency },
        life_time_duration: o.expires_in_seconds,
        end_user_email: customer?.email,
        end_user_reference: customer?.reference,
        description: o.description,
        foreign_id: o.foreign_id,
        url_store: urls.store,
        url_success: urls.success,
        url_failed: urls.failure,
      },
    };
  }
  return {
    provider,
    path: '/api/v2/invoices/create',
    signed: true,
    payload: {
      timer: false,
      title: o.title,
      description: o.description,
      foreign_id: o.foreign_id,
      currency: o.currency,
      // The platform takes a JSON number here; these amounts have two decimals, exact in a double.
      amount: Number(o.amount),
      url_success: urls.success,
      url_failed: urls.failure,
      email_user: customer?.email,
      end_user_reference: customer?.reference,
    },
  };
}

/** The reference pipeline's queues and job (see reference-worker.ts). */
export const REF_QUEUE = 'ref-create';
export const REF_RESULTS = 'ref-results';
export interface RefJob extends ProviderRequest {
  id: string;
}

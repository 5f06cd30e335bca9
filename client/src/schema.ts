/**
 * Generated from the producer API's OpenAPI document by client/scripts/generate.ts
 * (openapi-typescript). Do not edit: run `node --import tsx client/scripts/generate.ts`.
 */

export interface paths {
    "/v1/invoices": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List invoices, a page at a time
         * @description Invoices of the lanes the API key may use, filtered, in the order of their last change (with `status`: of the time they entered it), oldest first, then by id. Follow `next_cursor` until it is null. With `status`, every invoice that is in that status from the first page to the last is met exactly once, also while others enter it (they come later) or are changed; without `status`, an invoice changed while the pages are read appears again later, as it is then (keep the last copy per provider, account and foreign_id). docs/api.md. Needs the scope `orders:read`.
         */
        get: operations["listInvoices"];
        put?: never;
        /**
         * Submit one order
         * @description Validates the order (every bad field is listed), records it and queues its create request. The same order again is `existing` (no new job); another payload under the same foreign_id is a 409.
         *
         *     **Wait for the payment URL**: with `?wait=N` or `Prefer: wait=N` (RFC 7240) the answer waits up to N seconds (at most 30; more is capped) for the provider: once the record is past `queued` (created, pending, or rejected...) it answers 201 (this call accepted the order) or 200 (existing) with the record; when the time runs out, 202 (or 200) as without a wait. `Preference-Applied` says the wait was honoured (not when 1000 requests already wait in this process). Needs the scope `orders:write`.
         */
        post: operations["createInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Export invoices as CSV or NDJSON
         * @description Every invoice matching the filters (as `GET /v1/invoices`, in the same order), streamed: CSV with a header row (`provider`, `account`, `lane`, `foreign_id`, `kind`, `status`, `amount`, `currency`, `received_amount`, `received_currency`, `settled_amount`, `settled_currency`, `txids`, `fees`, `payment_url`, `pay_to_address`, `pay_to_amount`, `pay_to_currency`, `provider_invoice_id`, `accepted_at`, `updated_at`; txids joined by spaces, fees as `type amount currency` joined by `; `) or NDJSON (one invoice view per line). Money is the decimal strings the records hold. Needs the scope `orders:read`.
         */
        get: operations["exportInvoices"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Submit 1 to 1000 orders
         * @description Each order is handled as by POST /v1/invoices (no wait); each outcome comes back in input order. Needs the scope `orders:write`.
         */
        post: operations["createInvoices"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{provider}/{foreign_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read an invoice
         * @description The record of the provider default account, or of `account`: status, provider ids, payment URL, amounts, reason, last error, reconciliation note and history. Needs the scope `orders:read`.
         */
        get: operations["getInvoice"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{provider}/{foreign_id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry a submission that has not reached the provider
         * @description A parked submission (the provider may already hold it) needs `{"confirm_not_created": true}`, after checking at the provider. Needs the scope `repairs`.
         */
        post: operations["retryInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{provider}/{foreign_id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Withdraw an order
         * @description Not yet sent: ends `cancelled` and is never sent. Once the invoice exists, it is cancelled at the provider first (platform invoices, CryptoSteroid) and ends `cancelled` only when the provider confirmed; refused (409, with the provider words) when the provider refuses (already paid) or documents no cancel (payment requests), and while a request for it may be in flight. docs/exceptions.md. Needs the scope `orders:write`.
         */
        post: operations["cancelInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{provider}/{foreign_id}/payment-method": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Choose how the payer pays (for your own payment page)
         * @description Where the connector supports choosing the method after creation (CryptoSteroid, while the invoice waits for payment): the provider answers the address and amount to pay, returned as the invoice's `pay_to` (and in later results). A connector without it answers 409 saying why; `payment_currency` on the order preselects at creation everywhere. Needs the scope `orders:write`.
         */
        post: operations["choosePaymentMethod"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{provider}/{foreign_id}/abandon": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * End an open order for good (an operator)
         * @description Ends `cancelled` (default) or `failed` with the reason, whoever asked; an invoice at the provider is cancelled there first where the provider can cancel; a payment on it later is published as an exception. Needs the scope `repairs`.
         */
        post: operations["abandonInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{provider}/{foreign_id}/attach": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Attach the invoice an operator found at the provider
         * @description For a parked order, or one whose submission failed for good: becomes `created` with this provider invoice id and payment URL, and is followed from there. Needs the scope `repairs`.
         */
        post: operations["attachInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{provider}/{foreign_id}/reissue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a parked order again as a new invoice (an operator)
         * @description For providers that refuse a repeated foreign_id (the platform), when the invoice of a parked order cannot be found: a new invoice is created under a provider-side foreign_id derived from the order's (`<foreign_id>~r<n>`, shown as `provider_foreign_id`), and the replaced one is cancelled at the provider where it can be (best effort). Callbacks for either id land on the order; a payment on the replaced invoice is published as a `payment_on_replaced_invoice` exception. Needs the scope `repairs`.
         */
        post: operations["reissueInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{provider}/{foreign_id}/accept": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Take a payment parked as underpaid or unverifiable as paid (an operator)
         * @description For an order parked with an `underpaid` or `unverifiable_amount` exception: the provider called the payment complete but its figures did not cover the order, or could not be compared. Ends `paid`; who and why are in the history. docs/money.md. Needs the scope `repairs`.
         */
        post: operations["acceptPayment"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry failed submissions in bulk
         * @description Failed submissions filtered by provider, account and reason (case-insensitive substring), up to `limit`; `dry_run` only says what it would retry. Needs the scope `repairs`.
         */
        post: operations["retryFailedInvoices"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The endpoints (without secrets)
         * @description Needs the scope `webhooks`.
         */
        get: operations["listWebhookEndpoints"];
        put?: never;
        /**
         * Register a result webhook endpoint
         * @description Every result (of the lanes of a lane-limited key) is then delivered to it, signed (Standard Webhooks). The secret is shown in this answer only. docs/webhooks.md. Needs the scope `webhooks`.
         */
        post: operations["createWebhookEndpoint"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One endpoint: its status, and why and when it was disabled
         * @description Needs the scope `webhooks`.
         */
        get: operations["getWebhookEndpoint"];
        put?: never;
        post?: never;
        /**
         * Remove an endpoint; its queued deliveries are dropped
         * @description Needs the scope `webhooks`.
         */
        delete: operations["deleteWebhookEndpoint"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A new secret (shown once); the old one is still signed with for a day
         * @description Needs the scope `webhooks`.
         */
        post: operations["rotateWebhookEndpointSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}/enable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Enable an endpoint: its held deliveries go at once
         * @description Needs the scope `webhooks`.
         */
        post: operations["enableWebhookEndpoint"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}/disable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Disable an endpoint: its deliveries are held
         * @description Needs the scope `webhooks`.
         */
        post: operations["disableWebhookEndpoint"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The endpoint's deliveries, or every attempt of one result
         * @description Without `event_id`: a page of the deliveries, newest attempt first, each with its latest attempt (`status` filters on it); follow `next_cursor`. With `event_id`: every attempt of that result. Kept 8 days. Needs the scope `webhooks`.
         */
        get: operations["listWebhookDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}/redeliver": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Deliver results again: one (`event_id`) or those of a time range (`from`, `to`)
         * @description Needs the scope `webhooks`.
         */
        post: operations["redeliverWebhooks"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface webhooks {
    transition: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Result: transition
         * @description the status moved from `previous_status` to `status`. Sent to each registered webhook endpoint (Standard Webhooks: `webhook-id` is the result's `event_id`, signed with the endpoint's secret), and published on the results queue. docs/webhooks.md.
         */
        post: operations["resultTransition"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    exception: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Result: exception
         * @description provider news about money or status for an invoice already finished (`exception` says what); the status does not move. Sent to each registered webhook endpoint (Standard Webhooks: `webhook-id` is the result's `event_id`, signed with the endpoint's secret), and published on the results queue. docs/webhooks.md.
         */
        post: operations["resultException"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    parked: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Result: parked
         * @description the order waits for an operator (`parked` says why and what happens next). Sent to each registered webhook endpoint (Standard Webhooks: `webhook-id` is the result's `event_id`, signed with the endpoint's secret), and published on the results queue. docs/webhooks.md.
         */
        post: operations["resultParked"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    payment: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Result: payment
         * @description more money arrived while the status stays (`payment` has the amount; `received_amount` the total). Sent to each registered webhook endpoint (Standard Webhooks: `webhook-id` is the result's `event_id`, signed with the endpoint's secret), and published on the results queue. docs/webhooks.md.
         */
        post: operations["resultPayment"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface components {
    schemas: {
        Order: {
            /**
             * @description the connector: `cryptoprocessing`, `alphapo` or `cryptosteroid` (those configured here)
             * @enum {string}
             */
            provider: "cryptoprocessing" | "alphapo" | "cryptosteroid";
            /** @description the provider account (lane); absent or `default` for the default one */
            account?: string;
            /**
             * @description `invoice` (default) or `payment_request` (platform providers)
             * @default invoice
             * @enum {string}
             */
            kind: "invoice" | "payment_request";
            /** @description the order's id in your system (any unicode), unique per (provider, account) */
            foreign_id: string;
            /** @description decimal string > 0, e.g. "100.50" */
            amount: string;
            /** @description e.g. "EUR" (upper-cased) */
            currency: string;
            /** @description platform invoices: required */
            title?: string;
            /** @description CryptoSteroid: required */
            description?: string;
            /** @description reference, email and the sender (natural or legal person) */
            customer?: {
                reference?: string;
                /** Format: email */
                email?: string;
                sender?: {
                    /** @constant */
                    type: "natural";
                    first_name: string;
                    last_name: string;
                    /** Format: date */
                    date_of_birth?: string;
                    /** Format: email */
                    email?: string;
                } | {
                    /** @constant */
                    type: "legal";
                    legal_name: string;
                    country_of_registration: string;
                    /** Format: email */
                    email?: string;
                };
            };
            /** @description where the payer is sent: success, failure, store */
            urls?: {
                /** Format: uri */
                success?: string;
                /** Format: uri */
                failure?: string;
                /** Format: uri */
                store?: string;
            };
            /** @description platform invoice that expires 15 minutes after creation */
            timer?: boolean;
            /** @description payment requests: exactly one of expires_in_seconds and expires_at */
            expires_in_seconds?: number;
            /**
             * Format: date-time
             * @description payment requests: absolute end of the lifetime (ISO-8601 with offset)
             */
            expires_at?: string;
            /** @description crypto the payer must use (platform sender_currency / payment_currency, CryptoSteroid paymentMethod) */
            payment_currency?: string;
            /** @description platform: type, payment_currency_network; CryptoSteroid: whoPayCommission */
            provider_options?: {
                [key: string]: string | number | boolean;
            };
        } & ({
            /** @constant */
            provider: "cryptoprocessing";
            /** @constant */
            kind?: "invoice";
            urls: {
                success: string;
                failure: string;
            };
            customer: {
                email: string;
            };
        } | ({
            /** @constant */
            provider: "cryptoprocessing";
            /** @constant */
            kind: "payment_request";
        } & (unknown | unknown)) | {
            /** @constant */
            provider: "alphapo";
            /** @constant */
            kind?: "invoice";
            urls: {
                success: string;
                failure: string;
            };
            customer: {
                email: string;
                reference: string;
            };
        } | ({
            /** @constant */
            provider: "alphapo";
            /** @constant */
            kind: "payment_request";
        } & (unknown | unknown)) | {
            /** @constant */
            provider: "cryptosteroid";
            /** @constant */
            kind?: "invoice";
        });
        BatchRequest: {
            /** @description 1 to 1000 orders; each is validated on its own: an invalid one is answered `invalid` in its result, the others go ahead */
            orders: components["schemas"]["Order"][];
        };
        RetryRequest: {
            confirm_not_created?: boolean;
            /** @description a note of who asked, kept beside the actor (the API key id); never the actor itself */
            by?: string;
        };
        BulkRetryRequest: {
            provider?: string;
            account?: string;
            reason?: string;
            /** @default 100 */
            limit: number;
            /** @default false */
            dry_run: boolean;
            /** @description a note of who asked, kept beside the actor (the API key id); never the actor itself */
            by?: string;
        };
        CancelRequest: {
            reason?: string;
            /** @description a note of who asked, kept beside the actor (the API key id); never the actor itself */
            by?: string;
        };
        AbandonRequest: {
            reason: string;
            /** @description a note of who asked, kept beside the actor (the API key id); never the actor itself */
            by?: string;
            /**
             * @default cancelled
             * @enum {string}
             */
            status: "cancelled" | "failed";
        };
        AttachRequest: {
            provider_invoice_id: string;
            /** @description the invoice's hosted payment page: https, on a payment host known for the lane (the provider's, or the account's `payment_hosts`) */
            payment_url: string;
            reason: string;
            /** @description a note of who asked, kept beside the actor (the API key id); never the actor itself */
            by?: string;
        };
        ReissueRequest: {
            reason: string;
            /** @description a note of who asked, kept beside the actor (the API key id); never the actor itself */
            by?: string;
        };
        AcceptRequest: {
            reason: string;
            /** @description a note of who asked, kept beside the actor (the API key id); never the actor itself */
            by?: string;
        };
        PaymentMethodRequest: {
            /** @description the provider's payment method code, e.g. `BTC` or `USDT_TRC20` (CryptoSteroid) */
            payment_method: string;
        };
        EndpointCreateRequest: {
            /** @description HTTPS to a public address (checked when registered, and at each delivery) */
            url: string;
            description?: string;
            /** @description `whsec_` and at least 24 random bytes in base64; absent: one is made (and shown once) */
            secret?: string;
        };
        RedeliverRequest: {
            event_id?: string;
            /** Format: date-time */
            from?: string;
            /** Format: date-time */
            to?: string;
            by?: string;
        };
        Invoice: {
            provider: string;
            /** @description the provider account (lane); `default` unless the order named another */
            account: string;
            /** @enum {string} */
            kind: "invoice" | "payment_request";
            foreign_id: string;
            /**
             * @description `queued` until the provider has answered the create request
             * @enum {string}
             */
            status: "queued" | "created" | "pending" | "processing" | "paid" | "expired" | "failed" | "cancelled" | "rejected";
            provider_invoice_id: string | null;
            provider_status: string | null;
            /** @description where the payer pays; set once the provider created the invoice */
            payment_url: string | null;
            /** @description decimal string, as ordered */
            amount: string;
            currency: string;
            /** @description what the payer actually sent so far, in `received_currency` (the sum of the provider transactions); never the invoice target */
            received_amount: string | null;
            /** @description the currency the payer sent (usually a crypto code) */
            received_currency: string | null;
            /** @description what the merchant is credited, only where the provider states it for a finished payment */
            settled_amount: string | null;
            settled_currency: string | null;
            /** @description every payment transaction the provider reported, one per txid */
            transactions: {
                /** @description the transaction hash on its chain */
                txid: string;
                /** @description what it carried, in `currency`; absent where the provider gives one total for several transactions */
                amount?: string;
                /** @description the currency the payer sent */
                currency: string;
                confirmations?: number;
                network?: string;
            }[];
            /** @description the fees the provider stated */
            fees: {
                type: string;
                amount: string;
                currency: string;
            }[];
            /** @description where and how much the payer must send, when the provider states it */
            pay_to: {
                currency: string;
                network?: string;
                address: string;
                amount: string;
            } | null;
            reason: string | null;
            last_error: string | null;
            /** @description set while the order is parked for an operator (the provider may hold it already) */
            reconcile: string | null;
            /** Format: date-time */
            accepted_at: string;
            /** Format: date-time */
            updated_at: string;
            /** @description exceptions (provider news after the end) and parkings, oldest first, each also published as a result; more fields give the details */
            events: ({
                /** @description unique per invoice and kind */
                id: string;
                /** @enum {string} */
                kind: "exception" | "parked" | "payment";
                /** Format: date-time */
                at: string;
            } & {
                [key: string]: unknown;
            })[];
            /** @description only on a reissued order: the foreign_id the provider knows its current invoice under (`<foreign_id>~r<n>`) */
            provider_foreign_id?: string;
            /** @description only on a reissued order: the provider-side foreign_ids of the invoices it replaced, oldest first */
            replaced_foreign_ids?: string[];
            /** @description every transition, oldest first (only on GET) */
            history?: {
                /** Format: date-time */
                at: string;
                from: ("queued" | "created" | "pending" | "processing" | "paid" | "expired" | "failed" | "cancelled" | "rejected") | null;
                /** @enum {string} */
                to: "queued" | "created" | "pending" | "processing" | "paid" | "expired" | "failed" | "cancelled" | "rejected";
                /** @description where the change came from: api, create, callback, poll, operator... */
                source: string;
                reason?: string;
            }[];
        };
        CreateAnswer: {
            /**
             * @description `accepted`: this call recorded the order; `existing`: the same order was already recorded
             * @enum {string}
             */
            outcome: "accepted" | "existing";
            invoice: components["schemas"]["Invoice"];
        };
        BatchAnswer: {
            counts: {
                accepted: number;
                existing: number;
                conflict: number;
                invalid: number;
                /** @description only when some order was for a lane the API key may not use */
                forbidden?: number;
            };
            /** @description one per order, in input order */
            results: ({
                index: number;
                /** @enum {string} */
                outcome: "accepted" | "existing";
                invoice: components["schemas"]["Invoice"];
            } | {
                index: number;
                /** @constant */
                outcome: "conflict";
                foreign_id: string;
                message: string;
            } | {
                index: number;
                /** @constant */
                outcome: "invalid";
                issues: components["schemas"]["FieldIssue"][];
            } | {
                index: number;
                /**
                 * @description the API key may not use this order's lane; nothing was recorded for it
                 * @constant
                 */
                outcome: "forbidden";
                lane: string;
                message: string;
            })[];
        };
        RetryAnswer: {
            /** @constant */
            outcome: "retrying";
            /** @description state of the create job before the retry */
            previous_job_state: string;
        };
        BulkRetryAnswer: {
            dry_run: boolean;
            matched: number;
            retried: {
                provider: string;
                account: string;
                foreign_id: string;
            }[];
            skipped: {
                provider: string;
                account: string;
                foreign_id: string;
                why: string;
            }[];
        };
        FieldIssue: {
            /** @description dotted path of the bad field, e.g. `customer.sender.first_name`; `(body)` for the body as a whole */
            field: string;
            message: string;
        };
        IssuesError: {
            /** @enum {string} */
            error: "invalid_order" | "invalid_batch" | "invalid_body" | "invalid_query";
            issues: components["schemas"]["FieldIssue"][];
        };
        MessageError: {
            error: string;
            message: string;
        };
        BadRequest: components["schemas"]["IssuesError"] | components["schemas"]["MessageError"];
        NotFound: {
            /** @constant */
            error: "not_found";
            message: string;
            provider?: string;
        };
        Forbidden: {
            /** @constant */
            error: "forbidden";
            message: string;
            /** @description the scope the key lacks (`all`: the route needs a key with every scope) */
            scope?: string;
            /** @description the lane the key may not act on */
            lane?: string;
        };
        Conflict: {
            /** @constant */
            error: "conflict";
            message: string;
            foreign_id: string;
        };
        RetryRefused: {
            /** @constant */
            error: "not_retryable";
            message: string;
            status: string;
        } | {
            /** @constant */
            error: "needs_reconciliation";
            message: string;
            reconcile: string;
        };
        RepairAnswer: {
            /** @constant */
            outcome: "done";
            invoice: components["schemas"]["Invoice"];
        };
        RepairRefused: {
            /** @constant */
            error: "not_possible";
            /** @description why, and what is possible instead */
            message: string;
            status: string;
        };
        ListAnswer: {
            /** @description up to `limit` invoices, without their history */
            items: components["schemas"]["Invoice"][];
            /** @description pass as `cursor` for the next page; null: the end was reached when this page was read */
            next_cursor: string | null;
        };
        Unavailable: {
            error: string;
            message: string;
        };
        Result: {
            /** @constant */
            v: 1;
            event_id: string;
            /** @enum {string} */
            provider: "cryptoprocessing" | "alphapo" | "cryptosteroid";
            account?: string;
            /** @enum {string} */
            kind: "invoice" | "payment_request";
            foreign_id: string;
            /** @enum {string} */
            status: "queued" | "created" | "pending" | "processing" | "paid" | "expired" | "failed" | "cancelled" | "rejected";
            /** @enum {string} */
            previous_status: "queued" | "created" | "pending" | "processing" | "paid" | "expired" | "failed" | "cancelled" | "rejected";
            provider_invoice_id: string | null;
            payment_url: string | null;
            amount: string;
            currency: string;
            received_amount?: string;
            received_currency?: string;
            settled_amount?: string;
            settled_currency?: string;
            transactions?: {
                /** @description the transaction hash on its chain */
                txid: string;
                /** @description what it carried, in `currency`; absent where the provider gives one total for several transactions */
                amount?: string;
                /** @description the currency the payer sent */
                currency: string;
                confirmations?: number;
                network?: string;
            }[];
            fees?: {
                type: string;
                amount: string;
                currency: string;
            }[];
            pay_to?: {
                currency: string;
                network?: string;
                address: string;
                amount: string;
            };
            reason?: string;
            /** Format: date-time */
            occurred_at: string;
            /** @enum {string} */
            event?: "transition" | "exception" | "parked" | "payment";
            exception?: {
                type: string;
                provider_status: string;
                received_amount?: string;
                received_currency?: string;
                reason?: string;
                replaced_foreign_id?: string;
                replaced_invoice_id?: string;
                provider_amount?: string;
                provider_currency?: string;
                order_amount?: string;
                order_currency?: string;
                excess_amount?: string;
                excess_currency?: string;
            };
            parked?: {
                reason: string;
                next: string;
            };
            payment?: {
                provider_status: string;
                received_amount: string;
                received_currency?: string;
                reason?: string;
            };
        };
        Endpoint: {
            id: string;
            url: string;
            description?: string;
            /** @enum {string} */
            status: "enabled" | "disabled";
            disabled_reason?: string;
            disabled_at?: string;
            created_at: string;
            secrets: {
                /** @description the first characters, to tell secrets apart */
                prefix: string;
                /**
                 * Format: date-time
                 * @description a rotated-out secret is still signed with until then
                 */
                until?: string;
            }[];
            /** @description registered by a lane-limited key: only these lanes' results */
            lanes?: string[];
        };
        EndpointCreated: {
            endpoint: components["schemas"]["Endpoint"];
            /** @description the signing secret, shown only in this answer */
            secret: string;
        };
        EndpointList: {
            endpoints: components["schemas"]["Endpoint"][];
        };
        EndpointAnswer: {
            endpoint: components["schemas"]["Endpoint"];
        };
        EndpointToggled: {
            endpoint: components["schemas"]["Endpoint"];
            /** @description held deliveries sent on at once (enable) */
            promoted: number;
        };
        EndpointRemoved: {
            /** @constant */
            removed: true;
        };
        DeliveryAttempt: {
            /** Format: date-time */
            at: string;
            attempt: number;
            /** @description the HTTP status, or the transport error (e.g. `DEADLINE`, `ECONNREFUSED`) */
            outcome: number | string;
            ms: number;
            retry_after_ms?: number;
            /** @description who asked for this redelivery */
            redelivery?: string;
        };
        DeliveriesAnswer: {
            event_id: string;
            /** @description newest first */
            attempts: components["schemas"]["DeliveryAttempt"][];
        } | {
            items: {
                event_id: string;
                /** @enum {string} */
                status: "delivered" | "failed";
                last_attempt: components["schemas"]["DeliveryAttempt"];
            }[];
            next_cursor: string | null;
        };
        RedeliverAnswer: {
            redelivering: number;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    listInvoices: {
        parameters: {
            query?: {
                /** @description only this provider */
                provider?: string;
                /** @description only this provider account (lane) */
                account?: string;
                /** @description only invoices in this status; ordered by when they entered it */
                status?: "queued" | "created" | "pending" | "processing" | "paid" | "expired" | "failed" | "cancelled" | "rejected";
                /** @description inclusive: changed (with `status`: entered it) at or after this instant */
                updated_since?: string;
                /** @description inclusive: changed (with `status`: entered it) at or before this instant */
                updated_until?: string;
                /** @description page size, 1 to 1000 (default 100) */
                limit?: number;
                /** @description `next_cursor` of the previous page, as given (opaque) */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ListAnswer"];
                };
            };
            /** @description a bad query parameter (`invalid_query`, naming it) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `orders:read`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
        };
    };
    createInvoice: {
        parameters: {
            query?: {
                /** @description seconds to wait for the provider's answer (capped at 30); 0: do not wait */
                wait?: number;
            };
            header?: {
                /**
                 * @description RFC 7240; `wait=N` as `?wait=N` (the query wins)
                 * @example wait=10
                 */
                Prefer?: string;
                /**
                 * @description W3C Trace Context; with tracing on, the order's spans (create, provider request, callbacks, results) join this trace
                 * @example 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
                 */
                traceparent?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "provider": "alphapo",
                 *       "foreign_id": "order-1001",
                 *       "amount": "100.50",
                 *       "currency": "EUR",
                 *       "title": "Order 1001",
                 *       "description": "Two mugs",
                 *       "customer": {
                 *         "reference": "cust-42",
                 *         "email": "payer@example.com"
                 *       },
                 *       "urls": {
                 *         "success": "https://shop.example/ok",
                 *         "failure": "https://shop.example/fail"
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Order"];
            };
        };
        responses: {
            /** @description existing: the same order was already recorded (with a wait: once past `queued`, or when the wait ran out) */
            200: {
                headers: {
                    /** @description `wait=N` when the wait was honoured (N: the seconds it allowed) */
                    "Preference-Applied"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreateAnswer"];
                };
            };
            /** @description asked to wait: the order was accepted by this call and the provider has answered (see `invoice.status`, `invoice.payment_url`) */
            201: {
                headers: {
                    /** @description `wait=N` when the wait was honoured (N: the seconds it allowed) */
                    "Preference-Applied"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreateAnswer"];
                };
            };
            /** @description accepted: recorded and queued for the provider (also when a wait ran out) */
            202: {
                headers: {
                    /** @description `wait=N` when the wait was honoured (N: the seconds it allowed) */
                    "Preference-Applied"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreateAnswer"];
                };
            };
            /** @description invalid order (`invalid_order`, every bad field), bad `wait` (`invalid_query`), or malformed JSON; nothing recorded */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `orders:write`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description another order with a different payload already uses this provider, account and foreign_id */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Conflict"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    exportInvoices: {
        parameters: {
            query?: {
                /** @description only this provider */
                provider?: string;
                /** @description only this provider account (lane) */
                account?: string;
                /** @description only invoices in this status; ordered by when they entered it */
                status?: "queued" | "created" | "pending" | "processing" | "paid" | "expired" | "failed" | "cancelled" | "rejected";
                /** @description inclusive: changed (with `status`: entered it) at or after this instant */
                updated_since?: string;
                /** @description inclusive: changed (with `status`: entered it) at or before this instant */
                updated_until?: string;
                /** @description `csv` (default) or `ndjson` (one invoice view per line) */
                format?: "csv" | "ndjson";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the invoices, streamed */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/csv": string;
                    "application/x-ndjson": string;
                };
            };
            /** @description a bad query parameter (`invalid_query`, naming it) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `orders:read`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
        };
    };
    createInvoices: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description W3C Trace Context; with tracing on, the order's spans (create, provider request, callbacks, results) join this trace
                 * @example 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
                 */
                traceparent?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BatchRequest"];
            };
        };
        responses: {
            /** @description one result per order: accepted, existing, conflict or invalid (with its issues) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchAnswer"];
                };
            };
            /** @description not `{orders: [...]}` with 1 to 1000 items (`invalid_batch`), or malformed JSON */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `orders:write`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    getInvoice: {
        parameters: {
            query?: {
                /** @description the provider account; absent: the default one */
                account?: string;
            };
            header?: never;
            path: {
                provider: string;
                /** @description percent-encoded */
                foreign_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the invoice with its history */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Invoice"];
                };
            };
            /** @description bad `account` (`invalid_query`) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `orders:read`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description unknown provider or account, or no invoice with this foreign_id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
        };
    };
    retryInvoice: {
        parameters: {
            query?: {
                /** @description the provider account; absent: the default one */
                account?: string;
            };
            header?: never;
            path: {
                provider: string;
                /** @description percent-encoded */
                foreign_id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["RetryRequest"];
            };
        };
        responses: {
            /** @description its create job is queued again */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RetryAnswer"];
                };
            };
            /** @description bad body or `account` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `repairs`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description unknown provider or account, or no invoice with this foreign_id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
            /** @description past the provider already (`not_retryable`) or parked (`needs_reconciliation`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RetryRefused"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    cancelInvoice: {
        parameters: {
            query?: {
                /** @description the provider account; absent: the default one */
                account?: string;
            };
            header?: never;
            path: {
                provider: string;
                /** @description percent-encoded */
                foreign_id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["CancelRequest"];
            };
        };
        responses: {
            /** @description cancelled */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairAnswer"];
                };
            };
            /** @description bad body or `account` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `orders:write`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description unknown provider or account, or no invoice with this foreign_id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
            /** @description not possible in its state (`not_possible`, with why) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairRefused"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the provider could not be asked to cancel; nothing changed, try again after `Retry-After` */
            503: {
                headers: {
                    /** @description seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    choosePaymentMethod: {
        parameters: {
            query?: {
                /** @description the provider account; absent: the default one */
                account?: string;
            };
            header?: never;
            path: {
                provider: string;
                /** @description percent-encoded */
                foreign_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "payment_method": "BTC"
                 *     }
                 */
                "application/json": components["schemas"]["PaymentMethodRequest"];
            };
        };
        responses: {
            /** @description chosen: the invoice with its `pay_to` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairAnswer"];
                };
            };
            /** @description bad body (naming `payment_method`) or `account` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `orders:write`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description unknown provider or account, or no invoice with this foreign_id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
            /** @description not possible: the connector offers no choice, the invoice is past waiting for payment, or the provider refused (`not_possible`, with why) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairRefused"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the provider did not answer; nothing is known to have changed, try again */
            503: {
                headers: {
                    /** @description seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Unavailable"];
                };
            };
        };
    };
    abandonInvoice: {
        parameters: {
            query?: {
                /** @description the provider account; absent: the default one */
                account?: string;
            };
            header?: never;
            path: {
                provider: string;
                /** @description percent-encoded */
                foreign_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AbandonRequest"];
            };
        };
        responses: {
            /** @description abandoned */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairAnswer"];
                };
            };
            /** @description bad body (reason and by are required) or `account` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `repairs`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description unknown provider or account, or no invoice with this foreign_id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
            /** @description already finished, or the provider refused to cancel it (`not_possible`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairRefused"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the provider could not be asked to cancel; nothing changed, try again after `Retry-After` */
            503: {
                headers: {
                    /** @description seconds to wait before trying again */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    attachInvoice: {
        parameters: {
            query?: {
                /** @description the provider account; absent: the default one */
                account?: string;
            };
            header?: never;
            path: {
                provider: string;
                /** @description percent-encoded */
                foreign_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AttachRequest"];
            };
        };
        responses: {
            /** @description attached: created */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairAnswer"];
                };
            };
            /** @description bad body or `account` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `repairs`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description unknown provider or account, or no invoice with this foreign_id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
            /** @description not parked or failed, or already past `queued` (`not_possible`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairRefused"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    reissueInvoice: {
        parameters: {
            query?: {
                /** @description the provider account; absent: the default one */
                account?: string;
            };
            header?: never;
            path: {
                provider: string;
                /** @description percent-encoded */
                foreign_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReissueRequest"];
            };
        };
        responses: {
            /** @description reissued: queued again under the new provider-side foreign_id */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairAnswer"];
                };
            };
            /** @description bad body or `account` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `repairs`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description unknown provider or account, or no invoice with this foreign_id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
            /** @description not parked or failed, already past `queued`, or a provider that takes a plain retry (`not_possible`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairRefused"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    acceptPayment: {
        parameters: {
            query?: {
                /** @description the provider account; absent: the default one */
                account?: string;
            };
            header?: never;
            path: {
                provider: string;
                /** @description percent-encoded */
                foreign_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AcceptRequest"];
            };
        };
        responses: {
            /** @description accepted: paid */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairAnswer"];
                };
            };
            /** @description bad body or `account` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `repairs`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description unknown provider or account, or no invoice with this foreign_id */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
            /** @description not a payment parked as underpaid or unverifiable (`not_possible`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RepairRefused"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    retryFailedInvoices: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["BulkRetryRequest"];
            };
        };
        responses: {
            /** @description what was (or would be) retried and what was skipped, and why */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BulkRetryAnswer"];
                };
            };
            /** @description bad body, or a provider or account not configured here */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token (only when the server has `API_TOKEN` or `API_KEYS_FILE` set) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `repairs`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    listWebhookEndpoints: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the endpoints the API key may see */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EndpointList"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
        };
    };
    createWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "url": "https://shop.example.com/hooks/invoices",
                 *       "description": "shop"
                 *     }
                 */
                "application/json": components["schemas"]["EndpointCreateRequest"];
            };
        };
        responses: {
            /** @description registered, with its secret */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EndpointCreated"];
                };
            };
            /** @description bad body (`invalid_body`, naming the field) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    getWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the endpoint id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the endpoint */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EndpointAnswer"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description no such endpoint (or one of lanes the API key may not use) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
        };
    };
    deleteWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the endpoint id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description removed */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EndpointRemoved"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description no such endpoint (or one of lanes the API key may not use) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
        };
    };
    rotateWebhookEndpointSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the endpoint id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description rotated, with the new secret */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EndpointCreated"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description no such endpoint (or one of lanes the API key may not use) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
        };
    };
    enableWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the endpoint id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description enabled */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EndpointToggled"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description no such endpoint (or one of lanes the API key may not use) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
        };
    };
    disableWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the endpoint id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description disabled */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EndpointToggled"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description no such endpoint (or one of lanes the API key may not use) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
        };
    };
    listWebhookDeliveries: {
        parameters: {
            query?: {
                /** @description every attempt of this one result (the answer is then that event's attempts) */
                event_id?: string;
                /** @description by the latest attempt: `delivered` (2xx) or `failed` (anything else; it may still be retried) */
                status?: "delivered" | "failed";
                /** @description page size, 1 to 1000 (default 100) */
                limit?: number;
                /** @description `next_cursor` of the previous page, as given (opaque) */
                cursor?: string;
            };
            header?: never;
            path: {
                /** @description the endpoint id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the deliveries, or the attempts */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveriesAnswer"];
                };
            };
            /** @description a bad query parameter (`invalid_query`, naming it) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description no such endpoint (or one of lanes the API key may not use) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
        };
    };
    redeliverWebhooks: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the endpoint id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "event_id": "result.alphapo.order-1001.paid"
                 *     }
                 */
                "application/json": components["schemas"]["RedeliverRequest"];
            };
        };
        responses: {
            /** @description queued for delivery again */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RedeliverAnswer"];
                };
            };
            /** @description bad body: give `event_id`, or `from` and `to` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BadRequest"];
                };
            };
            /** @description missing or wrong bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the API key lacks the scope `webhooks`, or may not act on this lane */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description no such endpoint, or no such result is kept (results are kept a week) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFound"];
                };
            };
            /** @description the body is larger than 5 MB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
            /** @description the body is not declared `application/json`, or not UTF-8 */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
                };
            };
        };
    };
    resultTransition: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "v": 1,
                 *       "event_id": "result.cryptosteroid.order-1001.paid",
                 *       "provider": "cryptosteroid",
                 *       "account": "default",
                 *       "kind": "invoice",
                 *       "foreign_id": "order-1001",
                 *       "status": "paid",
                 *       "previous_status": "pending",
                 *       "provider_invoice_id": "cs-7f3a9c",
                 *       "payment_url": "https://pay.cryptosteroid.example/i/cs-7f3a9c",
                 *       "amount": "25.50",
                 *       "currency": "EUR",
                 *       "received_amount": "0.00027",
                 *       "received_currency": "BTC",
                 *       "settled_amount": "0.000265",
                 *       "settled_currency": "BTC",
                 *       "transactions": [
                 *         {
                 *           "txid": "4f1c0e8a9b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e",
                 *           "amount": "0.00027",
                 *           "currency": "BTC",
                 *           "confirmations": 2
                 *         }
                 *       ],
                 *       "fees": [
                 *         {
                 *           "type": "commission",
                 *           "amount": "0.000005",
                 *           "currency": "BTC"
                 *         }
                 *       ],
                 *       "pay_to": {
                 *         "currency": "BTC",
                 *         "address": "bc1qexampleaddress0000000000000000000000",
                 *         "amount": "0.00027"
                 *       },
                 *       "occurred_at": "2026-01-05T10:15:30.000Z",
                 *       "event": "transition"
                 *     }
                 */
                "application/json": components["schemas"]["Result"];
            };
        };
        responses: {
            /** @description received (any 2xx); anything else is retried, 410 disables the endpoint */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    resultException: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "v": 1,
                 *       "event_id": "result.cryptosteroid.order-1001.exception.payment_after_end-1",
                 *       "provider": "cryptosteroid",
                 *       "account": "default",
                 *       "kind": "invoice",
                 *       "foreign_id": "order-1001",
                 *       "status": "expired",
                 *       "previous_status": "expired",
                 *       "provider_invoice_id": "cs-7f3a9c",
                 *       "payment_url": "https://pay.cryptosteroid.example/i/cs-7f3a9c",
                 *       "amount": "25.50",
                 *       "currency": "EUR",
                 *       "received_amount": "0.00027",
                 *       "received_currency": "BTC",
                 *       "transactions": [
                 *         {
                 *           "txid": "4f1c0e8a9b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e",
                 *           "amount": "0.00027",
                 *           "currency": "BTC",
                 *           "confirmations": 2
                 *         }
                 *       ],
                 *       "occurred_at": "2026-01-05T10:15:30.000Z",
                 *       "event": "exception",
                 *       "exception": {
                 *         "type": "payment_after_end",
                 *         "provider_status": "PAID",
                 *         "received_amount": "0.00027",
                 *         "received_currency": "BTC"
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Result"];
            };
        };
        responses: {
            /** @description received (any 2xx); anything else is retried, 410 disables the endpoint */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    resultParked: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "v": 1,
                 *       "event_id": "result.cryptosteroid.order-1001.parked.outcome_unknown-1",
                 *       "provider": "cryptosteroid",
                 *       "account": "default",
                 *       "kind": "invoice",
                 *       "foreign_id": "order-1001",
                 *       "status": "queued",
                 *       "previous_status": "queued",
                 *       "provider_invoice_id": null,
                 *       "payment_url": null,
                 *       "amount": "25.50",
                 *       "currency": "EUR",
                 *       "occurred_at": "2026-01-05T10:15:30.000Z",
                 *       "event": "parked",
                 *       "parked": {
                 *         "reason": "the create request may have reached the provider; its outcome is unknown",
                 *         "next": "an operator checks at the provider, then attaches or retries"
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Result"];
            };
        };
        responses: {
            /** @description received (any 2xx); anything else is retried, 410 disables the endpoint */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    resultPayment: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "v": 1,
                 *       "event_id": "result.cryptosteroid.order-1001.payment.0.0001",
                 *       "provider": "cryptosteroid",
                 *       "account": "default",
                 *       "kind": "invoice",
                 *       "foreign_id": "order-1001",
                 *       "status": "pending",
                 *       "previous_status": "pending",
                 *       "provider_invoice_id": "cs-7f3a9c",
                 *       "payment_url": "https://pay.cryptosteroid.example/i/cs-7f3a9c",
                 *       "amount": "25.50",
                 *       "currency": "EUR",
                 *       "received_amount": "0.0001",
                 *       "received_currency": "BTC",
                 *       "pay_to": {
                 *         "currency": "BTC",
                 *         "address": "bc1qexampleaddress0000000000000000000000",
                 *         "amount": "0.00027"
                 *       },
                 *       "occurred_at": "2026-01-05T10:15:30.000Z",
                 *       "event": "payment",
                 *       "payment": {
                 *         "provider_status": "WAITING",
                 *         "received_amount": "0.0001",
                 *         "received_currency": "BTC",
                 *         "reason": "partially paid"
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Result"];
            };
        };
        responses: {
            /** @description received (any 2xx); anything else is retried, 410 disables the endpoint */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
}

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
        get?: never;
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
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Order: {
            /** @description the connector: `cryptoprocessing`, `alphapo` or `cryptosteroid` (those configured here) */
            provider: string;
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
        };
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
        Result: {
            /** @constant */
            v: 1;
            event_id: string;
            provider: string;
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
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
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
            /** @description the provider could not be asked to cancel; nothing changed, try again (`Retry-After`) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageError"];
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
            /** @description the provider could not be asked to cancel; nothing changed, try again (`Retry-After`) */
            503: {
                headers: {
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
}

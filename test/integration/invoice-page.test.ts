/**
 * The invoice page for operators (/admin/invoices) in a real browser: an operator finds an invoice
 * by foreign_id, by txid and by provider invoice id, abandons one from its page and sees the new
 * status and the history entry naming them, sees field errors for a bad attach and a refusal with
 * its reason; a viewer sees the record and no forms. Record fields are text, never markup (a
 * foreign_id and a reason holding `<script>`), and the page runs under a strict CSP. Runs Chromium
 * through playwright-core; skipped (with a reason) only when Chromium is not installed and CI is not set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { hashPassword } from '../../src/access/admin-users.ts';
import { fixtureObject } from '../fixtures/providers/fake-http.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';
import { platformHeaders, postRaw, waitCreated } from './track-helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const OPERATOR = { username: 'otto', password: 'otto-repairs-Page-7741' };
const VIEWER = { username: 'vera', password: 'vera-reads-Page-2218' };
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `Chromium not found at ${CHROMIUM} (install it, or set CHROMIUM_PATH); required when CI is set` : false;
/** The txid of the documented installment callback (test/fixtures/providers/documented). */
const TXID = '528dcda13270f8590853405600bf5634d53aa66d2ce5d3a873006a670f9da788';

describe('the invoice page in Chromium', { skip }, () => {
  let t: TestSystem;
  let browser: Browser;
  let operator: BrowserContext;
  let viewer: BrowserContext;
  let dir: string;
  const pages = `/admin/invoices`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'invoice-page-'));
    const usersFile = join(dir, 'users.json');
    writeFileSync(
      usersFile,
      JSON.stringify([
        { user: OPERATOR.username, password_hash: await hashPassword(OPERATOR.password), role: 'operator' },
        { user: VIEWER.username, password_hash: await hashPassword(VIEWER.password), role: 'viewer' },
      ]),
    );
    t = await startTestSystem({
      callbacks: true,
      env: { ADMIN_USERS_FILE: usersFile, CREATE_ATTEMPTS: '1', POLL_PLATFORM_MS: '3600000', POLL_IDLE_MS: '3600000' },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    operator = await browser.newContext({ httpCredentials: OPERATOR, viewport: { width: 1280, height: 900 } });
    viewer = await browser.newContext({ httpCredentials: VIEWER, viewport: { width: 1280, height: 900 } });
  });
  after(async () => {
    await operator?.close();
    await viewer?.close();
    await browser?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function created(foreignId: string): Promise<string> {
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', foreignId))).status, 202);
    await waitCreated(t, 'cryptoprocessing', foreignId);
    return (await t.system.store.get('cryptoprocessing', foreignId))!.provider_invoice_id!;
  }

  async function search(page: Page, q: string): Promise<void> {
    await page.goto(`${t.api}${pages}`);
    await page.locator('#q').fill(q);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('#record').waitFor();
  }

  const field = (page: Page, name: string): Promise<string> => page.locator(`[data-field="${name}"]`).innerText();

  it('an operator finds an invoice by foreign_id, by txid and by provider invoice id, and reads its money', async () => {
    const pid = await created('page-money');
    // The provider reports an installment with its txid (the documented callback, about our invoice).
    const body = JSON.stringify({ ...fixtureObject('documented/platform/invoice-callback-installment-pending.json'), id: Number(pid), foreign_id: 'page-money' });
    assert.equal((await postRaw(`${t.api}/webhooks/cryptoprocessing`, body, platformHeaders('cryptoprocessing', body))).status, 200);
    await t.waitFor(async () => (await t.system.store.get('cryptoprocessing', 'page-money'))?.transactions.length, 'the transaction on the record');

    const page = await operator.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    for (const q of ['page-money', TXID, pid]) {
      await search(page, q);
      assert.equal(await field(page, 'foreign_id'), 'page-money', `found by ${q}`);
      assert.equal(await field(page, 'status'), 'pending');
      assert.equal(await field(page, 'provider_invoice_id'), pid);
      assert.match(await field(page, 'received'), /^0\.01 BTC$/);
      assert.match(await page.locator('#transactions').innerText(), new RegExp(TXID));
      assert.match(await page.locator('#history').innerText(), /created/);
    }
    const response = await page.goto(`${t.api}${pages}?q=${encodeURIComponent(TXID)}`);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src|unsafe-inline/, 'no script, no inline style without its nonce');
    // The page's own style applies under it (its nonce), and nothing on the page is refused.
    assert.equal(
      await page.locator('header').evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor),
      'rgb(29, 35, 48)',
    );
    assert.deepEqual(violations, []);

    await page.goto(`${t.api}${pages}?q=nothing-by-this-name`);
    await page.getByText('No invoice found').waitFor();

    // Bull Board's header leads here, and the page leads back.
    await page.goto(`${t.api}/admin/queues/`);
    await page.locator('header ul li').last().locator('button').click();
    await page.getByText('Find an invoice').click();
    await page.waitForURL(`${t.api}${pages}`);
    await page.locator('#q').waitFor();
    await page.getByRole('link', { name: 'Bull Board' }).click();
    await page.waitForURL(`${t.api}/admin/queues/`);
    await page.close();
  });

  it('an operator abandons an invoice from its page and sees the new status and the history entry naming them; record text is never markup', async () => {
    const foreignId = 'page-<script>document.title="owned"</script>';
    await created(foreignId);
    const page = await operator.newPage();
    await search(page, foreignId);
    assert.equal(await field(page, 'foreign_id'), foreignId, 'the foreign_id shown as text');
    const form = page.locator('#repair-abandon');
    assert.equal(await page.locator('#repair-attach').count(), 0, 'attach does not apply to a created invoice');
    assert.equal(await page.locator('#repair-accept').count(), 0, 'nor accept to one that is not parked as underpaid');
    await form.locator('input[name="reason"]').fill('customer gone <script>document.title="owned"</script>');
    await form.locator('input[name="note"]').fill('ticket 4411');
    await form.getByRole('button', { name: 'Abandon' }).click();

    await page.locator('#notice').waitFor();
    assert.equal(await field(page, 'status'), 'cancelled');
    const history = await page.locator('#history').innerText();
    assert.match(history, /operator:otto/);
    assert.match(history, /abandoned by otto \(note: ticket 4411\): customer gone <script>document\.title="owned"<\/script>/);
    assert.equal(await page.locator('script').count(), 0, 'no script element on the page');
    assert.notEqual(await page.title(), 'owned');
    assert.equal(await page.locator('#repairs form').count(), 0, 'a finished invoice has no repairs');
    assert.equal((await t.system.store.get('cryptoprocessing', foreignId))?.status, 'cancelled');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'invoice-page-abandoned.png'), fullPage: true });
    await page.close();
  });

  it('a bad attach shows each wrong field next to it and changes nothing; a refused one shows why', async () => {
    // A submission that fails for good (one attempt): the order stays queued, and attach applies.
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'page-attach'))).status, 202);
    await t.waitFor(async () => (await (await t.createJob('alphapo', 'page-attach'))?.getState()) === 'failed', 'the failed submission');
    t.sandbox.clearFaults();
    // The worker's last word on it: the record says why it failed (nothing writes to it after this).
    const before = await t.waitFor(async () => {
      const r = await t.system.store.get('alphapo', 'page-attach');
      return r?.last_error?.startsWith('failed after retries') ? r : undefined;
    }, 'the final failure on the record');

    const page = await operator.newPage();
    await search(page, 'page-attach');
    assert.equal(await field(page, 'status'), 'queued');
    let form = page.locator('#repair-attach');
    await form.locator('input[name="provider_invoice_id"]').fill('INV-77');
    await form.locator('input[name="payment_url"]').fill('http://pay.example.com/inv/77');
    await form.getByRole('button', { name: 'Attach' }).click();

    // No reason given: named next to its field, and what was typed is kept.
    form = page.locator('#repair-attach');
    await form.locator('[data-error-for="reason"]').waitFor();
    assert.equal(await form.locator('input[name="reason"]').getAttribute('aria-invalid'), 'true');
    assert.equal(await form.locator('input[name="provider_invoice_id"]').inputValue(), 'INV-77', 'what was typed is kept');
    assert.equal(await form.locator('input[name="payment_url"]').inputValue(), 'http://pay.example.com/inv/77');
    assert.equal((await t.system.store.get('alphapo', 'page-attach'))?.version, before.version, 'nothing changed');

    // With a reason, the http:// URL (not on the lane's payment host either) is the field named.
    await form.locator('input[name="reason"]').fill('found at the provider');
    await form.getByRole('button', { name: 'Attach' }).click();
    form = page.locator('#repair-attach');
    await form.locator('[data-error-for="payment_url"]').getByText('must be https').waitFor();
    assert.equal(await form.locator('input[name="payment_url"]').getAttribute('aria-invalid'), 'true');
    assert.equal(await form.locator('[data-error-for="reason"]').count(), 0, 'the reason is fine now');
    assert.equal(await field(page, 'status'), 'queued');
    assert.equal((await t.system.store.get('alphapo', 'page-attach'))?.version, before.version, 'nothing changed');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'invoice-page-attach-errors.png'), fullPage: true });

    // Meanwhile the order is abandoned elsewhere: the page's form is stale, and the refusal says why.
    assert.equal((await t.post('/v1/invoices/alphapo/page-attach/abandon', { reason: 'gone' })).status, 200);
    await page.locator('#repair-abandon input[name="reason"]').fill('twice');
    await page.locator('#repair-abandon').getByRole('button', { name: 'Abandon' }).click();
    await page.locator('#refusal').getByText('already cancelled').waitFor();
    assert.equal(await field(page, 'status'), 'cancelled');
    await page.close();
  });

  it('a viewer sees the record and no forms, and cannot post a repair; nor can another site', async () => {
    await created('page-viewer');
    const page = await viewer.newPage();
    await search(page, 'page-viewer');
    assert.equal(await field(page, 'status'), 'created');
    assert.match(await page.locator('#signed-in').innerText(), /vera \(viewer\)/);
    assert.equal(await page.locator('#repairs').count(), 0);
    assert.equal(await page.locator('form[method="post"]').count(), 0);
    const path = `${t.api}${pages}/cryptoprocessing/page-viewer/abandon`;
    const asViewer = await page.request.post(path, { form: { reason: 'no' }, headers: { origin: t.api } });
    assert.equal(asViewer.status(), 403);

    // A wrong password is refused like at the board.
    const stranger = await fetch(`${t.api}${pages}?q=page-viewer`, { headers: { authorization: `Basic ${Buffer.from('vera:wrong').toString('base64')}` } });
    assert.equal(stranger.status, 401);
    assert.ok(
      t.logs.some((l) => l.includes('admin sign-in refused')),
      'the refused sign-in is logged',
    );

    // The operator's browser, led by another site: the credentials go along, the Origin gives it away.
    const crossSite = await operator.request.post(path, { form: { reason: 'forged' }, headers: { origin: 'http://evil.example' } });
    assert.equal(crossSite.status(), 403);
    assert.equal((await t.system.store.get('cryptoprocessing', 'page-viewer'))?.status, 'created');
    await page.close();
  });
});

/**
 * Bull Board in a real browser: an operator signs in, finds the failed submission, retries it and
 * watches it complete; repairs a parked order (reissue) from the board's repair template; and reads
 * what each queue is for and why a lane is paused. Runs Chromium through playwright-core; skipped (with a reason) only when
 * Chromium is not installed and CI is not set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { createJobId } from '../../queues/create.ts';
import { sampleOrder, startTestSystem, type TestSystem } from '../helpers/system.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const USER = 'ops-browser';
const PASSWORD = 'pw-Browser-Retry-2291';
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `Chromium not found at ${CHROMIUM} (install it, or set CHROMIUM_PATH); required when CI is set` : false;

describe('Bull Board in Chromium', { skip }, () => {
  let t: TestSystem;
  let context: BrowserContext;
  let profile: string;
  before(async () => {
    // CryptoSteroid's account holds one unpaid invoice at most, and a lane at that cap waits two
    // minutes: long enough to look at its pause in the board.
    t = await startTestSystem({
      sandbox: { cryptosteroidNewCap: 1 },
      env: { ADMIN_USER: USER, ADMIN_PASSWORD: PASSWORD, ADMIN_ROLE: 'operator', CREATE_ATTEMPTS: '1', CRYPTOSTEROID_CAP_BACKOFF_MS: '120000' },
    });
    profile = mkdtempSync(join(tmpdir(), 'iw-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      httpCredentials: { username: USER, password: PASSWORD },
      viewport: { width: 1280, height: 800 },
    });
  });
  after(async () => {
    await context?.close();
    await t?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('an operator signs in, opens the failed job, retries it and sees it complete', async () => {
    // A submission that fails for good: the provider answers 500 and only one attempt is allowed.
    t.sandbox.addFault({ provider: 'alphapo', fault: '5xx', status: 500 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('alphapo', 'browser-1'))).status, 202);
    const jobId = createJobId('alphapo', 'browser-1');
    await t.waitFor(async () => (await (await t.system.lane('alphapo').createQueue.getJob(jobId))?.getState()) === 'failed', 'the failed job');

    const page = context.pages()[0] ?? (await context.newPage());
    const board = `${t.api}/admin/queues`;
    const response = await page.goto(`${board}/`);
    assert.equal(response?.status(), 200, 'signed in with Basic auth');
    // Every registered queue is listed in the sidebar.
    for (const q of t.system.queues) await page.locator(`a[href$="/queue/${q.name}"]`).first().waitFor();

    await page.locator('a[href$="/queue/invoice-create.alphapo"]').first().click();
    await page.locator('a[href*="status=failed"]', { hasText: 'Failed' }).first().click();
    await page.locator(`a[href*="${jobId}"]`).first().click();
    await page.getByText('provider error (HTTP 500)').first().waitFor();

    // The provider recovers; the operator retries from the job page (the board asks to confirm).
    t.sandbox.clearFaults();
    await page.locator('button:has(svg.lucide-refresh-cw)').first().click();
    await page.getByRole('button', { name: 'Confirm' }).click();

    await t.waitFor(async () => (await t.results()).find((r) => r.foreign_id === 'browser-1' && r.status === 'created'), 'the created result');
    assert.equal(await (await t.system.lane('alphapo').createQueue.getJob(jobId))?.getState(), 'completed');
    assert.equal(t.sandbox.count('alphapo', 'browser-1'), 1);
    // The board shows it completed too.
    await page.goto(`${board}/queue/invoice-create.alphapo?status=completed`);
    await page.locator(`a[href*="${jobId}"]`).first().waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'bull-board-retry.png'), fullPage: true });

    const audit = t.logs.find((l) => l.includes('retry requested from Bull Board'));
    assert.ok(audit, 'the retry is in the audit log');
    assert.equal(JSON.parse(audit).by, USER);
  });

  it("an operator reissues a parked order from the board's Add job dialog and sees the repair done", async () => {
    // The create answer is lost after the platform committed the invoice, and (one attempt allowed
    // here) the submission fails for good: no payment URL, and a re-send would be refused.
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: 'commit-then-drop', count: 1 });
    // The orphan's cancel fails too, so the order is parked for an operator (else it recovers by itself).
    t.sandbox.addFault({ provider: 'cryptoprocessing', fault: '5xx', op: 'cancel', count: 1 });
    assert.equal((await t.post('/v1/invoices', sampleOrder('cryptoprocessing', 'browser-re'))).status, 202);
    await t.waitFor(async () => (await (await t.createJob('cryptoprocessing', 'browser-re'))?.getState()) === 'failed', 'the submission to fail');
    assert.ok(t.sandbox.invoice('cryptoprocessing', 'browser-re'), 'the lost invoice exists at the provider');

    const page = context.pages()[0] ?? (await context.newPage());
    const board = `${t.api}/admin/queues`;
    await page.goto(`${board}/queue/invoice-repairs`);
    // The queue says what it is for and how to run a repair.
    await page.getByText('attach, reissue or abandon').first().waitFor();
    await page.getByText('open its template under "Waiting children"').first().waitFor();
    // One template per repair waits there, never run; duplicating one fills in the repair's name and fields.
    await page.goto(`${board}/queue/invoice-repairs?status=waiting-children`);
    for (const name of ['attach', 'reissue', 'abandon']) await page.locator(`a[href*="template-${name}"]`).first().waitFor();
    await page.locator('a[href*="template-reissue"]').first().click();
    await page.locator('button:has(svg.lucide-files)').first().click();
    const dialog = page.getByRole('dialog');
    assert.equal(await dialog.locator('#job-name').inputValue(), 'reissue', 'the template names its repair');
    const template = await dialog.locator('.cm-content').first().innerText();
    for (const field of ['provider', 'foreign_id', 'reason']) assert.match(template, new RegExp(`"${field}"`), `the template has ${field}`);
    assert.doesNotMatch(template, /provider_invoice_id/, 'and only what reissue takes');
    await dialog.locator('.cm-content').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // A `by` typed here is not who did it: the signed-in user is.
    await page.keyboard.insertText(JSON.stringify({ provider: 'cryptoprocessing', foreign_id: 'browser-re', reason: 'not in the dashboard', by: 'someone-else' }));
    await dialog.getByRole('button', { name: /^(add|duplicate)$/i }).click();

    // The repair runs: a new invoice under the derived foreign_id, and the order system gets its payment URL.
    const created = await t.waitFor(async () => (await t.results()).find((r) => r.foreign_id === 'browser-re' && r.status === 'created'), 'the created result');
    assert.ok(created.payment_url);
    const record = await t.system.store.get('cryptoprocessing', 'browser-re');
    assert.equal(record?.provider_foreign_id, 'browser-re~r1');
    assert.ok(t.sandbox.invoice('cryptoprocessing', 'browser-re~r1'), 'the new invoice is at the provider');
    const history = (await t.get('/v1/invoices/cryptoprocessing/browser-re')).body.history as Array<{ source: string; reason?: string }>;
    assert.ok(history.some((h) => h.source === `operator:${USER}` && /reissued by ops-browser \(note: someone-else\) as browser-re~r1/.test(h.reason ?? '')));

    // The board shows the repair completed, with its outcome.
    await page.goto(`${board}/queue/invoice-repairs?status=completed`);
    await page.getByText('browser-re~r1').first().waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'bull-board-repair.png'), fullPage: true });
    // The template is still there for the next repair.
    assert.equal(await (await t.system.repairsQueue.getJob('template-reissue'))?.getState(), 'waiting-children');
  });

  it('each queue says what is normal there, and a lane at its capacity limit is shown as a capacity pause, not a rate limit', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    const board = `${t.api}/admin/queues`;
    // The results queue has no worker of ours by design: its description says so.
    await page.goto(`${board}/queue/invoice-results`);
    await page.getByText('"No workers" here is normal').first().waitFor();

    // The second unpaid CryptoSteroid invoice meets the account's cap: the lane pauses.
    for (const id of ['browser-cap-1', 'browser-cap-2']) assert.equal((await t.post('/v1/invoices', sampleOrder('cryptosteroid', id))).status, 202);
    const lane = t.system.lane('cryptosteroid');
    await t.waitFor(async () => (await lane.pause.cause()) === 'capacity' && (await lane.createQueue.getRateLimitTtl()) > 0, 'the capacity pause');
    await page.goto(`${board}/queue/invoice-create.cryptosteroid`);
    await page.getByText('CAPACITY PAUSE for another').first().waitFor();
    // The whole queue page is there (its status tabs, its jobs), and nowhere on it "rate limited".
    await page.locator('a[href*="status=waiting"]').first().waitFor();
    await page.locator('a[href*="browser-cap-"]').first().waitFor();
    assert.equal(await page.getByText(/rate limited/i).count(), 0, 'not called a rate limit');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'bull-board-capacity.png'), fullPage: true });
  });
});

// The dashboard in a real browser (Debian's Chromium, headless) against the real stack: a runner, the
// WhatsApp Web emulator as the phone and its contacts, a local webhook sink. It goes through what a new
// user does: log in, create and link a connection, chat, configure a webhook and replay a delivery, manage
// API keys; then looks at every page at phone width and in dark mode, and lets the session expire.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sessions, users } from '../../drizzle/schema';
import { call, closeDatabase, database, eventually, newTenant } from '../harness/api';
import { expectNoHorizontalScroll, expectSameDocument, launchBrowser, logIn, markDocument, openPage, screenshot, type WatchedPage } from '../harness/browser';
import { Sink } from '../harness/webhook-sink';
import { launchRunner, phone, phoneNumber, stopRunners } from '../harness/whatsapp';
import { inject } from 'vitest';

const sink = new Sink();
let browser: Browser;
let tenant: Awaited<ReturnType<typeof newTenant>>;
let watched: WatchedPage;
let page: Page;
const phoneNo = phoneNumber();
const contactNo = phoneNumber();
const contactJid = `${contactNo}@s.whatsapp.net`;
const connectionId = `dash-${randomUUID().slice(0, 6)}`;

const card = () => page.locator(`[data-testid="connection-card"][data-connection-id="${connectionId}"]`);
const contactSays = (text: string) => phone('POST', `/contacts/${contactNo}/messages`, { to: phoneNo, text });

beforeAll(async () => {
  await Promise.all([launchRunner(), sink.start(inject('webhookSinkPort'))]);
  browser = await launchBrowser();
  tenant = await newTenant('dash');
  await phone('POST', '/accounts', { phone: phoneNo, name: 'Test phone' });
  await phone('POST', '/contacts', { phone: contactNo, name: 'Alice' });
  watched = await openPage(browser);
  page = watched.page;
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([stopRunners(), sink.stop()]);
  await closeDatabase();
});

/**
 * Each test leaves the console clean: no errors, no warnings, no uncaught exceptions. The browser itself
 * logs every 4xx answer as "Failed to load resource"; those are allowed only where the test provoked one
 * (`expected` lists them, as "409 from POST /api/connections").
 */
function expectQuietConsole(...expected: string[]) {
  const answers = watched.problems.filter((p) => p.startsWith('(')).map((p) => p.slice(1, -1));
  const logged = watched.problems.filter((p) => !p.startsWith('('));
  expect(answers).toEqual(expected);
  // One console line per refused request, and nothing else.
  expect(logged.filter((l) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(l))).toEqual([]);
  expect(logged.length).toBe(expected.length);
}

beforeEach(() => {
  watched.problems.length = 0;
});

// A test that failed with a dialog open would leave it over the page, and every later test would then fail
// on a hidden link: close what is left, so a failure is reported once, where it happened.
afterEach(async () => {
  const open = page?.getByRole('dialog').or(page.getByRole('alertdialog'));
  for (let i = 0; open && i < 3 && (await open.count()) > 0; i++) await page.keyboard.press('Escape');
});

describe('dashboard', () => {
  it('logs in, and back to the page that was asked for', async () => {
    await page.goto('/connections');
    await page.waitForURL(/\/login\?next=%2Fconnections/);
    await page.getByLabel('Email').fill(tenant.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Email or password is wrong.');

    await page.getByLabel('Password').fill(tenant.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/connections$/);
    expect(await page.getByTestId('tenant-name').textContent()).toBe(tenant.name);
    await page.getByText('No connections yet').waitFor();
    await screenshot(page, 'dashboard-1-connections-empty');
    expectQuietConsole('401 from POST /api/auth/login');
  });

  it('creates a connection, shows its QR, and turns connected live when the phone scans it', async () => {
    await page.getByRole('button', { name: 'New connection' }).click();
    await page.getByLabel('Connection id').fill('has spaces!');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.locator('#connection-id-help').textContent()).toMatch(/letters, digits/);
    expect(await page.getByLabel('Connection id').getAttribute('aria-invalid')).toBe('true');

    await page.getByLabel('Connection id').fill(connectionId);
    await page.getByRole('button', { name: 'Create' }).click();
    const secret = await page.getByTestId('webhook-secret').textContent();
    expect(secret).toMatch(/^whsec_/);
    await card().waitFor();

    // The QR dialog: the runner's QR as an image; scanning it (the emulator's phone) closes the dialog.
    await markDocument(page);
    await page.getByRole('button', { name: 'Link a phone now' }).click();
    const qr = page.getByTestId('qr-image');
    await qr.waitFor({ timeout: 45_000 });
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    await expect.poll(() => page.getByTestId('qr-expiry').textContent()).toMatch(/Expires in \d+ s/);
    await screenshot(page, 'dashboard-2-qr');
    await phone('POST', `/accounts/${phoneNo}/scan`, { qr: await qr.getAttribute('data-qr-raw') });
    await qr.waitFor({ state: 'detached', timeout: 30_000 });
    await card().locator('[data-testid="connection-status"][data-status="connected"]').waitFor();
    await expect.poll(() => card().textContent()).toContain(`+${phoneNo}`);
    await expectSameDocument(page);

    // The API's own error text for a refused create.
    const refused = await tenant.api.post('/api/connections', { connection_id: connectionId });
    expect(refused.status).toBe(409);
    await page.getByRole('button', { name: 'New connection' }).click();
    await page.getByLabel('Connection id').fill(connectionId);
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.getByTestId('form-error').textContent()).toBe(refused.body.error.message);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await screenshot(page, 'dashboard-3-connected');
    expectQuietConsole('409 from POST /api/connections');
  });

  it("receives a contact's messages live, in the chat list and in the open chat", async () => {
    await card().getByRole('link', { name: 'Messages' }).click();
    await page.getByText('No chats yet').waitFor();
    await markDocument(page);
    await contactSays('Hello from Alice');
    const chat = page.locator(`[data-testid="chat-item"][data-chat-id="${contactJid}"]`);
    await chat.waitFor();
    await expect.poll(() => chat.textContent()).toContain('Hello from Alice');
    await chat.click();
    await page.getByTestId('message-list').getByText('Hello from Alice').waitFor();
    await contactSays('Are you there?');
    await page.getByTestId('message-list').getByText('Are you there?').waitFor();
    await expectSameDocument(page);
    expectQuietConsole();
  });

  it('sends from the composer: shown at once, then sent and delivered', async () => {
    const text = `Hi Alice, from the dashboard ${randomUUID().slice(0, 4)}`;
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.keyboard.press('Enter');
    const mine = page.locator('[data-testid="message"][data-direction="outbound"]', { hasText: text });
    await mine.waitFor();
    await mine.locator('[data-testid="message-status"][data-status="delivered"]').waitFor({ timeout: 30_000 });
    const inbox = await phone<{ text: string | null }[]>('GET', `/contacts/${contactNo}/inbox`);
    expect(inbox.map((m) => m.text)).toContain(text);

    // A file: the picture shows before the API has it, and arrives as an image.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==', 'base64');
    await page.getByTestId('composer-file').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
    await page.getByLabel('Message', { exact: true }).fill('a dot');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const image = page.locator('[data-testid="message"][data-direction="outbound"]', { hasText: 'a dot' });
    await image.getByTestId('message-image').waitFor();
    await image.locator('[data-testid="message-status"][data-status="delivered"]').waitFor({ timeout: 30_000 });
    await eventually(async () => {
      const got = await phone<{ media?: { mimetype: string | null; caption: string | null; sha256: boolean } }[]>('GET', `/contacts/${contactNo}/inbox`);
      return got.some((m) => m.media?.mimetype === 'image/png' && m.media.caption === 'a dot' && m.media.sha256);
    }, 'the contact to receive the picture');
    await screenshot(page, 'dashboard-4-chat');
    expectQuietConsole();
  });

  it('loads older messages as the history is scrolled up', async () => {
    await phone('POST', `/contacts/${contactNo}/messages`, { to: phoneNo, text: 'burst', count: 45 });
    await eventually(async () => {
      const res = await tenant.api.get(`/api/messages/${connectionId}/${contactJid}?limit=60`);
      return res.body.length >= 49;
    }, 'the burst to be stored');
    await page.reload();
    const bubbles = page.getByTestId('message-list').getByTestId('message');
    await expect.poll(() => bubbles.count()).toBe(40);
    const total = (await tenant.api.get(`/api/messages/${connectionId}/${contactJid}?limit=500`)).body.length;
    // Column-reversed: the top of the history is the most negative scroll position.
    await page.getByTestId('message-list').evaluate((el) => el.scrollTo(0, -el.scrollHeight));
    await expect.poll(() => bubbles.count(), { timeout: 10_000 }).toBeGreaterThan(40);
    await page.getByTestId('message-list').evaluate((el) => el.scrollTo(0, -el.scrollHeight));
    await expect.poll(() => bubbles.count(), { timeout: 10_000 }).toBe(total);
    await page.getByTestId('message-list').getByText('Hello from Alice').waitFor();
    expectQuietConsole();
  });

  it('dialogs work from the keyboard: focus moves in, Escape closes, focus comes back', async () => {
    await page.getByRole('link', { name: 'Connections' }).first().click();
    const opener = page.getByRole('button', { name: 'New connection' });
    await opener.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect(await page.evaluate('document.activeElement.id')).toBe('connection-id');
    await page.keyboard.type('via-keyboard');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect(await opener.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect((await tenant.api.get('/api/connections/via-keyboard')).status).toBe(404);
    expectQuietConsole();
  });

  it('sets a webhook, sends a test event, shows the log and replays a delivery', async () => {
    const hook = sink.endpoint();
    await page.getByRole('link', { name: 'Connections' }).first().click();
    await card().getByRole('button', { name: 'Webhook' }).click();
    await page.getByLabel('URL').fill(hook.url);
    await page.getByRole('checkbox', { name: 'message.status' }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Webhook saved.').waitFor();
    const connection = await tenant.api.get(`/api/connections/${connectionId}`);
    expect(connection.body).toMatchObject({ webhook_url: hook.url, webhook_events: ['message.received', 'message.status'] });

    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => page.getByTestId('test-result').getByTestId('attempt-status').textContent()).toBe('200');
    expect(sink.at(hook.path).map((r) => r.json.event)).toEqual(['test']);

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Rotate' }).click();
    await expect.poll(() => page.getByTestId('rotated-secret').textContent()).toMatch(/^whsec_/);
    await screenshot(page, 'dashboard-5-webhook-settings');
    await page.keyboard.press('Escape');

    await contactSays('Webhook me');
    const delivered = await eventually(async () => sink.at(hook.path).find((r) => r.json.event === 'message.received'), 'the message.received webhook');

    await card().getByRole('button', { name: `More actions for ${connectionId}` }).click();
    await page.getByRole('menuitem', { name: 'Webhook logs' }).click();
    const row = page.locator('[data-testid="webhook-log-row"][data-event="message.received"][data-state="delivered"]');
    await row.first().waitFor({ timeout: 15_000 });
    await row.first().getByRole('button', { name: 'Details' }).click();
    await page.getByTestId('attempt-status').first().waitFor();
    await row.first().getByRole('button', { name: 'Replay' }).click();
    await page.getByText('Replaying 1 delivery.').waitFor();
    await eventually(
      async () => sink.at(hook.path).filter((r) => r.headers['webhook-id'] === delivered.headers['webhook-id']).length === 2,
      'the replayed delivery',
    );

    // Filters narrow the list to what was asked.
    await page.getByLabel('Event').selectOption('test');
    await expect.poll(async () => [...new Set(await page.getByTestId('webhook-log-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event'))))]).toEqual(['test']);
    await page.getByLabel('State').selectOption('dead');
    await page.getByText('No attempt matches').waitFor();
    await page.getByLabel('Event').selectOption('');
    await page.getByLabel('State').selectOption('');
    await page.getByRole('button', { name: 'Replay all dead' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Replay' }).click();
    await page.getByText('Nothing to replay.').waitFor();
    await screenshot(page, 'dashboard-6-webhook-logs');
    expectQuietConsole();
  });

  it('lists calls live as they ring, and sets a policy that rejects them with a text', async () => {
    await page.getByRole('link', { name: 'Connections' }).first().click();
    await card().getByRole('button', { name: `More actions for ${connectionId}` }).click();
    await page.getByRole('menuitem', { name: 'Calls' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('No calls yet').waitFor();
    const ring = () => phone<{ id: string; state: string; at: number }>('POST', `/contacts/${contactNo}/calls`, { to: phoneNo });

    const first = await ring();
    const firstRow = dialog.locator(`[data-call-id="${first.id}"]`);
    await firstRow.waitFor({ timeout: 20_000 });
    await expect.poll(() => firstRow.textContent()).toContain('rang');
    expect(await firstRow.textContent()).toContain(`+${contactNo}`);

    // The text waits for a reject: its field is off until Reject is ticked.
    expect(await dialog.getByLabel('Then send the caller').isDisabled()).toBe(true);
    await dialog.getByRole('checkbox', { name: 'Reject calls' }).click();
    await dialog.getByLabel('Then send the caller').fill('Please write instead.');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Calls will be rejected.').waitFor();
    expect((await tenant.api.get(`/api/connections/${connectionId}`)).body.calls).toEqual({ reject: true, message: 'Please write instead.' });

    // WhatsApp stamps a call in whole seconds, and calls of the same second have no order between them:
    // the second call rings over a second after the first, so in a later second.
    await new Promise((r) => setTimeout(r, Math.max(0, first.at + 1100 - Date.now())));
    const second = await ring();
    const secondRow = dialog.locator(`[data-call-id="${second.id}"]`);
    await secondRow.waitFor({ timeout: 20_000 });
    await expect.poll(() => secondRow.textContent()).toContain('rejected');
    // Newest first.
    expect(await dialog.locator('[data-call-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-call-id')))).toEqual([second.id, first.id]);
    await eventually(async () => (await phone<Array<{ id: string; state: string }>>('GET', '/calls')).find((c) => c.id === second.id)?.state === 'rejected', 'the emulator to see the reject');
    await screenshot(page, 'dashboard-6b-calls');

    await dialog.getByRole('checkbox', { name: 'Reject calls' }).click();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Calls will ring.').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expectQuietConsole();
  });

  it('creates an API key, shows it once, and revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).first().click();
    await page.getByRole('button', { name: 'New API key' }).click();
    await page.getByLabel('Name').fill('browser test key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-api-key').textContent())!;
    expect(key).toMatch(/^sk_live_/);
    expect((await call('GET', '/api/connections', { key })).status).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();

    const row = page.locator('[data-testid="api-key-row"][data-key-name="browser test key"]');
    await expect.poll(() => row.textContent()).toContain(key.slice(0, 12));
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke' }).click();
    await row.getByTestId('key-revoked').waitFor();
    expect((await call('GET', '/api/connections', { key })).status).toBe(401);
    await screenshot(page, 'dashboard-7-api-keys');
    expectQuietConsole();
  });

  it('updates the overview live', async () => {
    await page.getByRole('link', { name: 'Overview' }).first().click();
    const inbound = page.getByTestId('stat-inbound');
    await inbound.waitFor();
    expect(await page.getByTestId('stat-connected').textContent()).toBe('1');
    const before = Number(await inbound.textContent());
    expect(before).toBeGreaterThanOrEqual(3);
    await markDocument(page);
    await contactSays('One more');
    await expect.poll(async () => Number(await inbound.textContent()), { timeout: 15_000 }).toBe(before + 1);
    await expectSameDocument(page);
    expectQuietConsole();
  });

  it('links with a phone number (the code shown large), logs out and deletes, each after a confirmation', async () => {
    const second = `pair-${randomUUID().slice(0, 6)}`;
    const secondPhone = phoneNumber();
    await phone('POST', '/accounts', { phone: secondPhone, name: 'Second phone' });
    expect((await tenant.api.post('/api/connections', { connection_id: second })).status).toBe(201);
    await page.getByRole('link', { name: 'Connections' }).first().click();
    const secondCard = page.locator(`[data-testid="connection-card"][data-connection-id="${second}"]`);
    await secondCard.getByRole('button', { name: 'Phone number' }).click();
    await page.getByLabel('Phone number of the WhatsApp account').fill(`+${secondPhone}`);
    await page.getByRole('button', { name: 'Get code' }).click();
    const shown = (await page.getByTestId('pairing-code').textContent({ timeout: 45_000 }))!;
    expect(shown).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await screenshot(page, 'dashboard-7b-pairing-code');
    await phone('POST', `/accounts/${secondPhone}/pairing-code`, { code: shown.replace('-', '') });
    await page.getByTestId('pairing-code').waitFor({ state: 'detached', timeout: 30_000 });
    await secondCard.locator('[data-testid="connection-status"][data-status="connected"]').waitFor();

    await secondCard.getByRole('button', { name: `More actions for ${second}` }).click();
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await tenant.api.get(`/api/connections/${second}`)).body.status).toBe('connected');
    await secondCard.getByRole('button', { name: `More actions for ${second}` }).click();
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Log out' }).click();
    await secondCard.locator('[data-testid="connection-status"][data-status="logged_out"]').waitFor({ timeout: 30_000 });

    await secondCard.getByRole('button', { name: `More actions for ${second}` }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await secondCard.waitFor({ state: 'detached' });
    expect((await tenant.api.get(`/api/connections/${second}`)).status).toBe(404);
    expectQuietConsole();
  });

  it("replaces the QR on each qr-update from the live stream, and counts down to its expiry", { timeout: 120_000 }, async () => {
    const third = `qr-${randomUUID().slice(0, 6)}`;
    expect((await tenant.api.post('/api/connections', { connection_id: third })).status).toBe(201);
    // The API keeps answering with the first QR, so a new one can only come from the realtime stream.
    let first: { status: number; body: string } | undefined;
    await page.route('**/api/get-qr/**', async (route) => {
      if (!first?.body.includes('qr_raw":"')) {
        const res = await route.fetch();
        first = { status: res.status(), body: await res.text() };
      }
      await route.fulfill({ status: first.status, contentType: 'application/json', body: first.body });
    });
    try {
      await page.getByRole('link', { name: 'Overview' }).first().click();
      await page.getByRole('link', { name: 'Connections' }).first().click();
      await page.locator(`[data-testid="connection-card"][data-connection-id="${third}"]`).getByRole('button', { name: 'Scan QR' }).click();
      const qr = page.getByTestId('qr-image');
      await qr.waitFor({ timeout: 45_000 });
      const before = await qr.getAttribute('data-qr-raw');
      const seconds = async () => Number((await page.getByTestId('qr-expiry').textContent())?.match(/(\d+) s/)?.[1] ?? NaN);
      const left = await seconds();
      await expect.poll(seconds).toBeLessThan(left);
      // Baileys shows each QR for 60 s (later ones 20 s), then emits the next.
      await expect.poll(() => qr.getAttribute('data-qr-raw'), { timeout: 80_000, interval: 1000 }).not.toBe(before);
      expect(await seconds()).toBeGreaterThan(10);
      await page.keyboard.press('Escape');
    } finally {
      await page.unroute('**/api/get-qr/**');
    }
    expectQuietConsole();
  });

  it('fits a phone screen and has a dark mode, on every page', async () => {
    const phoneView = await openPage(browser, { width: 375, height: 812 });
    try {
      await logIn(phoneView.page, tenant);
      await phoneView.page.getByRole('button', { name: 'Switch to dark mode' }).click();
      expect(await phoneView.page.locator('html').getAttribute('class')).toContain('dark');
      const pages = ['/', '/connections', `/messages/${connectionId}`, `/messages/${connectionId}/${encodeURIComponent(contactJid)}`, `/webhooks/${connectionId}`, '/api-keys', '/sandbox'];
      for (const [i, path] of pages.entries()) {
        await phoneView.page.goto(path);
        await phoneView.page.locator('main h1, [data-testid="chat-title"]').first().waitFor();
        await phoneView.page.waitForLoadState('networkidle').catch(() => {});
        await expectNoHorizontalScroll(phoneView.page);
        await screenshot(phoneView.page, `dashboard-8-phone-${i}-${path.split('/')[1] || 'overview'}`);
      }
      // The choice survives a reload.
      await phoneView.page.reload();
      expect(await phoneView.page.locator('html').getAttribute('class')).toContain('dark');
      expect(phoneView.problems).toEqual([]);
    } finally {
      await phoneView.context.close();
    }
  });

  it('sends an expired session back to the login page, and logs out', async () => {
    const db = database();
    const [user] = await db.select({ id: users.id }).from(users).where(eq(users.tenantId, tenant.tenantId));
    await db.delete(sessions).where(eq(sessions.userId, user!.id));
    // The next request the page makes (here: the key list, reloaded as the page opens) is refused.
    await page.getByRole('link', { name: 'API keys' }).first().click();
    await page.waitForURL(/\/login\?next=%2Fapi-keys/);
    await page.getByText('Your session has ended. Please log in again.').waitFor();
    const refused = watched.problems.filter((p) => p.startsWith('('));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((p) => p.startsWith('(401 from GET /api/'))).toBe(true);
    watched.problems.length = 0;

    await page.getByLabel('Email').fill(tenant.email);
    await page.getByLabel('Password').fill(tenant.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/api-keys$/);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/);
    await page.goto('/connections');
    await page.waitForURL(/\/login\?next=/);
    expectQuietConsole();
  });
});

// The Sandbox page as a newcomer uses it, without a phone: the stack runs with the emulator (as under
// SANDBOX=1), the page plays the phone that scans a connection's QR and the contact who writes to it, and
// shows what the contact received back from the dashboard's composer.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, eventually, newTenant, uniqueId } from '../harness/api';
import { launchBrowser, logIn, openPage, screenshot, type WatchedPage } from '../harness/browser';
import { launchRunner, phoneNumber, stopRunners } from '../harness/whatsapp';

let browser: Browser;
let watched: WatchedPage;
let page: Page;
let tenant: Awaited<ReturnType<typeof newTenant>>;
const connectionId = uniqueId('sbx');
const phoneNo = phoneNumber();
const contactNo = phoneNumber();

beforeAll(async () => {
  await launchRunner();
  browser = await launchBrowser();
  tenant = await newTenant('sandbox-page');
  expect((await tenant.api.post('/api/connections', { connection_id: connectionId })).status).toBe(201);
  watched = await openPage(browser);
  page = watched.page;
});

afterAll(async () => {
  await browser?.close();
  await stopRunners();
  await closeDatabase();
});

describe('sandbox page', () => {
  it('links a connection, writes as a contact and shows what the contact received', async () => {
    await logIn(page, tenant, '/sandbox');
    await page.getByRole('heading', { name: 'Sandbox' }).waitFor();

    await page.locator('#phone-name').fill('Sandbox phone');
    await page.locator('#phone-number').fill(`+${phoneNo}`);
    await page.getByRole('button', { name: 'Add phone' }).click();
    const phoneRow = page.locator(`[data-testid="sandbox-phone"][data-phone="${phoneNo}"]`);
    await phoneRow.waitFor();
    await page.locator('#contact-name').fill('Bob');
    await page.locator('#contact-number').fill(contactNo);
    await page.getByRole('button', { name: 'Add contact' }).click();
    const contactRow = page.locator(`[data-testid="sandbox-contact"][data-phone="${contactNo}"]`);
    await contactRow.waitFor();

    await phoneRow.getByLabel('Connection to link').selectOption(connectionId);
    await phoneRow.getByRole('button', { name: 'Scan its QR' }).click({ timeout: 5_000 });
    await page.getByText(`Sandbox phone scanned the QR of “${connectionId}”.`).waitFor({ timeout: 45_000 });
    await eventually(async () => (await tenant.api.get(`/api/connections/${connectionId}`)).body.status === 'connected', 'the connection to be connected');
    await expect.poll(() => phoneRow.textContent(), { timeout: 10_000 }).toContain('1 linked device');

    await contactRow.getByLabel('Write to').selectOption(phoneNo);
    await contactRow.getByLabel('Message from the contact').fill('Hi from Bob');
    await contactRow.getByRole('button', { name: 'Send' }).click();
    await eventually(async () => {
      const chats = await tenant.api.get(`/api/chats/${connectionId}`);
      return chats.body.some((c: { chat_id: string; last_message: string }) => c.chat_id === `${contactNo}@s.whatsapp.net` && c.last_message === 'Hi from Bob');
    }, 'the contact message to be stored');

    // Answer from the Messages page; the Sandbox page shows it in the contact's inbox.
    await page.getByRole('link', { name: 'Messages' }).first().click();
    await page.locator(`[data-testid="chat-item"][data-chat-id="${contactNo}@s.whatsapp.net"]`).click();
    await page.getByLabel('Message', { exact: true }).fill('Hello Bob, this is the gateway');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="message-status"][data-status="delivered"]').waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'Sandbox' }).first().click();
    await expect.poll(() => contactRow.getByTestId('sandbox-inbox').textContent(), { timeout: 15_000 }).toContain('Hello Bob, this is the gateway');
    await screenshot(page, 'sandbox-page');
    expect(watched.problems).toEqual([]);
  });
});

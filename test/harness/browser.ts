// Browser tests: Debian's Chromium (never a downloaded browser) driven by playwright-core, headless, against
// the stack's own dashboard. Each page records what the console reports, so a test can insist on none,
// and saves a screenshot under test-results/ (ignored by git) for whoever wants to look.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { baseUrl } from './api';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RESULTS = path.resolve('test-results');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set CHROMIUM_PATH. The browser tests never download one.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The machine has no network beyond loopback: no background fetches, no GPU, no sandbox as root.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** console errors and warnings, and uncaught exceptions, in order. */
  problems: string[];
}

export async function openPage(browser: Browser, viewport = { width: 1280, height: 860 }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, baseURL: baseUrl() });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`(${r.status()} from ${r.request().method()} ${new URL(r.url()).pathname})`));
  return { page, context, problems };
}

export async function logIn(page: Page, who: { email: string; password: string }, at = '/') {
  await page.goto(at);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('tenant-name').waitFor();
}

export async function screenshot(page: Page, name: string) {
  await mkdir(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, `${name}.png`), fullPage: true });
}

/** Marks the document, so that a test can tell later that it was not reloaded in between. */
export async function markDocument(page: Page) {
  await page.evaluate('window.__notReloaded = true');
}
export async function expectSameDocument(page: Page) {
  expect(await page.evaluate('window.__notReloaded === true'), 'the page was reloaded').toBe(true);
}

/** Nothing wider than the viewport: the page is usable without sideways scrolling. */
export async function expectNoHorizontalScroll(page: Page, what = page.url()) {
  // Strings, not functions: the Node-side config has no DOM types (the page's code is the dashboard's).
  const { scroll, width } = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })')) as {
    scroll: number;
    width: number;
  };
  expect(scroll, `${what} is wider than the viewport`).toBeLessThanOrEqual(width);
}

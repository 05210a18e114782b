/**
 * The dashboard's browser tests' shared set-up: Debian's Chromium, headless,
 * driven by playwright-core (nothing downloads a browser). One browser per test
 * file; each agent signs in in its own context. Every page's uncaught
 * exceptions and console errors are collected in `problems`, which a file's
 * last test expects empty.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
/** Where the system Chromium is missing the browser tests are skipped. */
export const haveChromium = existsSync(CHROMIUM);
/** Generous: the suite shares two cores with other test files. */
export const WAIT = { timeout: 30_000 };

export interface DashboardBrowser {
  readonly browser: Browser;
  /** Uncaught exceptions and console errors of every page, by page label. */
  readonly problems: string[];
  openPage(label: string, width?: number): Promise<{ context: BrowserContext; page: Page }>;
  signIn(page: Page, token: string): Promise<void>;
  /** Follows a link of the main navigation and waits for the view's heading. */
  go(page: Page, name: string): Promise<void>;
  /** Saves the view to the artifacts folder, after checking that every control on it has a label (SPEC §12). */
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

/** `artifacts`: a folder under test-artifacts/ (ignored by git) for this file's screenshots. */
export async function launchDashboardBrowser(gatewayUrl: string, artifacts: string): Promise<DashboardBrowser> {
  const folder = join(process.cwd(), 'test-artifacts', artifacts);
  mkdirSync(folder, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  const problems: string[] = [];
  return {
    browser,
    problems,
    async openPage(label, width = 1280) {
      const context = await browser.newContext({ viewport: { width, height: 800 } });
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`${label} pageerror: ${error.message}`));
      page.on('console', (message) => {
        // HTTP errors the pages expect (the refused token's 401) are logged as
        // "Failed to load resource"; anything else at error level (a CSP violation, an exception) is a problem.
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
          problems.push(`${label} console: ${message.text()}`);
      });
      return { context, page };
    },
    async signIn(page, token) {
      await page.goto(`${gatewayUrl}/`);
      await page.getByLabel('Token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor(WAIT);
    },
    async go(page, name) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { level: 2 }).first().waitFor(WAIT);
    },
    async screenshot(page, name) {
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea')]
          .filter((control) => (control as HTMLInputElement).labels?.length === 0 && !control.getAttribute('aria-label'))
          .map((control) => control.outerHTML),
      );
      expect(unlabelled, `unlabelled controls on ${name}`).toEqual([]);
      await page.screenshot({ path: join(folder, `${name}.png`) });
    },
    close: () => browser.close(),
  };
}

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ensureRendererBuilt, launchChromium, openDashboard, watchConsole } from './chromium.ts';

export interface ChromiumSuite {
  /** The file's one browser (launched before its first test). */
  readonly browser: Browser;
  /** A bare context (for a page that signs in by itself), closed after the test. */
  newContext(): Promise<BrowserContext>;
  /** A signed-in dashboard page in a fresh context, closed after the test; `errors` collects console errors. */
  open(
    server: { url: string; token: string },
    options?: Parameters<typeof openDashboard>[2],
  ): Promise<{ page: Page; context: BrowserContext; errors: string[] }>;
}

/**
 * One Chromium per test file, the dashboard built if stale, and each test's contexts closed
 * after it: the setup every e2e file shares. Call at the top level of a test file.
 */
export function useChromium(): ChromiumSuite {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    await ensureRendererBuilt();
    browser = await launchChromium();
  }, 180_000);
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get browser() {
      if (!browser) throw new Error('useChromium: the browser starts in beforeAll; use it inside a test');
      return browser;
    },
    async newContext() {
      const context = await this.browser.newContext();
      contexts.push(context);
      return context;
    },
    async open(server, options) {
      const { context, page } = await openDashboard(this.browser, server, options);
      contexts.push(context);
      return { context, page, errors: watchConsole(page) };
    },
  };
}

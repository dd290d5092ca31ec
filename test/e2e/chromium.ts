import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type ConsoleMessage, type Page } from 'playwright-core';

/**
 * Shared by the e2e tests, bench/dashboard and scripts/screenshots: Debian's Chromium
 * (never a downloaded browser), the built dashboard, and a signed-in page.
 */

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const RENDERER_DIR = path.join(ROOT, 'dist/renderer');
const SOURCES = [path.join(ROOT, 'src-renderer'), path.join(ROOT, 'src-shared')];

export const CHROMIUM_PATH = process.env.LOOKOUT_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium) or set LOOKOUT_CHROMIUM`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    if (full.includes(`${path.sep}dist${path.sep}`)) continue;
    newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Whether dist/renderer is missing or older than any renderer or shared source file. */
export function rendererIsStale(): boolean {
  const index = path.join(RENDERER_DIR, 'index.html');
  if (!fs.existsSync(index)) return true;
  const built = fs.statSync(index).mtimeMs;
  return SOURCES.some((dir) => newestMtime(dir) > built);
}

/** Builds the dashboard with the project's own Vite config, unless the build is current. */
export async function ensureRendererBuilt(): Promise<void> {
  if (!rendererIsStale()) return;
  const [{ build }, config] = await Promise.all([import('vite'), import('../../src-renderer/vite.config.ts')]);
  await build({ ...config.default, configFile: false, logLevel: 'warn' });
}

/** A one-time sign-in code, minted with the owner token as `lookout open` does. */
export async function signInCode(server: { url: string; token: string }): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/auth/codes`, {
    method: 'POST',
    headers: { 'x-session-token': server.token },
  });
  if (response.status !== 201) throw new Error(`minting a code answered ${response.status}`);
  return ((await response.json()) as { code: string }).code;
}

/** A context that reports in the given colour scheme, with a page signed in through `/?code=` (as `lookout open` does). */
export async function openDashboard(
  browser: Browser,
  server: { url: string; token: string },
  options: {
    colorScheme?: 'light' | 'dark';
    viewport?: { width: number; height: number };
    initScript?: string;
    /** Runs on the new page before it navigates (to watch its requests from the first one). */
    beforeLoad?: (page: Page) => void;
  } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  if (options.initScript) await context.addInitScript({ content: options.initScript });
  const page = await context.newPage();
  options.beforeLoad?.(page);
  await page.goto(`${server.url}/?code=${encodeURIComponent(await signInCode(server))}`);
  await page
    .getByTestId('connection-state')
    .filter({ hasText: /^Live$/ })
    .waitFor({ timeout: 10_000 });
  return { context, page };
}

/** Collects console errors and uncaught exceptions of a page. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

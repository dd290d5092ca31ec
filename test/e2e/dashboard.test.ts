import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { watchConsole } from './chromium.ts';
import { type ChromiumSuite, useChromium } from './use-chromium.ts';

/**
 * The dashboard end to end: a real runtime on port 0, the built page, Debian's Chromium.
 * One browser for the file; each test gets its own runtime and browser context.
 */

const chromium = useChromium();

const open = (runtime: Runtime, options?: Parameters<ChromiumSuite['open']>[1]) => chromium.open(runtime, options);

type EventInput = { type: string; data?: Record<string, unknown>; metadata?: Record<string, unknown> };

async function publish(runtime: Runtime, events: EventInput[]): Promise<number[]> {
  const numbers: number[] = [];
  for (let i = 0; i < events.length; i += 1000) {
    const response = await api(runtime, '/api/v1/events', {
      method: 'POST',
      json: { events: events.slice(i, i + 1000) },
    });
    expect(response.status).toBe(201);
    numbers.push(
      ...((await response.json()) as { events: { sequence_number: number }[] }).events.map((e) => e.sequence_number),
    );
  }
  return numbers;
}

const chat = (text: string, agent = 'claude'): EventInput => ({
  type: 'chat.message_sent',
  data: { text },
  metadata: { agent },
});
const workflow = (id: string, name: string): EventInput => ({
  type: 'workflow.started',
  data: { workflow_id: id, name },
});

const log = (page: Page) => page.getByRole('log');
const row = (page: Page, seq: number) => log(page).locator(`[data-seq="${seq}"]`);
const heldCount = async (page: Page) => Number(await log(page).getAttribute('data-event-count'));
const shownSeqs = async (page: Page) =>
  (
    await log(page)
      .locator('[data-seq]')
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))))
  ).sort((a, b) => a - b);
const connection = (page: Page) => page.getByTestId('connection-state');
const readOnlyBanner = (page: Page) => page.getByRole('status').filter({ hasText: /^Read-only/ });

/** A `lookout run` child that holds the lock until its stdin closes. */
const HOLDER = [process.execPath, '-e', 'process.stdin.resume()'];

describe('the dashboard', { timeout: 60_000 }, () => {
  it('signs in with a one-time code it drops from the address bar; the access token lives in memory only', async () => {
    const runtime = await startRuntime();

    // The page itself holds no data and needs no credential; everything it shows comes
    // from the API after it signs in.
    const index = await fetch(`${runtime.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-store');
    expect(index.headers.get('set-cookie')).toBeNull();
    const csp = index.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${runtime.port}`);
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    const scripts = [...html.matchAll(/<script[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toMatch(/ src="\/assets\/[^"]+-[A-Za-z0-9_-]{8,}\.js"/);
    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)![1]!;
    const js = await fetch(`${runtime.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${runtime.url}/assets/missing-12345678.js`)).status).toBe(404);
    expect((await fetch(`${runtime.url}/assets/..%2Fpackage.json`)).status).toBe(404);

    const { page, errors } = await open(runtime);
    expect(page.url()).toBe(`${runtime.url}/`);
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: `lookout_refresh_${runtime.port}`,
      httpOnly: true,
      sameSite: 'Strict',
      path: '/api/v1/auth',
    });
    expect(await page.evaluate('document.cookie')).toBe('');
    const storage = (await page.evaluate('JSON.stringify({ ...localStorage, ...sessionStorage })')) as string;
    expect(Object.keys(JSON.parse(storage) as object)).toEqual(['lookout.refresh_binding']);
    expect(storage).not.toContain(runtime.token);
    expect(await page.locator('.user-badge').textContent()).toBe('owner admin');
    expect(errors).toEqual([]);
  });

  it('signs in from the form by POST: the pasted owner token, or a name and password; controls the role may not use say why', async () => {
    const runtime = await startRuntime();
    await api(runtime, '/api/v1/users', {
      method: 'POST',
      json: { name: 'vera', role: 'viewer', password: 'correct horse battery' },
    });
    const context = await chromium.newContext();
    const page = await context.newPage();
    const errors = watchConsole(page);
    const posted: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/auth/sign-in')) posted.push(request.method());
    });
    await page.goto(`${runtime.url}/`);
    const form = page.getByRole('region', { name: 'Sign in to Lookout' });
    await form.waitFor();
    expect(await form.textContent()).toContain('lookout open --print');

    await form.getByLabel('Owner token', { exact: true }).fill('not-the-token');
    await form.getByRole('button', { name: 'Sign in with token' }).click();
    await form
      .getByRole('alert')
      .filter({ hasText: /not valid/ })
      .waitFor();
    await form.getByLabel('Owner token', { exact: true }).fill(runtime.token);
    await form.getByRole('button', { name: 'Sign in with token' }).click();
    await connection(page)
      .filter({ hasText: /^Live$/ })
      .waitFor();
    expect(page.url()).toBe(`${runtime.url}/`);
    expect(posted).toEqual(['POST', 'POST']);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await form.waitFor();
    await form.getByLabel('Name', { exact: true }).fill('vera');
    await form.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await form.getByRole('button', { name: 'Sign in', exact: true }).click();
    await connection(page)
      .filter({ hasText: /^Live$/ })
      .waitFor();
    expect(await page.locator('.user-badge').textContent()).toBe('vera viewer');
    const sync = page.getByRole('button', { name: 'Sync' });
    expect(await sync.isDisabled()).toBe(true);
    expect(await sync.getAttribute('title')).toBe(
      'Your role (viewer) may not do this: it needs operator. Ask an admin.',
    );
    const users = page.getByRole('button', { name: 'Users' });
    expect(await users.isDisabled()).toBe(true);
    expect(await users.getAttribute('title')).toBe('Your role (viewer) may not do this: it needs admin. Ask an admin.');
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });

  it('gives admins a Users page: add, change the role, disable', async () => {
    const runtime = await startRuntime();
    const { page, errors } = await open(runtime);
    await page.getByRole('button', { name: 'Users' }).click();
    const dialog = page.getByRole('dialog', { name: 'Users' });
    await dialog.getByText(/No users yet/).waitFor();
    await dialog.getByLabel("New user's name").fill('Zoë');
    await dialog.getByLabel("New user's role").selectOption('operator');
    await dialog.getByLabel("New user's password").fill('a long password');
    await dialog.getByRole('button', { name: 'Add user' }).click();
    await dialog.getByRole('cell', { name: 'Zoë' }).waitFor();
    await dialog.getByLabel('Role of Zoë').selectOption('viewer');
    await dialog.getByRole('button', { name: 'Disable' }).click();
    await dialog.getByRole('cell', { name: 'disabled' }).waitFor();
    const listed = (await (await api(runtime, '/api/v1/users')).json()) as {
      users: { name: string; role: string; disabled: boolean }[];
    };
    expect(listed.users.map((u) => [u.name, u.role, u.disabled])).toEqual([['Zoë', 'viewer', true]]);
    expect(errors).toEqual([]);
  });

  it('connects and reconnects over the WebSocket: beyond sign-in only a ticket per connection, and the agents and tasks lists once per page (none on reconnect)', async () => {
    const runtime = await startRuntime();
    const before = await publish(runtime, [chat('already there'), workflow('w0', 'build')]);
    // Every socket the page opens, so the test can cut the link like a network drop would.
    const sockets: Duplex[] = [];
    runtime.http.server.on('upgrade', (_req, socket: Duplex) => sockets.push(socket));
    const requests: string[] = [];
    const webSockets: string[] = [];
    const { page, errors } = await open(runtime, {
      beforeLoad: (p) => {
        p.on('request', (request) => {
          if (['fetch', 'xhr', 'eventsource'].includes(request.resourceType())) {
            requests.push(`${request.method()} ${new URL(request.url()).pathname}`);
          }
        });
        p.on('websocket', (ws) => webSockets.push(ws.url()));
      },
    });

    // Everything the first frame needs came with the handshake: the history, the lock,
    // the server's version and workspace, the state.
    await row(page, before[1]!).waitFor();
    expect(await page.locator('.lock-badge').textContent()).toBe('Writable');
    const brand = page.locator('.brand-workspace');
    expect(await brand.textContent()).toBe(path.basename(runtime.config.workspace));
    expect(await brand.getAttribute('title')).toBe(`${runtime.config.workspace} · Lookout ${runtime.info.version}`);
    expect(await page.getByRole('progressbar').getAttribute('aria-valuetext')).toBe('IDLE, 0%');
    expect(webSockets).toHaveLength(1);
    expect(new URL(webSockets[0]!).searchParams.get('tail')).toBe('2000');
    expect(new URL(webSockets[0]!).searchParams.get('since')).toBeNull();

    // The link drops (no close frame); events published meanwhile arrive after the
    // reconnect, resumed from the last one shown, again with no REST call.
    const shownBefore = await heldCount(page);
    for (const socket of sockets.splice(0)) socket.destroy();
    await connection(page)
      .filter({ hasText: /^(Reconnecting|Offline)$/ })
      .waitFor();
    const during = await publish(runtime, [chat('while away')]);
    await connection(page)
      .filter({ hasText: /^Live$/ })
      .waitFor({ timeout: 10_000 });
    await row(page, during[0]!).waitFor();
    expect(webSockets).toHaveLength(2);
    expect(new URL(webSockets[1]!).searchParams.get('since')).toBe(String(during[0]! - 1));
    expect(new URL(webSockets[1]!).searchParams.get('tail')).toBeNull();
    const shown = await shownSeqs(page);
    expect(new Set(shown).size).toBe(shown.length);
    expect(shown).toEqual(Array.from({ length: shownBefore + 1 }, (_, i) => i + 1));

    // The code exchanged once, one single-use ticket per WebSocket, and the agents and
    // tasks lists once per page (not on the reconnect); the rest came over the stream.
    expect(requests.sort()).toEqual([
      'GET /api/v1/agents',
      'GET /api/v1/tasks',
      'POST /api/v1/auth/sign-in',
      'POST /api/v1/auth/ticket',
      'POST /api/v1/auth/ticket',
    ]);
    expect(errors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
  });

  it('shows a published event within 1 s, and its full envelope in the detail drawer', async () => {
    const runtime = await startRuntime();
    const { page, errors } = await open(runtime);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: runtime.url });

    const sent = performance.now();
    const [seq] = await publish(runtime, [
      {
        type: 'workflow.failed',
        data: { workflow_id: 'w1', name: 'deploy', step: 'push', error: 'permission denied' },
        metadata: { agent: 'release-bot' },
      },
    ]);
    await row(page, seq!).waitFor({ timeout: 1000 });
    expect(performance.now() - sent).toBeLessThan(1000);

    const line = row(page, seq!);
    expect(await line.locator('.type').textContent()).toBe('workflow.failed');
    expect(await line.locator('.source').textContent()).toBe('release-bot');
    expect(await line.locator('.summary').textContent()).toBe('deploy failed at push: permission denied');
    expect(await line.locator('.time').textContent()).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
    expect(await line.getAttribute('class')).toContain('ns-workflow');

    await line.click();
    const drawer = page.getByRole('dialog');
    await drawer.waitFor();
    const json = await drawer.getByLabel('Event JSON').textContent();
    const envelope = JSON.parse(json!) as { sequence_number: number; type: string; metadata: Record<string, unknown> };
    expect(envelope).toMatchObject({
      sequence_number: seq,
      type: 'workflow.failed',
      metadata: { agent: 'release-bot' },
    });
    await drawer.getByRole('button', { name: 'Copy as JSON' }).click();
    await drawer.getByRole('button', { name: 'Copied' }).waitFor();
    expect(JSON.parse((await page.evaluate('navigator.clipboard.readText()')) as string)).toEqual(envelope);
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });

    // A clicked desktop notification loads `/#event=N`: the drawer opens on that event.
    await page.evaluate(`window.location.hash = 'event=${seq!}'`);
    await drawer.waitFor();
    expect(JSON.parse((await drawer.getByLabel('Event JSON').textContent())!)).toMatchObject({ sequence_number: seq });
    expect(await page.evaluate('window.location.hash')).toBe('');
    expect(errors).toEqual([]);
  });

  it('opens the detail drawer from the keyboard (↑/↓ then Enter) and keeps it open; Esc closes it and returns to the log', async () => {
    const runtime = await startRuntime();
    const { page, errors } = await open(runtime);
    const seqs = await publish(runtime, [chat('first'), chat('second'), chat('third')]);
    await row(page, seqs[2]!).waitFor();
    const drawer = page.getByRole('dialog');
    const drawerSeq = async () =>
      (JSON.parse((await drawer.getByLabel('Event JSON').textContent())!) as { sequence_number: number })
        .sequence_number;
    const settle = () =>
      page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');

    await log(page).focus();
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await drawer.waitFor();
    // The same Enter must not go on to press the drawer's Close button (it took focus).
    await settle();
    expect(await drawer.count()).toBe(1);
    expect(await drawerSeq()).toBe(seqs[1]);
    expect(await page.evaluate("document.activeElement?.getAttribute('aria-label')")).toBe('Close details');

    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
    expect(await page.evaluate("document.activeElement?.getAttribute('role')")).toBe('log');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await drawer.waitFor();
    await settle();
    expect(await drawerSeq()).toBe(seqs[2]);
    // Enter on the focused Close button is what closes it.
    await page.keyboard.press('Enter');
    await drawer.waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
  });

  it('moves the progress bar with POST /api/v1/system/status', async () => {
    const runtime = await startRuntime();
    const { page, errors } = await open(runtime);
    const bar = page.getByRole('progressbar');
    expect(await bar.getAttribute('aria-valuenow')).toBe('0');
    expect(
      (await api(runtime, '/api/v1/system/status', { method: 'POST', json: { status: 'COLLECTING', progress: 42 } }))
        .status,
    ).toBe(200);
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 2000 }).toBe('42');
    expect(await bar.getAttribute('aria-valuetext')).toBe('COLLECTING, 42%');
    await api(runtime, '/api/v1/system/status', { method: 'POST', json: { status: 'IDLE', progress: 100 } });
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 2000 }).toBe('100');
    expect(errors).toEqual([]);
  });

  it('filters by type patterns and free text (`/` focuses the box), and exports what is shown as JSON lines', async () => {
    const runtime = await startRuntime();
    const { page, errors } = await open(runtime);
    const seqs = await publish(runtime, [
      chat('deploy the release'),
      workflow('w1', 'deploy'),
      chat('lunch?'),
      workflow('w2', 'tests'),
      { type: 'workflow.failed', data: { workflow_id: 'w2', error: 'flaky' } },
    ]);
    await row(page, seqs[4]!).waitFor();
    const [deployChat, deployRun, lunch, tests, failed] = seqs as [number, number, number, number, number];

    await page.keyboard.press('/');
    expect(await page.evaluate('document.activeElement?.id')).toBe('filter-input');
    const filter = page.getByRole('searchbox', { name: /Filter/ });
    await filter.fill('chat.*');
    await expect.poll(() => shownSeqs(page)).toEqual([deployChat, lunch]);
    await filter.fill('deploy');
    await expect.poll(() => shownSeqs(page)).toEqual([deployChat, deployRun]);
    await filter.fill('workflow.* -deploy');
    await expect.poll(() => shownSeqs(page)).toEqual([tests, failed]);
    expect(await page.locator('.log-count').textContent()).toMatch(/^2 of \d+ events$/);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^lookout-events-.*\.jsonl$/);
    const lines = fs
      .readFileSync((await download.path())!, 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { sequence_number: number }).sequence_number)).toEqual([tests, failed]);

    await filter.fill('');
    await expect.poll(async () => (await shownSeqs(page)).length).toBe(await heldCount(page));
    expect(errors).toEqual([]);
  });

  it('runs commands with completion, and reports unknown commands and ids next to the bar', async () => {
    const runtime = await startRuntime();
    const priorities = [
      { id: 'P7', title: 'Ship the dashboard', status: 'open' },
      { id: 'P8', title: 'Write the docs', status: 'open' },
    ];
    expect((await api(runtime, '/api/v1/state/priorities', { method: 'PUT', json: priorities })).status).toBe(200);
    const { page, errors } = await open(runtime);
    const bar = page.getByRole('combobox', { name: /Command/ });
    await page.locator('.side').getByText('Ship the dashboard').waitFor();

    await page.keyboard.press(':');
    expect(await page.evaluate('document.activeElement?.id')).toBe('command-input');
    await bar.pressSequentially('appr');
    await page.getByRole('option', { name: /approve <id>/ }).waitFor();
    await bar.press('Tab');
    expect(await bar.inputValue()).toBe('approve ');
    await page.getByRole('option', { name: /P7/ }).waitFor();
    await bar.pressSequentially('P7');
    await bar.press('Enter');
    await page.locator('.command-result').getByText('Approved P7: Ship the dashboard').waitFor();
    expect(await bar.inputValue()).toBe('');
    await page.getByRole('region', { name: 'Priorities' }).getByText('approved').waitFor();
    const state = (await (await api(runtime, '/api/v1/state')).json()) as {
      priorities: { id: string; status: string }[];
    };
    expect(state.priorities.find((p) => p.id === 'P7')?.status).toBe('approved');

    await bar.fill('frobnicate now');
    await bar.press('Enter');
    const alert = page.locator('.command-result').getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^Unknown command "frobnicate"/);

    await bar.fill('approve P99');
    await bar.press('Enter');
    await page.locator('.command-result').getByText('No priority P99').waitFor();

    // Ctrl+K reaches the bar from anywhere, even from the filter box.
    await page.getByRole('searchbox', { name: /Filter/ }).focus();
    await page.keyboard.press('Control+k');
    expect(await page.evaluate('document.activeElement?.id')).toBe('command-input');
    expect(errors).toEqual([]);
  });

  it('goes read-only while `lookout run` holds the workspace: banner naming the holder, write controls disabled, then recovers', async () => {
    const runtime = await startRuntime();
    await api(runtime, '/api/v1/state/priorities', {
      method: 'PUT',
      json: [{ id: 'P1', title: 'Review the plan', status: 'open' }],
    });
    const { page, errors } = await open(runtime);
    const sync = page.getByRole('button', { name: 'Sync' });
    const approve = page.getByRole('button', { name: 'Approve P1' });
    const command = page.getByRole('combobox', { name: /Command/ });
    await approve.waitFor();
    expect(await sync.isEnabled()).toBe(true);
    expect(await readOnlyBanner(page).count()).toBe(0);

    const run = spawnLookout(['run', '--workspace', runtime.config.workspace, '--', ...HOLDER]);
    const pid = run.child.pid!;
    // The server hands the lock over first (read-only, nobody holds it), then the CLI takes it.
    const banner = readOnlyBanner(page).filter({ hasText: `CLI pid ${pid}` });
    await banner.waitFor({ timeout: 10_000 });
    expect(await banner.textContent()).toMatch(
      new RegExp(`^Read-only — CLI pid ${pid} since \\d\\d:\\d\\d holds the workspace`),
    );
    expect(await page.locator('.lock-badge').textContent()).toBe(`CLI pid ${pid}`);
    for (const control of [sync, approve, command]) {
      expect(await control.isDisabled()).toBe(true);
      expect(await control.getAttribute('title')).toBe(
        `Read-only: the workspace is held by the CLI (pid ${pid}); changes resume when it is released`,
      );
    }

    run.child.stdin!.end();
    expect(await run.exited).toBe(0);
    await readOnlyBanner(page).waitFor({ state: 'detached', timeout: 10_000 });
    await expect.poll(() => sync.isEnabled()).toBe(true);
    expect(await approve.isEnabled()).toBe(true);
    expect(await command.isEnabled()).toBe(true);
    expect(await page.locator('.lock-badge').textContent()).toBe('Writable');
    expect(errors).toEqual([]);
  });

  it('survives a server restart: Reconnecting, then Live again without signing in, no duplicate rows', async () => {
    const first = await startRuntime();
    const { workspace } = first.config;
    const port = first.port;
    const { page, errors } = await open(first);
    const before = await publish(first, [chat('one'), chat('two'), chat('three')]);
    await row(page, before[2]!).waitFor();

    await first.stop();
    await connection(page)
      .filter({ hasText: /^(Reconnecting|Offline)$/ })
      .waitFor({ timeout: 5000 });
    expect(await connection(page).textContent()).toBe('Reconnecting');
    // The true reason, everywhere: offline, not read-only; the lock badge no longer vouches for "Writable".
    const command = page.getByRole('combobox', { name: /Command/ });
    expect(await command.isDisabled()).toBe(true);
    expect(await command.getAttribute('placeholder')).toBe(
      'Commands are disabled while offline: not connected to the server',
    );
    expect(await command.getAttribute('title')).toBe(
      'Not connected to the server: changes resume when the connection is back',
    );
    const badge = page.locator('.lock-badge');
    expect(await badge.textContent()).toBe('Lock unknown');
    expect(await badge.getAttribute('data-mode')).toBe('unknown');
    expect(await badge.getAttribute('title')).toMatch(/last known: writable/);

    const second = await createRuntime({ workspace, port, logLevel: 'warn' });
    try {
      // The sign-in outlives the restart (the signing key and the refresh family are in
      // the workspace): the page comes back by itself, nothing asks.
      await connection(page)
        .filter({ hasText: /^Live$/ })
        .waitFor({ timeout: 20_000 });
      expect(await page.getByRole('region', { name: 'Sign in to Lookout' }).count()).toBe(0);
      await expect.poll(() => page.locator('.lock-badge').textContent()).toBe('Writable');
      expect(await command.getAttribute('placeholder')).toMatch(/^Command: /);

      const after = await publish(second, [chat('four'), chat('five')]);
      await row(page, after[1]!).waitFor({ timeout: 2000 });
      const stored = second.bus.log.lastSequenceNumber;
      await expect.poll(() => heldCount(page)).toBe(stored);
      const shown = await shownSeqs(page);
      expect(new Set(shown).size).toBe(shown.length);
      expect(shown).toEqual(Array.from({ length: stored }, (_, i) => i + 1));

      // And across a reload: the binding and cookie resume the sign-in, no form.
      await page.reload();
      await connection(page)
        .filter({ hasText: /^Live$/ })
        .waitFor({ timeout: 10_000 });
      expect(await page.getByRole('region', { name: 'Sign in to Lookout' }).count()).toBe(0);
    } finally {
      await second.stop();
    }
    // What a dropped server looks like from the page; anything else is a bug.
    const expected = /WebSocket connection to .* failed|Failed to load resource: net::ERR_CONNECTION_REFUSED/;
    expect(errors.filter((e) => !expected.test(e))).toEqual([]);
  });

  it('a tab whose sign-in ends stops retrying and asks to sign in (no request loop with a dead credential)', async () => {
    const runtime = await startRuntime();
    const { page } = await open(runtime);
    let authorized = 0;
    page.on('request', (request) => {
      if (request.headers().authorization || request.url().includes('/auth/refresh') || request.url().includes('/ws'))
        authorized++;
    });
    // Rotating the key ends every sign-in: the open stream closes and the refresh is refused.
    expect((await api(runtime, '/api/v1/auth/rotate-key', { method: 'POST' })).status).toBe(200);
    const form = page.getByRole('region', { name: 'Sign in to Lookout' });
    await form.waitFor({ timeout: 10_000 });
    expect(await form.textContent()).toMatch(/sign-in has ended/);
    const settled = authorized;
    await page.waitForTimeout(3000); // long enough for several reconnect attempts, were there any
    expect(authorized).toBe(settled);
    expect(await connection(page).textContent()).toBe('Offline');
  });

  it('sticks to the bottom until scrolled up, then offers "Jump to latest (N new)"; pause holds events until resumed', async () => {
    const runtime = await startRuntime();
    const { page, errors } = await open(runtime);
    const seqs = await publish(
      runtime,
      Array.from({ length: 200 }, (_, i) => chat(`message ${i}`)),
    );
    await row(page, seqs[199]!).waitFor();
    expect(await row(page, seqs[199]!).isVisible()).toBe(true);

    await log(page).hover();
    await page.mouse.wheel(0, -1500);
    await expect.poll(() => row(page, seqs[199]!).count()).toBe(0);
    const more = await publish(
      runtime,
      Array.from({ length: 5 }, (_, i) => chat(`later ${i}`)),
    );
    const jump = page.getByRole('button', { name: 'Jump to latest (5 new)' });
    await jump.waitFor();
    expect(await row(page, more[4]!).count()).toBe(0); // the view stayed where the user put it
    await jump.click();
    await row(page, more[4]!).waitFor();
    await jump.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Pause' }).click();
    const held = await publish(runtime, [chat('held 1'), chat('held 2'), chat('held 3')]);
    const resume = page.getByRole('button', { name: 'Resume (3 new)' });
    await resume.waitFor();
    expect(await row(page, held[0]!).count()).toBe(0);
    await resume.click();
    await row(page, held[2]!).waitFor();
    expect(errors).toEqual([]);
  });

  it('loads older events through the notice at the top, and shows a sparkline and namespace breakdown', async () => {
    const runtime = await startRuntime();
    await publish(
      runtime,
      Array.from({ length: 2600 }, (_, i) => (i % 2 ? chat(`m${i}`) : workflow(`w${i}`, 'build'))),
    );
    const { page, errors } = await open(runtime);
    // Read after signing in: the sign-in itself is an event (auth.signed_in).
    const stored = runtime.bus.log.lastSequenceNumber;
    await expect.poll(() => heldCount(page)).toBe(2000);

    await log(page).focus();
    await page.keyboard.press('Home');
    const notice = log(page).locator('.row.gap');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/older, not loaded/);
    await notice.getByRole('button', { name: /^Load/ }).click();
    await expect.poll(() => heldCount(page)).toBe(stored);
    await notice.waitFor({ state: 'detached' });
    await row(page, 1).waitFor();

    const breakdown = page.getByRole('list', { name: /Events by namespace/ });
    await breakdown.getByText('workflow').waitFor();
    await breakdown.getByText('chat').waitFor();
    expect(await page.getByRole('img', { name: /Events per second/ }).count()).toBe(1);
    await breakdown.getByRole('button', { name: /chat/ }).click();
    expect(await page.getByRole('searchbox', { name: /Filter/ }).inputValue()).toBe('chat.*');
    expect(errors).toEqual([]);
  });
});

import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DesktopApp } from '../../src-main/desktop/electron-main/desktop-app.ts';
import type { ToggleRuntime } from '../../src-main/desktop/server-toggle.ts';
import { buildTrayMenu } from '../../src-main/desktop/tray-menu-model.ts';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { workspacePaths } from '../../src-main/workspace.ts';
import { tempWorkspace } from '../helpers/workspace.ts';
import * as electron from './fake-electron.ts';

// The adapters import `electron`; here it is the fake, installed explicitly.
vi.mock('electron', () => import('./fake-electron.ts'));

const { launchDesktopApp } = await import('../../src-main/desktop/electron-main/desktop-app.ts');
const { TrayController } = await import('../../src-main/desktop/electron-main/tray.ts');

const root = path.resolve(import.meta.dirname, '../..');

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let launched: DesktopApp[] = [];
beforeEach(() => {
  electron.resetFakeElectron();
  electron.app.appPath = root;
});
afterEach(async () => {
  await Promise.all(launched.map((a) => a.toggle.stop()));
  launched = [];
});

/** Launches the real shell over the fake Electron, with real runtimes on port 0. */
async function launch(options: { workspace?: string; stopDelayMs?: number; argv?: string[] } = {}) {
  const workspace = options.workspace ?? tempWorkspace();
  const runtimes: Runtime[] = [];
  const signals = new EventEmitter();
  const logs: string[] = [];
  const app = await launchDesktopApp({
    argv: options.argv ?? ['/usr/bin/electron', '.', '--workspace', workspace],
    cwd: root,
    env: { LOOKOUT_PORT: '0', LOOKOUT_LOG_LEVEL: 'warn' },
    userDataDir: tempWorkspace(),
    signals,
    quitTimeoutMs: 5000,
    preloadPath: '/app/preload.cjs',
    log: (message) => logs.push(message),
    createRuntime: async (config): Promise<ToggleRuntime> => {
      const runtime = await createRuntime(config);
      runtimes.push(runtime);
      if (!options.stopDelayMs) return runtime;
      const delay = options.stopDelayMs;
      return {
        ...runtime,
        stop: () => new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => runtime.stop()),
      };
    },
  });
  if (!app) throw new Error('launch returned null');
  launched.push(app);
  const win = electron.BrowserWindow.instances.at(-1)!;
  const tray = electron.Tray.instances.at(-1)!;
  return { app, win, tray, signals, runtimes, logs, workspace: fs.realpathSync(workspace) };
}

const url = (app: DesktopApp): string => (app.toggle.state.status === 'running' ? app.toggle.state.url : '');

async function refused(target: string): Promise<boolean> {
  try {
    await fetch(`${target}/health`);
    return false;
  } catch {
    return true;
  }
}

describe('the tray adapter', () => {
  it('builds the Menu from the model, keeps the Tray, and routes clicks to the dispatcher', () => {
    const dispatched: unknown[] = [];
    const controller = new TrayController((action) => dispatched.push(action));
    const items = buildTrayMenu({
      server: { status: 'running', url: 'http://127.0.0.1:3000', address: '127.0.0.1:3000', port: 3000 },
      session: null,
      workspace: '/w/rover',
    });
    controller.render({ items, tooltip: 'Lookout — Running on 127.0.0.1:3000', icon: '/app/build/tray/tray-dark.png' });

    expect(electron.Tray.instances).toHaveLength(1);
    const tray = electron.Tray.instances[0]!;
    expect(controller.tray).toBe(tray as unknown); // the reference that keeps it from being collected
    expect(tray.image.path).toBe('/app/build/tray/tray-dark.png');
    expect(tray.tooltip).toBe('Lookout — Running on 127.0.0.1:3000');
    expect(tray.menu?.labels()).toEqual([
      'Running on 127.0.0.1:3000',
      'Workspace: rover',
      '---',
      'Stop server',
      '---',
      'Open dashboard',
      'Open in browser',
      'Copy lookout env line',
      '---',
      'Switch workspace…',
      '---',
      'Quit Lookout',
    ]);
    expect(tray.menu?.item('Running on 127.0.0.1:3000').enabled).toBe(false);
    tray.menu?.item('Stop server').click?.();
    tray.menu?.item('Quit Lookout').click?.();
    expect(dispatched).toEqual([{ type: 'stop-server' }, { type: 'quit' }]);
  });

  it('rebuilds the menu on every render, swapping the image only when it changes; template images on macOS', () => {
    const controller = new TrayController(() => undefined);
    const stopped = buildTrayMenu({ server: { status: 'stopped' }, session: null, workspace: '/w/rover' });
    controller.render({ items: stopped, tooltip: 'a', icon: '/app/build/tray/trayIdleTemplate.png' });
    controller.render({ items: stopped, tooltip: 'b', icon: '/app/build/tray/trayIdleTemplate.png' });
    const tray = electron.Tray.instances[0]!;
    const firstImage = tray.image;
    expect(firstImage.template).toBe(true);
    controller.render({ items: stopped, tooltip: 'c', icon: '/app/build/tray/trayTemplate.png' });
    expect(electron.Tray.instances).toHaveLength(1);
    expect(electron.Menu.built).toHaveLength(3);
    expect(tray.image).not.toBe(firstImage);
    expect(tray.image.path).toBe('/app/build/tray/trayTemplate.png');
    controller.destroy();
    expect(tray.destroyed).toBe(true);
  });
});

describe('the preload adapter', () => {
  it('exposes window.lookout through the context bridge, validated, over ipcRenderer', async () => {
    const running = {
      server: { status: 'running', url: 'http://127.0.0.1:3000', address: '127.0.0.1:3000', port: 3000 },
      session: null,
      workspace: '/w',
    };
    electron.ipcRenderer.answer = () => running;
    await import('../../src-main/desktop/electron-main/preload.ts');
    const api = electron.contextBridge.exposed.get('lookout') as {
      getState(): Promise<unknown>;
      startServer(o?: unknown): Promise<unknown>;
      onStateChange(l: (s: unknown) => void): () => void;
    };
    expect(Object.keys(api).sort()).toEqual([
      'chooseWorkspace',
      'copyCliEnv',
      'getState',
      'onStateChange',
      'openInBrowser',
      'signInCode',
      'startServer',
      'stopServer',
    ]);
    expect(await api.getState()).toEqual(running);
    await expect(api.startServer({ free_port: 'x' })).rejects.toThrow(/invalid request on server:start/);
    expect(electron.ipcRenderer.invoked).toEqual([{ channel: 'server:state', payload: undefined }]);

    const seen: unknown[] = [];
    const off = api.onStateChange((state) => seen.push(state));
    electron.ipcRenderer.emit('server:state-changed', { sender: 'the event object' }, running);
    off();
    electron.ipcRenderer.emit('server:state-changed', {}, running);
    expect(seen).toEqual([running]); // the payload only, never the IPC event
  });
});

describe('the main adapter (desktop-app.ts over a mocked Electron, real runtimes)', () => {
  it('launches: single-instance lock, hardened window that signs in over IPC with a one-time code, tray and IPC wired', async () => {
    const { app, win, tray, workspace, runtimes } = await launch();
    expect(electron.app.lockData).toEqual({ workspace });
    expect(app.toggle.state.status).toBe('running');
    const runtime = runtimes[0]!;

    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      preload: '/app/preload.cjs',
    });
    expect(win.options.webPreferences.session.partition).toBe('lookout');
    // No cookie is planted and no credential rides in the URL: the page asks for a
    // one-time code over IPC and exchanges it by POST, like `lookout open`.
    expect(win.webContents.session.cookiesSet).toEqual([]);
    await waitFor(() => win.loaded.includes(`${runtime.url}/`), 'the dashboard to load');
    expect(win.loaded.every((loaded) => !loaded.includes(runtime.token))).toBe(true);
    const fromWindow = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
    const minted = (await electron.ipcMain.handlers.get('auth:sign-in-code')!(fromWindow)) as { code: string };
    const exchange = () =>
      fetch(`${runtime.url}/api/v1/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: minted.code }),
      });
    expect((await exchange()).status).toBe(200);
    expect((await exchange()).status).toBe(401);

    expect(tray.menu?.labels()[0]).toBe(`Running on 127.0.0.1:${runtime.port}`);
    expect(tray.image.path).toBe(path.join(root, 'build/tray/tray-light.png'));
    expect([...electron.ipcMain.handlers.keys()].sort()).toEqual([
      'auth:sign-in-code',
      'cli:copy-env',
      'server:open-in-browser',
      'server:start',
      'server:state',
      'server:stop',
      'workspace:choose',
    ]);
    expect(app.settings.value.recent_workspaces).toEqual([workspace]);
    expect(electron.Menu.applicationMenu?.item('Open Recent')).toBeDefined();
  });

  it('tray Stop and Start drive the runtime; the window switches to the status page and back', async () => {
    const { win, tray, app } = await launch();
    const first = url(app);
    tray.menu!.item('Stop server').click!();
    await waitFor(() => app.toggle.state.status === 'stopped', 'the server to stop');
    expect(await refused(first)).toBe(true);
    expect(tray.menu?.labels()[0]).toBe('Stopped');
    expect(tray.image.path).toMatch(/tray-light-idle\.png$/);
    expect(win.loaded.at(-1)).toMatch(/^data:text\/html;charset=utf-8;base64,/);
    expect(Buffer.from(win.loaded.at(-1)!.split(',')[1]!, 'base64').toString()).toContain('Server stopped');

    tray.menu!.item('Start server').click!();
    await waitFor(() => app.toggle.state.status === 'running', 'the server to start again');
    await waitFor(() => win.loaded.at(-1) === `${url(app)}/`, 'the dashboard to come back');
  });

  it('tray Copy env line and Open in browser use the running server', async () => {
    const { tray, app, runtimes } = await launch();
    const runtime = runtimes[0]!;
    tray.menu!.item('Copy lookout env line').click!();
    expect(electron.clipboard.text).toBe(
      `export LOOKOUT_URL=${runtime.url} LOOKOUT_TOKEN=${runtime.token} LOOKOUT_WORKSPACE=${app.switcher.current}`,
    );
    tray.menu!.item('Open in browser').click!();
    // The one-time code comes from the store (shared by every server in team mode): a moment later.
    await vi.waitFor(() => expect(electron.shell.opened).toHaveLength(1));
    expect(electron.shell.opened[0]).toMatch(new RegExp(`^${runtime.url}/\\?code=[\\w-]+$`));
    expect(electron.shell.opened[0]).not.toContain(runtime.token);
  });

  it('answers the preload API only for its own window, with validated state', async () => {
    const { win, app } = await launch();
    const handler = (channel: string) => electron.ipcMain.handlers.get(channel)!;
    const fromWindow = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
    await waitFor(() => win.webContents.url.startsWith('http'), 'the dashboard');
    expect(await handler('server:state')(fromWindow)).toMatchObject({
      server: { status: 'running' },
      workspace: app.switcher.current,
    });
    expect(JSON.stringify(await handler('server:state')(fromWindow))).not.toContain(app.toggle.runtime!.token);
    await expect(
      Promise.resolve(handler('server:stop')({ sender: {}, senderFrame: win.webContents.mainFrame })),
    ).rejects.toThrow(/refused/);
    await expect(
      Promise.resolve(
        handler('server:stop')({
          sender: win.webContents,
          senderFrame: { url: 'https://evil.example/', parent: null },
        }),
      ),
    ).rejects.toThrow(/refused/);
    await expect(Promise.resolve(handler('server:start')(fromWindow, { free_port: 'yes' }))).rejects.toThrow(
      /invalid request/,
    );
    expect(app.toggle.state.status).toBe('running');

    expect(await handler('server:stop')(fromWindow)).toMatchObject({ server: { status: 'stopped' } });
    // The status page (a data: URL) may call back to start it.
    await waitFor(() => win.webContents.url.startsWith('data:'), 'the status page');
    const fromStatusPage = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
    expect(await handler('server:start')(fromStatusPage, { free_port: true })).toMatchObject({
      server: { status: 'running' },
    });
    // Pushes reach the page after each change.
    expect(win.webContents.sent.map((m) => m.channel)).toContain('server:state-changed');
  });

  it('quit from before-quit (app menu, Cmd+Q): prevented, runtime stopped, then exit 0', async () => {
    const { app, workspace } = await launch();
    const serverUrl = url(app);
    const event = electron.fakeEvent();
    electron.app.emit('before-quit', event);
    expect(event.prevented).toBe(true);
    await waitFor(() => electron.app.exitCodes.length > 0, 'the app to exit');
    expect(electron.app.exitCodes).toEqual([0]);
    expect(app.toggle.state.status).toBe('stopped');
    expect(fs.existsSync(workspacePaths(workspace).serverInfo)).toBe(false);
    expect(await refused(serverUrl)).toBe(true);
  });

  it('tray Quit and SIGTERM take the same path; a second SIGTERM while stopping forces exit 130', async () => {
    const { tray, signals, logs } = await launch({ stopDelayMs: 300 });
    tray.menu!.item('Quit Lookout').click!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(electron.app.exitCodes).toEqual([]); // still stopping
    signals.emit('SIGTERM');
    expect(electron.app.exitCodes).toEqual([130]);
    expect(logs).toEqual([
      'quit requested (tray): stopping the server (at most 5000 ms)',
      'quitting: forced (SIGTERM while stopping)',
    ]);
  });

  it('SIGINT alone stops cleanly', async () => {
    const { signals, app } = await launch();
    signals.emit('SIGINT');
    await waitFor(() => electron.app.exitCodes.length > 0, 'the app to exit');
    expect(electron.app.exitCodes).toEqual([0]);
    expect(app.toggle.state.status).toBe('stopped');
  });

  it('OS shutdown goes through the quit sequence without blocking', async () => {
    await launch();
    electron.powerMonitor.emit('shutdown');
    await waitFor(() => electron.app.exitCodes.length > 0, 'the app to exit');
    expect(electron.app.exitCodes).toEqual([0]);
  });

  it('closing the window hides it to the tray with a one-time hint; with close-to-tray off it quits', async () => {
    const { win, app } = await launch();
    expect(win.userCloses()).toBe(false);
    expect(win.visible).toBe(false);
    expect(electron.Notification.instances.map((n) => n.options.title)).toEqual(['Lookout is still running']);
    expect(app.settings.value.close_hint_shown).toBe(true);
    expect(win.userCloses()).toBe(false);
    expect(electron.Notification.instances).toHaveLength(1);
    expect(app.toggle.state.status).toBe('running'); // hidden, still serving

    electron.Menu.applicationMenu!.item('Keep running in the tray when the window closes').click!();
    expect(app.settings.value.close_to_tray).toBe(false);
    expect(win.userCloses()).toBe(false); // prevented: the quit sequence closes it
    await waitFor(() => electron.app.exitCodes.length > 0, 'the app to exit');
    expect(electron.app.exitCodes).toEqual([0]);
  });

  it('a second launch is refused the lock and quits at once', async () => {
    electron.app.singleInstance = false;
    const app = await launchDesktopApp({
      argv: ['lookout', '--workspace', '/tmp'],
      signals: new EventEmitter(),
      userDataDir: tempWorkspace(),
    });
    expect(app).toBeNull();
    expect(electron.app.quitCalls).toBe(1);
    expect(electron.BrowserWindow.instances).toHaveLength(0);
  });

  it('the first instance, told of a second launch with --workspace, focuses and switches to it', async () => {
    const { app, win } = await launch();
    win.hide();
    const other = tempWorkspace();
    electron.app.emit('second-instance', electron.fakeEvent(), ['lookout', '--workspace', other], '/', {
      workspace: other,
    });
    expect(win.visible).toBe(true);
    await waitFor(
      () => app.toggle.runtime?.config.workspace === fs.realpathSync(other) && app.toggle.state.status === 'running',
      'the switch',
    );
    expect(app.settings.value.recent_workspaces[0]).toBe(fs.realpathSync(other));
  });

  it('a second launch that arrives while the first is still starting is not lost', async () => {
    let release: () => void = () => undefined;
    electron.app.ready = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pending = launch();
    const other = tempWorkspace();
    await new Promise((resolve) => setTimeout(resolve, 10));
    electron.app.emit('second-instance', electron.fakeEvent(), ['lookout'], '/', { workspace: other });
    release();
    const { app } = await pending;
    await waitFor(
      () => app.toggle.runtime?.config.workspace === fs.realpathSync(other) && app.toggle.state.status === 'running',
      'the switch',
    );
  });

  it('the close hint counts as shown only when it could be shown', async () => {
    electron.Notification.supported = false;
    const { win, app } = await launch();
    expect(win.userCloses()).toBe(false);
    expect(win.visible).toBe(false);
    expect(app.settings.value.close_hint_shown).toBe(false);
  });

  it('pins navigation: same origin allowed, https to the OS browser, the rest refused; no new windows', async () => {
    const { win, app } = await launch();
    const navigate = (target: string) => {
      const event = electron.fakeEvent({ url: target });
      win.webContents.emit('will-frame-navigate', event);
      return event.prevented;
    };
    expect(navigate(`${url(app)}/docs`)).toBe(false);
    expect(navigate('https://example.com/')).toBe(true);
    expect(navigate('file:///etc/passwd')).toBe(true);
    expect(electron.shell.opened).toEqual(['https://example.com/']);
    expect(win.webContents.windowOpenHandler?.({ url: 'https://example.org/' })).toEqual({ action: 'deny' });
    expect(win.webContents.windowOpenHandler?.({ url: `${url(app)}/` })).toEqual({ action: 'deny' });
    expect(electron.shell.opened).toEqual(['https://example.com/', 'https://example.org/']);
    const redirect = electron.fakeEvent({ url: 'https://elsewhere.example/' });
    win.webContents.emit('will-redirect', redirect);
    expect(redirect.prevented).toBe(true);

    const session = win.webContents.session;
    const answers: boolean[] = [];
    const ask = session.permissionRequestHandler as unknown as (
      wc: { getURL(): string },
      permission: string,
      callback: (ok: boolean) => void,
    ) => void;
    ask(win.webContents, 'media', (ok) => answers.push(ok));
    ask(win.webContents, 'clipboard-sanitized-write', (ok) => answers.push(ok));
    expect(answers).toEqual([false, true]);
  });

  it('notifications: opted-in failures notify; clicking opens the event in the dashboard', async () => {
    const { app, win, runtimes } = await launch();
    const publish = async (type: string, data: Record<string, unknown>) =>
      (await runtimes[0]!.bus.publish([{ type, data }]))[0]!;
    win.focused = false; // the user is in another app: notices are for then
    await publish('workflow.failed', { workflow_id: 'w1', error: 'not opted in yet' });
    await new Promise((resolve) => setTimeout(resolve, 20)); // delivered (and ignored) before the opt-in
    electron.Menu.applicationMenu!.item('Notify when a workflow fails').click!();
    expect(app.settings.value.notifications['workflow.failed']).toBe(true);
    const failed = await publish('workflow.failed', { workflow_id: 'w1', name: 'deploy', error: 'exit 1' });
    await publish('workflow.finished', { workflow_id: 'w2' }); // not opted in
    await waitFor(() => electron.Notification.instances.length > 0, 'a notification');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(electron.Notification.instances.map((n) => [n.options.title, n.options.body, n.shown])).toEqual([
      ['Workflow failed: deploy', 'exit 1', true],
    ]);
    win.hide();
    electron.Notification.instances[0]!.emit('click');
    expect(win.visible).toBe(true);
    expect(win.loaded.at(-1)).toBe(`${url(app)}/#event=${failed.sequence_number}`);
  });

  it('a bad --workspace is reported and the folder chooser offered; choosing one serves it', async () => {
    const chosen = tempWorkspace();
    electron.dialog.openResult = { canceled: false, filePaths: [chosen] };
    const { app } = await launch({ argv: ['lookout', '--workspace', '/nonexistent/lookout-z'] });
    expect(electron.dialog.messages).toEqual([
      expect.objectContaining({ detail: expect.stringMatching(/does not exist/) }),
    ]);
    await waitFor(() => app.toggle.state.status === 'running', 'the chosen workspace to be served');
    expect(app.switcher.current).toBe(fs.realpathSync(chosen));
  });
});

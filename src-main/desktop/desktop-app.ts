import os from 'node:os';
import path from 'node:path';
import {
  app,
  BrowserWindow,
  clipboard,
  dialog,
  type IpcMainInvokeEvent,
  ipcMain,
  Menu,
  nativeTheme,
  powerMonitor,
  shell,
} from 'electron';
import type { EventEnvelope } from '../../src-shared/events.ts';
import { loadConfig } from '../config.ts';
import { createRuntime } from '../runtime.ts';
import { buildAppMenu } from './app-menu-model.ts';
import { assetPath } from './assets.ts';
import { cliEnvLine, shellFor } from './cli-env.ts';
import { DesktopSettings } from './desktop-settings.ts';
import type { DesktopState } from './ipc-api.ts';
import { STATE_CHANGED_CHANNEL } from './ipc-api.ts';
import { registerIpcHandlers } from './ipc-router.ts';
import { parseLaunchArgs, secondInstanceRequest } from './launch-args.ts';
import type { DesktopAction } from './menu-model.ts';
import { toMenuTemplate } from './menu-template.ts';
import { dashboardEventUrl, NOTIFIABLE_TYPES, NoticeThrottle, noticeFor } from './notification-policy.ts';
import { Notifier } from './notifier.ts';
import { QuitSequence, type QuitReason } from '../quit-sequence.ts';
import { type RuntimeFactory, ServerToggle, type ToggleRuntime } from './server-toggle.ts';
import { statusPageUrl } from './status-page.ts';
import { TrayController } from './tray.ts';
import { buildTrayMenu, trayIconName, trayTooltip } from './tray-menu-model.ts';
import { createMainWindow } from './window.ts';
import { CLOSE_HINT, closeDecision, isTrustedSender, originOf, windowContent } from './window-policy.ts';
import { startupWorkspace, WorkspaceSwitcher } from './workspaces.ts';

/** Where SIGINT/SIGTERM come from: `process` in the app, an emitter in tests. */
export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

export interface LaunchOptions {
  argv?: readonly string[];
  cwd?: string;
  /** LOOKOUT_* settings (port, log level, …) apply to the app as to `lookout serve`. */
  env?: NodeJS.ProcessEnv;
  createRuntime?: RuntimeFactory;
  signals?: SignalSource;
  quitTimeoutMs?: number;
  /** Where settings.json lives; Electron's userData directory by default. */
  userDataDir?: string;
  /** Where the compiled preload bundle is; beside this file by default. */
  preloadPath?: string;
  /** Desktop-level messages (quit progress, unreadable settings); stderr by default. */
  log?: (message: string) => void;
}

/** What the launch hands back: the parts tests (and nothing else) poke at. */
export interface DesktopApp {
  readonly toggle: ServerToggle;
  readonly quit: QuitSequence;
  readonly settings: DesktopSettings;
  readonly switcher: WorkspaceSwitcher;
  readonly tray: TrayController;
  window(): BrowserWindow | null;
  state(): DesktopState;
  dispatch(action: DesktopAction, source?: 'tray' | 'app-menu'): void;
}

const logToStderr = (message: string): void => {
  process.stderr.write(`lookout desktop: ${message}\n`);
};

/**
 * The desktop shell: wires Electron's lifecycle, window, tray, menus, IPC and
 * notifications to the plain modules that make every decision. Returns null when
 * another instance already runs (this launch's --workspace has been handed to it).
 */
export async function launchDesktopApp(options: LaunchOptions = {}): Promise<DesktopApp | null> {
  const argv = options.argv ?? process.argv;
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const log = options.log ?? logToStderr;
  const launch = parseLaunchArgs(argv, cwd);

  // The first instance receives `launch` as additionalData (see secondInstanceRequest).
  if (!app.requestSingleInstanceLock(launch)) {
    app.quit();
    return null;
  }
  // Registered before ready, and queued until the app is up, so a launch arriving
  // during startup is not lost.
  const earlyLaunches: (string | undefined)[] = [];
  let onSecondInstance: (workspace: string | undefined) => void = (workspace) => earlyLaunches.push(workspace);
  app.on('second-instance', (_event, secondArgv, workingDirectory, additionalData) => {
    onSecondInstance(secondInstanceRequest(secondArgv, workingDirectory, additionalData).workspace);
  });
  // Without a listener, Electron quits when the last window closes; the app lives on in
  // the tray instead, and closing-to-quit goes through the quit sequence (below).
  app.on('window-all-closed', () => undefined);

  await app.whenReady();

  const settings = DesktopSettings.load(options.userDataDir ?? app.getPath('userData'), { log });
  const factory = options.createRuntime ?? ((config) => createRuntime(config, { logToStderr: !app.isPackaged }));
  const toggle = new ServerToggle({ createRuntime: factory, config: null });
  const switcher = new WorkspaceSwitcher({
    toggle,
    settings,
    configFor: (dir) => loadConfig({ flags: { workspace: dir }, env, cwd }),
  });
  const quit = new QuitSequence({
    stop: () => toggle.stop(),
    exit: (code) => app.exit(code),
    timeoutMs: options.quitTimeoutMs,
    log,
  });
  const notifier = new Notifier({ icon: assetPath(app.getAppPath(), 'icon.png') });
  const throttle = new NoticeThrottle();
  const preload = options.preloadPath ?? path.join(import.meta.dirname, 'preload.cjs');

  let win: BrowserWindow | null = null;
  let shown = '';

  const state = (): DesktopState => ({
    server: toggle.state,
    session: toggle.session,
    workspace: toggle.config?.workspace ?? null,
  });
  const serverOrigin = (): string | null => (toggle.state.status === 'running' ? originOf(toggle.state.url) : null);
  const running = (): ToggleRuntime | undefined => (toggle.state.status === 'running' ? toggle.runtime : undefined);
  const requestQuit = (reason: QuitReason): void => void quit.request(reason);

  const openExternal = (url: string): void => {
    shell.openExternal(url).catch((error: unknown) => log(`could not open ${url}: ${String(error)}`));
  };

  function ensureWindow(): BrowserWindow {
    if (win && !win.isDestroyed()) return win;
    const created = createMainWindow({
      preload,
      icon: assetPath(app.getAppPath(), 'icon.png'),
      serverOrigin,
      openExternal,
    });
    created.on('close', (event) => {
      const decision = closeDecision({
        closeToTray: settings.value.close_to_tray,
        quitting: quit.requested,
        hintShown: settings.value.close_hint_shown,
      });
      if (decision === 'close') return;
      event.preventDefault();
      if (decision === 'quit') return requestQuit('window-close');
      created.hide();
      // Marked as shown only once it was: without a notification service, try next time.
      if (decision === 'hide-with-hint' && notifier.show(CLOSE_HINT)) {
        settings.update((s) => ({ ...s, close_hint_shown: true }));
      }
    });
    // Windows reports the session ending to windows, not to the app.
    created.on('session-end', () => requestQuit('session-end'));
    created.on('closed', () => {
      if (win === created) win = null;
    });
    win = created;
    shown = '';
    renderWindow();
    return created;
  }

  function showWindow(): void {
    const target = ensureWindow();
    if (target.isMinimized()) target.restore();
    target.show();
    target.focus();
  }

  /** Loads the dashboard (signed in by cookie) or the status page, when what should show changed. */
  function renderWindow(): void {
    // While quitting, the window keeps what it shows rather than flashing "Server stopped".
    if (!win || win.isDestroyed() || quit.requested) return;
    const target = win;
    const content = windowContent(toggle.state);
    const runtime = running();
    if (content.kind === 'dashboard' && runtime) {
      const key = `dashboard:${content.url}`;
      if (shown === key) return;
      shown = key;
      // The page signs itself in over IPC (auth:sign-in-code), as `lookout open` does.
      target.loadURL(content.url).catch((error: unknown) => log(`could not load the dashboard: ${String(error)}`));
      return;
    }
    const url = statusPageUrl(state());
    if (shown === url) return;
    shown = url;
    // A load superseded by the next state change rejects with ERR_ABORTED; that is fine.
    target.loadURL(url).catch(() => undefined);
  }

  const tray = new TrayController((action) => dispatch(action, 'tray'));

  function renderMenus(): void {
    const server = toggle.state;
    tray.render({
      items: buildTrayMenu({ server, session: toggle.session, workspace: switcher.current }),
      tooltip: trayTooltip({ server, session: toggle.session }),
      icon: assetPath(
        app.getAppPath(),
        'tray',
        trayIconName({ platform: process.platform, darkPanel: nativeTheme.shouldUseDarkColors, server }),
      ),
    });
    const menu = buildAppMenu(
      {
        platform: process.platform,
        recentWorkspaces: settings.value.recent_workspaces,
        currentWorkspace: switcher.current,
        serverRunning: server.status === 'running',
        notifications: settings.value.notifications,
        closeToTray: settings.value.close_to_tray,
        devTools: !app.isPackaged,
      },
      os.homedir(),
    );
    Menu.setApplicationMenu(Menu.buildFromTemplate(toMenuTemplate(menu, (action) => dispatch(action, 'app-menu'))));
  }

  // Notifications follow whichever runtime is up; a stopped runtime closes its bus,
  // which ends the subscription with it.
  let notifying: ToggleRuntime | undefined;
  function followNotifications(): void {
    const runtime = running();
    if (!runtime || runtime === notifying) return;
    notifying = runtime;
    runtime.bus.listen(NOTIFIABLE_TYPES, (event: EventEnvelope) => {
      const notice = noticeFor(event, settings.value.notifications, { windowFocused: win?.isFocused() ?? false });
      if (!notice) return;
      const { show, heldBack } = throttle.admit();
      if (!show) return;
      const serverUrl = runtime.url;
      notifier.show({
        title: notice.title,
        body: heldBack > 0 ? `${notice.body} (${heldBack} more in the dashboard)` : notice.body,
        onClick: () => {
          showWindow();
          win?.loadURL(dashboardEventUrl(serverUrl, notice.sequenceNumber)).catch(() => undefined);
        },
      });
    });
  }

  function render(): void {
    renderMenus();
    renderWindow();
    followNotifications();
    if (win && !win.isDestroyed()) win.webContents.send(STATE_CHANGED_CHANNEL, state());
  }

  function openInBrowser(): boolean {
    const runtime = running();
    if (!runtime) return false;
    // Same sign-in as `lookout open`: a one-time code the page exchanges by POST and
    // drops from the address bar; the token itself never enters a URL.
    openExternal(`${runtime.url}/?code=${encodeURIComponent(runtime.access.mintCode().code)}`);
    return true;
  }

  function copyEnv(): boolean {
    const runtime = running();
    if (!runtime) return false;
    clipboard.writeText(
      cliEnvLine(
        { url: runtime.url, token: runtime.token, workspace: runtime.config.workspace },
        shellFor(process.platform),
      ),
    );
    return true;
  }

  async function openWorkspace(dir: string): Promise<{ workspace: string | null; message: string | null }> {
    const result = await switcher.open(dir);
    render();
    return result.ok ? { workspace: result.dir, message: null } : { workspace: null, message: result.message };
  }

  async function chooseWorkspace(): Promise<{ workspace: string | null; message: string | null }> {
    const options: Electron.OpenDialogOptions = {
      title: 'Choose a workspace for Lookout',
      buttonLabel: 'Serve this folder',
      properties: ['openDirectory', 'createDirectory'],
    };
    const picked =
      win && !win.isDestroyed() ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
    const dir = picked.canceled ? undefined : picked.filePaths[0];
    if (dir === undefined) return { workspace: null, message: null };
    return openWorkspace(dir);
  }

  /** From the tray or the app menu: report a refused folder in a dialog (the page shows its own). */
  function chooseFromMenu(dir?: string): void {
    void (dir === undefined ? chooseWorkspace() : openWorkspace(dir)).then((result) => {
      if (result.message)
        void dialog.showMessageBox({
          type: 'warning',
          message: 'Lookout cannot serve that folder',
          detail: result.message,
        });
    });
  }

  function dispatch(action: DesktopAction, source: 'tray' | 'app-menu' = 'tray'): void {
    if (quit.requested && action.type !== 'quit') return;
    switch (action.type) {
      case 'start-server':
        void toggle.start();
        return;
      case 'start-server-free-port':
        void toggle.start({ port: 0 });
        return;
      case 'stop-server':
        void toggle.stop();
        return;
      case 'open-dashboard':
        return showWindow();
      case 'open-in-browser':
        openInBrowser();
        return;
      case 'copy-env':
        copyEnv();
        return;
      case 'choose-workspace':
        return chooseFromMenu();
      case 'open-workspace':
        return chooseFromMenu(action.dir);
      case 'clear-recent-workspaces':
        settings.clearRecentWorkspaces();
        return renderMenus();
      case 'toggle-notification':
        settings.update((s) => ({
          ...s,
          notifications: { ...s.notifications, [action.eventType]: !s.notifications[action.eventType] },
        }));
        return renderMenus();
      case 'toggle-close-to-tray':
        settings.update((s) => ({ ...s, close_to_tray: !s.close_to_tray }));
        return renderMenus();
      case 'quit':
        return requestQuit(source);
    }
  }

  // One quit path for every way out (see quit-sequence.ts).
  app.on('before-quit', (event) => {
    event.preventDefault();
    requestQuit('before-quit');
  });
  const signals = options.signals ?? process;
  signals.on('SIGINT', () => requestQuit('SIGINT'));
  signals.on('SIGTERM', () => requestQuit('SIGTERM'));
  // Not prevented: the OS shutting down must never wait for us; the quit sequence is
  // bounded and the workspace lock is reclaimed if we are cut short.
  powerMonitor.on('shutdown', () => requestQuit('os-shutdown'));
  app.on('activate', () => showWindow());
  nativeTheme.on('updated', () => renderMenus());

  registerIpcHandlers(
    ipcMain,
    {
      'server:state': () => state(),
      'server:start': async (request) => {
        await toggle.start(request?.free_port ? { port: 0 } : {});
        return state();
      },
      'server:stop': async () => {
        await toggle.stop();
        return state();
      },
      'server:open-in-browser': () => ({ opened: openInBrowser() }),
      'cli:copy-env': () => ({ copied: copyEnv() }),
      'auth:sign-in-code': () => {
        const runtime = running();
        return runtime ? runtime.access.mintCode() : { code: null, expires_in: 0 };
      },
      'workspace:choose': () => chooseWorkspace(),
    },
    (event: IpcMainInvokeEvent) => {
      const frame = event.senderFrame;
      if (!win || win.isDestroyed() || event.sender !== win.webContents || !frame) return false;
      return isTrustedSender({ url: frame.url, isMainFrame: frame.parent === null }, serverOrigin());
    },
  );

  toggle.onChange(() => render());
  onSecondInstance = (workspace) => {
    showWindow();
    if (workspace !== undefined) chooseFromMenu(workspace);
  };

  renderMenus();
  showWindow();
  const initial = startupWorkspace({ requested: launch.workspace, recent: settings.value.recent_workspaces });
  if (initial.dir !== null) {
    await openWorkspace(initial.dir);
  } else {
    if (initial.problem)
      await dialog.showMessageBox({ type: 'warning', message: 'Choose a workspace', detail: initial.problem });
    chooseFromMenu();
  }
  for (const workspace of earlyLaunches.splice(0)) onSecondInstance(workspace);

  return { toggle, quit, settings, switcher, tray, window: () => win, state, dispatch };
}

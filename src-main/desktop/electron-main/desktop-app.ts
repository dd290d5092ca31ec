import path from 'node:path';
import {
  app,
  type BrowserWindow,
  clipboard,
  dialog,
  type IpcMainInvokeEvent,
  ipcMain,
  nativeTheme,
  powerMonitor,
  shell,
} from 'electron';
import { loadConfig } from '../../config.ts';
import { QuitSequence, type QuitReason } from '../../quit-sequence.ts';
import { createRuntime } from '../../runtime.ts';
import { assetPath } from '../assets.ts';
import { cliEnvLine, shellFor } from '../cli-env.ts';
import { DesktopSettings } from '../desktop-settings.ts';
import { type DesktopState, STATE_CHANGED_CHANNEL } from '../ipc-api.ts';
import { registerIpcHandlers } from '../ipc-router.ts';
import { parseLaunchArgs, secondInstanceRequest } from '../launch-args.ts';
import type { DesktopAction } from '../menu-model.ts';
import { type RuntimeFactory, ServerToggle } from '../server-toggle.ts';
import { isTrustedSender } from '../window-policy.ts';
import { startupWorkspace, WorkspaceSwitcher } from '../workspaces.ts';
import { MenuController, type MenuSource } from './menu-controller.ts';
import { NotificationController } from './notification-controller.ts';
import { Notifier } from './notifier.ts';
import type { TrayController } from './tray.ts';
import { WindowController } from './window-controller.ts';
import { WorkspaceChooser } from './workspace-chooser.ts';

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
  dispatch(action: DesktopAction, source?: MenuSource): void;
}

const logToStderr = (message: string): void => {
  process.stderr.write(`lookout desktop: ${message}\n`);
};

/**
 * The desktop shell: wires Electron's lifecycle, the window, menu and notification
 * controllers, and IPC to the plain modules that make every decision. Returns null when
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
  const factory =
    options.createRuntime ??
    ((config) =>
      createRuntime(config, {
        logToStderr: !app.isPackaged,
        // .lookout/ deleted under the server: it stops itself; the switch must say so.
        onStateDirLost: (message) => {
          log(message);
          void toggle.stop();
        },
      }));
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

  const state = (): DesktopState => ({
    server: toggle.state,
    session: toggle.session,
    workspace: toggle.config?.workspace ?? null,
  });
  const requestQuit = (reason: QuitReason): void => void quit.request(reason);
  const openExternal = (url: string): void => {
    shell.openExternal(url).catch((error: unknown) => log(`could not open ${url}: ${String(error)}`));
  };

  // The window, menu and notification controllers adapt Electron; every decision they
  // carry out is made by a plain module beside them (window-policy, *-menu-model,
  // notification-policy).
  const window = new WindowController({
    preload: options.preloadPath ?? path.join(import.meta.dirname, 'preload.cjs'),
    icon: assetPath(app.getAppPath(), 'icon.png'),
    toggle,
    settings,
    quit,
    notifier,
    state,
    openExternal,
    requestQuit,
    log,
  });
  const menus = new MenuController({
    toggle,
    switcher,
    settings,
    dispatch: (action, source) => dispatch(action, source),
  });
  const notifications = new NotificationController({ notifier, settings, window });
  const chooser = new WorkspaceChooser({ switcher, window, changed: () => render() });

  function render(): void {
    menus.render();
    window.render();
    notifications.follow(toggle.serving);
    window.send(STATE_CHANGED_CHANNEL, state());
  }

  async function openInBrowser(): Promise<boolean> {
    const runtime = toggle.serving;
    if (!runtime) return false;
    // Same sign-in as `lookout open`: a one-time code the page exchanges by POST and
    // drops from the address bar; the token itself never enters a URL.
    const { code } = await runtime.access.mintCode();
    openExternal(`${runtime.url}/?code=${encodeURIComponent(code)}`);
    return true;
  }

  function copyEnv(): boolean {
    const runtime = toggle.serving;
    if (!runtime) return false;
    clipboard.writeText(
      cliEnvLine(
        { url: runtime.url, token: runtime.token, workspace: runtime.config.workspace },
        shellFor(process.platform),
      ),
    );
    return true;
  }

  function dispatch(action: DesktopAction, source: MenuSource = 'tray'): void {
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
        return window.show();
      case 'open-in-browser':
        void openInBrowser().catch((error: unknown) => log(`could not open the dashboard: ${String(error)}`));
        return;
      case 'copy-env':
        copyEnv();
        return;
      case 'choose-workspace':
        return chooser.fromMenu();
      case 'open-workspace':
        return chooser.fromMenu(action.dir);
      case 'clear-recent-workspaces':
        settings.clearRecentWorkspaces();
        return menus.render();
      case 'toggle-notification':
        settings.update((s) => ({
          ...s,
          notifications: { ...s.notifications, [action.eventType]: !s.notifications[action.eventType] },
        }));
        return menus.render();
      case 'toggle-close-to-tray':
        settings.update((s) => ({ ...s, close_to_tray: !s.close_to_tray }));
        return menus.render();
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
  app.on('activate', () => window.show());
  nativeTheme.on('updated', () => menus.render());

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
      'server:open-in-browser': async () => ({ opened: await openInBrowser() }),
      'cli:copy-env': () => ({ copied: copyEnv() }),
      'auth:sign-in-code': async () => (await toggle.serving?.access.mintCode()) ?? { code: null, expires_in: 0 },
      'workspace:choose': () => chooser.choose(),
    },
    (event: IpcMainInvokeEvent) => {
      const frame = event.senderFrame;
      const win = window.current;
      if (!win || event.sender !== win.webContents || !frame) return false;
      return isTrustedSender({ url: frame.url, isMainFrame: frame.parent === null }, window.serverOrigin());
    },
  );

  toggle.onChange(() => render());
  onSecondInstance = (workspace) => {
    window.show();
    if (workspace !== undefined) chooser.fromMenu(workspace);
  };

  menus.render();
  window.show();
  const initial = startupWorkspace({ requested: launch.workspace, recent: settings.value.recent_workspaces });
  if (initial.dir !== null) {
    await chooser.open(initial.dir);
  } else {
    if (initial.problem)
      await dialog.showMessageBox({ type: 'warning', message: 'Choose a workspace', detail: initial.problem });
    chooser.fromMenu();
  }
  for (const workspace of earlyLaunches.splice(0)) onSecondInstance(workspace);

  return {
    toggle,
    quit,
    settings,
    switcher,
    tray: menus.tray,
    window: () => window.current,
    state,
    dispatch,
  };
}

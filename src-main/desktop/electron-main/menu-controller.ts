import os from 'node:os';
import { app, Menu, nativeTheme } from 'electron';
import { buildAppMenu } from '../app-menu-model.ts';
import { assetPath } from '../assets.ts';
import type { DesktopSettings } from '../desktop-settings.ts';
import type { DesktopAction } from '../menu-model.ts';
import type { ServerToggle } from '../server-toggle.ts';
import { buildTrayMenu, trayIconName, trayTooltip } from '../tray-menu-model.ts';
import type { WorkspaceSwitcher } from '../workspaces.ts';
import { toMenuTemplate } from './menu-template.ts';
import { TrayController } from './tray.ts';

export type MenuSource = 'tray' | 'app-menu';

/**
 * The tray and the application menu, rebuilt from their models (tray-menu-model.ts,
 * app-menu-model.ts) on every change; every item hands its action to `dispatch`.
 */
export class MenuController {
  readonly tray: TrayController;
  readonly #toggle: ServerToggle;
  readonly #switcher: WorkspaceSwitcher;
  readonly #settings: DesktopSettings;
  readonly #dispatch: (action: DesktopAction, source: MenuSource) => void;

  constructor(options: {
    toggle: ServerToggle;
    switcher: WorkspaceSwitcher;
    settings: DesktopSettings;
    dispatch: (action: DesktopAction, source: MenuSource) => void;
  }) {
    this.#toggle = options.toggle;
    this.#switcher = options.switcher;
    this.#settings = options.settings;
    this.#dispatch = options.dispatch;
    this.tray = new TrayController((action) => this.#dispatch(action, 'tray'));
  }

  render(): void {
    const server = this.#toggle.state;
    const session = this.#toggle.session;
    const settings = this.#settings.value;
    this.tray.render({
      items: buildTrayMenu({ server, session, workspace: this.#switcher.current }),
      tooltip: trayTooltip({ server, session }),
      icon: assetPath(
        app.getAppPath(),
        'tray',
        trayIconName({ platform: process.platform, darkPanel: nativeTheme.shouldUseDarkColors, server }),
      ),
    });
    const menu = buildAppMenu(
      {
        platform: process.platform,
        recentWorkspaces: settings.recent_workspaces,
        currentWorkspace: this.#switcher.current,
        serverRunning: server.status === 'running',
        notifications: settings.notifications,
        closeToTray: settings.close_to_tray,
        devTools: !app.isPackaged,
      },
      os.homedir(),
    );
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(toMenuTemplate(menu, (action) => this.#dispatch(action, 'app-menu'))),
    );
  }
}

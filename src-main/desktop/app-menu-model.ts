import path from 'node:path';
import { type MenuItemModel, separator } from './menu-model.ts';
import { NOTIFIABLE_TYPES, NOTIFICATION_LABELS, type NotificationPrefs } from './notification-policy.ts';

export interface AppMenuInput {
  platform: NodeJS.Platform;
  /** Most recent first, as the settings file keeps them. */
  recentWorkspaces: readonly string[];
  currentWorkspace: string | null;
  /** Browser and env-line entries need a live server. */
  serverRunning: boolean;
  notifications: NotificationPrefs;
  closeToTray: boolean;
  /** Developer tools only in development builds. */
  devTools: boolean;
}

/** `project (~/code/project)`: the name to recognise, the path to tell two apart. */
export function workspaceLabel(dir: string, home: string): string {
  const shown = home && (dir === home || dir.startsWith(home + path.sep)) ? `~${dir.slice(home.length)}` : dir;
  return `${path.basename(dir) || dir}  (${shown})`;
}

/**
 * The application menu: workspaces (open, recent, clear), settings (notifications per
 * event type, close-to-tray), and the platform's standard Edit/View/Window menus so
 * copy, paste and zoom work in the dashboard.
 */
export function buildAppMenu(input: AppMenuInput, home = ''): MenuItemModel[] {
  const mac = input.platform === 'darwin';
  const recent: MenuItemModel[] = input.recentWorkspaces.map((dir) => ({
    kind: 'action',
    label: workspaceLabel(dir, home),
    action: { type: 'open-workspace', dir },
    enabled: dir !== input.currentWorkspace,
  }));
  if (recent.length > 0) recent.push(separator);
  recent.push({
    kind: 'action',
    label: 'Clear Recent',
    action: { type: 'clear-recent-workspaces' },
    enabled: input.recentWorkspaces.length > 0,
  });

  const quit: MenuItemModel = {
    kind: 'action',
    label: mac ? 'Quit Lookout' : 'Quit',
    action: { type: 'quit' },
    enabled: true,
    accelerator: 'CmdOrCtrl+Q',
  };
  const settings: MenuItemModel[] = [
    ...NOTIFIABLE_TYPES.map((eventType): MenuItemModel => ({
      kind: 'checkbox',
      label: NOTIFICATION_LABELS[eventType],
      action: { type: 'toggle-notification', eventType },
      checked: input.notifications[eventType],
    })),
    separator,
    {
      kind: 'checkbox',
      label: 'Keep running in the tray when the window closes',
      action: { type: 'toggle-close-to-tray' },
      checked: input.closeToTray,
    },
  ];

  const menu: MenuItemModel[] = [];
  if (mac) {
    menu.push({
      kind: 'submenu',
      label: 'Lookout',
      enabled: true,
      items: [
        { kind: 'role', role: 'about' },
        separator,
        { kind: 'submenu', label: 'Settings', enabled: true, items: settings },
        separator,
        { kind: 'role', role: 'services' },
        separator,
        { kind: 'role', role: 'hide' },
        { kind: 'role', role: 'hideOthers' },
        { kind: 'role', role: 'unhide' },
        separator,
        quit,
      ],
    });
  }
  menu.push({
    kind: 'submenu',
    label: 'File',
    enabled: true,
    items: [
      {
        kind: 'action',
        label: 'Open Workspace…',
        action: { type: 'choose-workspace' },
        enabled: true,
        accelerator: 'CmdOrCtrl+O',
      },
      { kind: 'submenu', label: 'Open Recent', enabled: true, items: recent },
      separator,
      { kind: 'action', label: 'Open in Browser', action: { type: 'open-in-browser' }, enabled: input.serverRunning },
      { kind: 'action', label: 'Copy lookout env line', action: { type: 'copy-env' }, enabled: input.serverRunning },
      separator,
      { kind: 'role', role: 'close', label: 'Close Window' },
      ...(mac
        ? []
        : [
            separator,
            { kind: 'submenu', label: 'Settings', enabled: true, items: settings } satisfies MenuItemModel,
            separator,
            quit,
          ]),
    ],
  });
  menu.push({
    kind: 'submenu',
    label: 'Edit',
    enabled: true,
    items: [
      { kind: 'role', role: 'undo' },
      { kind: 'role', role: 'redo' },
      separator,
      { kind: 'role', role: 'cut' },
      { kind: 'role', role: 'copy' },
      { kind: 'role', role: 'paste' },
      { kind: 'role', role: 'selectAll' },
    ],
  });
  menu.push({
    kind: 'submenu',
    label: 'View',
    enabled: true,
    items: [
      { kind: 'role', role: 'reload' },
      ...(input.devTools ? [{ kind: 'role', role: 'toggleDevTools' } satisfies MenuItemModel] : []),
      separator,
      { kind: 'role', role: 'resetZoom' },
      { kind: 'role', role: 'zoomIn' },
      { kind: 'role', role: 'zoomOut' },
      separator,
      { kind: 'role', role: 'togglefullscreen' },
    ],
  });
  menu.push({
    kind: 'submenu',
    label: 'Window',
    enabled: true,
    items: mac
      ? [{ kind: 'role', role: 'minimize' }, { kind: 'role', role: 'zoom' }, separator, { kind: 'role', role: 'front' }]
      : [{ kind: 'role', role: 'minimize' }],
  });
  return menu;
}

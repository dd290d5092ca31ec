import type { NotifiableType } from './notification-policy.ts';

/**
 * What a menu item does, as data. The tray, the app menu and their tests speak this;
 * only the adapter (menu-template.ts) turns it into Electron click handlers, and one
 * dispatcher (desktop-app.ts) carries it out.
 */
export type DesktopAction =
  | { type: 'start-server' }
  | { type: 'start-server-free-port' }
  | { type: 'stop-server' }
  | { type: 'open-dashboard' }
  | { type: 'open-in-browser' }
  | { type: 'copy-env' }
  | { type: 'choose-workspace' }
  | { type: 'open-workspace'; dir: string }
  | { type: 'clear-recent-workspaces' }
  | { type: 'toggle-notification'; eventType: NotifiableType }
  | { type: 'toggle-close-to-tray' }
  | { type: 'quit' };

/** Platform behaviours Electron implements itself (copy/paste, zoom, window handling). */
export type MenuRole =
  | 'undo'
  | 'redo'
  | 'cut'
  | 'copy'
  | 'paste'
  | 'selectAll'
  | 'reload'
  | 'toggleDevTools'
  | 'resetZoom'
  | 'zoomIn'
  | 'zoomOut'
  | 'togglefullscreen'
  | 'minimize'
  | 'close'
  | 'about'
  | 'services'
  | 'hide'
  | 'hideOthers'
  | 'unhide'
  | 'front'
  | 'zoom';

/** A plain descriptor of one menu entry; an array of these is a whole menu. */
export type MenuItemModel =
  /** Text the user reads but cannot click (the status line). */
  | { kind: 'label'; label: string }
  | { kind: 'action'; label: string; action: DesktopAction; enabled: boolean; accelerator?: string }
  | { kind: 'checkbox'; label: string; action: DesktopAction; checked: boolean }
  | { kind: 'submenu'; label: string; items: MenuItemModel[]; enabled: boolean }
  | { kind: 'role'; role: MenuRole; label?: string; accelerator?: string }
  | { kind: 'separator' };

export const separator: MenuItemModel = { kind: 'separator' };

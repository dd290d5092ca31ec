import { BrowserWindow, session, type Session, type WebContents } from 'electron';
import {
  navigationDecision,
  permissionDecision,
  SESSION_PARTITION,
  WEB_PREFERENCES,
  windowOpenDecision,
} from '../window-policy.ts';

export interface MainWindowOptions {
  preload: string;
  icon?: string;
  /** The origin the window is pinned to right now (null while no server runs). */
  serverOrigin: () => string | null;
  openExternal: (url: string) => void;
}

/** The window's in-memory session, with every permission decision routed to the policy. */
export function windowSession(serverOrigin: () => string | null): Session {
  const ses = session.fromPartition(SESSION_PARTITION);
  ses.setPermissionRequestHandler((contents, permission, callback) => {
    callback(permissionDecision(permission, contents.getURL(), serverOrigin()));
  });
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
    permissionDecision(permission, requestingOrigin, serverOrigin()),
  );
  return ses;
}

/**
 * Navigation guards for one webContents: page-initiated navigations and redirects,
 * in any frame, go through the policy; window.open never creates an Electron window.
 * Loads the main process starts itself (loadURL) are not page-initiated and pass.
 */
export function guardNavigation(
  contents: WebContents,
  serverOrigin: () => string | null,
  openExternal: (url: string) => void,
): void {
  contents.on('will-frame-navigate', (event) => {
    const decision = navigationDecision(event.url, serverOrigin());
    if (decision === 'allow') return;
    event.preventDefault();
    if (decision === 'open-externally') openExternal(event.url);
  });
  contents.on('will-redirect', (event) => {
    // A redirect off the server is never followed, not even to https: the server has
    // no business sending the window elsewhere.
    if (navigationDecision(event.url, serverOrigin()) !== 'allow') event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (windowOpenDecision(url) === 'open-externally') openExternal(url);
    return { action: 'deny' };
  });
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'Lookout',
    ...(options.icon ? { icon: options.icon } : {}),
    webPreferences: { ...WEB_PREFERENCES, preload: options.preload, session: windowSession(options.serverOrigin) },
  });
  guardNavigation(win.webContents, options.serverOrigin, options.openExternal);
  win.once('ready-to-show', () => win.show());
  return win;
}

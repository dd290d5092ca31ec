import type { ServerState } from './server-toggle.ts';

/**
 * The window's security and behaviour decisions, as plain functions the adapter
 * (window.ts) asks. Kept apart from Electron so every rule has a test.
 */

/**
 * The BrowserWindow's webPreferences (minus the preload path and session, which the
 * adapter adds). The renderer gets no Node, runs sandboxed, and sees the preload's API
 * only through the context bridge.
 */
export const WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: false,
} as const;

/**
 * The window's own session is in memory (no `persist:` prefix): the session cookie dies
 * with the app, and nothing the dashboard stores outlives it.
 */
export const SESSION_PARTITION = 'lookout';

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** `http://127.0.0.1:3000` for any URL on that server; null for opaque or broken URLs. */
export function originOf(url: string): string | null {
  const parsed = parse(url);
  return parsed && parsed.origin !== 'null' ? parsed.origin : null;
}

/** Links the OS browser may open: https only (no file:, javascript:, custom schemes, plain http). */
export function isExternalLink(url: string): boolean {
  return parse(url)?.protocol === 'https:';
}

export type NavigationDecision = 'allow' | 'open-externally' | 'deny';

/**
 * A navigation the page itself starts (a link, a form, a redirect, location=…). The
 * window stays pinned to the server it shows: same origin is allowed, https goes to the
 * OS browser instead, everything else is refused. With no server running nothing is
 * allowed — the window then shows the local status page, which only the app loads.
 */
export function navigationDecision(target: string, serverOrigin: string | null): NavigationDecision {
  if (serverOrigin !== null && originOf(target) === serverOrigin) return 'allow';
  return isExternalLink(target) ? 'open-externally' : 'deny';
}

/** window.open / target=_blank: never a new Electron window; https goes to the OS browser. */
export function windowOpenDecision(target: string): 'open-externally' | 'deny' {
  return isExternalLink(target) ? 'open-externally' : 'deny';
}

/**
 * Permission requests (camera, geolocation, notifications, …) are denied: the dashboard
 * needs none. The one exception is writing to the clipboard from the dashboard's own
 * origin — its "copy as JSON" buttons — which Chromium sanitizes and which reads nothing.
 */
export function permissionDecision(permission: string, requestingUrl: string, serverOrigin: string | null): boolean {
  return (
    permission === 'clipboard-sanitized-write' && serverOrigin !== null && originOf(requestingUrl) === serverOrigin
  );
}

/**
 * Who may call the preload API's handlers in the main process: the top frame of our
 * window, showing either the server's pages or the local status page (a data: URL the
 * app loads itself; pages cannot navigate to data: URLs, see navigationDecision).
 */
export function isTrustedSender(sender: { url: string; isMainFrame: boolean }, serverOrigin: string | null): boolean {
  if (!sender.isMainFrame) return false;
  if (sender.url.startsWith('data:text/html')) return true;
  return serverOrigin !== null && originOf(sender.url) === serverOrigin;
}

export type CloseDecision = 'close' | 'quit' | 'hide' | 'hide-with-hint';

/**
 * Closing the window. With close-to-tray on (the default) the window hides and the
 * server keeps serving; the first time, a hint says where the app went. With it off,
 * closing the window quits the app (through the quit sequence). Once a quit is under
 * way the window simply closes.
 */
export function closeDecision(input: { closeToTray: boolean; quitting: boolean; hintShown: boolean }): CloseDecision {
  if (input.quitting) return 'close';
  if (!input.closeToTray) return 'quit';
  return input.hintShown ? 'hide' : 'hide-with-hint';
}

export const CLOSE_HINT = {
  title: 'Lookout is still running',
  body: 'The server keeps serving from the tray. Use the tray icon to open the window again, or Quit Lookout to stop it.',
};

/** What the window shows: the dashboard while a server runs, else the local status page. */
export type WindowContent = { kind: 'dashboard'; url: string } | { kind: 'status' };

export function windowContent(server: ServerState): WindowContent {
  return server.status === 'running' ? { kind: 'dashboard', url: `${server.url}/` } : { kind: 'status' };
}

import type { BrowserWindow } from 'electron';
import type { QuitReason, QuitSequence } from '../../quit-sequence.ts';
import type { DesktopSettings } from '../desktop-settings.ts';
import type { DesktopState } from '../ipc-api.ts';
import type { ServerToggle } from '../server-toggle.ts';
import { statusPageUrl } from '../status-page.ts';
import { CLOSE_HINT, closeDecision, originOf, windowContent } from '../window-policy.ts';
import type { Notifier } from './notifier.ts';
import { createMainWindow } from './window.ts';

export interface WindowControllerOptions {
  preload: string;
  icon: string;
  toggle: ServerToggle;
  settings: DesktopSettings;
  quit: QuitSequence;
  /** Shows the one-time "still running in the tray" hint. */
  notifier: Notifier;
  state: () => DesktopState;
  openExternal: (url: string) => void;
  requestQuit: (reason: QuitReason) => void;
  log: (message: string) => void;
}

/**
 * The one app window: created on demand, hidden to the tray or quitting on close as the
 * policy (window-policy.ts) decides, and showing the dashboard — signed in by cookie —
 * while the server runs, the status page otherwise.
 */
export class WindowController {
  readonly #o: WindowControllerOptions;
  #win: BrowserWindow | null = null;
  /** What the window was last told to load, so an unchanged state reloads nothing. */
  #shown = '';

  constructor(options: WindowControllerOptions) {
    this.#o = options;
  }

  /** The window, if one is open. */
  get current(): BrowserWindow | null {
    return this.#win && !this.#win.isDestroyed() ? this.#win : null;
  }

  get focused(): boolean {
    return this.current?.isFocused() ?? false;
  }

  /** The origin the window is pinned to right now (null while no server runs). */
  serverOrigin(): string | null {
    const state = this.#o.toggle.state;
    return state.status === 'running' ? originOf(state.url) : null;
  }

  ensure(): BrowserWindow {
    const existing = this.current;
    if (existing) return existing;
    const { settings, quit, notifier, requestQuit } = this.#o;
    const created = createMainWindow({
      preload: this.#o.preload,
      icon: this.#o.icon,
      serverOrigin: () => this.serverOrigin(),
      openExternal: this.#o.openExternal,
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
      if (this.#win === created) this.#win = null;
    });
    this.#win = created;
    this.#shown = '';
    this.render();
    return created;
  }

  show(): void {
    const target = this.ensure();
    if (target.isMinimized()) target.restore();
    target.show();
    target.focus();
  }

  /** Brings the window up on `url` (a page of the running dashboard). */
  showAt(url: string): void {
    this.show();
    this.current?.loadURL(url).catch(() => undefined);
  }

  /** Loads the dashboard (it signs itself in over IPC with a one-time code) or the status page, when what should show changed. */
  render(): void {
    // While quitting, the window keeps what it shows rather than flashing "Server stopped".
    const target = this.current;
    if (!target || this.#o.quit.requested) return;
    const content = windowContent(this.#o.toggle.state);
    const runtime = this.#o.toggle.serving;
    if (content.kind === 'dashboard' && runtime) {
      const key = `dashboard:${content.url}`;
      if (this.#shown === key) return;
      this.#shown = key;
      target
        .loadURL(content.url)
        .catch((error: unknown) => this.#o.log(`could not load the dashboard: ${String(error)}`));
      return;
    }
    const url = statusPageUrl(this.#o.state());
    if (this.#shown === url) return;
    this.#shown = url;
    // A load superseded by the next state change rejects with ERR_ABORTED; that is fine.
    target.loadURL(url).catch(() => undefined);
  }

  /** Pushes a message to the page (the preload forwards its payload only). */
  send(channel: string, payload: unknown): void {
    this.current?.webContents.send(channel, payload);
  }
}

import path from 'node:path';
import type { SessionState } from '../../src-shared/session.ts';
import { type MenuItemModel, separator } from './menu-model.ts';
import type { ServerState } from './server-toggle.ts';

export interface TrayInput {
  server: ServerState;
  /** The running runtime's lock state; null when no runtime is up. */
  session: SessionState | null;
  /** The workspace being served (or last chosen); null before the first choice. */
  workspace: string | null;
}

/**
 * The one line that says what the server is doing. Read-only wins over "Running" while
 * someone else holds the lock, because that is what limits the user right now.
 */
export function statusLine(input: Pick<TrayInput, 'server' | 'session'>): string {
  const { server, session } = input;
  switch (server.status) {
    case 'running': {
      const lock = session?.lock;
      if (session?.read_only && lock?.holder)
        return `Read-only: ${lock.holder === 'cli' ? 'CLI' : 'another server'} pid ${lock.pid ?? '?'}`;
      if (session?.read_only) return `Read-only on ${server.address}`;
      return `Running on ${server.address}`;
    }
    case 'starting':
      return 'Starting…';
    case 'stopping':
      return 'Stopping…';
    case 'stopped':
      return 'Stopped';
    case 'error':
      return `Error: ${server.message}`;
  }
}

/** Menus truncate long labels badly on some platforms; an error message can be long. */
const MAX_LABEL = 70;
const fit = (label: string): string => (label.length <= MAX_LABEL ? label : `${label.slice(0, MAX_LABEL - 1)}…`);

/**
 * The tray menu for a state, as plain descriptors. Rebuilt on every change, so it only
 * ever offers what makes sense now: no "Open in browser" without a server, no Start
 * while one is coming up.
 */
export function buildTrayMenu(input: TrayInput): MenuItemModel[] {
  const { server } = input;
  const running = server.status === 'running';
  const busy = server.status === 'starting' || server.status === 'stopping';
  const items: MenuItemModel[] = [{ kind: 'label', label: fit(statusLine(input)) }];
  if (running && input.session?.read_only) items.push({ kind: 'label', label: `Serving ${server.address}` });
  items.push({
    kind: 'label',
    label: fit(
      input.workspace ? `Workspace: ${path.basename(input.workspace) || input.workspace}` : 'No workspace chosen',
    ),
  });
  items.push(separator);

  if (running || server.status === 'stopping') {
    items.push({ kind: 'action', label: 'Stop server', action: { type: 'stop-server' }, enabled: running });
  } else if (server.status === 'error' && server.reason === 'no_workspace') {
    items.push({ kind: 'action', label: 'Choose workspace…', action: { type: 'choose-workspace' }, enabled: true });
  } else {
    items.push({
      kind: 'action',
      label: server.status === 'error' ? 'Start server (retry)' : 'Start server',
      action: { type: 'start-server' },
      enabled: !busy && input.workspace !== null,
    });
    if (server.status === 'error' && server.reason === 'port_taken') {
      items.push({
        kind: 'action',
        label: 'Start on a free port',
        action: { type: 'start-server-free-port' },
        enabled: true,
      });
    }
  }
  items.push(separator);

  // The window shows a "Server stopped" view when there is no server, so opening it
  // always makes sense; the browser and the env line need a live server.
  items.push({ kind: 'action', label: 'Open dashboard', action: { type: 'open-dashboard' }, enabled: true });
  items.push({ kind: 'action', label: 'Open in browser', action: { type: 'open-in-browser' }, enabled: running });
  items.push({ kind: 'action', label: 'Copy lookout env line', action: { type: 'copy-env' }, enabled: running });
  items.push(separator);
  items.push({ kind: 'action', label: 'Switch workspace…', action: { type: 'choose-workspace' }, enabled: !busy });
  items.push(separator);
  items.push({ kind: 'action', label: 'Quit Lookout', action: { type: 'quit' }, enabled: true });
  return items;
}

/** Hover text: the product name and the status, or the address once it is up. */
export function trayTooltip(input: Pick<TrayInput, 'server' | 'session'>): string {
  return `Lookout — ${statusLine(input)}`;
}

/**
 * Which tray image to show. macOS gets template images (the menu bar recolours them);
 * elsewhere the glyph must contrast with the panel: a dark glyph on a light panel and a
 * light glyph on a dark one. `idle` (hollow) unless the server is up.
 */
export function trayIconName(input: { platform: NodeJS.Platform; darkPanel: boolean; server: ServerState }): string {
  const idle = input.server.status !== 'running';
  if (input.platform === 'darwin') return idle ? 'trayIdleTemplate.png' : 'trayTemplate.png';
  return `tray-${input.darkPanel ? 'dark' : 'light'}${idle ? '-idle' : ''}.png`;
}

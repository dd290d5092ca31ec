import { describe, expect, it } from 'vitest';
import type { SessionState } from '../../src-shared/session.ts';
import { buildAppMenu, workspaceLabel } from '../../src-main/desktop/app-menu-model.ts';
import { cliEnvLine, shellFor } from '../../src-main/desktop/cli-env.ts';
import type { DesktopAction, MenuItemModel } from '../../src-main/desktop/menu-model.ts';
import type { ServerState } from '../../src-main/desktop/server-toggle.ts';
import { buildTrayMenu, statusLine, trayIconName, trayTooltip } from '../../src-main/desktop/tray-menu-model.ts';

const RUNNING: ServerState = { status: 'running', url: 'http://127.0.0.1:3000', address: '127.0.0.1:3000', port: 3000 };
const HELD_BY_SERVER: SessionState = {
  read_only: false,
  lock: { holder: 'server', pid: 100, hostname: 'box', since: '2026-11-23T14:02:00.000Z', id: 'a' },
};
const HELD_BY_CLI: SessionState = {
  read_only: true,
  lock: { holder: 'cli', pid: 4242, hostname: 'box', since: '2026-11-23T14:02:00.000Z', id: 'b' },
};
const WORKSPACE = '/home/ada/code/rover';

/** The menu reduced to what a user sees: labels, with (disabled) marked. */
function render(items: MenuItemModel[]): string[] {
  return items.map((item) => {
    switch (item.kind) {
      case 'separator':
        return '---';
      case 'label':
        return `[${item.label}]`;
      case 'action':
        return item.enabled ? item.label : `${item.label} (disabled)`;
      case 'checkbox':
        return `${item.checked ? '☑' : '☐'} ${item.label}`;
      case 'submenu':
        return `${item.label} ▸`;
      case 'role':
        return `<${item.role}>`;
    }
  });
}

const actionOf = (items: MenuItemModel[], label: string): DesktopAction | undefined => {
  const item = items.find((i) => (i.kind === 'action' || i.kind === 'checkbox') && i.label === label);
  return item && (item.kind === 'action' || item.kind === 'checkbox') ? item.action : undefined;
};

describe('the tray menu model', () => {
  it('running: status with the address, Stop, and every server action enabled', () => {
    const items = buildTrayMenu({ server: RUNNING, session: HELD_BY_SERVER, workspace: WORKSPACE });
    expect(render(items)).toEqual([
      '[Running on 127.0.0.1:3000]',
      '[Workspace: rover]',
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
    expect(actionOf(items, 'Stop server')).toEqual({ type: 'stop-server' });
    expect(actionOf(items, 'Copy lookout env line')).toEqual({ type: 'copy-env' });
    expect(actionOf(items, 'Quit Lookout')).toEqual({ type: 'quit' });
  });

  it('stopped: Start, and nothing that needs a live server', () => {
    const items = buildTrayMenu({ server: { status: 'stopped' }, session: null, workspace: WORKSPACE });
    expect(render(items)).toEqual([
      '[Stopped]',
      '[Workspace: rover]',
      '---',
      'Start server',
      '---',
      'Open dashboard',
      'Open in browser (disabled)',
      'Copy lookout env line (disabled)',
      '---',
      'Switch workspace…',
      '---',
      'Quit Lookout',
    ]);
    expect(actionOf(items, 'Start server')).toEqual({ type: 'start-server' });
  });

  it('read-only: the status names the CLI holder and its pid, the address stays visible', () => {
    const items = buildTrayMenu({ server: RUNNING, session: HELD_BY_CLI, workspace: WORKSPACE });
    expect(render(items).slice(0, 4)).toEqual([
      '[Read-only: CLI pid 4242]',
      '[Serving 127.0.0.1:3000]',
      '[Workspace: rover]',
      '---',
    ]);
    // Read-only limits writes, not the server: it can still be stopped and opened.
    expect(render(items)).toContain('Stop server');
    expect(render(items)).toContain('Open in browser');
  });

  it('starting: a status line, and Start held back until it settles', () => {
    const items = buildTrayMenu({ server: { status: 'starting' }, session: null, workspace: WORKSPACE });
    expect(render(items)).toEqual([
      '[Starting…]',
      '[Workspace: rover]',
      '---',
      'Start server (disabled)',
      '---',
      'Open dashboard',
      'Open in browser (disabled)',
      'Copy lookout env line (disabled)',
      '---',
      'Switch workspace… (disabled)',
      '---',
      'Quit Lookout',
    ]);
  });

  it('stopping: Stop shown but disabled', () => {
    const items = buildTrayMenu({ server: { status: 'stopping' }, session: null, workspace: WORKSPACE });
    expect(render(items)[0]).toBe('[Stopping…]');
    expect(render(items)).toContain('Stop server (disabled)');
  });

  it('error: the message in the status line and a retry', () => {
    const items = buildTrayMenu({
      server: { status: 'error', reason: 'startup_failed', message: 'cannot write to /x/.lookout (EACCES)' },
      session: null,
      workspace: WORKSPACE,
    });
    expect(render(items).slice(0, 4)).toEqual([
      '[Error: cannot write to /x/.lookout (EACCES)]',
      '[Workspace: rover]',
      '---',
      'Start server (retry)',
    ]);
    expect(actionOf(items, 'Start server (retry)')).toEqual({ type: 'start-server' });
  });

  it('port taken: offers to start on a free port', () => {
    const items = buildTrayMenu({
      server: { status: 'error', reason: 'port_taken', message: 'port 3000 is in use by another program' },
      session: null,
      workspace: WORKSPACE,
    });
    expect(render(items).slice(0, 5)).toEqual([
      '[Error: port 3000 is in use by another program]',
      '[Workspace: rover]',
      '---',
      'Start server (retry)',
      'Start on a free port',
    ]);
    expect(actionOf(items, 'Start on a free port')).toEqual({ type: 'start-server-free-port' });
  });

  it('no workspace: asks for one instead of offering a Start that cannot work', () => {
    const items = buildTrayMenu({ server: { status: 'stopped' }, session: null, workspace: null });
    expect(render(items).slice(0, 4)).toEqual(['[Stopped]', '[No workspace chosen]', '---', 'Start server (disabled)']);
    const asked = buildTrayMenu({
      server: { status: 'error', reason: 'no_workspace', message: 'no workspace chosen' },
      session: null,
      workspace: null,
    });
    expect(render(asked)[3]).toBe('Choose workspace…');
  });

  it('long error messages are shortened for the menu', () => {
    const items = buildTrayMenu({
      server: { status: 'error', reason: 'startup_failed', message: 'x'.repeat(300) },
      session: null,
      workspace: WORKSPACE,
    });
    const status = items[0];
    expect(status?.kind === 'label' && status.label.length).toBeLessThanOrEqual(70);
    expect(status?.kind === 'label' && status.label.endsWith('…')).toBe(true);
  });

  it('tooltip and status line agree', () => {
    expect(statusLine({ server: RUNNING, session: HELD_BY_SERVER })).toBe('Running on 127.0.0.1:3000');
    expect(trayTooltip({ server: RUNNING, session: HELD_BY_CLI })).toBe('Lookout — Read-only: CLI pid 4242');
    expect(trayTooltip({ server: { status: 'stopped' }, session: null })).toBe('Lookout — Stopped');
  });

  it('picks the icon by platform, panel brightness and whether the server is up', () => {
    expect(trayIconName({ platform: 'darwin', darkPanel: true, server: RUNNING })).toBe('trayTemplate.png');
    expect(trayIconName({ platform: 'darwin', darkPanel: false, server: { status: 'stopped' } })).toBe(
      'trayIdleTemplate.png',
    );
    expect(trayIconName({ platform: 'linux', darkPanel: true, server: RUNNING })).toBe('tray-dark.png');
    expect(trayIconName({ platform: 'win32', darkPanel: false, server: { status: 'starting' } })).toBe(
      'tray-light-idle.png',
    );
  });
});

describe('the lookout env line', () => {
  const env = { url: 'http://127.0.0.1:3000', token: 'abc_DEF-123', workspace: '/home/ada/code/rover' };

  it('is one export line for POSIX shells', () => {
    expect(cliEnvLine(env, 'posix')).toBe(
      'export LOOKOUT_URL=http://127.0.0.1:3000 LOOKOUT_TOKEN=abc_DEF-123 LOOKOUT_WORKSPACE=/home/ada/code/rover',
    );
  });

  it('quotes what a shell would split or expand', () => {
    expect(cliEnvLine({ ...env, workspace: "/home/ada/my $project's" }, 'posix')).toBe(
      `export LOOKOUT_URL=http://127.0.0.1:3000 LOOKOUT_TOKEN=abc_DEF-123 LOOKOUT_WORKSPACE='/home/ada/my $project'\\''s'`,
    );
  });

  it('uses PowerShell syntax on Windows', () => {
    expect(shellFor('win32')).toBe('powershell');
    expect(shellFor('darwin')).toBe('posix');
    expect(cliEnvLine({ ...env, workspace: "C:\\Users\\Ada\\O'Brien" }, 'powershell')).toBe(
      "$env:LOOKOUT_URL='http://127.0.0.1:3000'; $env:LOOKOUT_TOKEN='abc_DEF-123'; $env:LOOKOUT_WORKSPACE='C:\\Users\\Ada\\O''Brien'",
    );
  });
});

describe('the app menu model', () => {
  const base = {
    platform: 'linux' as NodeJS.Platform,
    recentWorkspaces: ['/home/ada/code/rover', '/home/ada/code/lander'],
    currentWorkspace: '/home/ada/code/rover',
    serverRunning: true,
    notifications: { 'workflow.failed': true, 'workflow.finished': false },
    closeToTray: true,
    devTools: false,
  };
  const submenu = (items: MenuItemModel[], label: string): MenuItemModel[] => {
    const found = items.find((i) => i.kind === 'submenu' && i.label === label);
    if (!found || found.kind !== 'submenu') throw new Error(`no ${label} menu`);
    return found.items;
  };

  it('lists recent workspaces, the current one disabled, with Clear Recent', () => {
    const file = submenu(buildAppMenu(base, '/home/ada'), 'File');
    expect(render(submenu(file, 'Open Recent'))).toEqual([
      'rover  (~/code/rover) (disabled)',
      'lander  (~/code/lander)',
      '---',
      'Clear Recent',
    ]);
    expect(actionOf(submenu(file, 'Open Recent'), 'lander  (~/code/lander)')).toEqual({
      type: 'open-workspace',
      dir: '/home/ada/code/lander',
    });
  });

  it('has notification opt-ins per event type and the close-to-tray setting as checkboxes', () => {
    const settings = submenu(submenu(buildAppMenu(base, '/home/ada'), 'File'), 'Settings');
    expect(render(settings)).toEqual([
      '☑ Notify when a workflow fails',
      '☐ Notify when a workflow finishes',
      '---',
      '☑ Keep running in the tray when the window closes',
    ]);
    expect(actionOf(settings, 'Notify when a workflow finishes')).toEqual({
      type: 'toggle-notification',
      eventType: 'workflow.finished',
    });
  });

  it('follows macOS conventions there: an app menu with Settings and Quit', () => {
    const menu = buildAppMenu({ ...base, platform: 'darwin' }, '/home/ada');
    expect(render(menu)).toEqual(['Lookout ▸', 'File ▸', 'Edit ▸', 'View ▸', 'Window ▸']);
    expect(render(submenu(menu, 'Lookout'))).toContain('Quit Lookout');
    expect(render(submenu(menu, 'File'))).not.toContain('Quit');
  });

  it('keeps developer tools out of packaged builds and server actions out while stopped', () => {
    expect(render(submenu(buildAppMenu(base), 'View'))).not.toContain('<toggleDevTools>');
    expect(render(submenu(buildAppMenu({ ...base, devTools: true }), 'View'))).toContain('<toggleDevTools>');
    expect(render(submenu(buildAppMenu({ ...base, serverRunning: false }), 'File'))).toContain(
      'Open in Browser (disabled)',
    );
  });

  it('labels a workspace by name with its path, shortening the home directory', () => {
    expect(workspaceLabel('/home/ada/code/rover', '/home/ada')).toBe('rover  (~/code/rover)');
    expect(workspaceLabel('/srv/rover', '/home/ada')).toBe('rover  (/srv/rover)');
    expect(workspaceLabel('/home/adam/x', '/home/ada')).toBe('x  (/home/adam/x)');
  });
});

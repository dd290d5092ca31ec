import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src-main/config.ts';
import { DesktopSettings, MAX_RECENT_WORKSPACES, SETTINGS_FILE } from '../../src-main/desktop/desktop-settings.ts';
import { ServerToggle } from '../../src-main/desktop/server-toggle.ts';
import { checkWorkspace, startupWorkspace, WorkspaceSwitcher } from '../../src-main/desktop/workspaces.ts';
import { createRuntime } from '../../src-main/runtime.ts';
import { workspacePaths } from '../../src-main/workspace.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const toggles: ServerToggle[] = [];
afterEach(async () => {
  await Promise.all(toggles.splice(0).map((t) => t.stop()));
});

const real = (dir: string) => fs.realpathSync(dir);

describe('choosing a workspace folder', () => {
  it('accepts a writable folder, answering with its real path', () => {
    const dir = tempWorkspace();
    expect(checkWorkspace(dir)).toEqual({ ok: true, dir: real(dir) });
    const link = path.join(tempWorkspace(), 'link');
    fs.symlinkSync(dir, link);
    expect(checkWorkspace(link)).toEqual({ ok: true, dir: real(dir) });
  });

  it('refuses what cannot be a workspace, saying why', () => {
    const root = tempWorkspace();
    const missing = checkWorkspace(path.join(root, 'gone'));
    expect(missing.ok === false && missing.message).toMatch(/does not exist/);

    const file = path.join(root, 'notes.txt');
    fs.writeFileSync(file, 'hi');
    const notDir = checkWorkspace(file);
    expect(notDir.ok === false && notDir.message).toMatch(/is a file, not a folder/);

    const stateDir = path.join(root, '.lookout');
    fs.mkdirSync(stateDir);
    const inside = checkWorkspace(stateDir);
    expect(inside.ok === false && inside.message).toMatch(/inside Lookout's own .lookout folder/);
  });

  it.skipIf(process.getuid?.() === 0)('refuses a folder it cannot write to', () => {
    const dir = path.join(tempWorkspace(), 'locked');
    fs.mkdirSync(dir, { mode: 0o500 });
    const check = checkWorkspace(dir);
    expect(check.ok === false && check.message).toMatch(/not writable/);
    fs.chmodSync(dir, 0o700);
  });

  it('starts with --workspace, else the last one used, else asks', () => {
    const given = tempWorkspace();
    const last = tempWorkspace();
    expect(startupWorkspace({ requested: given, recent: [last] })).toEqual({ dir: real(given), source: 'argument' });
    expect(startupWorkspace({ requested: undefined, recent: [last, given] })).toEqual({
      dir: real(last),
      source: 'recent',
    });
    expect(startupWorkspace({ requested: undefined, recent: [] })).toEqual({ dir: null, problem: null });
  });

  it('does not silently swap a bad --workspace or a vanished last workspace for another', () => {
    const fallback = tempWorkspace();
    const bad = startupWorkspace({ requested: '/nonexistent/lookout-x', recent: [fallback] });
    expect(bad.dir).toBeNull();
    expect(bad.dir === null && bad.problem).toMatch(/does not exist/);
    const vanished = startupWorkspace({ requested: undefined, recent: ['/nonexistent/lookout-y', fallback] });
    expect(vanished.dir === null && vanished.problem).toMatch(/^the last workspace cannot be opened/);
  });
});

describe('desktop settings (settings.json in a directory the caller names)', () => {
  it('starts from defaults: notifications off, close-to-tray on, no recent workspaces', () => {
    const settings = DesktopSettings.load(tempWorkspace());
    expect(settings.value).toEqual({
      version: 1,
      recent_workspaces: [],
      close_to_tray: true,
      close_hint_shown: false,
      notifications: { 'workflow.failed': false, 'workflow.finished': false },
    });
  });

  it('remembers recent workspaces most recent first, without duplicates, up to a limit, across loads', () => {
    const dir = tempWorkspace();
    const settings = DesktopSettings.load(dir);
    settings.rememberWorkspace('/w/a');
    settings.rememberWorkspace('/w/b');
    settings.rememberWorkspace('/w/a');
    expect(settings.value.recent_workspaces).toEqual(['/w/a', '/w/b']);
    for (let i = 0; i < 20; i++) settings.rememberWorkspace(`/w/n${i}`);
    expect(settings.value.recent_workspaces).toHaveLength(MAX_RECENT_WORKSPACES);
    expect(settings.value.recent_workspaces[0]).toBe('/w/n19');
    expect(DesktopSettings.load(dir).value.recent_workspaces).toEqual(settings.value.recent_workspaces);
    settings.forgetWorkspace('/w/n19');
    expect(settings.value.recent_workspaces[0]).toBe('/w/n18');
    settings.clearRecentWorkspaces();
    expect(DesktopSettings.load(dir).value.recent_workspaces).toEqual([]);
  });

  it('writes the file with owner-only permissions and leaves no temp file', () => {
    const dir = tempWorkspace();
    DesktopSettings.load(dir).update((s) => ({ ...s, close_to_tray: false }));
    const file = path.join(dir, SETTINGS_FILE);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).close_to_tray).toBe(false);
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual([SETTINGS_FILE]);
  });

  it('one bad value costs that value only; relative paths are dropped from the recent list', () => {
    const dir = tempWorkspace();
    fs.writeFileSync(
      path.join(dir, SETTINGS_FILE),
      JSON.stringify({
        close_to_tray: 'yes please',
        recent_workspaces: ['/ok', 'relative/x', 7],
        notifications: { 'workflow.failed': true, 'workflow.finished': 'no' },
      }),
    );
    const value = DesktopSettings.load(dir).value;
    expect(value.close_to_tray).toBe(true);
    expect(value.notifications).toEqual({ 'workflow.failed': true, 'workflow.finished': false });
    // The array as a whole was invalid (a number in it): the list falls back to empty.
    expect(value.recent_workspaces).toEqual([]);
    fs.writeFileSync(path.join(dir, SETTINGS_FILE), JSON.stringify({ recent_workspaces: ['/ok', 'relative/x'] }));
    expect(DesktopSettings.load(dir).value.recent_workspaces).toEqual(['/ok']);
  });

  it('a file that is not JSON is moved aside, not overwritten', () => {
    const dir = tempWorkspace();
    fs.writeFileSync(path.join(dir, SETTINGS_FILE), '{ this is not json');
    const logs: string[] = [];
    const settings = DesktopSettings.load(dir, { log: (m) => logs.push(m) });
    expect(settings.value.close_to_tray).toBe(true);
    expect(fs.readFileSync(path.join(dir, `${SETTINGS_FILE}.corrupt`), 'utf8')).toBe('{ this is not json');
    expect(logs[0]).toMatch(/not valid JSON; moved it to/);
  });

  it('a settings directory that cannot be written is reported and the app carries on', () => {
    const dir = tempWorkspace();
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, '');
    const logs: string[] = [];
    const settings = DesktopSettings.load(path.join(blocker, 'sub'), { log: (m) => logs.push(m) });
    settings.rememberWorkspace('/w/a');
    expect(settings.value.recent_workspaces).toEqual(['/w/a']);
    expect(logs.join('\n')).toMatch(/cannot save .*the change holds until Lookout quits/);
  });
});

describe('switching workspaces (real runtimes, real temp dirs)', () => {
  function setup() {
    const settings = DesktopSettings.load(tempWorkspace());
    const toggle = new ServerToggle({ config: null, createRuntime: (config) => createRuntime(config) });
    toggles.push(toggle);
    const switcher = new WorkspaceSwitcher({
      toggle,
      settings,
      configFor: (dir) => parseConfig({ workspace: dir, port: 0, logLevel: 'warn' }),
    });
    return { settings, toggle, switcher };
  }

  it('opens a workspace: server up for it, remembered first', async () => {
    const { settings, toggle, switcher } = setup();
    const dir = tempWorkspace();
    const result = await switcher.open(dir);
    expect(result).toMatchObject({ ok: true, dir: real(dir), state: { status: 'running' } });
    expect(switcher.current).toBe(real(dir));
    expect(toggle.runtime?.config.workspace).toBe(real(dir));
    expect(fs.existsSync(workspacePaths(real(dir)).serverInfo)).toBe(true);
    expect(settings.value.recent_workspaces).toEqual([real(dir)]);
  });

  it('switches cleanly: the first server stops and releases its workspace before the second starts', async () => {
    const { settings, toggle, switcher } = setup();
    const first = tempWorkspace();
    const second = tempWorkspace();
    await switcher.open(first);
    const firstUrl = toggle.state.status === 'running' ? toggle.state.url : '';
    await switcher.open(second);
    expect(toggle.runtime?.config.workspace).toBe(real(second));
    expect(fs.existsSync(workspacePaths(real(first)).serverInfo)).toBe(false);
    expect(fs.existsSync(workspacePaths(real(first)).lock)).toBe(false);
    await expect(fetch(`${firstUrl}/health`)).rejects.toThrow();
    expect(settings.value.recent_workspaces).toEqual([real(second), real(first)]);
  });

  it('two quick switches end on the last one with a single server', async () => {
    const { toggle, switcher } = setup();
    const [a, b, c] = [tempWorkspace(), tempWorkspace(), tempWorkspace()];
    await Promise.all([switcher.open(a), switcher.open(b), switcher.open(c)]);
    expect(toggle.runtime?.config.workspace).toBe(real(c));
    expect(fs.existsSync(workspacePaths(real(a)).serverInfo)).toBe(false);
    expect(fs.existsSync(workspacePaths(real(b)).serverInfo)).toBe(false);
  });

  it('reopening the workspace being served does not restart it', async () => {
    const { toggle, switcher } = setup();
    const dir = tempWorkspace();
    await switcher.open(dir);
    const token = toggle.runtime?.token;
    await switcher.open(dir);
    expect(toggle.runtime?.token).toBe(token);
  });

  it('a refused folder leaves the running server alone', async () => {
    const { toggle, switcher, settings } = setup();
    const dir = tempWorkspace();
    await switcher.open(dir);
    const result = await switcher.open(path.join(dir, 'missing'));
    expect(result.ok).toBe(false);
    expect(toggle.state.status).toBe('running');
    expect(toggle.runtime?.config.workspace).toBe(real(dir));
    expect(settings.value.recent_workspaces).toEqual([real(dir)]);
  });

  it('a bad LOOKOUT_* variable is reported as the folder is opened', async () => {
    const settings = DesktopSettings.load(tempWorkspace());
    const toggle = new ServerToggle({ config: null, createRuntime: (config) => createRuntime(config) });
    toggles.push(toggle);
    const switcher = new WorkspaceSwitcher({
      toggle,
      settings,
      configFor: (dir) => loadConfig({ flags: { workspace: dir }, env: { LOOKOUT_PORT: 'lots' } }),
    });
    const result = await switcher.open(tempWorkspace());
    expect(result.ok === false && result.message).toMatch(/invalid setting port \(--port \/ LOOKOUT_PORT\)/);
    expect(toggle.state.status).toBe('stopped');
  });
});

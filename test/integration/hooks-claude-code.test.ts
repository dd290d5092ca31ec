import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventsPage } from '../../src-shared/protocol.ts';
import {
  backupFile,
  claudeHooksInstalled,
  installClaudeHooks,
  uninstallClaudeHooks,
} from '../../src-main/ingest/claude-settings.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { runLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const COMMAND = "'/usr/bin/node' '/opt/lookout/bin/lookout.js' hooks emit claude-code";

// The user's own settings, formatted their way (tabs, key order, no final newline).
const USER_SETTINGS = `{
\t"model": "opus",
\t"permissions": { "allow": ["Bash(npm test)"] },
\t"hooks": {
\t\t"PreToolUse": [
\t\t\t{ "matcher": "Bash", "hooks": [ { "type": "command", "command": "~/bin/check-bash.sh" } ] }
\t\t]
\t}
}`;

function settingsIn(dir: string, content?: string): string {
  const file = path.join(dir, '.claude', 'settings.json');
  if (content !== undefined) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return file;
}

interface Settings {
  [key: string]: unknown;
  hooks: Record<string, { matcher?: string; hooks: { type: string; command: string; timeout?: number }[] }[]>;
}
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Settings;

describe('Claude Code settings.json: install merges, is idempotent, uninstall restores', () => {
  it('merges beside existing settings and hooks, and uninstall restores the file byte for byte', () => {
    const file = settingsIn(tempWorkspace(), USER_SETTINGS);
    expect(installClaudeHooks(file, COMMAND).changed).toBe(true);
    const installed = read(file);
    expect(installed.model).toBe('opus');
    expect(installed.permissions).toEqual({ allow: ['Bash(npm test)'] });
    // The user's Bash hook is still first; ours comes after it.
    expect(installed.hooks.PreToolUse).toEqual([
      { matcher: 'Bash', hooks: [{ type: 'command', command: '~/bin/check-bash.sh' }] },
      { matcher: '*', hooks: [{ type: 'command', command: COMMAND, timeout: 5 }] },
    ]);
    expect(installed.hooks.UserPromptSubmit).toEqual([{ hooks: [{ type: 'command', command: COMMAND, timeout: 5 }] }]);
    expect(Object.keys(installed.hooks)).toEqual(
      expect.arrayContaining(['SessionStart', 'SessionEnd', 'PostToolUse', 'Stop', 'SubagentStop', 'Notification']),
    );
    expect(claudeHooksInstalled(file)).toBe(true);

    const bytes = fs.readFileSync(file);
    expect(installClaudeHooks(file, COMMAND).changed).toBe(false);
    expect(fs.readFileSync(file)).toEqual(bytes);

    expect(uninstallClaudeHooks(file).changed).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(USER_SETTINGS);
    expect(fs.existsSync(backupFile(file))).toBe(false);
    expect(uninstallClaudeHooks(file).changed).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe(USER_SETTINGS);
  });

  it('keeps edits the user made after installing, removing only our entries', () => {
    const file = settingsIn(tempWorkspace(), USER_SETTINGS);
    installClaudeHooks(file, COMMAND);
    const edited = read(file);
    edited.theme = 'dark';
    edited.hooks.Stop!.push({ hooks: [{ type: 'command', command: 'say done' }] });
    fs.writeFileSync(file, JSON.stringify(edited, null, 2));

    uninstallClaudeHooks(file);
    const after = read(file);
    expect(after.theme).toBe('dark');
    expect(after.hooks.Stop).toEqual([{ hooks: [{ type: 'command', command: 'say done' }] }]);
    expect(after.hooks.PreToolUse).toEqual([
      { matcher: 'Bash', hooks: [{ type: 'command', command: '~/bin/check-bash.sh' }] },
    ]);
    expect(after.hooks.SessionStart).toBeUndefined();
    expect(claudeHooksInstalled(file)).toBe(false);
  });

  it('creates a missing file and removes it again; a second install with a moved command replaces ours', () => {
    const dir = tempWorkspace();
    const file = settingsIn(dir);
    installClaudeHooks(file, COMMAND);
    installClaudeHooks(file, COMMAND.replace('/opt/lookout', '/srv/lookout'));
    const commands = JSON.stringify(read(file));
    expect(commands).not.toContain('/opt/lookout');
    expect(read(file).hooks.Stop).toHaveLength(1);
    uninstallClaudeHooks(file);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('refuses a settings file that is not JSON, changing nothing', () => {
    const broken = '{ "model": "opus", ';
    const file = settingsIn(tempWorkspace(), broken);
    expect(() => installClaudeHooks(file, COMMAND)).toThrow(/not valid JSON.*nothing was changed/);
    expect(fs.readFileSync(file, 'utf8')).toBe(broken);
    expect(fs.existsSync(backupFile(file))).toBe(false);
  });
});

const fixtures = (
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../fixtures/claude-code-hooks.json'), 'utf8')) as {
    cases: { name: string; input: Record<string, unknown>; expect: { type: string } }[];
  }
).cases;

/** Runs a hook command the way Claude Code does: through sh, the hook input on stdin. */
function runHook(command: string, input: string, cwd: string): Promise<{ code: number; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr, ms: performance.now() - started }));
    child.stdin.end(input);
  });
}

async function events(runtime: Runtime): Promise<EventsPage['events']> {
  return ((await (await api(runtime, '/api/v1/events?types=tool.*,chat.*,agent_session.*,x.*')).json()) as EventsPage)
    .events;
}

describe('lookout hooks install claude-code, then the hooks as Claude Code runs them', () => {
  it('publishes every documented hook input as its event, in order', async () => {
    const runtime = await startRuntime();
    const workspace = runtime.config.workspace;
    const install = await runLookout(['hooks', 'install', 'claude-code', '--project', '--workspace', workspace]);
    expect(install.code).toBe(0);
    expect(install.stdout).toContain(path.join(workspace, '.claude', 'settings.json'));
    const command = read(path.join(workspace, '.claude', 'settings.json')).hooks.PreToolUse![0]!.hooks[0]!.command;

    for (const fixture of fixtures) {
      // Claude Code runs hooks in the project; the input names its cwd.
      const result = await runHook(command, JSON.stringify({ ...fixture.input, cwd: workspace }), workspace);
      expect(result, fixture.name).toMatchObject({ code: 0, stderr: '' });
    }
    expect((await events(runtime)).map((e) => e.type)).toEqual(fixtures.map((f) => f.expect.type));

    const again = await runLookout(['hooks', 'install', 'claude-code', '--workspace', workspace]);
    expect(again.stdout).toContain('already installed');
    const removed = await runLookout(['hooks', 'uninstall', 'claude-code', '--workspace', workspace]);
    expect(removed.code).toBe(0);
    expect(fs.existsSync(path.join(workspace, '.claude', 'settings.json'))).toBe(false);
  });

  it('never blocks Claude Code: exit 0 with no server, with garbage input, and with a server that hangs', async () => {
    const workspace = tempWorkspace();
    fs.mkdirSync(path.join(workspace, '.lookout'));
    const home = tempWorkspace();
    const install = await runLookout(['hooks', 'install', 'claude-code', '--user', '--workspace', workspace], {
      env: { HOME: home },
    });
    expect(install.code).toBe(0);
    const command = read(path.join(home, '.claude', 'settings.json')).hooks.Stop![0]!.hooks[0]!.command;
    const input = JSON.stringify({ ...fixtures[0]!.input, cwd: workspace });

    const noServer = await runHook(command, input, workspace);
    expect(noServer).toMatchObject({ code: 0, stderr: '' });
    const garbage = await runHook(command, 'not json', workspace);
    expect(garbage.code).toBe(0);
    expect(garbage.stderr).toContain('not JSON');

    // A server.json pointing at a port that accepts and never answers (this test's own process).
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    fs.writeFileSync(
      path.join(workspace, '.lookout', 'server.json'),
      JSON.stringify({
        url: `http://127.0.0.1:${port}`,
        port,
        pid: process.pid,
        token: 't',
        version: '0',
        started_at: '',
      }),
    );
    try {
      const hung = await runHook(command, input, workspace);
      expect(hung.code).toBe(0);
      expect(hung.stderr).toMatch(/timed out/);
      expect(hung.ms).toBeLessThan(5000); // within Claude Code's own hook timeout (HOOK_TIMEOUT_S)
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src-main/runtime.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const ORIGINAL = '# the user’s own file\n';

describe('nothing under .lookout/ is followed through a symlink', () => {
  // Every file and folder Lookout keeps in .lookout/ (start-up refuses any link there).
  const names = [
    '.gitignore',
    'lookout.db',
    'lookout.db-wal',
    'lookout.db-shm',
    'lookout.log',
    'lookout.log.1',
    'server.json',
    'session.lock',
    'session.lock.json',
    'signing.key',
    'tasks',
    'sandboxes',
    'prices.json',
  ];

  it.each(names)('refuses to start when .lookout/%s is a symlink, and leaves its target untouched', async (name) => {
    const workspace = tempWorkspace();
    const outside = path.join(tempWorkspace(), 'bashrc');
    fs.writeFileSync(outside, ORIGINAL);
    fs.mkdirSync(path.join(workspace, '.lookout'), { mode: 0o700 });
    fs.symlinkSync(outside, path.join(workspace, '.lookout', name));
    await expect(createRuntime({ workspace, port: 0, logLevel: 'info' })).rejects.toThrow(/symlink/);
    expect(fs.readFileSync(outside, 'utf8')).toBe(ORIGINAL);
    expect(fs.lstatSync(outside).mode & 0o777).not.toBe(0o600);
  });

  it('refuses to start when .lookout/lookout.log is a dangling symlink (nothing is created at its target)', async () => {
    const workspace = tempWorkspace();
    const target = path.join(tempWorkspace(), 'created-by-lookout');
    fs.mkdirSync(path.join(workspace, '.lookout'), { mode: 0o700 });
    fs.symlinkSync(target, path.join(workspace, '.lookout', 'lookout.log'));
    await expect(createRuntime({ workspace, port: 0, logLevel: 'info' })).rejects.toThrow(/symlink/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it.each([
    ['tasks', 'abc.log'],
    ['sandboxes', 'task-abc'],
    ['.', 'a-file-a-later-version-writes'],
  ])('refuses a link in %s/ (%s), not only the files it names', async (folder, name) => {
    const workspace = tempWorkspace();
    const dir = path.join(workspace, '.lookout', folder);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.symlinkSync(tempWorkspace(), path.join(dir, name));
    await expect(createRuntime({ workspace, port: 0, logLevel: 'silent' })).rejects.toThrow(
      new RegExp(`${name}.* is a symlink`),
    );
  });

  it('refuses a .lookout that is itself a symlink', async () => {
    const workspace = tempWorkspace();
    const elsewhere = tempWorkspace();
    fs.symlinkSync(elsewhere, path.join(workspace, '.lookout'));
    await expect(createRuntime({ workspace, port: 0, logLevel: 'silent' })).rejects.toThrow(
      /\.lookout: it is a symlink/,
    );
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a .lookout owned by another user', async () => {
    const workspace = tempWorkspace();
    const dir = path.join(workspace, '.lookout');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, 65534, 65534);
    await expect(createRuntime({ workspace, port: 0, logLevel: 'silent' })).rejects.toThrow(
      /owned by uid 65534, not by you/,
    );
  });

  it('creates the database files 0600', async () => {
    const runtime = await startRuntime();
    await runtime.bus.publish([{ type: 'x.mode', data: {} }]);
    for (const file of [runtime.paths.database, `${runtime.paths.database}-wal`, `${runtime.paths.database}-shm`])
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(runtime.paths.log).mode & 0o777).toBe(0o600);
  });
});

describe('what a request can put in the log', () => {
  it('escapes and caps request paths: a cross-site <img src="/$(cmd)"> lands no command in the log', async () => {
    const runtime = await startRuntime({ logLevel: 'info' });
    await fetch(`${runtime.url}/$(touch%20pwned)%0aecho%20\`id\`;"'`);
    await fetch(`${runtime.url}/${'a'.repeat(15_000)}`);
    await runtime.stop();
    const log = fs.readFileSync(runtime.paths.log, 'utf8');
    const paths = log
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; path?: string })
      .filter((record) => record.msg === 'request')
      .map((record) => record.path!);
    expect(paths[0]).toBe('/%24%28touch%20pwned%29%0aecho%20%60id%60%3B%22%27');
    expect(log).not.toMatch(/\$\(|`|\n[^{]/);
    expect(paths[1]!.length).toBeLessThan(300);
    expect(paths[1]).toMatch(/…\(\+14745 chars\)$/);
  });

  it('logs requests the Host check refuses only as a counter', async () => {
    const runtime = await startRuntime({ logLevel: 'info' });
    for (let i = 0; i < 50; i++) {
      const response = await rawRequest(`${runtime.url}/x${i}`, { headers: { host: 'evil.example' } });
      expect(response.status).toBe(403);
    }
    for (let i = 0; i < 10; i++) {
      const upgrade = await rawRequest(`${runtime.url}/ws`, {
        headers: {
          host: 'evil.example',
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      expect(upgrade.status).toBe(403);
    }
    await runtime.stop();
    const records = fs
      .readFileSync(runtime.paths.log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; refused?: number; path?: string });
    expect(records.filter((r) => r.msg === 'request' && r.path?.startsWith('/x'))).toEqual([]);
    const counted = records.filter((r) => r.refused !== undefined);
    expect(counted).toHaveLength(1);
    expect(counted[0]!.refused).toBe(60); // 50 requests and 10 WebSocket upgrades
    expect(records.filter((r) => r.msg === 'websocket upgrade refused')).toEqual([]);
  });
});

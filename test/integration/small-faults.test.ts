import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src-main/runtime.ts';
import { isHeld } from '../../src-main/session/lock.ts';
import { workspacePaths } from '../../src-main/workspace.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('small faults (issue 17 item 15)', () => {
  it('a stop whose steps fail still runs every step, then rejects naming them (serve exits 1)', async () => {
    const runtime = await createRuntime({ workspace: tempWorkspace(), port: 0, logLevel: 'silent' });
    await runtime.store.close(); // the "record stop" step can no longer write
    await expect(runtime.stop()).rejects.toThrow(/stopped, but a step failed: record stop/);
    expect(fs.existsSync(runtime.paths.serverInfo)).toBe(false);
    expect(isHeld(runtime.paths)).toBe(false);
  });

  it('refuses a read-only (0400) database before SQLite creates a 0400 -shm, and starts once it is writable', async () => {
    const workspace = tempWorkspace();
    const paths = workspacePaths(workspace);
    await (await createRuntime({ workspace, port: 0, logLevel: 'silent' })).stop();
    fs.rmSync(`${paths.database}-shm`, { force: true });
    fs.rmSync(`${paths.database}-wal`, { force: true });
    fs.chmodSync(paths.database, 0o400);
    await expect(createRuntime({ workspace, port: 0, logLevel: 'silent' })).rejects.toThrow(
      /lookout\.db is read-only \(mode 400\); make it writable by you: chmod 600 .*lookout\.db .*lookout\.db-wal .*lookout\.db-shm/,
    );
    expect(fs.existsSync(`${paths.database}-shm`)).toBe(false);
    fs.chmodSync(paths.database, 0o600);
    const runtime = await createRuntime({ workspace, port: 0, logLevel: 'silent' });
    for (const file of [paths.database, `${paths.database}-wal`, `${paths.database}-shm`])
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    await runtime.stop();
  });

  it('a server whose .lookout/ is deleted under it stops, and never takes the lock of the next one', async () => {
    const first = await startRuntime();
    const workspace = first.config.workspace;
    fs.rmSync(first.paths.stateDir, { recursive: true, force: true });
    await until(
      () =>
        fetch(`${first.url}/health`).then(
          () => false,
          () => true,
        ),
      'the orphaned server to stop',
    );
    const second = await createRuntime({ workspace, port: 0, logLevel: 'silent' });
    try {
      expect(second.session.state.read_only).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 2500)); // two watch ticks of the old one, had it lived
      expect(second.session.state.read_only).toBe(false);
      expect(second.session.state.lock.pid).toBe(process.pid);
    } finally {
      await second.stop();
    }
  });

  it('lookout serve exits 1 with one line when its .lookout/ is deleted', async () => {
    const workspace = tempWorkspace();
    const serve = spawnLookout(['serve', '--port', '0', '--workspace', workspace, '--log-level', 'warn']);
    await serve.waitFor(/listening on/);
    fs.rmSync(path.join(workspace, '.lookout'), { recursive: true, force: true });
    expect(await serve.exited).toBe(1);
    expect(serve.stderr()).toMatch(/\.lookout was deleted while the server ran; stopping/);
    expect(fs.existsSync(path.join(workspace, '.lookout', 'session.lock'))).toBe(false);
  });

  it('`lookout serve | head -1`: a closed stdout does not kill the server or leave server.json', async () => {
    const workspace = tempWorkspace();
    const serve = spawnLookout(['serve', '--port', '0', '--workspace', workspace, '--log-level', 'warn']);
    const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
    serve.child.stdout!.destroy(); // the reader is gone, as after head -1
    expect((await fetch(`${url}/health`)).status).toBe(200);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(fs.existsSync(path.join(workspace, '.lookout', 'server.json'))).toBe(false);
  });
});

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src-main/config.ts';
import { type ServerState, ServerToggle, type ToggleRuntime } from '../../src-main/desktop/server-toggle.ts';
import { createRuntime } from '../../src-main/runtime.ts';
import { WorkspaceLock } from '../../src-main/session/lock.ts';
import { workspacePaths } from '../../src-main/workspace.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const toggles: ServerToggle[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(toggles.splice(0).map((t) => t.stop()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const configFor = (workspace: string, port = 0) => parseConfig({ workspace, port, logLevel: 'warn' });

/** A toggle over real runtimes, recording every state it passes through. */
function realToggle(workspace = tempWorkspace(), port = 0) {
  const created: ToggleRuntime[] = [];
  const toggle = new ServerToggle({
    config: configFor(workspace, port),
    createRuntime: async (config) => {
      const runtime = await createRuntime(config);
      created.push(runtime);
      return runtime;
    },
  });
  const seen: ServerState['status'][] = [];
  toggle.onChange((state) => seen.push(state.status));
  toggles.push(toggle);
  return { toggle, created, seen, workspace };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch (error) {
    return ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
  }
}

/** Holds a port the way another program would. */
async function occupyPort(): Promise<number> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  return (blocker.address() as net.AddressInfo).port;
}

describe('the server toggle (real runtimes on port 0)', () => {
  it('starts: stopped → starting → running, serving on the reported address', async () => {
    const { toggle, seen } = realToggle();
    expect(toggle.state).toEqual({ status: 'stopped' });
    const state = await toggle.start();
    expect(seen).toEqual(['starting', 'running']);
    expect(state.status).toBe('running');
    if (state.status !== 'running') return;
    expect(state.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(state.url).toBe(`http://${state.address}`);
    const health = await fetch(`${state.url}/health`);
    expect(health.status).toBe(200);
    expect(toggle.session?.read_only).toBe(false);
    expect(toggle.session?.lock.holder).toBe('server');
  });

  it('stops: running → stopping → stopped; clients then get connection refused and server.json is gone', async () => {
    const { toggle, seen, workspace } = realToggle();
    const running = await toggle.start();
    if (running.status !== 'running') throw new Error('did not start');
    expect(fs.existsSync(workspacePaths(workspace).serverInfo)).toBe(true);
    await toggle.stop();
    expect(seen).toEqual(['starting', 'running', 'stopping', 'stopped']);
    expect(toggle.runtime).toBeUndefined();
    expect(toggle.session).toBeNull();
    expect(await refused(running.url)).toBe(true);
    expect(fs.existsSync(workspacePaths(workspace).serverInfo)).toBe(false);
  });

  it('start and stop are idempotent: concurrent starts make one runtime, repeated stops do nothing', async () => {
    const { toggle, created, seen } = realToggle();
    const [a, b, c] = await Promise.all([toggle.start(), toggle.start(), toggle.start()]);
    expect(created).toHaveLength(1);
    expect([a.status, b.status, c.status]).toEqual(['running', 'running', 'running']);
    await toggle.start();
    expect(created).toHaveLength(1);
    await Promise.all([toggle.stop(), toggle.stop()]);
    await toggle.stop();
    expect(seen).toEqual(['starting', 'running', 'stopping', 'stopped']);
  });

  it('starts again after a stop, with a fresh runtime and token', async () => {
    const { toggle, created } = realToggle();
    await toggle.start();
    const firstToken = toggle.runtime!.token;
    await toggle.stop();
    const again = await toggle.start();
    expect(again.status).toBe('running');
    expect(created).toHaveLength(2);
    expect(toggle.runtime!.token).not.toBe(firstToken);
  });

  it('a port taken by another program is an error that says so; a free port still works', async () => {
    const port = await occupyPort();
    const { toggle } = realToggle(tempWorkspace(), port);
    const failed = await toggle.start();
    expect(failed).toEqual({
      status: 'error',
      reason: 'port_taken',
      message: `port ${port} is in use by another program`,
    });
    // Retrying on the same port fails the same way; nothing was left half-started.
    expect((await toggle.start()).status).toBe('error');
    const rescued = await toggle.start({ port: 0 });
    expect(rescued.status).toBe('running');
    if (rescued.status === 'running') expect(rescued.port).not.toBe(port);
    // The one-off port did not replace the configured one.
    expect(toggle.config?.port).toBe(port);
  });

  it('a start that fails keeps the runtime message, and a retry after the cause is fixed succeeds', async () => {
    const workspace = path.join(tempWorkspace(), 'not-yet');
    const { toggle } = realToggle(workspace);
    const failed = await toggle.start();
    expect(failed.status).toBe('error');
    if (failed.status === 'error') {
      expect(failed.reason).toBe('startup_failed');
      expect(failed.message).toContain('does not exist');
    }
    fs.mkdirSync(workspace);
    expect((await toggle.start()).status).toBe('running');
  });

  it('stop from the error state acknowledges it: back to stopped', async () => {
    const port = await occupyPort();
    const { toggle } = realToggle(tempWorkspace(), port);
    expect((await toggle.start()).status).toBe('error');
    expect(await toggle.stop()).toEqual({ status: 'stopped' });
  });

  it('without a workspace, start is an error that asks for one', async () => {
    const toggle = new ServerToggle({ config: null, createRuntime: () => Promise.reject(new Error('not called')) });
    const state = await toggle.start();
    expect(state).toMatchObject({ status: 'error', reason: 'no_workspace' });
  });

  it('toggle() flips between running and stopped', async () => {
    const { toggle } = realToggle();
    expect((await toggle.toggle()).status).toBe('running');
    expect((await toggle.toggle()).status).toBe('stopped');
    expect((await toggle.toggle()).status).toBe('running');
  });

  it('a stop during a start waits for the runtime to come up, then stops it (nothing leaks)', async () => {
    const workspace = tempWorkspace();
    let made: ToggleRuntime | undefined;
    const toggle = new ServerToggle({
      config: configFor(workspace),
      createRuntime: async (config) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        made = await createRuntime(config);
        return made;
      },
    });
    toggles.push(toggle);
    const starting = toggle.start();
    await new Promise((resolve) => setImmediate(resolve)); // a later click is a later task
    expect(toggle.state.status).toBe('starting');
    const stopped = await toggle.stop();
    expect((await starting).status).toBe('running'); // the start's own result, at its turn
    expect(stopped).toEqual({ status: 'stopped' });
    expect(made).toBeDefined();
    expect(await refused(made!.url)).toBe(true);
  });

  it('a runtime whose stop throws ends in an error state, and the toggle can start again', async () => {
    const workspace = tempWorkspace();
    let failStop = true;
    const toggle = new ServerToggle({
      config: configFor(workspace),
      createRuntime: async (config) => {
        const runtime = await createRuntime(config);
        return {
          ...runtime,
          stop: async () => {
            await runtime.stop();
            if (failStop) throw new Error('disk on fire');
          },
        };
      },
    });
    toggles.push(toggle);
    await toggle.start();
    expect(await toggle.stop()).toEqual({
      status: 'error',
      reason: 'stop_failed',
      message: 'the server did not stop cleanly: disk on fire',
    });
    failStop = false;
    expect((await toggle.start()).status).toBe('running');
  });

  it('reports lock changes while running: a CLI holding the workspace makes it read-only', async () => {
    const workspace = tempWorkspace();
    const paths = workspacePaths(workspace);
    fs.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
    const cli = new WorkspaceLock(paths);
    expect((await cli.acquire('cli', ['lookout', 'run', '--', 'agent'])).ok).toBe(true);
    cleanups.push(() => cli.release());

    const { toggle } = realToggle(workspace);
    await toggle.start();
    expect(toggle.session).toMatchObject({ read_only: true, lock: { holder: 'cli', pid: process.pid } });

    const changed = new Promise<void>((resolve) =>
      toggle.onChange(() => toggle.session?.read_only === false && resolve()),
    );
    await cli.release();
    await changed; // the runtime's watcher takes the lock back within a few seconds
    expect(toggle.session).toMatchObject({ read_only: false, lock: { holder: 'server' } });
    expect(toggle.state.status).toBe('running');
  });

  it('restartWith switches workspaces: the old server stops, the new one serves', async () => {
    const { toggle, workspace: first } = realToggle();
    const before = await toggle.start();
    if (before.status !== 'running') throw new Error('did not start');
    const second = tempWorkspace();
    const after = await toggle.restartWith(configFor(second));
    expect(after.status).toBe('running');
    expect(toggle.runtime!.config.workspace).toBe(second);
    expect(await refused(before.url)).toBe(true);
    expect(fs.existsSync(workspacePaths(first).serverInfo)).toBe(false);
    expect(fs.existsSync(workspacePaths(second).serverInfo)).toBe(true);
  });

  it('a listener that throws does not wedge the machine', async () => {
    const { toggle } = realToggle();
    toggle.onChange(() => {
      throw new Error('broken view');
    });
    expect((await toggle.start()).status).toBe('running');
    expect((await toggle.stop()).status).toBe('stopped');
  });
});

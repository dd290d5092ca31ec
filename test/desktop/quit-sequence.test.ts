import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src-main/config.ts';
import { QUIT_EXIT_CODES, QuitSequence } from '../../src-main/quit-sequence.ts';
import { ServerToggle } from '../../src-main/desktop/server-toggle.ts';
import { createRuntime } from '../../src-main/runtime.ts';
import { readServerInfo, workspacePaths } from '../../src-main/workspace.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/** Lets the sequence reach its stop() call (it starts it asynchronously). */
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A controllable stop: resolves or rejects when the test says so, and counts calls. */
function deferredStop() {
  let resolve: () => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  let calls = 0;
  const stop = () => {
    calls++;
    return new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
  };
  return { stop, resolve: () => resolve(), reject: (error: Error) => reject(error), calls: () => calls };
}

function harness(stop: () => Promise<unknown>, timeoutMs = 1000) {
  const exits: number[] = [];
  const logs: string[] = [];
  const quit = new QuitSequence({ stop, exit: (code) => exits.push(code), timeoutMs, log: (m) => logs.push(m) });
  return { quit, exits, logs };
}

describe('the quit sequence', () => {
  it('stops, then exits 0', async () => {
    const stop = deferredStop();
    const { quit, exits } = harness(stop.stop);
    const outcome = quit.request('tray');
    expect(quit.requested).toBe(true);
    await tick();
    expect(stop.calls()).toBe(1);
    expect(exits).toEqual([]); // not before the stop finished
    stop.resolve();
    expect(await outcome).toBe('stopped');
    expect(exits).toEqual([0]);
  });

  it('is bounded: a stop that hangs is abandoned after the timeout and the app still exits', async () => {
    const { quit, exits, logs } = harness(() => new Promise(() => undefined), 80);
    const started = Date.now();
    expect(await quit.request('SIGTERM')).toBe('timed_out');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(70);
    expect(elapsed).toBeLessThan(1000);
    expect(exits).toEqual([QUIT_EXIT_CODES.timed_out]);
    expect(logs.at(-1)).toContain('did not stop within 80 ms');
  });

  it('is idempotent: every way out ends in one stop and one exit', async () => {
    const stop = deferredStop();
    const { quit, exits } = harness(stop.stop);
    const first = quit.request('before-quit');
    await tick();
    stop.resolve();
    expect(await first).toBe('stopped');
    // After the exit, more requests (a late signal, a second menu click) change nothing.
    expect(await quit.request('SIGTERM')).toBe('stopped');
    expect(await quit.request('tray')).toBe('stopped');
    expect(stop.calls()).toBe(1);
    expect(exits).toEqual([0]);
  });

  it('a second request while stopping forces the exit at once (130), like a second Ctrl+C', async () => {
    const stop = deferredStop();
    const { quit, exits, logs } = harness(stop.stop, 10_000);
    const first = quit.request('SIGINT');
    await tick();
    const second = quit.request('SIGINT');
    expect(exits).toEqual([130]);
    expect(await first).toBe('forced');
    expect(await second).toBe('forced');
    // The stop finishing later does not exit a second time.
    stop.resolve();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(exits).toEqual([130]);
    expect(stop.calls()).toBe(1);
    expect(logs.at(-1)).toContain('forced (SIGINT while stopping)');
  });

  it('a stop that fails still exits, non-zero, and says why', async () => {
    const stop = deferredStop();
    const { quit, exits, logs } = harness(stop.stop);
    const outcome = quit.request('app-menu');
    await tick();
    stop.reject(new Error('store would not close'));
    expect(await outcome).toBe('failed');
    expect(exits).toEqual([1]);
    expect(logs.at(-1)).toContain('store would not close');
  });

  it('a stop that throws synchronously is a failure, not a crash', async () => {
    const { quit, exits } = harness(() => {
      throw new Error('boom');
    });
    expect(await quit.request('window-close')).toBe('failed');
    expect(exits).toEqual([1]);
  });

  it('with a real runtime: quit stops the server (lock released, server.json removed) before exiting', async () => {
    const workspace = tempWorkspace();
    const toggle = new ServerToggle({
      config: parseConfig({ workspace, port: 0, logLevel: 'warn' }),
      createRuntime: (config) => createRuntime(config),
    });
    const running = await toggle.start();
    if (running.status !== 'running') throw new Error('did not start');
    const exits: { code: number; serverInfoPresent: boolean }[] = [];
    const quit = new QuitSequence({
      stop: () => toggle.stop(),
      exit: (code) =>
        exits.push({ code, serverInfoPresent: readServerInfo(workspacePaths(workspace).serverInfo) !== undefined }),
      timeoutMs: 5000,
    });
    expect(await quit.request('SIGTERM')).toBe('stopped');
    expect(exits).toEqual([{ code: 0, serverInfoPresent: false }]);
    expect(toggle.state.status).toBe('stopped');
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
  });
});

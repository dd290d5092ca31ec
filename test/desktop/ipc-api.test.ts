import { describe, expect, it, vi } from 'vitest';
import {
  CHANNELS,
  createDesktopApi,
  type DesktopState,
  IPC_CHANNELS,
  IpcValidationError,
  type IpcTransport,
  parseRequest,
  parseResponse,
  STATE_CHANGED_CHANNEL,
} from '../../src-main/desktop/ipc-api.ts';
import { type IpcHandlers, type IpcMainLike, registerIpcHandlers } from '../../src-main/desktop/ipc-router.ts';

const STOPPED: DesktopState = { server: { status: 'stopped' }, session: null, workspace: '/home/ada/rover' };
const RUNNING: DesktopState = {
  server: { status: 'running', url: 'http://127.0.0.1:3000', address: '127.0.0.1:3000', port: 3000 },
  session: {
    read_only: true,
    lock: { holder: 'cli', pid: 4242, hostname: 'box', since: '2026-11-23T14:02:00.000Z', id: 'x' },
  },
  workspace: '/home/ada/rover',
};

describe('the preload API schema', () => {
  it('names the channels the window may use', () => {
    expect(CHANNELS).toEqual([
      'server:state',
      'server:start',
      'server:stop',
      'server:open-in-browser',
      'cli:copy-env',
      'auth:sign-in-code',
      'workspace:choose',
    ]);
    expect(STATE_CHANGED_CHANNEL).toBe('server:state-changed');
  });

  it('accepts good requests', () => {
    expect(parseRequest('server:state', undefined)).toBeUndefined();
    expect(parseRequest('server:start', undefined)).toBeUndefined();
    expect(parseRequest('server:start', {})).toEqual({});
    expect(parseRequest('server:start', { free_port: true })).toEqual({ free_port: true });
    expect(parseRequest('workspace:choose', undefined)).toBeUndefined();
  });

  it('refuses bad requests with a message naming the channel and the field', () => {
    expect(() => parseRequest('server:start', { free_port: 'yes' })).toThrow(
      /invalid request on server:start: free_port: .*boolean/,
    );
    expect(() => parseRequest('server:start', { port: 80 })).toThrow(IpcValidationError);
    expect(() => parseRequest('server:start', 'now')).toThrow(IpcValidationError);
    expect(() => parseRequest('server:stop', { force: true })).toThrow(
      /invalid request on server:stop: this call takes no arguments/,
    );
    // The page cannot smuggle a path into the folder chooser.
    expect(() => parseRequest('workspace:choose', '/etc')).toThrow(IpcValidationError);
  });

  it('accepts every server state on the way back, and refuses malformed ones', () => {
    expect(parseResponse('server:state', STOPPED)).toEqual(STOPPED);
    expect(parseResponse('server:state', RUNNING)).toEqual(RUNNING);
    for (const server of [
      { status: 'starting' },
      { status: 'stopping' },
      { status: 'error', reason: 'port_taken', message: 'port 3000 is in use by another program' },
    ]) {
      expect(parseResponse('server:stop', { ...STOPPED, server })).toMatchObject({ server });
    }
    expect(() => parseResponse('server:state', { ...STOPPED, server: { status: 'exploded' } })).toThrow(
      /invalid response on server:state/,
    );
    expect(() => parseResponse('server:state', { ...RUNNING, server: { ...RUNNING.server, port: 0 } })).toThrow(
      IpcValidationError,
    );
    // The token must never cross to the page, even by accident.
    expect(() => parseResponse('server:state', { ...RUNNING, token: 'secret' })).toThrow(IpcValidationError);
    expect(() => parseResponse('server:state', { ...RUNNING, server: { ...RUNNING.server, token: 'secret' } })).toThrow(
      IpcValidationError,
    );
    expect(parseResponse('workspace:choose', { workspace: null, message: 'x is not writable' })).toEqual({
      workspace: null,
      message: 'x is not writable',
    });
    expect(() => parseResponse('cli:copy-env', { copied: 'yes' })).toThrow(IpcValidationError);
  });

  it('has a request and a response schema for every channel', () => {
    for (const channel of CHANNELS) {
      expect(IPC_CHANNELS[channel].request).toBeDefined();
      expect(IPC_CHANNELS[channel].response).toBeDefined();
    }
  });
});

describe('window.lookout (the preload side)', () => {
  function fakeTransport(answer: (channel: string, payload: unknown) => unknown) {
    const sent: { channel: string; payload: unknown }[] = [];
    const listeners = new Set<(payload: unknown) => void>();
    const transport: IpcTransport = {
      invoke: async (channel, payload) => {
        sent.push({ channel, payload });
        return answer(channel, payload);
      },
      subscribe: (_channel, listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    return { transport, sent, push: (payload: unknown) => listeners.forEach((l) => l(payload)), listeners };
  }

  it('sends valid calls and returns validated answers', async () => {
    const fake = fakeTransport((channel) => (channel === 'cli:copy-env' ? { copied: true } : RUNNING));
    const api = createDesktopApi(fake.transport);
    expect(await api.getState()).toEqual(RUNNING);
    expect(await api.startServer({ free_port: true })).toEqual(RUNNING);
    expect(await api.copyCliEnv()).toEqual({ copied: true });
    expect(fake.sent).toEqual([
      { channel: 'server:state', payload: undefined },
      { channel: 'server:start', payload: { free_port: true } },
      { channel: 'cli:copy-env', payload: undefined },
    ]);
  });

  it('refuses a bad argument before anything is sent', async () => {
    const fake = fakeTransport(() => RUNNING);
    const api = createDesktopApi(fake.transport);
    // The page is plain JavaScript: nothing stops it from passing the wrong thing.
    const loose = api as unknown as { startServer(options: unknown): Promise<unknown> };
    await expect(loose.startServer({ free_port: 1 })).rejects.toThrow(IpcValidationError);
    await expect(loose.startServer({ free_port: true, workspace: '/etc' })).rejects.toThrow(IpcValidationError);
    expect(fake.sent).toEqual([]);
  });

  it('refuses a malformed answer rather than handing it to the page', async () => {
    const api = createDesktopApi(fakeTransport(() => ({ server: { status: 'running' } })).transport);
    await expect(api.getState()).rejects.toThrow(/invalid response on server:state/);
  });

  it('delivers valid state pushes, drops malformed ones, and unsubscribes', () => {
    const fake = fakeTransport(() => RUNNING);
    const api = createDesktopApi(fake.transport);
    const seen: DesktopState[] = [];
    const unsubscribe = api.onStateChange((state) => seen.push(state));
    fake.push(STOPPED);
    fake.push({ server: { status: 'nonsense' } });
    fake.push(RUNNING);
    expect(seen).toEqual([STOPPED, RUNNING]);
    unsubscribe();
    expect(fake.listeners.size).toBe(0);
    expect(() => api.onStateChange('not a function' as unknown as () => void)).toThrow(TypeError);
  });

  it('is frozen: the page cannot swap a method for its own', () => {
    const api = createDesktopApi(fakeTransport(() => RUNNING).transport);
    expect(Object.isFrozen(api)).toBe(true);
  });
});

describe('the main side (ipc-router)', () => {
  interface FakeEvent {
    trusted: boolean;
  }
  function fakeIpcMain() {
    const handlers = new Map<string, (event: FakeEvent, ...args: unknown[]) => unknown>();
    const ipcMain: IpcMainLike<FakeEvent> = {
      handle: (channel, listener) => void handlers.set(channel, listener),
      removeHandler: (channel) => void handlers.delete(channel),
    };
    const invoke = (channel: string, event: FakeEvent, ...args: unknown[]) =>
      Promise.resolve(handlers.get(channel)!(event, ...args));
    return { ipcMain, handlers, invoke };
  }
  const handlers = (overrides: Partial<IpcHandlers> = {}): IpcHandlers => ({
    'server:state': () => STOPPED,
    'server:start': () => RUNNING,
    'server:stop': () => STOPPED,
    'server:open-in-browser': () => ({ opened: true }),
    'cli:copy-env': () => ({ copied: true }),
    'auth:sign-in-code': () => ({ code: 'one-time', expires_in: 60 }),
    'workspace:choose': () => ({ workspace: '/home/ada/rover', message: null }),
    ...overrides,
  });

  it('registers every channel, runs the handler with the validated request, and can unregister', async () => {
    const fake = fakeIpcMain();
    const start = vi.fn(() => RUNNING);
    const remove = registerIpcHandlers(fake.ipcMain, handlers({ 'server:start': start }), (event) => event.trusted);
    expect([...fake.handlers.keys()].sort()).toEqual([...CHANNELS].sort());
    expect(await fake.invoke('server:start', { trusted: true }, { free_port: true })).toEqual(RUNNING);
    expect(start).toHaveBeenCalledWith({ free_port: true });
    remove();
    expect(fake.handlers.size).toBe(0);
  });

  it('refuses callers that are not the Lookout window', async () => {
    const fake = fakeIpcMain();
    const stop = vi.fn(() => STOPPED);
    registerIpcHandlers(fake.ipcMain, handlers({ 'server:stop': stop }), (event) => event.trusted);
    await expect(fake.invoke('server:stop', { trusted: false })).rejects.toThrow(/refused: only the Lookout window/);
    expect(stop).not.toHaveBeenCalled();
  });

  it('refuses bad payloads and extra arguments before the handler runs', async () => {
    const fake = fakeIpcMain();
    const start = vi.fn(() => RUNNING);
    registerIpcHandlers(fake.ipcMain, handlers({ 'server:start': start }), () => true);
    await expect(fake.invoke('server:start', { trusted: true }, { free_port: 'please' })).rejects.toThrow(
      IpcValidationError,
    );
    await expect(fake.invoke('server:start', { trusted: true }, {}, 'extra')).rejects.toThrow(/at most one argument/);
    expect(start).not.toHaveBeenCalled();
  });

  it('checks its own answers too: a handler that leaks the token fails loudly', async () => {
    const fake = fakeIpcMain();
    registerIpcHandlers(
      fake.ipcMain,
      handlers({ 'server:state': () => ({ ...RUNNING, token: 'secret' }) as DesktopState }),
      () => true,
    );
    await expect(fake.invoke('server:state', { trusted: true })).rejects.toThrow(/invalid response on server:state/);
  });
});

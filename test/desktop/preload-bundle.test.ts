import fs from 'node:fs';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { bundlePreload } from '../../build/bundle-preload.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/**
 * The real preload file the window loads, built as `npm run build:preload` builds it,
 * then run the way a sandboxed Electron preload runs: a fresh context whose `require`
 * knows only `electron`. No Node globals, no node_modules, no ESM.
 */
describe('the bundled preload (dist/desktop/preload.cjs)', () => {
  it('is one CommonJS file that needs nothing but electron, and exposes a validating window.lookout', async () => {
    const file = await bundlePreload(tempWorkspace());
    const code = fs.readFileSync(file, 'utf8');
    expect(code).not.toMatch(/^\s*import\s/m);

    const required: string[] = [];
    const exposed = new Map<string, unknown>();
    const invoked: { channel: string; payload: unknown }[] = [];
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
      ipcRenderer: {
        invoke: async (channel: string, payload: unknown) => {
          invoked.push({ channel, payload });
          return { server: { status: 'stopped' }, session: null, workspace: '/w' };
        },
        on: () => undefined,
        removeListener: () => undefined,
      },
    };
    const sandboxRequire = (name: string): unknown => {
      required.push(name);
      if (name === 'electron') return electron;
      throw new Error(`module not found in the preload sandbox: ${name}`);
    };
    const context = vm.createContext({});
    const wrapper = vm.runInContext(`(function (require, module, exports) {${code}\n})`, context) as (
      r: typeof sandboxRequire,
      m: object,
      e: object,
    ) => void;
    const module = { exports: {} };
    wrapper(sandboxRequire, module, module.exports);

    expect(required).toEqual(['electron']);
    const api = exposed.get('lookout') as {
      getState(): Promise<unknown>;
      startServer(options?: unknown): Promise<unknown>;
    };
    expect(await api.getState()).toEqual({ server: { status: 'stopped' }, session: null, workspace: '/w' });
    await expect(api.startServer({ free_port: 'now' })).rejects.toThrow(/invalid request on server:start/);
    expect(invoked).toEqual([{ channel: 'server:state', payload: undefined }]);
  }, 30_000);
});

import { contextBridge, ipcRenderer } from 'electron';
import { z } from 'zod';
import { createDesktopApi } from '../ipc-api.ts';

/**
 * The preload: exposes `window.lookout` (see ipc-api.ts) through the context bridge and
 * nothing else — no ipcRenderer, no event objects. It runs sandboxed, where only a few
 * built-ins can be required, so build/bundle-preload.ts bundles it (with zod) into one
 * CommonJS file, dist/desktop/preload.cjs (beside the bundled main process), which the window loads.
 */

// Zod probes `new Function` to decide whether to compile validators; under the pages'
// strict CSP that probe is reported as a violation even though it is caught. These few
// small payloads do not need compiled validators.
z.config({ jitless: true });

contextBridge.exposeInMainWorld(
  'lookout',
  createDesktopApi({
    invoke: (channel, payload) => ipcRenderer.invoke(channel, payload),
    subscribe(channel, listener) {
      // The page gets the payload only; the IpcRendererEvent would hand it ipcRenderer.
      const forward = (_event: Electron.IpcRendererEvent, payload: unknown) => listener(payload);
      ipcRenderer.on(channel, forward);
      return () => {
        ipcRenderer.removeListener(channel, forward);
      };
    },
  }),
);

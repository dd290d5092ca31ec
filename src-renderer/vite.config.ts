import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

/** Where the server (src-main/http/routes/dashboard.ts) looks for the built page. */
export const RENDERER_OUT_DIR = path.resolve(root, '../dist/renderer');

/**
 * The dashboard build. The server sends `script-src 'self'` and `style-src 'self'`, so
 * nothing may be inlined: no module-preload polyfill (Vite would add it to the entry),
 * no assets turned into data: URIs. Hashed file names let the server cache them forever.
 */
export default defineConfig({
  root,
  base: '/',
  publicDir: path.join(root, 'public'),
  plugins: [react()],
  build: {
    outDir: RENDERER_OUT_DIR,
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
  },
});

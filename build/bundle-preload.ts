// Bundles the preload (src-main/desktop/electron-main/preload.ts and what it imports: the IPC schema
// and zod) into one CommonJS file. A sandboxed preload can require only `electron` and
// a few built-ins — not ESM, not node_modules — so the tsc output cannot be used there.
//
//   node build/bundle-preload.ts   →   dist/desktop/preload.cjs (beside the bundled main process, build/bundle-server.ts)
//
// Runs after `npm run build` (package.json: build:preload). Uses Vite (already a dev
// dependency, for the dashboard) in library mode; no extra tooling. The test suite
// calls bundlePreload() into a temp dir and runs the result in a bare VM context.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(import.meta.dirname, '..');
export const PRELOAD_FILE = 'preload.cjs';
/** Beside the bundled main process (build/bundle-server.ts DESKTOP_BUNDLE), where desktop-app.ts looks. */
export const PRELOAD_BUNDLE = `dist/desktop/${PRELOAD_FILE}`;

export async function bundlePreload(outDir = path.join(root, path.dirname(PRELOAD_BUNDLE))): Promise<string> {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: false,
      target: 'es2023',
      minify: false,
      sourcemap: false,
      reportCompressedSize: false,
      lib: {
        entry: path.join(root, 'src-main/desktop/electron-main/preload.ts'),
        formats: ['cjs'],
        fileName: () => PRELOAD_FILE,
      },
      rolldownOptions: {
        // Provided by Electron inside the sandbox; everything else is inlined.
        external: ['electron'],
      },
    },
  });
  return path.join(outDir, PRELOAD_FILE);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await bundlePreload();
  process.stdout.write(`bundled ${path.relative(root, file)}\n`);
}

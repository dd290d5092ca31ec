// Bundles the `lookout` command (src-main/cli/main.ts and everything it imports, its
// dependencies included) into one ES module, dist/server/lookout.js, which bin/lookout.js
// runs. Why (issue 19, docs/idle-memory.md "Bundled build"): with ~590 modules to resolve,
// Node's module loader gets hot enough at start-up for TurboFan to compile it, which keeps
// ~5 MB of compiler code resident for good; one module instead saves ~8 MB of idle RSS.
//
//   node build/bundle-server.ts   →   dist/server/lookout.js (+ .map, + lazily loaded chunks)
//
// Part of `npm run build` (after tsc, whose dist/src-main/ the desktop app, the git/agent
// hooks and the checkpoint worker still use). What only some requests need stays out of the
// bundle and loads from node_modules at first use, as before: jose (first JWT), protobufjs
// (first OTLP protobuf request; required at run time, so never seen here), pg (team mode),
// pino-pretty (a terminal), swagger-ui-dist (files served from disk); electron never.
// Paths found from `import.meta.dirname` (dashboard, OTLP .proto files, package.json,
// bin/lookout.js) walk up to the package root, so they work from dist/server/ too.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = path.resolve(import.meta.dirname, '..');
export const SERVER_BUNDLE = 'dist/server/lookout.js';

/** Loaded at first use from node_modules, never inlined (see above). */
export const LAZY_PACKAGES = ['jose', 'pg', 'pino-pretty', 'protobufjs', 'swagger-ui-dist', 'electron'];

const isLazy = (id: string): boolean => LAZY_PACKAGES.some((name) => id === name || id.startsWith(`${name}/`));

export async function bundleServer(outDir = path.join(root, path.dirname(SERVER_BUNDLE))): Promise<string> {
  const bundle = await rolldown({
    input: path.join(root, 'src-main/cli/main.ts'),
    platform: 'node',
    tsconfig: path.join(root, 'tsconfig.json'),
    external: (id) => id.startsWith('node:') || isLazy(id),
    logLevel: 'warn',
    onLog(level, log, handler) {
      // depd (Koa's deprecation helper) builds its wrappers with a direct eval, as it does unbundled.
      if (log.code === 'EVAL' && log.id?.includes('/depd/')) return;
      handler(level, log);
    },
  });
  // Chunk names carry a hash: clear the last build's so none is left behind.
  fs.rmSync(outDir, { recursive: true, force: true });
  try {
    await bundle.write({
      dir: outDir,
      entryFileNames: path.basename(SERVER_BUNDLE),
      chunkFileNames: '[name]-[hash].js',
      format: 'esm',
      sourcemap: true,
      // Comments cost heap: V8 keeps each module's source (see tsconfig.build.json's removeComments).
      comments: { legal: false, annotation: false, jsdoc: false },
    });
  } finally {
    await bundle.close();
  }
  return path.join(outDir, path.basename(SERVER_BUNDLE));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await bundleServer();
  process.stdout.write(`bundled ${path.relative(root, file)}\n`);
}

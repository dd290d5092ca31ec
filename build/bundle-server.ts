// Bundles the `lookout` command (src-main/cli/main.ts and everything it imports, its
// dependencies included) into one ES module, dist/server/lookout.js, which bin/lookout.js
// runs; and the desktop app's main process the same way into dist/desktop/main.js.
// Why (issue 19, docs/idle-memory.md "Bundled build"): with ~590 modules to resolve, Node's module loader gets hot enough at start-up for TurboFan to compile it, which keeps
// ~5 MB of compiler code resident for good; one module instead saves ~8 MB of idle RSS.
//
//   node build/bundle-server.ts   →   dist/server/lookout.js, dist/desktop/main.js
//                                     (+ .map, + lazily loaded chunks)
//
// Part of `npm run build` (after tsc, whose dist/src-main/ `lookout hooks emit` and tests
// that import built files still use). What only some requests need stays out of the
// bundle and loads from node_modules at first use, as before: jose (first JWT), protobufjs
// (first OTLP protobuf request; required at run time, so never seen here), pg (team mode),
// pino-pretty (a terminal), swagger-ui-dist (files served from disk); electron is never
// inlined. Paths found from `import.meta.dirname` (dashboard, OTLP .proto files,
// package.json, bin/lookout.js) walk up to the package root, so they work from dist/server/
// and dist/desktop/ too.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isBuiltin } from 'node:module';
import { type Plugin, rolldown } from 'rolldown';

const root = path.resolve(import.meta.dirname, '..');
export const SERVER_BUNDLE = 'dist/server/lookout.js';
export const DESKTOP_BUNDLE = 'dist/desktop/main.js';

/** Loaded at first use from node_modules, never inlined (see above). */
export const LAZY_PACKAGES = ['jose', 'pg', 'pino-pretty', 'protobufjs', 'swagger-ui-dist', 'electron'];

/**
 * Modules that bundled packages `require()` at load time but use only on paths an idle
 * server never takes: such a `require` gets an object that loads the real module on its
 * first property access. https and tls: ws's client (`new WebSocket(url)`) and
 * prom-client's Pushgateway; together 2.3 MB of idle RSS (tls sets up OpenSSL state).
 * @opentelemetry/api: prom-client reads it only for exemplars, which Lookout does not
 * enable (0.5 MB). Measured in docs/idle-memory.md.
 */
export const LAZY_REQUIRES = ['https', 'tls', '@opentelemetry/api'];

const isLazy = (id: string): boolean => LAZY_PACKAGES.some((name) => id === name || id.startsWith(`${name}/`));

const LAZY_REQUIRE_PREFIX = '\0lazy-require:';

/** The rolldown plugin behind LAZY_REQUIRES (CommonJS `require` calls only: ESM imports are left alone). */
export function lazyRequires(names: readonly string[] = LAZY_REQUIRES): Plugin {
  return {
    name: 'lookout-lazy-requires',
    resolveId(source, importer, options) {
      if (options.kind !== 'require-call') return null;
      // The real module, required by the stand-in below: external (a built-in, or a package
      // resolved from node_modules at run time).
      if (importer?.startsWith(LAZY_REQUIRE_PREFIX)) return { id: source, external: true };
      const name = source.replace(/^node:/, '');
      return names.includes(name) ? `${LAZY_REQUIRE_PREFIX}${name}` : null;
    },
    load(id) {
      if (!id.startsWith(LAZY_REQUIRE_PREFIX)) return null;
      const name = id.slice(LAZY_REQUIRE_PREFIX.length);
      const specifier = isBuiltin(name) ? `node:${name}` : name;
      return [
        'let real;',
        `const load = () => (real ??= require(${JSON.stringify(specifier)}));`,
        'module.exports = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });',
      ].join('\n');
    },
  };
}

/** Bundles `input` (a path from the package root) into `outDir`/`entryFileName`, cleared first. */
async function bundle(input: string, outDir: string, entryFileName: string): Promise<string> {
  const build = await rolldown({
    input: path.join(root, input),
    platform: 'node',
    tsconfig: path.join(root, 'tsconfig.json'),
    external: (id) => id.startsWith('node:') || isLazy(id),
    plugins: [lazyRequires()],
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
    await build.write({
      dir: outDir,
      entryFileNames: entryFileName,
      chunkFileNames: '[name]-[hash].js',
      format: 'esm',
      sourcemap: true,
      // V8 keeps the bundle's source for lazy compilation, one byte per character only if
      // every character is Latin-1: a few typographic characters in strings (… → —) made
      // it two bytes per character, 1.5 MB more. Escaped (\u2026), they cost nothing.
      charset: 'ascii',
      // Comments cost heap: V8 keeps each module's source (see tsconfig.build.json's removeComments).
      comments: { legal: false, annotation: false, jsdoc: false },
    });
  } finally {
    await build.close();
  }
  return path.join(outDir, entryFileName);
}

/** The `lookout` command: dist/server/lookout.js. */
export const bundleServer = (outDir = path.join(root, path.dirname(SERVER_BUNDLE))): Promise<string> =>
  bundle('src-main/cli/main.ts', outDir, path.basename(SERVER_BUNDLE));

/**
 * The desktop app's main process (package.json "main"): dist/desktop/main.js, the same
 * server as the command's bundle plus the Electron adapters. `electron` stays an external
 * import, which Electron's main process provides (the npm package of that name is only
 * the binary's installer). `npm run build:preload` (build/bundle-preload.ts) then puts the
 * preload beside it, where desktop-app.ts looks for it.
 */
export const bundleDesktop = (outDir = path.join(root, path.dirname(DESKTOP_BUNDLE))): Promise<string> =>
  bundle('src-main/desktop/electron-main/main.ts', outDir, path.basename(DESKTOP_BUNDLE));

/**
 * Fills Node's compile cache for the bundle, the cache `bin/lookout.js` enables (the same
 * directory: NODE_COMPILE_CACHE, else the system's temporary directory). Without it the
 * first start after every build parses the whole 1.5 MB bundle, which leaves ~5 MB more in
 * malloc's arena for good (idle 80.9 MB against 75.5 with the cache, docs/idle-memory.md):
 * the events bench, run right after a build, measured exactly that start. Importing the
 * bundle evaluates its modules' top level only (`main` is not called). Best effort: a
 * cache that cannot be written only costs that first start.
 */
export function warmCompileCache(file: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const script = `import { enableCompileCache } from 'node:module'; enableCompileCache(); await import(process.argv[1]);`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(file).href], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0) process.stderr.write(`warning: the compile cache was not filled: ${result.stderr}\n`);
  return result.status === 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await bundleServer();
  // Electron's main process runs its own Node (another compile cache): nothing to warm for it.
  warmCompileCache(file);
  const desktop = await bundleDesktop();
  process.stdout.write(`bundled ${path.relative(root, file)} and ${path.relative(root, desktop)}\n`);
}

#!/usr/bin/env node
// Entry point of the `lookout` command. Checks the Node version before anything else: an
// old Node re-runs this file with the Node that scripts/bootstrap-node.sh put in .tools/
// (so a new terminal needs nothing sourced), or gets one clear line instead of a syntax
// or import error. Everything up to the re-run must parse and run on old Node.
import { bootstrapNode, isRecentEnough, ROOT, runAsChild, tooOldMessage } from './with-node.js';

if (!isRecentEnough()) {
  const node = process.env.LOOKOUT_REEXEC ? undefined : bootstrapNode();
  if (!node) {
    process.stderr.write(tooOldMessage());
    process.exit(1);
  }
  // LOOKOUT_REEXEC guards against a loop should that Node be too old as well.
  await runAsChild(node, [...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    env: { ...process.env, LOOKOUT_REEXEC: '1' },
  });
}

// Cache compiled code on disk (Node >= 22.1): every later start of `lookout` is faster.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();

const { existsSync } = await import('node:fs');
// Prefer the build; fall back to the TypeScript sources (Node strips types natively).
const argv = process.argv.slice(2);
if (argv[0] === 'hooks' && argv[1] === 'emit') {
  // What installed hooks run on every tool call and commit: load only what it needs, and
  // skip the build-freshness scan (a hook must be quick and quiet).
  const built = new URL('../dist/src-main/cli/hook-emit.js', import.meta.url);
  const entry = existsSync(built) ? built : new URL('../src-main/cli/hook-emit.ts', import.meta.url);
  const { hookEmitMain } = await import(entry.href);
  await hookEmitMain(argv.slice(2));
} else {
  // The build bundles the command into one module (build/bundle-server.ts: ~9 MB less idle
  // RSS); tsc's dist/src-main/ is the fallback (the desktop package ships only that).
  const built = ['../dist/server/lookout.js', '../dist/src-main/cli/main.js']
    .map((file) => new URL(file, import.meta.url))
    .find((file) => existsSync(file));
  let entry = new URL('../src-main/cli/main.ts', import.meta.url);
  if (built) {
    entry = built;
    const { staleSources, staleWarning } = await import('./build-freshness.js');
    const stale = staleSources(ROOT);
    if (stale.length > 0) process.stderr.write(staleWarning(stale));
  }
  const { main } = await import(entry.href);
  await main(argv);
}

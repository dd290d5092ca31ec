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
const built = new URL('../dist/src-main/cli/main.js', import.meta.url);
// Prefer the build; fall back to the TypeScript sources (Node strips types natively).
let entry = new URL('../src-main/cli/main.ts', import.meta.url);
if (existsSync(built)) {
  entry = built;
  const { staleSources, staleWarning } = await import('./build-freshness.js');
  const stale = staleSources(ROOT);
  if (stale.length > 0) process.stderr.write(staleWarning(stale));
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));

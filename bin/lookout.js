#!/usr/bin/env node
// Entry point of the `lookout` command. Checks the Node version before anything else so
// an old Node gets one clear line instead of a syntax or import error.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `lookout: needs Node 22.13 or newer (this is ${process.version}); ` +
      'install Node 24 LTS, or run `source scripts/bootstrap-node.sh` in the Lookout checkout\n',
  );
  process.exit(1);
}

// Cache compiled code on disk (Node >= 22.1): every later start of `lookout` is faster.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();

const { existsSync } = await import('node:fs');
// Prefer the build; fall back to the TypeScript sources (Node strips types natively).
const load = (module) => {
  const built = new URL(`../dist/src-main/cli/${module}.js`, import.meta.url);
  return import((existsSync(built) ? built : new URL(`../src-main/cli/${module}.ts`, import.meta.url)).href);
};
const argv = process.argv.slice(2);
if (argv[0] === 'hooks' && argv[1] === 'emit') {
  // What installed hooks run on every tool call and commit: load only what it needs.
  const { hookEmitMain } = await load('hook-emit');
  await hookEmitMain(argv.slice(2));
} else {
  const { main } = await load('main');
  await main(argv);
}

#!/usr/bin/env node
// Runs a command with a Node new enough for Lookout (node:sqlite, type stripping), so
// nothing depends on which shell sourced scripts/bootstrap-node.sh:
//   - `bin/lookout.js` re-runs itself with it when the Node that started it is too old;
//   - npm scripts run `node bin/with-node.js vitest run …`: the command runs with the
//     bootstrap's Node first on PATH, so its `#!/usr/bin/env node` finds Node 24.
// Plain JavaScript that parses on old Node (this file runs before any version check).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIN_NODE = '22.13';

/** The checkout (or installed package) this file belongs to. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function isRecentEnough(version = process.versions.node) {
  const [major, minor] = version.split('.').map(Number);
  const [needMajor, needMinor] = MIN_NODE.split('.').map(Number);
  return major > needMajor || (major === needMajor && minor >= needMinor);
}

/** The Node that scripts/bootstrap-node.sh installed into .tools/, if it did. */
export function bootstrapNode(root = ROOT) {
  const bin = path.join(root, '.tools', 'node24', 'node_modules', 'node', 'bin');
  for (const name of process.platform === 'win32' ? ['node.exe', 'node'] : ['node']) {
    const file = path.join(bin, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

export function tooOldMessage(root = ROOT) {
  return (
    `lookout: needs Node ${MIN_NODE} or newer (this is ${process.version}); install Node 24 LTS, ` +
    `or run \`source scripts/bootstrap-node.sh\` once in ${root} (it installs Node 24 into .tools/, which ` +
    '`lookout` and the npm scripts then use by themselves)\n'
  );
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `file args` with this process's stdio and becomes it, as far as Node allows:
 * signals are passed on, and this process ends the way the child ended (same exit
 * code, or the same signal). Never returns.
 */
export function runAsChild(file, args, options = {}) {
  const child = spawn(file, args, { stdio: 'inherit', ...options });
  const forward = (signal) => {
    // Ctrl+C in a terminal already reaches the child (same process group); passing it on
    // would look like a second Ctrl+C, which `lookout serve` takes as "force" (as `lookout run` does).
    if (signal === 'SIGINT' && process.stdin.isTTY) return;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  child.once('error', (error) => {
    process.stderr.write(`lookout: cannot run ${file}: ${error.message}\n`);
    process.exit(error.code === 'ENOENT' ? 127 : 126);
  });
  child.once('exit', (code, signal) => {
    for (const name of FORWARDED) process.off(name, forward);
    if (signal) {
      // End by the same signal, so whoever started us sees what the child saw.
      process.kill(process.pid, signal);
      // A signal we cannot die of (ignored by our parent): the shell's convention.
      setTimeout(() => process.exit(128 + (signalNumber(signal) ?? 1)), 100);
      return;
    }
    process.exit(code ?? 1);
  });
  // Keep this process alive until the child ends.
  return new Promise(() => undefined);
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }[signal];
}

/** PATH with `dir` first, keeping the variable's own spelling (Path on Windows). */
export function envWithNodeFirst(dir, env = process.env) {
  const key = Object.keys(env).find((name) => name.toUpperCase() === 'PATH') ?? 'PATH';
  return { ...env, [key]: [dir, env[key]].filter(Boolean).join(path.delimiter) };
}

// As a command: `node bin/with-node.js COMMAND [ARGS…]` (what the npm scripts run).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    process.stderr.write('usage: node bin/with-node.js COMMAND [ARGS…]\n');
    process.exit(2);
  }
  const node = isRecentEnough() ? process.execPath : bootstrapNode();
  if (!node) {
    process.stderr.write(tooOldMessage());
    process.exit(1);
  }
  // The chosen Node first on PATH, so the command's own `#!/usr/bin/env node` finds it too.
  const env = envWithNodeFirst(path.dirname(node));
  const file = command === 'node' ? node : command;
  await runAsChild(file, args, { env, shell: process.platform === 'win32' && command !== 'node' });
}

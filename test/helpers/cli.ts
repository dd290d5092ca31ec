import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach } from 'vitest';

export const BIN = path.resolve(import.meta.dirname, '../../bin/lookout.js');

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or 128+signal) once the process has ended. */
  exited: Promise<number>;
  /** Resolves when stdout (or stderr) has printed text matching the pattern. */
  waitFor: (pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number) => Promise<RegExpMatchArray>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Runs `lookout ARGS…` as a real child process with the Node running the tests. */
export function spawnLookout(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  if (options.input !== undefined) child.stdin!.end(options.input);
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0)));
  });
  const waitFor = (pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 10_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const source = stream === 'stdout' ? child.stdout! : child.stderr!;
      const read = () => (stream === 'stdout' ? out : err);
      const check = () => {
        const match = read().match(pattern);
        if (match) {
          cleanup();
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${pattern} on ${stream}; stdout=${out} stderr=${err}`));
      }, timeoutMs);
      const onExit = () => {
        check();
        cleanup();
        reject(new Error(`process exited before ${pattern}; stdout=${out} stderr=${err}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        source.off('data', check);
        child.off('close', onExit);
      };
      source.on('data', check);
      child.on('close', onExit);
      check();
    });
  return { child, stdout: () => out, stderr: () => err, exited, waitFor };
}

/** Runs a command to completion. */
export async function runLookout(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
) {
  const spawned = spawnLookout(args, options);
  const code = await spawned.exited;
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

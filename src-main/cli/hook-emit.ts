import fs from 'node:fs';
import path from 'node:path';
import { API_PREFIX, HEADERS } from '../../src-shared/protocol.ts';
import { claudeHookEvent, type HookEvent } from '../ingest/claude-hook-events.ts';
import { gitHookEvent } from '../ingest/git-hook-events.ts';
import { GIT_HOOKS, type GitHook } from '../ingest/git-hooks.ts';
import { runningServer, STATE_DIR, workspacePaths } from '../workspace.ts';

/**
 * `lookout hooks emit claude-code` (the hook input on stdin) and `lookout hooks emit git
 * <hook> [args]`: what the installed hooks run. They must never get in the way of the
 * program that runs them, so this always exits 0: no workspace, no server, a server that
 * does not answer within SEND_TIMEOUT_MS or refuses — a one-line note on stderr, and on.
 * bin/lookout.js loads this module directly, skipping the rest of the CLI, to start fast.
 */

const SEND_TIMEOUT_MS = 1500;
const STDIN_TIMEOUT_MS = 2000;
/** Claude Code's hook input carries whole tool outputs; more than this is not a hook input. */
const MAX_STDIN_BYTES = 8 * 1024 * 1024;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => process.stdin.destroy(), STDIN_TIMEOUT_MS);
  try {
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      if (size > MAX_STDIN_BYTES) throw new Error(`the hook input is over ${MAX_STDIN_BYTES} bytes`);
      chunks.push(chunk as Buffer);
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** --workspace / LOOKOUT_WORKSPACE, else the nearest folder with .lookout/ at or above `cwd`. */
function workspaceFor(explicit: string | undefined, cwd: string): string | undefined {
  const given = explicit ?? process.env.LOOKOUT_WORKSPACE;
  if (given) return path.resolve(cwd, given);
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, STATE_DIR))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

async function send(workspace: string, event: HookEvent): Promise<string | undefined> {
  const server = runningServer(workspacePaths(workspace));
  if (!server) return undefined; // no server: nothing to tell, and nothing to complain about
  const response = await fetch(`${server.url}${API_PREFIX}/events`, {
    method: 'POST',
    headers: { [HEADERS.sessionToken]: server.token, 'content-type': 'application/json' },
    body: JSON.stringify({ ...event, metadata: { source: 'hook' } }),
    signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
  });
  if (response.ok) return undefined;
  const body = (await response.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  return `the server refused the event: ${body?.error?.message ?? `HTTP ${response.status}`}`;
}

export interface HookEmitResult {
  /** What was published (undefined: nothing to publish). */
  event?: HookEvent;
  /** Why nothing reached the server, when something should have. */
  problem?: string;
}

/** Parses `claude-code` or `git <hook> [args]` (plus --workspace DIR anywhere) and publishes. */
export async function hookEmit(argv: readonly string[]): Promise<HookEmitResult> {
  const args = [...argv];
  let explicit: string | undefined;
  const flag = args.findIndex((arg) => arg === '--workspace' || arg === '-w');
  if (flag >= 0) {
    explicit = args[flag + 1];
    args.splice(flag, 2);
  }
  const [source, ...rest] = args;
  let event: HookEvent | undefined;
  let cwd = process.cwd();
  if (source === 'claude-code') {
    const text = await readStdin();
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      return { problem: 'the hook input on stdin is not JSON' };
    }
    event = claudeHookEvent(input);
    const hookCwd = (input as { cwd?: unknown } | null)?.cwd;
    if (typeof hookCwd === 'string' && path.isAbsolute(hookCwd)) cwd = hookCwd;
  } else if (source === 'git') {
    const [hook, ...hookArgs] = rest;
    if (!GIT_HOOKS.includes(hook as GitHook)) return { problem: `unknown git hook ${hook ?? '(none)'}` };
    try {
      event = gitHookEvent(hook as GitHook, hookArgs, cwd);
    } catch (error) {
      return { problem: `could not read the repository (${(error as Error).message.split('\n', 1)[0]})` };
    }
  } else {
    return { problem: `unknown hook source ${source ?? '(none)'}: use claude-code or git` };
  }
  if (!event) return { problem: 'the hook input is not a Claude Code hook input' };
  const workspace = workspaceFor(explicit, cwd);
  if (!workspace) return { event };
  try {
    const problem = await send(workspace, event);
    return problem ? { event, problem } : { event };
  } catch (error) {
    const cause = (error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message;
    return { event, problem: `the server did not take the event (${cause})` };
  }
}

/** The process entry: always exit 0, whatever happened. */
export async function hookEmitMain(argv: readonly string[]): Promise<void> {
  try {
    const result = await hookEmit(argv);
    if (result.problem) process.stderr.write(`lookout: ${result.problem} (ignored)\n`);
  } catch (error) {
    process.stderr.write(`lookout: ${(error as Error).message} (ignored)\n`);
  }
  process.exit(0);
}

import { execFileSync } from 'node:child_process';
import type { GitHook } from './git-hooks.ts';
import type { HookEvent } from './claude-hook-events.ts';

/**
 * What a git hook tells (its arguments, and the repository right after the operation)
 * as a git.* event. Runs in the background after git has finished, so it may ask git
 * again; a failing git call means no event, never an error in the user's terminal.
 */

const FIELD = '\x1f';
const MAX_MESSAGE = 16_384;

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
}

const currentBranch = (cwd: string): string | undefined => git(cwd, ['branch', '--show-current']).trim() || undefined;

function headCommit(cwd: string): { sha: string; author: string; committed_at: string; message: string } {
  const [sha = '', author = '', committedAt = '', message = ''] = git(cwd, [
    'log',
    '-1',
    `--format=%H${FIELD}%an${FIELD}%cI${FIELD}%B`,
    'HEAD',
  ]).split(FIELD);
  return { sha, author, committed_at: committedAt, message: message.trimEnd().slice(0, MAX_MESSAGE) };
}

const compact = (data: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined && v !== ''));

export function gitHookEvent(hook: GitHook, args: readonly string[], cwd: string): HookEvent {
  const branch = currentBranch(cwd);
  switch (hook) {
    case 'post-commit': {
      const commit = headCommit(cwd);
      return { type: 'git.commit_created', data: compact({ ...commit, branch, source: 'hook' }) };
    }
    case 'post-checkout': {
      // post-checkout <previous HEAD> <new HEAD> <1 for a branch checkout, 0 for files>
      const [from, to, flag] = args;
      return {
        type: 'git.checked_out',
        data: compact({ from, to, branch, branch_checkout: flag === '1', source: 'hook' }),
      };
    }
    case 'post-merge': {
      // post-merge <1 when it was a squash merge>
      const commit = headCommit(cwd);
      return {
        type: 'git.merged',
        data: compact({ sha: commit.sha, message: commit.message, branch, squash: args[0] === '1', source: 'hook' }),
      };
    }
  }
}

import { z } from 'zod';
import type { Collector, CollectorContext, CollectorEvent } from './collections.ts';
import { detectRepo, git, GitError } from './git.ts';

/** Commits reported on the first collection of a repository: the recent ones, not its whole history. */
export const FIRST_RUN_COMMITS = 50;
/** Most commits reported by one collection (a big pull is summarised by its newest). */
const MAX_NEW_COMMITS = 1000;
/** Shas remembered to avoid reporting a commit twice when branches are switched back and forth. */
const SEEN_LIMIT = 5000;
const MAX_MESSAGE_CHARS = 16_384;

const Sha = z.string().regex(/^[0-9a-f]{7,64}$/);
const GitMemory = z.object({
  head: Sha.nullable(),
  branch: z.string().nullable(),
  seen: z.array(Sha),
});
type GitMemory = z.infer<typeof GitMemory>;

interface CommitInfo {
  sha: string;
  author: string;
  committedAt: string;
  message: string;
}

const FIELD = '\x1f';

/**
 * Git state through the `git` CLI: the current branch, and a `git.commit_created` for
 * every commit not reported before — on the first run the most recent few, after that
 * the ones reachable from HEAD but not from the HEAD seen last time.
 */
export class GitCollector implements Collector {
  readonly name = 'git';
  readonly weight = 1;

  async collect(context: CollectorContext): Promise<Record<string, unknown>> {
    const { workspace, signal } = context;
    const repo = await detectRepo(workspace, signal);
    if (repo.kind === 'none') {
      return { repository: false, reason: repo.reason };
    }
    context.progress(0.2);

    const branch = (await git(workspace, ['branch', '--show-current'], signal)).trim() || null; // null: detached HEAD
    const head = await resolveCommit(workspace, 'HEAD', signal);
    context.progress(0.4);
    const memory = context.recall(GitMemory);
    if (head === null) {
      // A repository without commits yet.
      await context.commit([], { head: null, branch, seen: memory?.seen ?? [] } satisfies GitMemory);
      return { repository: true, branch, head: null, new_commits: 0 };
    }

    let candidates: CommitInfo[] = [];
    if (memory?.head !== head) {
      const previous = memory?.head ? await resolveCommit(workspace, memory.head, signal) : null;
      // From the HEAD seen last time when it still exists (a pull, new commits, a
      // rebase); otherwise (first run, history rewritten away) the recent commits.
      const range = previous
        ? ['-n', String(MAX_NEW_COMMITS), `${previous}..${head}`]
        : ['-n', String(memory ? MAX_NEW_COMMITS : FIRST_RUN_COMMITS), head];
      candidates = await log(workspace, range, signal);
    }
    context.progress(0.8);

    const seen = new Set(memory?.seen ?? []);
    const fresh = candidates.filter((commit) => !seen.has(commit.sha)).reverse(); // oldest first
    const events: CollectorEvent[] = fresh.map((commit) => ({
      type: 'git.commit_created',
      data: {
        sha: commit.sha,
        message: commit.message.slice(0, MAX_MESSAGE_CHARS),
        ...(commit.author ? { author: commit.author.slice(0, 256) } : {}),
        ...(branch ? { branch } : {}),
        ...(commit.committedAt ? { committed_at: commit.committedAt } : {}),
      },
    }));
    const remembered = [...fresh.map((c) => c.sha).reverse(), ...(memory?.seen ?? [])].slice(0, SEEN_LIMIT);
    await context.commit(events, { head, branch, seen: remembered } satisfies GitMemory);
    context.progress(1);
    return { repository: true, branch, head, new_commits: events.length };
  }
}

/** The full sha `rev` names, or null when it names no commit (unborn branch, gone after gc). */
async function resolveCommit(cwd: string, rev: string, signal: AbortSignal): Promise<string | null> {
  try {
    const sha = (await git(cwd, ['rev-parse', '-q', '--verify', `${rev}^{commit}`], signal)).trim();
    return sha || null;
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) return null;
    throw error;
  }
}

/** Newest first. `-z` separates commits with NUL, which a commit message cannot contain. */
async function log(cwd: string, range: readonly string[], signal: AbortSignal): Promise<CommitInfo[]> {
  const out = await git(
    cwd,
    ['log', '-z', '--no-color', '--no-decorate', `--format=%H${FIELD}%an${FIELD}%cI${FIELD}%B`, ...range, '--'],
    signal,
  );
  return out
    .split('\0')
    .filter((record) => record.trim() !== '')
    .map((record) => {
      const [sha = '', author = '', committedAt = '', ...message] = record.replace(/^\n/, '').split(FIELD);
      return { sha, author, committedAt, message: message.join(FIELD).trimEnd() };
    });
}

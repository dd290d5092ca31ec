import { execFile } from 'node:child_process';

/** A git command that ran and failed; `message` carries git's own first line. */
export class GitError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(args: readonly string[], exitCode: number | null, stderr: string) {
    const reason =
      stderr
        .split('\n')
        .find((line) => line.trim() !== '')
        ?.trim() ?? `exit code ${exitCode}`;
    super(`git ${args[0] ?? ''} failed: ${reason}`);
    this.name = 'GitError';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

const TIMEOUT_MS = 60_000;
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/**
 * Runs `git ARGS` in `cwd` and returns stdout. No shell; killed when `signal` aborts or
 * after a minute. GIT_OPTIONAL_LOCKS=0 keeps a read from taking the index lock, so a
 * collection never makes the developer's own `git commit` fail.
 */
export function git(cwd: string, args: readonly string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'core.quotepath=off', '-c', 'log.showSignature=false', ...args],
      {
        cwd,
        signal,
        timeout: TIMEOUT_MS,
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
        windowsHide: true,
        env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : error);
        if ((error as { killed?: boolean }).killed)
          return reject(new Error(`git ${args[0] ?? ''} did not finish within ${TIMEOUT_MS / 1000} s`));
        const code = (error as NodeJS.ErrnoException).code;
        if (typeof code === 'string') return reject(error); // ENOENT and friends: git did not run
        reject(new GitError(args, typeof code === 'number' ? code : null, stderr));
      },
    );
  });
}

export type RepoInfo = { kind: 'repo'; root: string } | { kind: 'none'; reason: string };

/**
 * Whether `dir` lies in a git work tree. "Not a repository" and "git is not installed"
 * are answers (the collectors fall back); any other git failure (a corrupt repository,
 * unsafe ownership) is an error worth reporting.
 */
export async function detectRepo(dir: string, signal: AbortSignal): Promise<RepoInfo> {
  try {
    const root = (await git(dir, ['rev-parse', '--show-toplevel'], signal)).trim();
    return root ? { kind: 'repo', root } : { kind: 'none', reason: 'not inside a git work tree' };
  } catch (error) {
    if (
      error instanceof GitError &&
      /not a git repository|not a work tree|must be run in a work tree/i.test(error.stderr)
    ) {
      return { kind: 'none', reason: 'not a git repository' };
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !signal.aborted)
      return { kind: 'none', reason: 'git is not installed' };
    throw error;
  }
}

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

/**
 * A repository's own `.git/config` is not trusted (a cloned or downloaded repository can
 * ship one): every setting with which git would run a program during our read-only
 * commands is overridden on the command line, which wins over any config file. The
 * list follows git's own safe-directory guidance ("running git in an untrusted
 * repository can run its config's commands"); git still refuses repositories owned by
 * another user (safe.directory) by itself.
 */
export const NEUTRALISED_CONFIG: readonly string[] = [
  'core.fsmonitor=false', // a hook run by every index refresh (ls-files --others, status)
  'core.hooksPath=/dev/null', // hooks (post-index-change, reference-transaction, …)
  'core.pager=cat',
  'core.editor=true',
  'core.sshCommand=false',
  'core.askPass=',
  'credential.helper=',
  'diff.external=',
  'log.showSignature=false', // runs gpg.program
  'gpg.program=false',
  'protocol.allow=never', // remote helpers (ext::) can run commands
  'submodule.recurse=false', // submodules bring their own configs
  'gc.auto=0', // no background `git gc --auto`
  'maintenance.auto=false',
  'core.quotepath=off',
];

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
      ['--no-pager', ...NEUTRALISED_CONFIG.flatMap((setting) => ['-c', setting]), ...args],
      {
        cwd,
        signal,
        timeout: TIMEOUT_MS,
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
        windowsHide: true,
        env: {
          ...process.env,
          GIT_OPTIONAL_LOCKS: '0',
          GIT_TERMINAL_PROMPT: '0',
          GIT_NO_REPLACE_OBJECTS: '1',
          LC_ALL: 'C',
        },
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

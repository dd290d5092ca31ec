import { execFile } from 'node:child_process';
import type { GitOperation, GitOperationType } from '../../src-shared/tasks.ts';
import { now } from '../agents/registry.ts';
import type { EventBus } from '../events/bus.ts';
import type { SqlStore } from '../store/sql-store.ts';

/** A git command that failed: git's own first line of stderr (or why it did not run). */
export class GitCommandError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(args: readonly string[], exitCode: number | null, stderr: string, cause?: unknown) {
    const line = stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('hint:'));
    super(`git ${args[0] ?? ''} failed: ${line ?? `exit code ${exitCode}`}`, { cause });
    this.name = 'GitCommandError';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/**
 * Options every orchestrator git command runs with. The repository is the user's, so
 * nothing it configures may run code on our behalf: no hooks (core.hooksPath points at
 * nothing), no fsmonitor daemon, no signing prompt, no credential prompt, no pager.
 */
export const SAFE_GIT_CONFIG = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'commit.gpgSign=false',
  '-c',
  'tag.gpgSign=false',
  '-c',
  'core.quotePath=off',
  '-c',
  'advice.detachedHead=false',
  '-c',
  'merge.autoStash=false',
];

const IDENTITY = { name: 'Lookout', email: 'lookout@localhost' };
const DEFAULT_TIMEOUT_MS = 120_000;

export interface GitRunOptions {
  cwd: string;
  /** Record the command in git_operations (and publish git.operation_completed) under this type. */
  record?: GitOperationType;
  taskId?: string | null;
  sandboxId?: string | null;
  /** After success, record the commit HEAD points at in `cwd`. */
  shaAfter?: boolean;
  timeoutMs?: number;
  /** Author of commits we make (committer stays Lookout). */
  author?: { name: string; email: string };
}

interface GitOperationRow {
  id: number;
  task_id: string | null;
  sandbox_id: string | null;
  operation_type: string;
  status: string;
  commit_sha: string | null;
  error_message: string | null;
  duration_ms: number;
  args_json: string;
  created_at: string;
}

const toOperation = (row: GitOperationRow): GitOperation => ({
  id: String(row.id),
  task_id: row.task_id,
  sandbox_id: row.sandbox_id,
  operation_type: row.operation_type as GitOperationType,
  status: row.status as GitOperation['status'],
  commit_sha: row.commit_sha,
  error_message: row.error_message,
  duration_ms: row.duration_ms,
  args: JSON.parse(row.args_json) as string[],
  created_at: row.created_at,
});

/** Runs git for the orchestrator (argv only) and keeps the record of what it did. */
export class GitRunner {
  #store: SqlStore;
  #bus: EventBus;

  constructor(options: { store: SqlStore; bus: EventBus }) {
    this.#store = options.store;
    this.#bus = options.bus;
  }

  async run(args: readonly string[], options: GitRunOptions): Promise<string> {
    const started = performance.now();
    let stdout: string;
    try {
      stdout = await exec(args, options);
    } catch (error) {
      await this.#record(args, options, started, null, (error as Error).message);
      throw error;
    }
    let sha: string | null = null;
    if (options.shaAfter) sha = (await exec(['rev-parse', 'HEAD'], { cwd: options.cwd })).trim();
    await this.#record(args, options, started, sha, null);
    return stdout;
  }

  async list(filter: { taskId?: string; limit: number }): Promise<GitOperation[]> {
    const rows =
      filter.taskId === undefined
        ? await this.#store.all<GitOperationRow>('SELECT * FROM git_operations ORDER BY id DESC LIMIT ?', [
            filter.limit,
          ])
        : await this.#store.all<GitOperationRow>(
            'SELECT * FROM git_operations WHERE task_id = ? ORDER BY id DESC LIMIT ?',
            [filter.taskId, filter.limit],
          );
    return rows.reverse().map(toOperation);
  }

  async #record(
    args: readonly string[],
    options: GitRunOptions,
    started: number,
    sha: string | null,
    error: string | null,
  ): Promise<void> {
    if (options.record === undefined) return;
    const duration = Math.round(performance.now() - started);
    const taskId = options.taskId ?? null;
    const sandboxId = options.sandboxId ?? null;
    const message = error === null ? null : error.slice(0, 8000);
    const row = await this.#store.get<{ id: number }>(
      `INSERT INTO git_operations (task_id, sandbox_id, operation_type, status, commit_sha, error_message, duration_ms,
         args_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        taskId,
        sandboxId,
        options.record,
        error === null ? 'succeeded' : 'failed',
        sha,
        message,
        duration,
        JSON.stringify(args),
        now(),
      ],
    );
    await this.#bus.emit('git.operation_completed', {
      operation_id: String(row!.id),
      operation_type: options.record,
      status: error === null ? 'succeeded' : 'failed',
      task_id: taskId,
      sandbox_id: sandboxId,
      commit_sha: sha,
      duration_ms: duration,
      error_message: message,
    });
  }
}

/** One git command, argv only, with the safe options and a scrubbed, prompt-free environment. */
export function exec(args: readonly string[], options: GitRunOptions): Promise<string> {
  const author = options.author ?? IDENTITY;
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...SAFE_GIT_CONFIG, ...args],
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        windowsHide: true,
        env: {
          ...process.env,
          GIT_TERMINAL_PROMPT: '0',
          GIT_ASKPASS: '',
          LC_ALL: 'C',
          GIT_AUTHOR_NAME: author.name,
          GIT_AUTHOR_EMAIL: author.email,
          GIT_COMMITTER_NAME: IDENTITY.name,
          GIT_COMMITTER_EMAIL: IDENTITY.email,
          // A repository's own GIT_DIR/GIT_WORK_TREE from the server's environment would
          // point every command elsewhere.
          GIT_DIR: undefined,
          GIT_WORK_TREE: undefined,
          GIT_INDEX_FILE: undefined,
        },
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        if ((error as { killed?: boolean }).killed)
          return reject(
            new GitCommandError(
              args,
              null,
              `did not finish within ${(options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000} s`,
            ),
          );
        if (typeof code === 'string')
          return reject(new GitCommandError(args, null, `git did not run (${code})`, error));
        reject(new GitCommandError(args, typeof code === 'number' ? code : null, stderr, error));
      },
    );
  });
}

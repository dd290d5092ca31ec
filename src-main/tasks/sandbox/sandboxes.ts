import fs from 'node:fs';
import path from 'node:path';
import { API_PREFIX } from '../../../src-shared/protocol.ts';
import type { SandboxProviderName } from '../../../src-shared/agents.ts';
import type { DiffStat, Sandbox } from '../../../src-shared/tasks.ts';
import { newId, now } from '../../agents/registry.ts';
import { LookoutError } from '../../errors.ts';
import type { EventBus } from '../../events/bus.ts';
import type { Logger } from '../../logger.ts';
import type { SqlStore } from '../../store/sql-store.ts';
import { exec, type GitRunner } from '../git-runner.ts';

interface SandboxRow {
  id: string;
  agent_id: string | null;
  task_id: string | null;
  provider: string;
  status: string;
  path: string;
  branch_name: string;
  created_at: string;
  destroyed_at: string | null;
  runner: string | null;
}

const toSandbox = ({ runner: _runner, ...row }: SandboxRow): Sandbox => row as Sandbox;

const MAX_DIFF_FILES = 200;

/** Parses `git diff --numstat -z`: "ins\tdel\tpath\0", renames as "ins\tdel\t\0old\0new\0". */
export function parseNumstat(text: string): DiffStat {
  const parts = text.split('\0');
  const files: DiffStat['files'] = [];
  let insertions = 0;
  let deletions = 0;
  let count = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    const [ins = '', del = '', name = ''] = part.split('\t');
    let file = name;
    if (name === '') {
      i += 2; // a rename: old path, new path follow
      file = parts[i] ?? '';
    }
    const added = ins === '-' ? 0 : Number(ins);
    const removed = del === '-' ? 0 : Number(del);
    insertions += added;
    deletions += removed;
    count++;
    if (files.length < MAX_DIFF_FILES) files.push({ path: file, insertions: added, deletions: removed });
  }
  return { files_changed: count, insertions, deletions, files, files_truncated: count > files.length };
}

/**
 * Git worktrees as sandboxes: one per task under `.lookout/sandboxes/`, on its own branch,
 * never the user's checkout. The worktree is where files change whatever runs the
 * program (directly, or a container that mounts it).
 */
export class Sandboxes {
  readonly dir: string;
  #store: SqlStore;
  #runnerId: string;
  #bus: EventBus;
  #git: GitRunner;
  #logger: Logger;
  #workspace: string;
  #root: Promise<string | null> | undefined;

  constructor(options: {
    store: SqlStore;
    /** This server (see TaskService.runnerId): worktrees are in its clone. */
    runnerId: string;
    bus: EventBus;
    git: GitRunner;
    logger: Logger;
    workspace: string;
    stateDir: string;
  }) {
    this.#store = options.store;
    this.#runnerId = options.runnerId;
    this.#bus = options.bus;
    this.#git = options.git;
    this.#logger = options.logger;
    this.#workspace = options.workspace;
    this.dir = path.join(options.stateDir, 'sandboxes');
  }

  /** The repository the workspace lies in, or null when it is not in one. */
  repoRoot(): Promise<string | null> {
    this.#root ??= exec(['rev-parse', '--show-toplevel'], { cwd: this.#workspace }).then(
      (out) => out.trim() || null,
      () => null,
    );
    return this.#root;
  }

  async requireRepo(): Promise<string> {
    const root = await this.repoRoot();
    if (root === null) {
      this.#root = undefined; // the user may run `git init` and try again
      throw new LookoutError(
        'conflict',
        `the workspace ${this.#workspace} is not in a git repository: tasks run in git worktrees; run \`git init\` and commit once, then start the task again`,
      );
    }
    return root;
  }

  /** The commit `ref` names, or a 400 saying it names none. */
  async resolve(ref: string): Promise<string> {
    const root = await this.requireRepo();
    try {
      return (
        await exec(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { cwd: root })
      ).trim();
    } catch {
      throw new LookoutError('not_found', `base ${ref} names no commit in ${root}; use a branch, tag or commit sha`, {
        details: [{ path: 'base', message: 'unknown ref' }],
      });
    }
  }

  /** The branch HEAD is on (null when detached or unborn). */
  async currentBranch(): Promise<string | null> {
    const root = await this.requireRepo();
    try {
      return (await exec(['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd: root })).trim() || null;
    } catch {
      return null;
    }
  }

  async list(): Promise<Sandbox[]> {
    return (await this.#store.all<SandboxRow>('SELECT * FROM sandboxes ORDER BY created_at DESC, id')).map(toSandbox);
  }

  async find(id: string): Promise<Sandbox | undefined> {
    const row = await this.#store.get<SandboxRow>('SELECT * FROM sandboxes WHERE id = ?', [id]);
    return row ? toSandbox(row) : undefined;
  }

  async get(id: string): Promise<Sandbox> {
    const sandbox = await this.find(id);
    if (!sandbox)
      throw new LookoutError('not_found', `no sandbox has the id ${id}; list them with GET ${API_PREFIX}/sandboxes`);
    return sandbox;
  }

  /** `git worktree add -b <branch>` at `sha`, under .lookout/sandboxes/<task id>. */
  async create(spec: {
    taskId: string;
    agentId: string;
    branch: string;
    sha: string;
    provider: SandboxProviderName;
  }): Promise<Sandbox> {
    const root = await this.requireRepo();
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const id = newId();
    const dir = path.join(this.dir, spec.taskId);
    await this.#git.run(['worktree', 'add', '-b', spec.branch, dir, spec.sha], {
      cwd: root,
      record: 'worktree_add',
      taskId: spec.taskId,
      sandboxId: id,
    });
    const at = now();
    await this.#store.run(
      `INSERT INTO sandboxes (id, agent_id, task_id, provider, status, path, branch_name, created_at, destroyed_at,
         runner) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, NULL, ?)`,
      [id, spec.agentId, spec.taskId, spec.provider, dir, spec.branch, at, this.#runnerId],
    );
    const sandbox = await this.get(id);
    await this.#bus.emit('sandbox.created', this.#eventData(sandbox));
    return sandbox;
  }

  /** Commits what the agent left uncommitted (on a clean exit); returns the new HEAD. */
  async commitChanges(sandbox: Sandbox, message: string, author: { name: string; email: string }): Promise<boolean> {
    const status = await exec(['status', '--porcelain', '-z', '--untracked-files=all'], { cwd: sandbox.path });
    if (status === '') return false;
    await exec(['add', '--all', '--', '.'], { cwd: sandbox.path });
    await this.#git.run(['commit', '--quiet', '--no-verify', '-m', message], {
      cwd: sandbox.path,
      record: 'commit',
      taskId: sandbox.task_id,
      sandboxId: sandbox.id,
      shaAfter: true,
      author,
    });
    return true;
  }

  async head(sandbox: Sandbox): Promise<string> {
    return (await exec(['rev-parse', 'HEAD'], { cwd: sandbox.path })).trim();
  }

  async diffStat(sandbox: Sandbox, baseSha: string, headSha: string): Promise<DiffStat> {
    const out = await this.#git.run(['diff', '--numstat', '-z', '--no-renames', baseSha, headSha], {
      cwd: sandbox.path,
      record: 'diff_stat',
      taskId: sandbox.task_id,
      sandboxId: sandbox.id,
    });
    return parseNumstat(out);
  }

  async setStatus(id: string, status: Sandbox['status']): Promise<void> {
    await this.#store.run('UPDATE sandboxes SET status = ? WHERE id = ?', [status, id]);
  }

  /** Removes the worktree; the branch (and every commit on it) stays. */
  async destroy(id: string): Promise<Sandbox> {
    const row = await this.#store.get<SandboxRow>('SELECT * FROM sandboxes WHERE id = ?', [id]);
    const sandbox = row ? toSandbox(row) : await this.get(id);
    if (sandbox.status === 'destroyed') return sandbox;
    if (!this.#ours(row!))
      throw new LookoutError(
        'conflict',
        `sandbox ${id} is a worktree in the clone of the server ${row!.runner}; remove it through that server`,
        { details: { runner: row!.runner } },
      );
    if (sandbox.status === 'active')
      throw new LookoutError(
        'conflict',
        `sandbox ${id} is in use by task ${sandbox.task_id}; cancel the task first (POST ${API_PREFIX}/tasks/${sandbox.task_id}/cancel)`,
      );
    const root = await this.requireRepo();
    if (fs.existsSync(sandbox.path)) {
      try {
        await this.#git.run(['worktree', 'remove', '--force', '--force', sandbox.path], {
          cwd: root,
          record: 'worktree_remove',
          taskId: sandbox.task_id,
          sandboxId: sandbox.id,
        });
      } catch (error) {
        // Not a worktree any more (removed by hand): clear the directory and let prune forget it.
        this.#logger.warn({ err: error, sandbox: id }, 'worktree remove failed; removing the directory');
        fs.rmSync(sandbox.path, { recursive: true, force: true });
      }
    }
    await this.prune(root);
    await this.#markDestroyed(sandbox);
    return this.get(id);
  }

  async prune(root: string): Promise<void> {
    await this.#git.run(['worktree', 'prune'], { cwd: root, record: 'worktree_prune' }).catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'git worktree prune failed');
    });
  }

  /**
   * After a restart: sandboxes whose worktree is gone are marked destroyed; active ones
   * (their task was settled) are kept; worktrees of ours that no row knows are removed.
   */
  async reconcile(): Promise<void> {
    // The rows as they were at start-up: a task started while git answers below has a
    // sandbox this pass must not judge by a worktree list taken before it existed.
    const rows = (await this.#store.all<SandboxRow>("SELECT * FROM sandboxes WHERE status <> 'destroyed'"))
      .filter((row) => this.#ours(row))
      .map(toSandbox);
    const root = await this.repoRoot();
    if (root === null) return;
    await this.prune(root);
    const listed = new Set<string>();
    const out = await exec(['worktree', 'list', '--porcelain', '-z'], { cwd: root });
    for (const field of out.split('\0')) if (field.startsWith('worktree ')) listed.add(path.resolve(field.slice(9)));
    for (const sandbox of rows) {
      if (!listed.has(path.resolve(sandbox.path))) await this.#markDestroyed(sandbox);
      else if ((await this.find(sandbox.id))?.status === 'active') await this.setStatus(sandbox.id, 'kept');
    }
    const ours = path.resolve(this.dir) + path.sep;
    const known = async () =>
      new Set((await this.list()).flatMap((s) => (s.status === 'destroyed' ? [] : [path.resolve(s.path)])));
    for (const dir of listed) {
      if (!dir.startsWith(ours) || (await known()).has(dir)) continue;
      this.#logger.warn({ path: dir }, 'removing a sandbox worktree no task knows');
      await this.#git
        .run(['worktree', 'remove', '--force', '--force', dir], { cwd: root, record: 'worktree_remove' })
        .catch((error: unknown) => this.#logger.warn({ err: error, path: dir }, 'could not remove orphan worktree'));
    }
  }

  /** With several servers on one store, each judges and removes only the worktrees in its own clone. */
  #ours(row: SandboxRow): boolean {
    return this.#store.dialect !== 'postgres' || row.runner === null || row.runner === this.#runnerId;
  }

  async #markDestroyed(sandbox: Sandbox): Promise<void> {
    await this.#store.run("UPDATE sandboxes SET status = 'destroyed', destroyed_at = ? WHERE id = ?", [
      now(),
      sandbox.id,
    ]);
    await this.#bus.emit('sandbox.destroyed', this.#eventData(await this.get(sandbox.id)));
  }

  #eventData(sandbox: Sandbox): Record<string, unknown> {
    return {
      sandbox_id: sandbox.id,
      task_id: sandbox.task_id,
      agent_id: sandbox.agent_id,
      provider: sandbox.provider,
      path: sandbox.path,
      branch_name: sandbox.branch_name,
      status: sandbox.status,
    };
  }
}

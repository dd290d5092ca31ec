import fs from 'node:fs';
import path from 'node:path';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import type { Agent } from '../../src-shared/agents.ts';
import {
  type DiffStat,
  type MergeResult,
  type Task,
  type TaskCreate,
  type TaskPriority,
  type TaskStatus,
  TASK_STATUSES,
  TASK_TRANSITIONS,
  type TaskUpdate,
  isFinalTaskStatus,
  taskBranch,
} from '../../src-shared/tasks.ts';
import { newId, now, type AgentRegistry } from '../agents/registry.ts';
import { agentEnvironment } from '../agents/environment.ts';
import { AgentProcess, isSameProcess, type RunOutcome, signalGroup } from '../agents/runner.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { Database } from '../store/database.ts';
import { exec, GitCommandError, type GitRunner } from './git-runner.ts';
import type { SandboxProvider } from './sandbox/providers.ts';
import type { Sandboxes } from './sandbox/sandboxes.ts';
import { TaskOutput } from './task-output.ts';

interface TaskRow {
  id: string;
  title: string;
  description: string;
  status: string;
  priority: string;
  base: string;
  base_sha: string | null;
  git_branch: string | null;
  assigned_agent_id: string | null;
  sandbox_id: string | null;
  exit_code: number | null;
  reason: string | null;
  timeout_s: number | null;
  pid: number | null;
  pid_start: string | null;
  head_sha: string | null;
  diff_stat_json: string | null;
  merge_sha: string | null;
  merged_at: string | null;
  pull_request_url: string | null;
  created_at: string;
  updated_at: string;
  queued_at: string | null;
  started_at: string | null;
  completed_at: string | null;
}

const toTask = (row: TaskRow): Task => ({
  id: row.id,
  title: row.title,
  description: row.description,
  status: row.status as TaskStatus,
  priority: row.priority as TaskPriority,
  assigned_agent_id: row.assigned_agent_id,
  sandbox_id: row.sandbox_id,
  base: row.base,
  base_sha: row.base_sha,
  git_branch: row.git_branch,
  pull_request_url: row.pull_request_url,
  exit_code: row.exit_code,
  reason: row.reason,
  timeout_s: row.timeout_s,
  head_sha: row.head_sha,
  diff_stat: row.diff_stat_json === null ? null : (JSON.parse(row.diff_stat_json) as DiffStat),
  merged_at: row.merged_at,
  merge_sha: row.merge_sha,
  created_at: row.created_at,
  updated_at: row.updated_at,
  queued_at: row.queued_at,
  started_at: row.started_at,
  completed_at: row.completed_at,
});

const PRIORITY_RANK: Record<TaskPriority, number> = { urgent: 0, high: 1, medium: 2, low: 3 };

/**
 * The argv element limit on Linux (MAX_ARG_STRLEN): a longer {prompt} cannot be passed
 * as one argument at all, so it is refused up front with the way round it.
 */
const MAX_ARGV_ELEMENT_BYTES = 128 * 1024 - 1;

export interface TaskSettings {
  maxRunning: number;
  timeoutS: number;
  graceMs: number;
  eventBudgetBytes: number;
  flushMs: number;
}

/** Who the task's program is, to the server: the seam where access (issue 16) issues a task-scoped token. */
export interface TaskCredentials {
  issue(taskId: string): string;
  revoke(taskId: string): void;
}

interface Running {
  taskId: string;
  agentId: string;
  process?: AgentProcess;
  cancel?: 'cancelled' | 'stopped';
  finished: Promise<void>;
  stop?: () => Promise<void>;
}

/**
 * Tasks: rows, the state machine, the queue (one task per agent, a global limit of
 * running tasks), the run itself (sandbox → process → output → commit → diff stat),
 * merging back, and settling what a crash left behind.
 */
export class TaskService {
  readonly tasksDir: string;
  #db: Database;
  #bus: EventBus;
  #logger: Logger;
  #agents: AgentRegistry;
  #sandboxes: Sandboxes;
  #git: GitRunner;
  #providers: Record<string, SandboxProvider>;
  #settings: TaskSettings;
  #credentials: TaskCredentials;
  #url: () => string;
  #running = new Map<string, Running>();
  #merging: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(options: {
    db: Database;
    bus: EventBus;
    logger: Logger;
    agents: AgentRegistry;
    sandboxes: Sandboxes;
    git: GitRunner;
    providers: SandboxProvider[];
    settings: TaskSettings;
    credentials: TaskCredentials;
    stateDir: string;
    url: () => string;
  }) {
    this.#db = options.db;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#agents = options.agents;
    this.#sandboxes = options.sandboxes;
    this.#git = options.git;
    this.#providers = Object.fromEntries(options.providers.map((p) => [p.name, p]));
    this.#settings = options.settings;
    this.#credentials = options.credentials;
    this.#url = options.url;
    this.tasksDir = path.join(options.stateDir, 'tasks');
    fs.mkdirSync(this.tasksDir, { recursive: true, mode: 0o700 });
  }

  get runningCount(): number {
    return this.#running.size;
  }

  // ---------------------------------------------------------------------------------
  // Rows

  /** How many tasks are in each status (every status listed, 0 when none), for /metrics. */
  countByStatus(): Record<TaskStatus, number> {
    const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
    const rows = this.#db.db.prepare('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status').all() as {
      status: TaskStatus;
      n: number;
    }[];
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  list(filter: { status?: TaskStatus[]; agentId?: string } = {}): Task[] {
    const rows = this.#db.db.prepare('SELECT * FROM tasks ORDER BY created_at DESC, id').all() as unknown as TaskRow[];
    return rows
      .map(toTask)
      .filter(
        (task) =>
          (filter.status === undefined || filter.status.includes(task.status)) &&
          (filter.agentId === undefined || task.assigned_agent_id === filter.agentId),
      );
  }

  find(id: string): Task | undefined {
    const row = this.#db.db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as TaskRow | undefined;
    return row ? toTask(row) : undefined;
  }

  get(id: string): Task {
    const task = this.find(id);
    if (!task) throw new LookoutError('not_found', `no task has the id ${id}; list them with GET ${API_PREFIX}/tasks`);
    return task;
  }

  async create(input: TaskCreate): Promise<Task> {
    // A base is checked now (a typo is a 400 today, not a failed run later). HEAD means
    // the branch checked out now, so a merge later goes where the user expects.
    let base = input.base ?? 'HEAD';
    if ((await this.#sandboxes.repoRoot()) !== null) {
      await this.#sandboxes.resolve(base);
      if (base === 'HEAD') base = (await this.#sandboxes.currentBranch()) ?? base;
    }
    const id = newId();
    const at = now();
    this.#db.db
      .prepare(
        `INSERT INTO tasks (id, title, description, status, priority, base, timeout_s, created_at, updated_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
      )
      .run(id, input.title.trim(), input.description, input.priority, base, input.timeout_s ?? null, at, at);
    const task = this.get(id);
    this.#bus.emitLater('task.created', { task_id: id, title: task.title, task: this.#eventTask(task) });
    return task;
  }

  async update(id: string, patch: TaskUpdate): Promise<Task> {
    const before = this.get(id);
    const runChanges = patch.description !== undefined || patch.base !== undefined || patch.timeout_s !== undefined;
    if (runChanges && before.status !== 'pending')
      throw new LookoutError(
        'conflict',
        `task ${id} is ${before.status}: description, base and timeout can change only while it is pending`,
      );
    if (patch.base !== undefined) await this.#sandboxes.resolve(patch.base);
    this.#db.db
      .prepare(
        'UPDATE tasks SET title = ?, description = ?, priority = ?, base = ?, timeout_s = ?, updated_at = ? WHERE id = ?',
      )
      .run(
        patch.title?.trim() ?? before.title,
        patch.description ?? before.description,
        patch.priority ?? before.priority,
        patch.base ?? before.base,
        patch.timeout_s === undefined ? before.timeout_s : patch.timeout_s,
        now(),
        id,
      );
    return this.#changed(id);
  }

  async delete(id: string, options: { deleteBranch: boolean }): Promise<void> {
    const task = this.get(id);
    if (task.status === 'running' || task.status === 'queued')
      throw new LookoutError(
        'conflict',
        `task ${id} is ${task.status}; cancel it first (POST ${API_PREFIX}/tasks/${id}/cancel)`,
      );
    if (task.sandbox_id !== null) {
      const sandbox = this.#sandboxes.find(task.sandbox_id);
      if (sandbox && sandbox.status !== 'destroyed') await this.#sandboxes.destroy(sandbox.id);
    }
    if (options.deleteBranch && task.git_branch !== null) {
      const root = await this.#sandboxes.requireRepo();
      await this.#git.run(['branch', '--delete', '--force', '--', task.git_branch], {
        cwd: root,
        record: 'branch_delete',
        taskId: id,
      });
    }
    this.#db.db.prepare('DELETE FROM tasks WHERE id = ?').run(id);
    fs.rmSync(this.logFile(id), { force: true });
    fs.rmSync(this.#promptFile(id), { force: true });
    this.#bus.emitLater('task.updated', {
      task_id: id,
      title: task.title,
      task: { ...this.#eventTask(task), deleted: true },
    });
  }

  logFile(id: string): string {
    return path.join(this.tasksDir, `${id}.log`);
  }

  #promptFile(id: string): string {
    return path.join(this.tasksDir, `${id}.prompt.md`);
  }

  // ---------------------------------------------------------------------------------
  // The state machine

  #transition(id: string, to: TaskStatus, fields: Partial<Record<keyof TaskRow, string | number | null>> = {}): Task {
    const before = this.get(id);
    if (!TASK_TRANSITIONS[before.status].includes(to))
      throw new Error(`task ${id}: ${before.status} → ${to} is not a transition`);
    const sets = Object.keys(fields).map((key) => `${key} = ?`);
    this.#db.db
      .prepare(`UPDATE tasks SET status = ?, updated_at = ?${sets.map((s) => `, ${s}`).join('')} WHERE id = ?`)
      .run(to, now(), ...(Object.values(fields) as (string | number | null)[]), id);
    const task = this.get(id);
    this.#bus.emitLater('task.status_changed', {
      task_id: id,
      title: task.title,
      from: before.status,
      to,
      agent_id: task.assigned_agent_id,
      exit_code: task.exit_code,
      reason: task.reason,
    });
    return task;
  }

  #changed(id: string): Task {
    const task = this.get(id);
    this.#bus.emitLater('task.updated', { task_id: id, title: task.title, task: this.#eventTask(task) });
    return task;
  }

  /** The task for an event: the description is cut so one event stays small. */
  #eventTask(task: Task): Record<string, unknown> {
    return { ...task, description: task.description.slice(0, 2000) };
  }

  // ---------------------------------------------------------------------------------
  // Start, queue, run

  async start(agentId: string, taskId: string): Promise<Task> {
    if (this.#stopped)
      throw new LookoutError('unavailable', 'the server is stopping; start the task again once it is back');
    const agent = this.#agents.get(agentId);
    const task = this.get(taskId);
    if (task.status !== 'pending')
      throw new LookoutError(
        'conflict',
        `task ${taskId} is ${task.status}; only a pending task can be started (create a new task to run it again)`,
        { details: { status: task.status } },
      );
    if (agent.current_task_id !== null)
      throw new LookoutError(
        'conflict',
        `agent ${agent.name} is busy with task ${agent.current_task_id}; wait for it, cancel it, or pick another agent`,
        { details: { agent_id: agent.id, current_task_id: agent.current_task_id } },
      );
    const program = this.#agents.program(agent);
    if (!program.found)
      throw new LookoutError('conflict', `agent ${agent.name} is offline: ${program.reason}`, {
        details: { agent_id: agent.id, status: 'offline' },
      });
    const provider = this.#providers[agent.provider];
    const unavailable = provider ? await provider.unavailable() : `no ${agent.provider} provider`;
    if (unavailable !== null)
      throw new LookoutError(
        'conflict',
        `agent ${agent.name} uses the ${agent.provider} sandbox, which is unavailable: ${unavailable}`,
      );
    if (agent.provider === 'container' && !agent.image)
      throw new LookoutError(
        'conflict',
        `agent ${agent.name} uses the container sandbox but has no image; set one with PATCH ${API_PREFIX}/agents/${agent.id}`,
      );
    const prompt = this.#prompt(task);
    if (agent.command.some((arg) => arg.includes('{prompt}')) && Buffer.byteLength(prompt) > MAX_ARGV_ELEMENT_BYTES)
      throw new LookoutError(
        'invalid_input',
        `the prompt is ${Buffer.byteLength(prompt)} bytes, more than one command-line argument can carry (128 KiB); give the agent {prompt_file} instead of {prompt}`,
        { details: [{ path: 'description', message: 'too long for {prompt}' }] },
      );
    await this.#sandboxes.requireRepo();
    // Checked again: the awaits above let another request in.
    const fresh = this.get(taskId);
    const freshAgent = this.#agents.get(agentId);
    if (fresh.status !== 'pending' || freshAgent.current_task_id !== null)
      throw new LookoutError(
        'conflict',
        `task ${taskId} or agent ${agent.name} changed meanwhile; look again and retry`,
      );

    this.#agents.setStatus(agent.id, 'working', taskId, 'queued');
    this.#transition(taskId, 'queued', {
      assigned_agent_id: agent.id,
      queued_at: now(),
      git_branch: taskBranch(taskId),
    });
    this.#pump();
    return this.get(taskId);
  }

  #prompt(task: Task): string {
    return task.description.trim() === '' ? task.title : `${task.title}\n\n${task.description}`;
  }

  /** Starts queued tasks while there is room: most urgent first, then oldest. */
  #pump(): void {
    if (this.#stopped) return;
    while (this.#running.size < this.#settings.maxRunning) {
      const queued = this.list({ status: ['queued'] }).sort(
        (a, b) =>
          PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || (a.queued_at ?? '').localeCompare(b.queued_at ?? ''),
      );
      const next = queued[0];
      if (!next) return;
      const agent = next.assigned_agent_id === null ? undefined : this.#agents.find(next.assigned_agent_id);
      if (!agent) {
        this.#transition(next.id, 'failed', { reason: 'agent_deleted', completed_at: now() });
        continue;
      }
      this.#transition(next.id, 'running', { started_at: now() });
      this.#agents.setStatus(agent.id, 'working', next.id, null);
      const running: Running = { taskId: next.id, agentId: agent.id, finished: Promise.resolve() };
      this.#running.set(next.id, running);
      running.finished = this.#run(this.get(next.id), agent, running)
        .catch((error: unknown) => this.#logger.error({ err: error, task: next.id }, 'task run failed unexpectedly'))
        .finally(() => {
          this.#running.delete(next.id);
          this.#pump();
        });
    }
  }

  async #run(task: Task, agent: Agent, running: Running): Promise<void> {
    const output = new TaskOutput({
      taskId: task.id,
      file: this.logFile(task.id),
      bus: this.#bus,
      logger: this.#logger,
      budgetBytes: this.#settings.eventBudgetBytes,
      flushMs: this.#settings.flushMs,
    });
    let sandboxId: string | null = null;
    try {
      const baseSha = await this.#sandboxes.resolve(task.base);
      const sandbox = await this.#sandboxes.create({
        taskId: task.id,
        agentId: agent.id,
        branch: taskBranch(task.id),
        sha: baseSha,
        provider: agent.provider,
      });
      sandboxId = sandbox.id;
      this.#db.db
        .prepare('UPDATE tasks SET sandbox_id = ?, base_sha = ? WHERE id = ?')
        .run(sandbox.id, baseSha, task.id);
      if (running.cancel)
        return this.#end(
          task.id,
          agent.id,
          running.cancel === 'cancelled' ? 'cancelled' : 'failed',
          null,
          running.cancel === 'stopped' ? 'server_stopped' : 'cancelled',
          output,
          sandboxId,
        );

      const promptFile = this.#promptFile(task.id);
      const prompt = this.#prompt(task);
      fs.writeFileSync(promptFile, prompt, { mode: 0o600 });
      const argv = agent.command.map((arg) =>
        arg
          .replaceAll('{prompt_file}', promptFile)
          .replaceAll('{workdir}', sandbox.path)
          .replaceAll('{prompt}', prompt),
      );
      const provider = this.#providers[agent.provider]!;
      const launch = provider.launch({
        agent,
        taskId: task.id,
        argv,
        env: this.#environment(agent, task.id, sandbox.path),
        workdir: sandbox.path,
        promptFile,
      });
      running.stop = launch.stop;
      const timeoutS = task.timeout_s ?? agent.timeout_s ?? this.#settings.timeoutS;
      let proc: AgentProcess;
      try {
        proc = await AgentProcess.start({
          argv: launch.argv,
          cwd: launch.cwd,
          env: launch.env,
          timeoutMs: timeoutS * 1000,
          graceMs: this.#settings.graceMs,
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        output.note(`could not start ${launch.argv[0]}: ${(error as Error).message}`);
        return await this.#end(task.id, agent.id, 'failed', null, `spawn_failed: ${code}`, output, sandboxId);
      }
      running.process = proc;
      this.#db.db
        .prepare('UPDATE tasks SET pid = ?, pid_start = ? WHERE id = ?')
        .run(proc.pid, proc.startTime, task.id);
      if (running.cancel) void proc.terminate(running.cancel);
      const [outcome] = await Promise.all([proc.done, output.consume(proc.stdout, proc.stderr)]);
      await launch.stop?.();
      const { status, reason } = this.#verdict(outcome, timeoutS);
      if (reason !== null && status !== 'succeeded') output.note(`task ${status}: ${reason}`);
      await this.#end(task.id, agent.id, status, outcome.exitCode, reason, output, sandboxId);
    } catch (error) {
      this.#logger.warn({ err: error, task: task.id }, 'task failed before its program ran to the end');
      output.note(`task failed: ${(error as Error).message}`);
      await this.#end(
        task.id,
        agent.id,
        'failed',
        null,
        `sandbox_failed: ${(error as Error).message}`.slice(0, 1000),
        output,
        sandboxId,
      );
    }
  }

  #verdict(outcome: RunOutcome, timeoutS: number): { status: TaskStatus; reason: string | null } {
    switch (outcome.ending) {
      case 'cancelled':
        return { status: 'cancelled', reason: 'cancelled' };
      case 'timed_out':
        return { status: 'timed_out', reason: `timeout: no result within ${timeoutS} s` };
      case 'stopped':
        return { status: 'failed', reason: 'server_stopped' };
      default:
        if (outcome.exitCode === 0) return { status: 'succeeded', reason: null };
        if (outcome.exitCode !== null) return { status: 'failed', reason: `exit_code_${outcome.exitCode}` };
        return { status: 'failed', reason: `signal_${outcome.signal ?? 'unknown'}` };
    }
  }

  /** Commit what a successful agent left, record the diff stat, then settle task and agent. */
  async #end(
    taskId: string,
    agentId: string,
    status: TaskStatus,
    exitCode: number | null,
    reason: string | null,
    output: TaskOutput,
    sandboxId: string | null,
  ): Promise<void> {
    let headSha: string | null = null;
    let diff: DiffStat | null = null;
    const sandbox = sandboxId === null ? undefined : this.#sandboxes.find(sandboxId);
    if (sandbox) {
      const task = this.get(taskId);
      const agent = this.#agents.find(agentId);
      try {
        if (status === 'succeeded') {
          const author = { name: `${agent?.name ?? 'agent'} (Lookout)`, email: 'lookout@localhost' };
          await this.#sandboxes.commitChanges(
            sandbox,
            `${task.title}\n\nLookout task ${taskId}, run by agent ${agent?.name ?? agentId}.`,
            author,
          );
        }
        headSha = await this.#sandboxes.head(sandbox);
        if (task.base_sha) diff = await this.#sandboxes.diffStat(sandbox, task.base_sha, headSha);
      } catch (error) {
        this.#logger.warn({ err: error, task: taskId }, 'recording the task result in git failed');
        output.note(`recording the result in git failed: ${(error as Error).message}`);
        if (status === 'succeeded') {
          status = 'failed';
          reason = `commit_failed: ${(error as Error).message}`.slice(0, 1000);
        }
      }
    }
    await output.close();
    fs.rmSync(this.#promptFile(taskId), { force: true });
    this.#credentials.revoke(taskId);
    this.#transition(taskId, status, {
      exit_code: exitCode,
      reason,
      head_sha: headSha,
      diff_stat_json: diff === null ? null : JSON.stringify(diff),
      completed_at: now(),
      pid: null,
      pid_start: null,
    });
    // A program that could not even start marks its agent `error` (with why) until it runs again.
    const broken = reason?.startsWith('spawn_failed') === true;
    this.#agents.setStatus(agentId, broken ? 'error' : 'idle', null, broken ? reason : null);
    if (sandbox) {
      // A clean success leaves everything on the branch: the worktree goes. Anything
      // else keeps it, uncommitted work and all, until the user removes it.
      if (status === 'succeeded') {
        this.#sandboxes.setStatus(sandbox.id, 'kept');
        await this.#sandboxes.destroy(sandbox.id).catch((error: unknown) => {
          this.#logger.warn({ err: error, sandbox: sandbox.id }, 'removing the sandbox failed');
        });
      } else this.#sandboxes.setStatus(sandbox.id, 'kept');
    }
  }

  #environment(agent: Agent, taskId: string, workdir: string): Record<string, string> {
    const env = agentEnvironment(agent);
    env.LOOKOUT_URL = this.#url();
    env.LOOKOUT_TOKEN = this.#credentials.issue(taskId);
    env.LOOKOUT_TASK_ID = taskId;
    env.LOOKOUT_AGENT_ID = agent.id;
    env.LOOKOUT_WORKDIR = workdir;
    return env;
  }

  // ---------------------------------------------------------------------------------
  // Cancel

  cancel(id: string): Task {
    const task = this.get(id);
    if (isFinalTaskStatus(task.status))
      throw new LookoutError('conflict', `task ${id} is already ${task.status}; nothing to cancel`, {
        details: { status: task.status },
      });
    if (task.status === 'pending' || task.status === 'queued') {
      const settled = this.#transition(id, 'cancelled', { reason: 'cancelled', completed_at: now() });
      if (task.assigned_agent_id !== null) this.#agents.setStatus(task.assigned_agent_id, 'idle', null, null);
      return settled;
    }
    const running = this.#running.get(id);
    if (running) {
      running.cancel ??= 'cancelled';
      void running.process?.terminate('cancelled');
    }
    return this.get(id);
  }

  // ---------------------------------------------------------------------------------
  // Merge

  merge(id: string, options: { push: boolean }): Promise<MergeResult> {
    // One merge at a time: two merges into one base must not race on its ref.
    const result = this.#merging.then(() => this.#merge(id, options));
    this.#merging = result.catch(() => undefined);
    return result;
  }

  async #merge(id: string, options: { push: boolean }): Promise<MergeResult> {
    const task = this.get(id);
    if (task.status !== 'succeeded')
      throw new LookoutError('conflict', `task ${id} is ${task.status}; only a succeeded task can be merged`, {
        details: { status: task.status },
      });
    if (task.merged_at !== null)
      throw new LookoutError(
        'conflict',
        `task ${id} was merged already (${task.merge_sha ?? ''} at ${task.merged_at})`,
      );
    const root = await this.#sandboxes.requireRepo();
    const branch = task.git_branch ?? taskBranch(id);
    const base = task.base;
    // Asked to push but nowhere to push to: say so before anything changes.
    const remote = options.push ? await this.#remoteFor(root, base) : null;
    if (options.push && remote === null)
      throw new LookoutError(
        'conflict',
        `${base} has no remote to push to; add one (git remote add origin URL) or merge without push`,
      );
    const baseRef = `refs/heads/${base}`;
    let baseTip: string;
    try {
      baseTip = (await exec(['rev-parse', '--verify', '--quiet', `${baseRef}^{commit}`], { cwd: root })).trim();
    } catch {
      throw new LookoutError(
        'conflict',
        `the task's base ${base} is not a branch; merge it yourself: git merge ${branch}`,
        { details: { base } },
      );
    }
    const record = { taskId: id, sandboxId: task.sandbox_id };
    const scratch = path.join(this.#sandboxes.dir, `merge-${id}-${newId()}`);
    fs.mkdirSync(this.#sandboxes.dir, { recursive: true, mode: 0o700 });
    await this.#git.run(['worktree', 'add', '--detach', scratch, baseTip], {
      cwd: root,
      record: 'worktree_add',
      ...record,
    });
    let mergeSha: string;
    try {
      try {
        await this.#git.run(['merge', '--no-ff', '--no-edit', '-m', `Merge task ${id}: ${task.title}`, '--', branch], {
          cwd: scratch,
          record: 'merge',
          shaAfter: true,
          ...record,
        });
      } catch (error) {
        const conflicted = await exec(['diff', '--name-only', '--diff-filter=U', '-z'], { cwd: scratch }).catch(
          () => '',
        );
        const files = conflicted.split('\0').filter(Boolean);
        if (files.length > 0)
          throw new LookoutError(
            'merge_conflict',
            `merging ${branch} into ${base} conflicts in ${files.length} file(s): ${files.slice(0, 5).join(', ')}${files.length > 5 ? ', …' : ''}; resolve by hand (git merge ${branch}) or re-run the task from the new ${base}`,
            { details: { files, base, branch } },
          );
        throw new LookoutError('conflict', `merging ${branch} into ${base} failed: ${(error as Error).message}`);
      }
      mergeSha = (await exec(['rev-parse', 'HEAD'], { cwd: scratch })).trim();
    } finally {
      await this.#git
        .run(['worktree', 'remove', '--force', '--force', scratch], { cwd: root, record: 'worktree_remove', ...record })
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'removing the merge worktree failed'));
    }

    // Move the base branch. Where it is checked out (usually the user's own checkout), a
    // fast-forward there updates the files too, and git refuses if it would overwrite
    // the user's uncommitted changes; elsewhere the ref moves only if nobody moved it.
    const checkout = await this.#checkoutOf(root, baseRef);
    try {
      if (checkout !== null) {
        await this.#git.run(['merge', '--ff-only', '--quiet', mergeSha], {
          cwd: checkout,
          record: 'fast_forward',
          shaAfter: true,
          ...record,
        });
      } else {
        await this.#git.run(['update-ref', '-m', `lookout: merge task ${id}`, baseRef, mergeSha, baseTip], {
          cwd: root,
          record: 'fast_forward',
          ...record,
        });
      }
    } catch (error) {
      const why = error instanceof GitCommandError ? error.message : String(error);
      throw new LookoutError(
        'conflict',
        `the merge is ready (${mergeSha.slice(0, 12)}) but ${base} could not be moved to it: ${why}; commit or stash your changes in ${checkout ?? root} and merge again`,
        { details: { merge_sha: mergeSha, base } },
      );
    }
    this.#db.db
      .prepare('UPDATE tasks SET merge_sha = ?, merged_at = ?, updated_at = ? WHERE id = ?')
      .run(mergeSha, now(), now(), id);
    let pushed = false;
    if (remote !== null) {
      await this.#git
        .run(['push', '--porcelain', '--', remote, `${baseRef}:${baseRef}`], {
          cwd: root,
          record: 'push',
          timeoutMs: 600_000,
          ...record,
        })
        .catch((error: unknown) => {
          throw new LookoutError(
            'conflict',
            `merged into ${base}, but pushing it to ${remote} failed: ${(error as Error).message}; push it yourself (git push ${remote} ${base})`,
          );
        });
      pushed = true;
    }
    return { task: this.#changed(id), merge_sha: mergeSha, base, checkout_updated: checkout !== null, pushed };
  }

  async #checkoutOf(root: string, ref: string): Promise<string | null> {
    const out = await exec(['worktree', 'list', '--porcelain', '-z'], { cwd: root });
    let current: string | null = null;
    for (const field of out.split('\0')) {
      if (field.startsWith('worktree ')) current = field.slice(9);
      else if (field === `branch ${ref}`) return current;
    }
    return null;
  }

  async #remoteFor(root: string, branch: string): Promise<string | null> {
    const configured = await exec(['config', '--get', `branch.${branch}.remote`], { cwd: root }).catch(() => '');
    if (configured.trim() !== '') return configured.trim();
    const remotes = (await exec(['remote'], { cwd: root }).catch(() => '')).split('\n').filter(Boolean);
    return remotes.includes('origin') ? 'origin' : (remotes[0] ?? null);
  }

  // ---------------------------------------------------------------------------------
  // Start-up and shutdown

  /**
   * A task that was running when the server went away cannot be re-attached (its pipes
   * died with the server), so it is settled: its process group, if still alive and
   * still the one we started, is killed, and it ends `failed` with `server_restarted`.
   * Queued tasks stay queued and start as room allows. Sandboxes are reconciled with
   * `git worktree list`.
   */
  async recover(): Promise<void> {
    for (const task of this.list({ status: ['running'] })) {
      const row = this.#db.db.prepare('SELECT pid, pid_start FROM tasks WHERE id = ?').get(task.id) as {
        pid: number | null;
        pid_start: string | null;
      };
      if (row.pid !== null && isSameProcess(row.pid, row.pid_start)) {
        this.#logger.warn(
          { task: task.id, pid: row.pid },
          'killing the process group of a task from before the restart',
        );
        signalGroup(row.pid, 'SIGKILL');
      }
      fs.appendFileSync(this.logFile(task.id), '[lookout] the server stopped while this task ran; it was ended\n');
      this.#transition(task.id, 'failed', {
        reason: 'server_restarted',
        completed_at: now(),
        pid: null,
        pid_start: null,
      });
      if (task.sandbox_id !== null) this.#sandboxes.setStatus(task.sandbox_id, 'kept');
    }
    const busy = new Set(this.list({ status: ['queued'] }).map((task) => task.assigned_agent_id));
    for (const agent of this.#agents.list())
      if (agent.current_task_id !== null && !busy.has(agent.id)) this.#agents.setStatus(agent.id, 'idle', null, null);
    await this.#sandboxes
      .reconcile()
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'sandbox reconcile failed'));
    this.#pump();
  }

  /** Ends every running task (SIGTERM, then SIGKILL after `graceMs`) and waits until each is settled. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    const running = [...this.#running.values()];
    for (const run of running) {
      run.cancel ??= 'stopped';
      void run.process?.terminate('stopped', graceMs);
    }
    await Promise.all(running.map((run) => run.finished));
  }

  /** The sandbox an agent works in now. */
  sandboxOf(agentId: string): string | null {
    for (const run of this.#running.values()) {
      if (run.agentId === agentId) return this.find(run.taskId)?.sandbox_id ?? null;
    }
    return null;
  }
}

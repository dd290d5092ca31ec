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
import { AgentProcess, isSameProcess, processStartTime, type RunOutcome, signalGroup } from '../agents/runner.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { ServerLease } from '../store/server-lease.ts';
import type { SqlExecutor, SqlStore } from '../store/sql-store.ts';
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
  runner: string | null;
  lease_id: string | null;
  cancel_requested_at: string | null;
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

/** The queue's order in SQL: most urgent first, then the longest waiting. */
const QUEUE_ORDER = `CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, queued_at, id`;

/** How often a server looks for cancels asked on another server of the tasks it runs (team mode). */
const CANCEL_POLL_MS = 1000;
/** How often a server looks for queued tasks it was not told about (team mode; a missed notification). */
const QUEUE_POLL_MS = 5000;

/**
 * The argv element limit on Linux (MAX_ARG_STRLEN): a longer {prompt} cannot be passed
 * as one argument at all, so it is refused up front with the way round it.
 */
const MAX_ARGV_ELEMENT_BYTES = 128 * 1024 - 1;

/** A claim that lost its race: rolls its transaction back (see start). */
class ClaimLost extends Error {}

const notPending = (taskId: string, status: TaskStatus) =>
  new LookoutError(
    'conflict',
    `task ${taskId} is ${status}; only a pending task can be started (create a new task to run it again)`,
    { details: { status } },
  );

const agentBusy = (name: string, agentId: string, taskId: string) =>
  new LookoutError(
    'conflict',
    `agent ${name} is busy with task ${taskId}; wait for it, cancel it, or pick another agent`,
    {
      details: { agent_id: agentId, current_task_id: taskId },
    },
  );

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

/** Why Lookout ended a run: a cancel, the server stopping, or its lease lost (team mode: another server may settle it). */
type RunCancel = 'cancelled' | 'stopped' | 'lost';

/** What a task ended by a lost lease says (also the reason another server gives it). */
const RUNNER_LOST = 'runner_lost';

interface Running {
  taskId: string;
  agentId: string;
  /** The server lease it runs under (team mode). */
  leaseId?: string | undefined;
  process?: AgentProcess;
  cancel?: RunCancel;
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
  /** This server among the servers sharing the store: the `runner` of the tasks it runs. */
  readonly runnerId: string;
  #store: SqlStore;
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
  #pumping = false;
  #pumpAgain = false;
  #pumped: Promise<void> = Promise.resolve();
  #timers: NodeJS.Timeout[] = [];
  #unlisten: (() => void) | undefined;
  #lease: ServerLease | undefined;
  #recovered = false;

  constructor(options: {
    store: SqlStore;
    runnerId: string;
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
    /** Team mode: this server's lease, carried by the tasks it runs (see reclaimOrphans). */
    lease?: ServerLease;
  }) {
    this.#store = options.store;
    this.runnerId = options.runnerId;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#agents = options.agents;
    this.#sandboxes = options.sandboxes;
    this.#git = options.git;
    this.#providers = Object.fromEntries(options.providers.map((p) => [p.name, p]));
    this.#settings = options.settings;
    this.#credentials = options.credentials;
    this.#url = options.url;
    this.#lease = options.lease;
    // Fencing: a server that lost its lease may already have had its tasks settled by
    // another; it ends them at once and does not finish them (see #end).
    this.#lease?.onLost((leaseId) => {
      for (const running of this.#running.values())
        if (running.leaseId === leaseId) this.#cancelRun(running, 'lost', 0);
    });
    // Without a live lease nothing is claimed; with a new one, queued tasks may start again.
    this.#lease?.onAcquired(() => {
      if (this.#recovered) this.#pump();
    });
    this.tasksDir = path.join(options.stateDir, 'tasks');
    fs.mkdirSync(this.tasksDir, { recursive: true, mode: 0o700 });
  }

  get runningCount(): number {
    return this.#running.size;
  }

  /** Several servers share the store (PostgreSQL): the queue and the runs span them. */
  get #shared(): boolean {
    return this.#store.dialect === 'postgres';
  }

  // ---------------------------------------------------------------------------------
  // Rows

  /** How many tasks are in each status (every status listed, 0 when none), for /metrics. */
  async countByStatus(): Promise<Record<TaskStatus, number>> {
    const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
    const rows = await this.#store.all<{ status: TaskStatus; n: number }>(
      'SELECT status, COUNT(*) AS n FROM tasks GROUP BY status',
    );
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  async list(filter: { status?: TaskStatus[]; agentId?: string } = {}): Promise<Task[]> {
    const rows = await this.#store.all<TaskRow>('SELECT * FROM tasks ORDER BY created_at DESC, id');
    return rows
      .map(toTask)
      .filter(
        (task) =>
          (filter.status === undefined || filter.status.includes(task.status)) &&
          (filter.agentId === undefined || task.assigned_agent_id === filter.agentId),
      );
  }

  async find(id: string): Promise<Task | undefined> {
    const row = await this.#row(id);
    return row ? toTask(row) : undefined;
  }

  #row(id: string, tx: SqlExecutor = this.#store): Promise<TaskRow | undefined> {
    return tx.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [id]);
  }

  async get(id: string): Promise<Task> {
    const task = await this.find(id);
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
    await this.#store.run(
      `INSERT INTO tasks (id, title, description, status, priority, base, timeout_s, created_at, updated_at)
       VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
      [id, input.title.trim(), input.description, input.priority, base, input.timeout_s ?? null, at, at],
    );
    const task = await this.get(id);
    await this.#bus.emit('task.created', { task_id: id, title: task.title, task: this.#eventTask(task) });
    return task;
  }

  async update(id: string, patch: TaskUpdate): Promise<Task> {
    const before = await this.get(id);
    const runChanges = patch.description !== undefined || patch.base !== undefined || patch.timeout_s !== undefined;
    if (runChanges && before.status !== 'pending')
      throw new LookoutError(
        'conflict',
        `task ${id} is ${before.status}: description, base and timeout can change only while it is pending`,
      );
    if (patch.base !== undefined) await this.#sandboxes.resolve(patch.base);
    // What the run uses changes only while the task is still pending: a start (here or on
    // another server) between the check above and this write wins, and this is a 409.
    const { changes } = await this.#store.run(
      `UPDATE tasks SET title = ?, description = ?, priority = ?, base = ?, timeout_s = ?, updated_at = ?
       WHERE id = ?${runChanges ? " AND status = 'pending'" : ''}`,
      [
        patch.title?.trim() ?? before.title,
        patch.description ?? before.description,
        patch.priority ?? before.priority,
        patch.base ?? before.base,
        patch.timeout_s === undefined ? before.timeout_s : patch.timeout_s,
        now(),
        id,
      ],
    );
    if (changes === 0) return this.update(id, patch); // says why (404, or 409 with the status)
    return this.#changed(id);
  }

  async delete(id: string, options: { deleteBranch: boolean }): Promise<void> {
    const row = await this.#row(id);
    if (!row) await this.get(id); // the 404
    const task = toTask(row!);
    if (task.status === 'running' || task.status === 'queued')
      throw new LookoutError(
        'conflict',
        `task ${id} is ${task.status}; cancel it first (POST ${API_PREFIX}/tasks/${id}/cancel)`,
      );
    if (task.sandbox_id !== null || (options.deleteBranch && task.git_branch !== null))
      this.#requireLocal(row!, 'delete');
    if (task.sandbox_id !== null) {
      const sandbox = await this.#sandboxes.find(task.sandbox_id);
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
    // Not while it runs: a start on another server may have won since the check above.
    const { changes } = await this.#store.run(
      "DELETE FROM tasks WHERE id = ? AND status NOT IN ('queued', 'running')",
      [id],
    );
    if (changes === 0) return this.delete(id, options); // says why (404, or 409 with the status)
    fs.rmSync(this.logFile(id), { force: true });
    fs.rmSync(this.#promptFile(id), { force: true });
    await this.#bus.emit('task.updated', {
      task_id: id,
      title: task.title,
      task: { ...this.#eventTask(task), deleted: true },
    });
  }

  /**
   * The task, if its complete output is here: with several servers its log is in the
   * workspace of the server that ran it (the events carry it everywhere, up to their budget).
   */
  async withLocalOutput(id: string): Promise<Task> {
    const row = await this.#row(id);
    if (!row) return this.get(id);
    if (this.#shared && row.runner !== null && row.runner !== this.runnerId)
      throw new LookoutError(
        'conflict',
        `task ${id} ran on the server ${row.runner}: its complete output is in that server's workspace (.lookout/tasks/${id}.log); ask that server, or follow the task.output events`,
        { details: { runner: row.runner } },
      );
    return toTask(row);
  }

  logFile(id: string): string {
    return path.join(this.tasksDir, `${id}.log`);
  }

  #promptFile(id: string): string {
    return path.join(this.tasksDir, `${id}.prompt.md`);
  }

  // ---------------------------------------------------------------------------------
  // The state machine

  async #published(from: TaskStatus, task: Task): Promise<Task> {
    await this.#bus.emit('task.status_changed', {
      task_id: task.id,
      title: task.title,
      from,
      to: task.status,
      agent_id: task.assigned_agent_id,
      exit_code: task.exit_code,
      reason: task.reason,
    });
    return task;
  }

  async #changed(id: string): Promise<Task> {
    const task = await this.get(id);
    await this.#bus.emit('task.updated', { task_id: id, title: task.title, task: this.#eventTask(task) });
    return task;
  }

  /** The task for an event: the description is cut so one event stays small. */
  #eventTask(task: Task): Record<string, unknown> {
    return { ...task, description: task.description.slice(0, 2000) };
  }

  /**
   * A task's branch and worktree live in the clone of the server that ran it: with several
   * servers, git work on it (merge, delete the branch or the sandbox) happens there.
   */
  #requireLocal(row: TaskRow, action: string): void {
    if (!this.#shared || row.runner === null || row.runner === this.runnerId) return;
    throw new LookoutError(
      'conflict',
      `task ${row.id} ran on the server ${row.runner}, whose clone holds its branch and worktree; ${action} it through that server`,
      { details: { runner: row.runner } },
    );
  }

  // ---------------------------------------------------------------------------------
  // Start, queue, run

  async start(agentId: string, taskId: string): Promise<Task> {
    if (this.#stopped)
      throw new LookoutError('unavailable', 'the server is stopping; start the task again once it is back');
    const agent = await this.#agents.get(agentId);
    const task = await this.get(taskId);
    if (task.status !== 'pending') throw notPending(taskId, task.status);
    if (agent.current_task_id !== null) throw agentBusy(agent.name, agent.id, agent.current_task_id);
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

    // The claim: the task leaves pending and the agent becomes busy in one transaction,
    // each write guarded by what the checks above saw. Two starts racing (on this server
    // or on two servers sharing the store) cannot both pass: the second finds the row
    // changed (on PostgreSQL it waits for the first's row lock, then re-reads) and nothing
    // of it is kept. Rows are always locked task first, then agent: no deadlock.
    const at = now();
    const claimed = await this.#store
      .transaction(async (tx) => {
        const queued = await tx.run(
          `UPDATE tasks SET status = 'queued', updated_at = ?, assigned_agent_id = ?, queued_at = ?, git_branch = ?
         WHERE id = ? AND status = 'pending'`,
          [at, agent.id, at, taskBranch(taskId), taskId],
        );
        if (queued.changes !== 1) return false;
        if (!(await this.#agents.claim(tx, agent.id, taskId))) throw new ClaimLost();
        return true;
      })
      .catch((error: unknown) => {
        if (error instanceof ClaimLost) return false;
        throw error;
      });
    if (!claimed) {
      const [fresh, freshAgent] = await Promise.all([this.find(taskId), this.#agents.find(agentId)]);
      if (fresh && fresh.status !== 'pending') throw notPending(taskId, fresh.status);
      if (freshAgent?.current_task_id != null) throw agentBusy(agent.name, agent.id, freshAgent.current_task_id);
      throw new LookoutError(
        'conflict',
        `task ${taskId} or agent ${agent.name} changed meanwhile; look again and retry`,
      );
    }
    await this.#agents.claimed(agent, taskId);
    const queued = await this.#published('pending', await this.get(taskId));
    // Answer after the pass that may start it: with room, the caller hears `running` (on
    // PostgreSQL the claim takes round trips, so not waiting would often answer `queued`).
    this.#pump();
    await this.#pumped;
    return (await this.find(taskId)) ?? queued;
  }

  #prompt(task: Task): string {
    return task.description.trim() === '' ? task.title : `${task.title}\n\n${task.description}`;
  }

  /**
   * Starts queued tasks while there is room here. One pass at a time per server (a call
   * during a pass asks for another); across servers the claim decides (see #claimNext).
   */
  #pump(): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    this.#pumped = (async () => {
      try {
        do {
          this.#pumpAgain = false;
          await this.#pumpOnce();
        } while (this.#pumpAgain && !this.#stopped);
      } catch (error) {
        this.#logger.error({ err: error }, 'starting queued tasks failed; the next change tries again');
      } finally {
        this.#pumping = false;
      }
    })();
  }

  async #pumpOnce(): Promise<void> {
    while (!this.#stopped && this.#running.size < this.#settings.maxRunning) {
      const next = await this.#claimNext();
      if (!next) return;
      const agent = next.assigned_agent_id === null ? undefined : await this.#agents.find(next.assigned_agent_id);
      if (!agent) {
        await this.#settle(next.id, 'running', 'failed', { reason: 'agent_deleted', completed_at: now() }, 'queued');
        continue;
      }
      await this.#published('queued', toTask(next));
      await this.#agents.setStatus(agent.id, 'working', next.id, null);
      const running: Running = {
        taskId: next.id,
        agentId: agent.id,
        leaseId: next.lease_id ?? undefined,
        finished: Promise.resolve(),
      };
      this.#running.set(next.id, running);
      running.finished = this.#run(toTask(next), agent, running)
        .catch((error: unknown) => this.#logger.error({ err: error, task: next.id }, 'task run failed unexpectedly'))
        .finally(() => {
          this.#running.delete(next.id);
          this.#pump();
        });
    }
  }

  /**
   * Takes the next queued task for this server: most urgent first, then oldest. On
   * PostgreSQL the candidate row is locked with FOR UPDATE SKIP LOCKED, so servers pumping
   * at once each get a different task (none waits for another's pick); the status guard on
   * the update makes the take hold on SQLite too (one writer, BEGIN IMMEDIATE). In team
   * mode the task carries this server's lease, held (share-locked) by the claim: a server
   * whose lease is not live takes nothing.
   */
  async #claimNext(): Promise<TaskRow | undefined> {
    if (this.#lease && !this.#lease.valid) return undefined;
    return this.#store.transaction(async (tx) => {
      const leaseId = this.#lease ? await this.#lease.hold(tx) : null;
      if (leaseId === undefined) return undefined;
      const candidate = await tx.get<{ id: string }>(
        `SELECT id FROM tasks WHERE status = 'queued' ORDER BY ${QUEUE_ORDER} LIMIT 1${this.#shared ? ' FOR UPDATE SKIP LOCKED' : ''}`,
      );
      if (!candidate) return undefined;
      const at = now();
      const { changes } = await tx.run(
        `UPDATE tasks SET status = 'running', updated_at = ?, started_at = ?, runner = ?, lease_id = ? WHERE id = ? AND status = 'queued'`,
        [at, at, this.runnerId, leaseId, candidate.id],
      );
      return changes === 1 ? this.#row(candidate.id, tx) : undefined;
    });
  }

  /**
   * Moves the task from `from` to `to` if it is still `from` (undefined when it is not:
   * another request or server moved it first). The runner of a task is the only one that
   * moves it out of running, so there `from` always holds.
   */
  async #settle(
    id: string,
    from: TaskStatus,
    to: TaskStatus,
    fields: Partial<Record<keyof TaskRow, string | number | null>>,
    eventFrom: TaskStatus = from,
    /** More writes that commit (or not) with this one. */
    within?: (tx: SqlExecutor) => Promise<void>,
  ): Promise<Task | undefined> {
    if (!TASK_TRANSITIONS[from].includes(to)) throw new Error(`task ${id}: ${from} → ${to} is not a transition`);
    const sets = Object.keys(fields).map((key) => `, ${key} = ?`);
    const write = async (tx: SqlExecutor) => {
      const result = await tx.run(
        `UPDATE tasks SET status = ?, updated_at = ?${sets.join('')} WHERE id = ? AND status = ?`,
        [to, now(), ...(Object.values(fields) as (string | number | null)[]), id, from],
      );
      if (result.changes === 1) await within?.(tx);
      return result;
    };
    const { changes } = within ? await this.#store.transaction(write) : await write(this.#store);
    if (changes === 0) return undefined;
    return this.#published(eventFrom, await this.get(id));
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
      await this.#store.run('UPDATE tasks SET sandbox_id = ?, base_sha = ? WHERE id = ?', [
        sandbox.id,
        baseSha,
        task.id,
      ]);
      if (running.cancel)
        return this.#end(
          task.id,
          agent.id,
          running.cancel === 'cancelled' ? 'cancelled' : 'failed',
          null,
          { cancelled: 'cancelled', stopped: 'server_stopped', lost: RUNNER_LOST }[running.cancel],
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
      await this.#store.run('UPDATE tasks SET pid = ?, pid_start = ? WHERE id = ?', [
        proc.pid,
        proc.startTime,
        task.id,
      ]);
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
      case 'lost':
        return { status: 'failed', reason: RUNNER_LOST };
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
    let noted = false;
    const lost = () => {
      if (!(status === 'failed' && reason === RUNNER_LOST) && !this.#leaseLost(taskId)) return false;
      // Another server may have settled the task already: record nothing as its result.
      status = 'failed';
      reason = RUNNER_LOST;
      if (!noted)
        output.note(
          'this server lost its lease on the task (it could not renew it in time), so another server may have settled it; the run was ended and its result is not recorded',
        );
      noted = true;
      return true;
    };
    lost();
    const sandbox = sandboxId === null ? undefined : await this.#sandboxes.find(sandboxId);
    if (sandbox) {
      const task = await this.get(taskId);
      const agent = await this.#agents.find(agentId);
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
    lost(); // (committing took time: look again before the worktree goes)
    await output.close();
    fs.rmSync(this.#promptFile(taskId), { force: true });
    this.#credentials.revoke(taskId);
    if (sandbox) {
      // A clean success leaves everything on the branch: the worktree goes. Anything
      // else keeps it, uncommitted work and all, until the user removes it. Done before
      // the task is final, so whoever sees it final (on any server) sees its sandbox settled.
      await this.#sandboxes.setStatus(sandbox.id, 'kept');
      if (status === 'succeeded') {
        await this.#sandboxes.destroy(sandbox.id).catch((error: unknown) => {
          this.#logger.warn({ err: error, sandbox: sandbox.id }, 'removing the sandbox failed');
        });
      }
    }
    // A program that could not even start marks its agent `error` (with why) until it runs again.
    const broken = reason?.startsWith('spawn_failed') === true;
    const agentBefore = await this.#agents.find(agentId);
    const settled = await this.#settle(
      taskId,
      'running',
      status,
      {
        exit_code: exitCode,
        reason,
        head_sha: headSha,
        diff_stat_json: diff === null ? null : JSON.stringify(diff),
        completed_at: now(),
        pid: null,
        pid_start: null,
      },
      'running',
      (tx) => this.#agents.release(tx, agentId, taskId, broken ? 'error' : 'idle', broken ? reason : null),
    );
    // Not settled: another server settled it after this one lost its lease, and said so.
    if (settled) await this.#agents.announce(agentBefore, broken ? reason : null);
    else
      this.#logger.warn(
        { task: taskId },
        'another server had settled this task already (this server lost its lease): nothing more recorded',
      );
  }

  /** Whether the run of `taskId` lost its server lease (team mode); ends it if it just did. */
  #leaseLost(taskId: string): boolean {
    const run = this.#running.get(taskId);
    if (!run || run.leaseId === undefined || !this.#lease) return false;
    // Reading the lease's id checks its deadline, which tells the onLost listener at once.
    if (this.#lease.id !== run.leaseId) this.#cancelRun(run, 'lost', 0);
    return run.cancel === 'lost';
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

  async cancel(id: string): Promise<Task> {
    const task = await this.get(id);
    if (isFinalTaskStatus(task.status))
      throw new LookoutError('conflict', `task ${id} is already ${task.status}; nothing to cancel`, {
        details: { status: task.status },
      });
    if (task.status === 'pending' || task.status === 'queued') {
      // A server may claim the queued task meanwhile: then it is running, and cancelled as such.
      const settled = await this.#settle(id, task.status, 'cancelled', { reason: 'cancelled', completed_at: now() });
      if (settled) {
        if (task.assigned_agent_id !== null) await this.#agents.setStatus(task.assigned_agent_id, 'idle', null, null);
        return settled;
      }
      return this.cancel(id);
    }
    const running = this.#running.get(id);
    if (running) this.#cancelRun(running, 'cancelled');
    // Running on another server: the request is recorded, and that server ends it (it looks every second).
    else
      await this.#store.run('UPDATE tasks SET cancel_requested_at = ? WHERE id = ? AND cancel_requested_at IS NULL', [
        now(),
        id,
      ]);
    return this.get(id);
  }

  #cancelRun(running: Running, why: RunCancel, graceMs?: number): void {
    running.cancel ??= why;
    void running.process?.terminate(why, graceMs);
  }

  /** Ends the tasks this server runs whose cancel was asked on another server. */
  async #pollCancels(): Promise<void> {
    if (this.#running.size === 0) return;
    const rows = await this.#store.all<{ id: string }>(
      "SELECT id FROM tasks WHERE runner = ? AND status = 'running' AND cancel_requested_at IS NOT NULL",
      [this.runnerId],
    );
    for (const row of rows) {
      const running = this.#running.get(row.id);
      if (running) this.#cancelRun(running, 'cancelled');
    }
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
    const row = await this.#row(id);
    if (!row) await this.get(id); // the 404
    const task = toTask(row!);
    if (task.status !== 'succeeded')
      throw new LookoutError('conflict', `task ${id} is ${task.status}; only a succeeded task can be merged`, {
        details: { status: task.status },
      });
    if (task.merged_at !== null)
      throw new LookoutError(
        'conflict',
        `task ${id} was merged already (${task.merge_sha ?? ''} at ${task.merged_at})`,
      );
    this.#requireLocal(row!, 'merge');
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
    await this.#store.run('UPDATE tasks SET merge_sha = ?, merged_at = ?, updated_at = ? WHERE id = ?', [
      mergeSha,
      now(),
      now(),
      id,
    ]);
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
    return { task: await this.#changed(id), merge_sha: mergeSha, base, checkout_updated: checkout !== null, pushed };
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
   * `git worktree list`. With several servers on one store, a server settles only the
   * tasks it ran itself (its `runner` id is stable across restarts); the others' tasks
   * are theirs, still running or to be settled when they come back.
   */
  async recover(): Promise<void> {
    const rows = await this.#store.all<TaskRow>(
      `SELECT * FROM tasks WHERE status = 'running'${this.#shared ? ' AND runner = ?' : ''}`,
      this.#shared ? [this.runnerId] : [],
    );
    for (const row of rows) {
      if (row.pid !== null && isSameProcess(row.pid, row.pid_start)) {
        this.#logger.warn(
          { task: row.id, pid: row.pid },
          'killing the process group of a task from before the restart',
        );
        signalGroup(row.pid, 'SIGKILL');
      }
      fs.appendFileSync(this.logFile(row.id), '[lookout] the server stopped while this task ran; it was ended\n');
      await this.#settle(row.id, 'running', 'failed', {
        reason: 'server_restarted',
        completed_at: now(),
        pid: null,
        pid_start: null,
      });
      if (row.sandbox_id !== null) await this.#sandboxes.setStatus(row.sandbox_id, 'kept');
    }
    if (this.#shared) {
      // Tasks another server settled while this one was gone (runner_lost) may have left
      // their programs running here, cut off from any server: end them now.
      const left = await this.#store.all<TaskRow>(
        "SELECT * FROM tasks WHERE runner = ? AND status <> 'running' AND reason = ? AND pid IS NOT NULL",
        [this.runnerId, RUNNER_LOST],
      );
      for (const row of left) {
        // Only a process proven to be the task's (its start time read back and equal):
        // without that proof a reused pid could name an unrelated process group.
        if (row.pid_start !== null && processStartTime(row.pid!) === row.pid_start) {
          this.#logger.warn(
            { task: row.id, pid: row.pid },
            'killing the process group of a task another server settled while this one was away',
          );
          signalGroup(row.pid!, 'SIGKILL');
          fs.appendFileSync(
            this.logFile(row.id),
            `[lookout] another server settled this task (${row.reason ?? row.status}) while this server was away; its program was ended when this server came back\n`,
          );
        }
        await this.#store.run('UPDATE tasks SET pid = NULL, pid_start = NULL WHERE id = ? AND pid = ?', [
          row.id,
          row.pid,
        ]);
      }
    }
    // An agent stays busy only with a task still queued or running (on any server).
    const busy = new Set(
      (await this.list({ status: ['queued', 'running'] })).map((task) => `${task.assigned_agent_id}/${task.id}`),
    );
    for (const agent of await this.#agents.list())
      if (agent.current_task_id !== null && !busy.has(`${agent.id}/${agent.current_task_id}`))
        await this.#agents.setStatus(agent.id, 'idle', null, null);
    await this.#sandboxes
      .reconcile()
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'sandbox reconcile failed'));
    if (this.#shared) {
      // Queued tasks started on another server, and cancels asked there, reach this one
      // through the shared event stream; the timers only catch what a lost notification hid.
      this.#unlisten = this.#bus.listen(['task.status_changed'], (event) => {
        if ((event.data as { to?: string }).to === 'queued') this.#pump();
      });
      const every = (ms: number, fn: () => Promise<void> | void) => {
        const timer = setInterval(() => {
          void Promise.resolve()
            .then(fn)
            .catch((error: unknown) => this.#logger.warn({ err: error }, 'task queue check failed'));
        }, ms);
        timer.unref();
        this.#timers.push(timer);
      };
      every(CANCEL_POLL_MS, () => this.#pollCancels());
      every(QUEUE_POLL_MS, () => this.#pump());
      if (this.#lease) {
        every(Math.max(100, Math.floor(this.#lease.durationMs / 3)), async () => {
          await this.reclaimOrphans();
        });
        await this.reclaimOrphans();
      }
    }
    this.#recovered = true;
    this.#pump();
  }

  /**
   * Settles the running tasks of servers that are gone (team mode): a task whose lease ran
   * out (its server stopped renewing it: killed, machine lost, cut off for longer than the
   * lease) ends `failed` with `runner_lost`, its agent is freed and its sandbox kept (the
   * worktree is in that server's clone). Any number of servers may sweep at once: the
   * leases are reaped and the tasks locked with SKIP LOCKED and moved with a guarded
   * UPDATE, so each task is settled, and its events published, exactly once. Answers the
   * tasks this call settled.
   *
   * The events are stored before the settle commits, while its row locks are held, so a
   * sweeper that dies (or whose database goes away) between the two loses nothing:
   * - the append fails or never happens: the settle rolls back with it, the lease row and
   *   the task are as they were, and the next sweep (on any server) does both again;
   * - the append is stored but the COMMIT never comes: the next sweep settles the task and
   *   finds its events already stored, so it publishes nothing twice.
   */
  async reclaimOrphans(): Promise<string[]> {
    const lease = this.#lease;
    if (!lease || this.#stopped) return [];
    // A cheap look first: most sweeps find nothing and take no lock.
    const orphans = await this.#store.all<{ id: string; assigned_agent_id: string | null }>(
      `SELECT id, assigned_agent_id FROM tasks t WHERE status = 'running' AND lease_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM server_leases l WHERE l.id = t.lease_id)`,
    );
    if (orphans.length === 0 && !(await lease.anyExpired())) return [];
    const settled = await this.#store.transaction(async (tx) => {
      const reaped = await lease.reap(tx);
      const holders = new Map(reaped.map((l) => [l.id, l.holder]));
      const rows = await tx.all<TaskRow>(
        `SELECT * FROM tasks t WHERE status = 'running' AND lease_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM server_leases l WHERE l.id = t.lease_id)
         ORDER BY id FOR UPDATE SKIP LOCKED`,
      );
      const done: string[] = [];
      for (const row of rows) {
        if (await this.#settleLost(tx, row, holders.get(row.lease_id!))) done.push(row.id);
      }
      return done;
    });
    if (settled.length > 0) this.#pump(); // their agents are free for queued tasks
    return settled;
  }

  /** One orphaned task, inside the reclaim's transaction: settled, and announced unless an earlier try did. */
  async #settleLost(tx: SqlExecutor, row: TaskRow, holder: string | undefined): Promise<boolean> {
    const at = now();
    const { changes } = await tx.run(
      `UPDATE tasks SET status = 'failed', reason = ?, completed_at = ?, updated_at = ? WHERE id = ? AND status = 'running'`,
      [RUNNER_LOST, at, at, row.id],
    );
    if (changes !== 1) return false;
    let agent: string | undefined;
    if (row.assigned_agent_id !== null) {
      const freed = await tx.run(
        `UPDATE agents SET status = 'idle', current_task_id = NULL, status_reason = ?, updated_at = ?
         WHERE id = ? AND current_task_id = ?`,
        [RUNNER_LOST, at, row.assigned_agent_id, row.id],
      );
      if (freed.changes === 1)
        agent = (await tx.get<{ name: string }>('SELECT name FROM agents WHERE id = ?', [row.assigned_agent_id]))?.name;
    }
    if (row.sandbox_id !== null)
      await tx.run("UPDATE sandboxes SET status = 'kept' WHERE id = ? AND status = 'active'", [row.sandbox_id]);
    this.#logger.warn(
      { task: row.id, runner: row.runner, lease: row.lease_id, holder },
      'settled a task whose server stopped renewing its lease (runner_lost)',
    );
    if (await this.#lostAnnounced(tx, row)) return true;
    const task = toTask((await this.#row(row.id, tx))!);
    // One append: the task's ending and its agent's release are stored together or not at all.
    await this.#bus.publish(
      [
        {
          type: 'task.status_changed',
          data: {
            task_id: task.id,
            title: task.title,
            from: 'running',
            to: task.status,
            agent_id: task.assigned_agent_id,
            exit_code: task.exit_code,
            reason: task.reason,
          },
        },
        ...(agent === undefined
          ? []
          : [
              {
                type: 'agent.status_changed',
                data: {
                  agent_id: row.assigned_agent_id,
                  name: agent,
                  from: 'working',
                  to: 'idle',
                  task_id: null,
                  reason: RUNNER_LOST,
                },
              },
            ]),
      ],
      { allowServerTypes: true },
    );
    return true;
  }

  /**
   * Whether an earlier sweep stored this task's runner_lost events and then died before its
   * settle committed (see reclaimOrphans). Only events since the task started are looked at
   * (an hour's margin for clocks that differ between servers); a task ends failed once, so
   * one such event is proof.
   */
  async #lostAnnounced(tx: SqlExecutor, row: TaskRow): Promise<boolean> {
    const since = (row.started_at === null ? 0 : Date.parse(row.started_at)) - 3_600_000;
    const found = await tx.get<{ seq: number }>(
      `SELECT seq FROM events WHERE type = 'task.status_changed' AND ts_ms >= ?
       AND (json::jsonb -> 'data' ->> 'task_id') = ? AND (json::jsonb -> 'data' ->> 'reason') = ? LIMIT 1`,
      [since, row.id, RUNNER_LOST],
    );
    return found !== undefined;
  }

  /** Ends every running task (SIGTERM, then SIGKILL after `graceMs`) and waits until each is settled. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    this.#unlisten?.();
    await this.#pumped;
    const running = [...this.#running.values()];
    for (const run of running) {
      run.cancel ??= 'stopped';
      void run.process?.terminate('stopped', graceMs);
    }
    await Promise.all(running.map((run) => run.finished));
  }

  /** The sandbox a task runs in (null until it has one). */
  async sandboxOf(taskId: string): Promise<string | null> {
    return (
      (await this.#store.get<{ sandbox_id: string | null }>('SELECT sandbox_id FROM tasks WHERE id = ?', [taskId]))
        ?.sandbox_id ?? null
    );
  }
}

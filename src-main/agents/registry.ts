import { randomBytes } from 'node:crypto';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import {
  type Agent,
  type AgentCreate,
  type AgentModel,
  type AgentStatus,
  type AgentUpdate,
} from '../../src-shared/agents.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { SqlExecutor, SqlStore, SqlValue } from '../store/sql-store.ts';
import { isUniqueViolation } from '../store/unique-violation.ts';
import { findPreset, findProgram } from './presets.ts';

interface AgentRow {
  id: string;
  name: string;
  role: string;
  command_json: string;
  env_json: string;
  timeout_s: number | null;
  provider: string;
  image: string | null;
  network: number;
  model_json: string | null;
  status: string;
  status_reason: string | null;
  current_task_id: string | null;
  created_at: string;
  updated_at: string;
}

const modelJson = (model: AgentModel | null): string | null => (model === null ? null : JSON.stringify(model));

/** Lowercase hex: safe in a branch name, a path and a URL without escaping. */
export const newId = (): string => randomBytes(6).toString('hex');
export const now = (): string => new Date().toISOString();

const nameTaken = (name: string, id: string) =>
  new LookoutError('conflict', `an agent named ${name} already exists (id ${id}); choose another name`, {
    details: { agent_id: id },
  });

/**
 * The agents registry: rows in `agents`, every change published as `agent.*`. The
 * stored status is idle, working or error; `offline` is worked out on every read from
 * whether the program can be found, so installing a CLI brings its agent online.
 */
export class AgentRegistry {
  #store: SqlStore;
  #bus: EventBus;
  #searchPath: () => string | undefined;
  #sandboxOf: (taskId: string) => Promise<string | null>;

  constructor(options: {
    store: SqlStore;
    bus: EventBus;
    searchPath?: () => string | undefined;
    /** The sandbox a task runs in (owned by the tasks domain). */
    sandboxOf?: (taskId: string) => Promise<string | null>;
  }) {
    this.#store = options.store;
    this.#bus = options.bus;
    this.#searchPath = options.searchPath ?? (() => process.env.PATH);
    this.#sandboxOf = options.sandboxOf ?? (async () => null);
  }

  /** Set once the tasks domain exists (it is built after the registry). */
  set sandboxOf(fn: (taskId: string) => Promise<string | null>) {
    this.#sandboxOf = fn;
  }

  async list(): Promise<Agent[]> {
    const rows = await this.#store.all<AgentRow>('SELECT * FROM agents ORDER BY created_at, id');
    return Promise.all(rows.map((row) => this.#toAgent(row)));
  }

  async find(id: string, tx: SqlExecutor = this.#store): Promise<Agent | undefined> {
    const row = await tx.get<AgentRow>('SELECT * FROM agents WHERE id = ?', [id]);
    return row ? this.#toAgent(row) : undefined;
  }

  async get(id: string): Promise<Agent> {
    const agent = await this.find(id);
    if (!agent)
      throw new LookoutError('not_found', `no agent has the id ${id}; list them with GET ${API_PREFIX}/agents`);
    return agent;
  }

  /** The program as it would be started, or why it cannot be. */
  program(agent: Agent): ReturnType<typeof findProgram> {
    return this.#lookup(agent.command, agent.provider);
  }

  /** A container agent's program lives in its image, not on this machine's PATH. */
  #lookup(command: readonly string[], provider: string): ReturnType<typeof findProgram> {
    const program = command[0];
    if (program === undefined)
      return { found: false, reason: 'it has no command (it speaks in discussions only); give it one to run tasks' };
    return provider === 'container' ? { found: true, file: program } : findProgram(program, this.#searchPath());
  }

  async create(input: AgentCreate): Promise<Agent> {
    let command: string[];
    let passEnv = input.pass_env;
    if ('preset' in input && input.preset !== undefined) {
      const preset = findPreset(input.preset)!; // the schema allows only known presets
      command = preset.command;
      passEnv ??= preset.pass_env;
    } else {
      command = 'command' in input && input.command !== undefined ? input.command : [];
    }
    await this.#checkName(input.name);
    const at = now();
    const id = newId();
    await this.#write(
      `INSERT INTO agents (id, name, role, command_json, env_json, timeout_s, provider, image, network, model_json,
         status, status_reason, current_task_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'idle', NULL, NULL, ?, ?)`,
      [
        id,
        input.name,
        input.role,
        JSON.stringify(command),
        JSON.stringify({ env: input.env ?? {}, pass_env: passEnv ?? [] }),
        input.timeout_s ?? null,
        input.provider,
        input.image ?? null,
        input.network ? 1 : 0,
        input.model ? JSON.stringify(input.model) : null,
        at,
        at,
      ],
      input.name,
    );
    const agent = await this.get(id);
    await this.#bus.emit('agent.created', { agent_id: id, name: agent.name, agent });
    return agent;
  }

  async update(id: string, patch: AgentUpdate): Promise<Agent> {
    const before = await this.get(id);
    if (patch.name !== undefined && patch.name !== before.name) await this.#checkName(patch.name);
    const env = { env: patch.env ?? before.env, pass_env: patch.pass_env ?? before.pass_env };
    await this.#write(
      `UPDATE agents SET name = ?, role = ?, command_json = ?, env_json = ?, timeout_s = ?, provider = ?, image = ?,
         network = ?, model_json = ?, updated_at = ? WHERE id = ?`,
      [
        patch.name ?? before.name,
        patch.role ?? before.role,
        JSON.stringify(patch.command === null ? [] : (patch.command ?? before.command)),
        JSON.stringify(env),
        patch.timeout_s === undefined ? before.timeout_s : patch.timeout_s,
        patch.provider ?? before.provider,
        patch.image === undefined ? before.image : patch.image,
        (patch.network ?? before.network) ? 1 : 0,
        modelJson(patch.model === undefined ? before.model : patch.model),
        now(),
        id,
      ],
      patch.name ?? before.name,
    );
    const agent = await this.get(id);
    await this.#bus.emit('agent.updated', { agent_id: id, name: agent.name, agent });
    return agent;
  }

  async delete(id: string): Promise<void> {
    const agent = await this.get(id);
    if (agent.current_task_id !== null)
      throw new LookoutError(
        'conflict',
        `agent ${agent.name} is working on task ${agent.current_task_id}; cancel it first (POST ${API_PREFIX}/tasks/${agent.current_task_id}/cancel)`,
        { details: { task_id: agent.current_task_id } },
      );
    // Only while idle: a task claimed meanwhile (on this server or another) keeps its agent.
    const { changes } = await this.#store.run('DELETE FROM agents WHERE id = ? AND current_task_id IS NULL', [id]);
    // Claimed or deleted meanwhile: look again, which says why (409 with the task, or 404).
    if (changes === 0) return this.delete(id);
    await this.#bus.emit('agent.deleted', { agent_id: id, name: agent.name });
  }

  /**
   * Makes the agent busy with `taskId` if it is free: the half of starting a task that
   * must hold across servers. Runs inside the caller's transaction; false when another
   * request (here or on another server) took the agent first.
   */
  async claim(tx: SqlExecutor, id: string, taskId: string): Promise<boolean> {
    const { changes } = await tx.run(
      `UPDATE agents SET status = 'working', current_task_id = ?, status_reason = 'queued', updated_at = ?
       WHERE id = ? AND current_task_id IS NULL`,
      [taskId, now(), id],
    );
    return changes === 1;
  }

  /** Publishes what `claim` changed, once its transaction committed. */
  async claimed(before: Agent, taskId: string): Promise<void> {
    if (before.status === 'working' && before.current_task_id === taskId) return;
    await this.#bus.emit('agent.status_changed', {
      agent_id: before.id,
      name: before.name,
      from: before.status,
      to: 'working',
      task_id: taskId,
      reason: 'queued',
    });
  }

  /** Moves an agent to working (with its task) or back to idle/error; publishes the change. */
  async setStatus(
    id: string,
    status: Exclude<AgentStatus, 'offline'>,
    taskId: string | null,
    reason: string | null,
  ): Promise<void> {
    const before = await this.find(id);
    if (!before) return; // deleted meanwhile: nothing to tell
    await this.#store.run(
      'UPDATE agents SET status = ?, current_task_id = ?, status_reason = ?, updated_at = ? WHERE id = ?',
      [status, taskId, reason, now(), id],
    );
    await this.announce(before, reason);
  }

  /**
   * Shows an agent as `working` while it speaks in a discussion (`reason` says where), if
   * it is idle and has no task; a task's claim still takes it (tasks go by
   * current_task_id). `spoke` puts it back, only if it is still marked for that reason.
   */
  async speaking(id: string, reason: string): Promise<void> {
    const before = await this.find(id);
    const { changes } = await this.#store.run(
      `UPDATE agents SET status = 'working', status_reason = ?, updated_at = ?
       WHERE id = ? AND status = 'idle' AND current_task_id IS NULL`,
      [reason, now(), id],
    );
    if (changes === 1) await this.announce(before, reason);
  }

  async spoke(id: string, reason: string): Promise<void> {
    const before = await this.find(id);
    const { changes } = await this.#store.run(
      `UPDATE agents SET status = 'idle', status_reason = NULL, updated_at = ?
       WHERE id = ? AND status = 'working' AND status_reason = ? AND current_task_id IS NULL`,
      [now(), id, reason],
    );
    if (changes === 1) await this.announce(before, null);
  }

  /**
   * Frees the agent of `taskId` (idle, or error with why) inside the caller's transaction,
   * so the task's end and its agent's release are one change: nobody sees the task ended
   * and its agent still busy with it. Publish with `announce` once committed.
   */
  async release(
    tx: SqlExecutor,
    id: string,
    taskId: string,
    status: 'idle' | 'error',
    reason: string | null,
  ): Promise<void> {
    await tx.run(
      'UPDATE agents SET status = ?, current_task_id = NULL, status_reason = ?, updated_at = ? WHERE id = ? AND current_task_id = ?',
      [status, reason, now(), id, taskId],
    );
  }

  /** Publishes `agent.status_changed` if the agent's status or task differs from `before`. */
  async announce(before: Agent | undefined, reason: string | null): Promise<void> {
    if (!before) return; // deleted meanwhile: nothing to tell
    const after = await this.find(before.id);
    if (!after) return;
    if (before.status !== after.status || before.current_task_id !== after.current_task_id) {
      await this.#bus.emit('agent.status_changed', {
        agent_id: after.id,
        name: after.name,
        from: before.status,
        to: after.status,
        task_id: after.current_task_id,
        reason,
      });
    }
  }

  async #checkName(name: string): Promise<void> {
    const taken = await this.#store.get<{ id: string }>('SELECT id FROM agents WHERE name = ?', [name]);
    if (taken) throw nameTaken(name, taken.id);
  }

  /**
   * An insert or update that may hit the unique name: another request (here or on another
   * server) can take the name between the check and the write, and that is the same 409.
   */
  async #write(sql: string, params: SqlValue[], name: string): Promise<void> {
    try {
      await this.#store.run(sql, params);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const taken = await this.#store.get<{ id: string }>('SELECT id FROM agents WHERE name = ?', [name]);
      throw nameTaken(name, taken?.id ?? 'unknown');
    }
  }

  async #toAgent(row: AgentRow): Promise<Agent> {
    const command = JSON.parse(row.command_json) as string[];
    const env = JSON.parse(row.env_json) as { env: Record<string, string>; pass_env: string[] };
    const model = row.model_json === null ? null : (JSON.parse(row.model_json) as AgentModel);
    let status = row.status as AgentStatus;
    let reason = row.status_reason;
    // A model agent, or an external one (no command), needs no program on this machine.
    if (status === 'idle' && model === null && command.length > 0) {
      const lookup = this.#lookup(command, row.provider);
      if (!lookup.found) {
        status = 'offline';
        reason = lookup.reason;
      }
    }
    return {
      id: row.id,
      name: row.name,
      role: row.role,
      status,
      status_reason: reason,
      current_task_id: row.current_task_id,
      sandbox_id: row.current_task_id === null ? null : await this.#sandboxOf(row.current_task_id),
      command,
      env: env.env,
      pass_env: env.pass_env,
      timeout_s: row.timeout_s,
      provider: row.provider as Agent['provider'],
      image: row.image,
      network: Number(row.network) === 1,
      model,
      speaker: model !== null ? 'model' : command.length > 0 ? 'command' : 'external',
      created_at: row.created_at,
      updated_at: row.updated_at,
    };
  }
}

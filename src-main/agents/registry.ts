import { randomBytes } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
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
import type { Database } from '../store/database.ts';
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

/**
 * The agents registry: rows in `agents`, every change published as `agent.*`. The
 * stored status is idle, working or error; `offline` is worked out on every read from
 * whether the program can be found, so installing a CLI brings its agent online.
 */
export class AgentRegistry {
  #db: Database;
  #bus: EventBus;
  #searchPath: () => string | undefined;
  #sandboxOf: (agentId: string) => string | null;
  #byId: StatementSync;

  constructor(options: {
    db: Database;
    bus: EventBus;
    searchPath?: () => string | undefined;
    /** The sandbox an agent is working in (owned by the tasks domain). */
    sandboxOf?: (agentId: string) => string | null;
  }) {
    this.#db = options.db;
    this.#bus = options.bus;
    this.#searchPath = options.searchPath ?? (() => process.env.PATH);
    this.#sandboxOf = options.sandboxOf ?? (() => null);
    this.#byId = this.#db.db.prepare('SELECT * FROM agents WHERE id = ?');
  }

  /** Set once the tasks domain exists (it is built after the registry). */
  set sandboxOf(fn: (agentId: string) => string | null) {
    this.#sandboxOf = fn;
  }

  list(): Agent[] {
    const rows = this.#db.db.prepare('SELECT * FROM agents ORDER BY created_at, id').all() as unknown as AgentRow[];
    return rows.map((row) => this.#toAgent(row));
  }

  find(id: string): Agent | undefined {
    const row = this.#byId.get(id) as AgentRow | undefined;
    return row ? this.#toAgent(row) : undefined;
  }

  get(id: string): Agent {
    const agent = this.find(id);
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

  create(input: AgentCreate): Agent {
    let command: string[];
    let passEnv = input.pass_env;
    if ('preset' in input && input.preset !== undefined) {
      const preset = findPreset(input.preset)!; // the schema allows only known presets
      command = preset.command;
      passEnv ??= preset.pass_env;
    } else {
      command = 'command' in input && input.command !== undefined ? input.command : [];
    }
    this.#checkName(input.name);
    const at = now();
    const id = newId();
    this.#db.db
      .prepare(
        `INSERT INTO agents (id, name, role, command_json, env_json, timeout_s, provider, image, network, model_json,
           status, status_reason, current_task_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'idle', NULL, NULL, ?, ?)`,
      )
      .run(
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
      );
    const agent = this.get(id);
    this.#bus.emitLater('agent.created', { agent_id: id, name: agent.name, agent });
    return agent;
  }

  update(id: string, patch: AgentUpdate): Agent {
    const before = this.get(id);
    if (patch.name !== undefined && patch.name !== before.name) this.#checkName(patch.name);
    const env = { env: patch.env ?? before.env, pass_env: patch.pass_env ?? before.pass_env };
    this.#db.db
      .prepare(
        `UPDATE agents SET name = ?, role = ?, command_json = ?, env_json = ?, timeout_s = ?, provider = ?, image = ?,
           network = ?, model_json = ?, updated_at = ? WHERE id = ?`,
      )
      .run(
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
      );
    const agent = this.get(id);
    this.#bus.emitLater('agent.updated', { agent_id: id, name: agent.name, agent });
    return agent;
  }

  delete(id: string): void {
    const agent = this.get(id);
    if (agent.current_task_id !== null)
      throw new LookoutError(
        'conflict',
        `agent ${agent.name} is working on task ${agent.current_task_id}; cancel it first (POST ${API_PREFIX}/tasks/${agent.current_task_id}/cancel)`,
        { details: { task_id: agent.current_task_id } },
      );
    this.#db.db.prepare('DELETE FROM agents WHERE id = ?').run(id);
    this.#bus.emitLater('agent.deleted', { agent_id: id, name: agent.name });
  }

  /** Moves an agent to working (with its task) or back to idle/error; publishes the change. */
  setStatus(id: string, status: Exclude<AgentStatus, 'offline'>, taskId: string | null, reason: string | null): void {
    const before = this.find(id);
    if (!before) return; // deleted meanwhile: nothing to tell
    this.#db.db
      .prepare('UPDATE agents SET status = ?, current_task_id = ?, status_reason = ?, updated_at = ? WHERE id = ?')
      .run(status, taskId, reason, now(), id);
    const after = this.get(id);
    if (before.status !== after.status || before.current_task_id !== after.current_task_id) {
      this.#bus.emitLater('agent.status_changed', {
        agent_id: id,
        name: after.name,
        from: before.status,
        to: after.status,
        task_id: taskId,
        reason,
      });
    }
  }

  #checkName(name: string): void {
    const taken = this.#db.db.prepare('SELECT id FROM agents WHERE name = ?').get(name) as { id: string } | undefined;
    if (taken)
      throw new LookoutError(
        'conflict',
        `an agent named ${name} already exists (id ${taken.id}); choose another name`,
        {
          details: { agent_id: taken.id },
        },
      );
  }

  #toAgent(row: AgentRow): Agent {
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
      sandbox_id: row.current_task_id === null ? null : this.#sandboxOf(row.id),
      command,
      env: env.env,
      pass_env: env.pass_env,
      timeout_s: row.timeout_s,
      provider: row.provider as Agent['provider'],
      image: row.image,
      network: row.network === 1,
      model,
      speaker: model !== null ? 'model' : command.length > 0 ? 'command' : 'external',
      created_at: row.created_at,
      updated_at: row.updated_at,
    };
  }
}

import {
  type Command,
  COMMANDS,
  type CommandResponse,
  describeTarget,
  parseCommand,
  resolveTarget,
  similarTargets,
} from '../../src-shared/commands.ts';
import {
  type ActiveBrief,
  type Priority,
  type StateDocument,
  type StateSection,
  type SystemState,
  type SystemStatus,
  type SystemStatusUpdate,
} from '../../src-shared/state.ts';
import { LookoutError } from '../errors.ts';
import { assertJsonDepth } from '../transport/json-depth.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { type Collector, CollectionRunner } from './collections.ts';
import { FileCollector } from './file-collector.ts';
import { GitCollector } from './git-collector.ts';
import { StaleSection, StateStore } from './state-store.ts';
import { StateLock } from './state-lock.ts';
import { type CollectionClaim, TeamCollectionClaim } from './collection-claim.ts';
import type { PgStore } from '../store/postgres/pg-store.ts';

export interface StateServiceOptions {
  store: SqlStore;
  bus: EventBus;
  logger: Logger;
  workspace: string;
  /** Replaces the built-in collectors (git, files); tests pass their own. */
  collectors?: readonly Collector[];
  /**
   * Team mode: this server's name among those on the store (stable across its restarts).
   * Each server collects its own workspace and remembers what it reported under its name.
   */
  server?: string;
}

const BUSY: ReadonlySet<SystemStatus> = new Set(['COLLECTING', 'PROCESSING']);
/** A change that keeps losing its compare-and-set (another writer outside the state lock) gives up after this many tries. */
const MAX_ATTEMPTS = 5;

/**
 * The state document and everything that changes it: system status, the replaceable
 * sections, commands and collections. Every change is stored first, then published
 * (`system.status_changed` with the new system object, `system.state_changed` naming
 * the section), so a client that sees the event and then reads the state sees the change.
 *
 * Team mode (several servers, one PostgreSQL store): any server may change the state.
 * Each change holds the team's state lock (StateLock) while it re-reads the document,
 * decides, writes by compare-and-set and publishes, so no change is lost and the events
 * reach subscribers in the order the changes were stored. Every server reloads the rows
 * when another's `system.*` event arrives (so snapshots follow), and every read through
 * the API reads them again first: a client that wrote through one server, or saw the
 * event, and then reads through any server sees the change.
 */
export class StateService {
  readonly collections: CollectionRunner;
  #store: StateStore;
  #bus: EventBus;
  #logger: Logger;
  /** Changes (store, then publish) run one after another, in the order they were asked for. */
  #changes: Promise<unknown> = Promise.resolve();
  #unfollow: () => void = () => undefined;
  /** Team mode: changes across servers one at a time. */
  #teamLock: StateLock | undefined;
  /** Team mode: the reload another server's event started (reads wait for it). */
  #reloading: Promise<void> = Promise.resolve();
  #reloadAgain = false;
  #reloadRunning = false;

  private constructor(options: StateServiceOptions, store: StateStore, claim: CollectionClaim | undefined) {
    this.#store = store;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.collections = new CollectionRunner({
      store: this.#store,
      bus: options.bus,
      logger: options.logger,
      workspace: options.workspace,
      status: { current: () => this.system(), set: (next) => this.#change(() => this.#setSystem(next)) },
      collectors: options.collectors ?? [new GitCollector(), new FileCollector()],
      ...(claim ? { claim } : {}),
    });
  }

  static async create(options: StateServiceOptions): Promise<StateService> {
    const team = options.store.dialect === 'postgres' ? (options.store as PgStore) : undefined;
    const server = team ? (options.server ?? 'server') : undefined;
    const store = await StateStore.open(options.store, options.logger, server === undefined ? {} : { server });
    const claim = team && server !== undefined ? new TeamCollectionClaim(team, server) : undefined;
    const service = new StateService(options, store, claim);
    if (team) {
      service.#teamLock = new StateLock(team);
      // Another server's change arrives as an event after its write committed, so reading
      // the rows then sees it. The versions keep the cache from going backwards, so the
      // reload need not wait for local changes.
      service.#unfollow = options.bus.listen(['system.state_changed', 'system.status_changed'], () =>
        service.#reload(),
      );
    }
    return service;
  }

  /** Starts a reload, or asks the running one to go again (an event may have come mid-read). */
  #reload(): void {
    if (this.#reloadRunning) {
      this.#reloadAgain = true;
      return;
    }
    this.#reloadRunning = true;
    this.#reloading = (async () => {
      try {
        do {
          this.#reloadAgain = false;
          await this.#store.reload();
        } while (this.#reloadAgain);
      } catch (error) {
        this.#logger.warn({ err: error }, 'could not reload the state');
      } finally {
        this.#reloadRunning = false;
      }
    })();
  }

  /**
   * Resolves once the cache holds at least what the store held when this was called.
   * Team mode: a read started now (joined with the one running, if any), so a client that
   * wrote through one server and reads through another (a round-robin proxy) sees its
   * write. On SQLite (one writer, this one) it is immediate.
   */
  synced(): Promise<void> {
    if (!this.#teamLock) return this.#reloading;
    this.#reload();
    return this.#reloading;
  }

  /**
   * Runs one change after the ones asked before it. In team mode it holds the team's
   * state lock, starts from the stored document, and on a lost compare-and-set (a writer
   * outside the lock) decides again from the newer rows.
   */
  #change<T>(fn: () => Promise<T>): Promise<T> {
    const lock = this.#teamLock;
    const attempt = async (): Promise<T> => {
      for (let tries = 1; ; tries++) {
        try {
          if (lock) await this.#store.reload();
          return await fn();
        } catch (error) {
          if (!(error instanceof StaleSection) || tries >= MAX_ATTEMPTS) throw error;
          this.#logger.info(
            { section: error.section, tries },
            'state changed by another server meanwhile; deciding again',
          );
        }
      }
    };
    const run = this.#changes.then(() => (lock ? lock.run(attempt) : attempt()));
    this.#changes = run.catch(() => undefined);
    return run;
  }

  /** The whole document, as `GET /api/v1/state` and the WebSocket snapshot carry it. */
  document(): StateDocument {
    return this.#store.document();
  }

  system(): SystemState {
    return this.#store.get('system');
  }

  section<S extends StateSection>(section: S): StateDocument[S] {
    return this.#store.get(section);
  }

  /**
   * `POST /api/v1/system/status`. A field not given keeps its value, except that moving
   * into a busy status (COLLECTING, PROCESSING) without a progress starts it at 0, and
   * `message` is cleared unless given. Always published: the caller asked for it.
   */
  updateSystem(update: SystemStatusUpdate): Promise<SystemState> {
    return this.#change(async () => {
      const next = this.#nextSystem(update);
      await this.#setSystem(next);
      return next;
    });
  }

  #nextSystem(update: SystemStatusUpdate): SystemState {
    const current = this.system();
    const status = update.status ?? current.status;
    const restart = status !== current.status && BUSY.has(status);
    const next: SystemState = {
      status,
      progress: update.progress ?? (restart ? 0 : current.progress),
      last_sync: current.last_sync,
      ...(update.message === undefined ? {} : { message: update.message }),
    };
    return next;
  }

  async #setSystem(next: SystemState): Promise<void> {
    await this.#store.set('system', next);
    await this.#bus.emit('system.status_changed', { ...next });
  }

  /** `PUT /api/v1/state/{section}`: the value is already validated against its schema. */
  replaceSection<S extends StateSection>(section: S, value: StateDocument[S]): Promise<StateDocument[S]> {
    // Checked here as well as on the HTTP body: commands and collectors call this too,
    // and a section too deep to clone would break every snapshot after it.
    assertJsonDepth(value, section);
    return this.#change(() => this.#replace(section, value));
  }

  async #replace<S extends StateSection>(section: S, value: StateDocument[S]): Promise<StateDocument[S]> {
    await this.#store.set(section, value);
    const stored = this.#store.get(section);
    await this.#bus.emit('system.state_changed', { section });
    return stored;
  }

  /** Parses and runs one command line; grammar errors are 400 `unknown_command`. */
  async execute(text: string): Promise<CommandResponse> {
    const parsed = parseCommand(text);
    if (!parsed.ok) {
      throw new LookoutError('unknown_command', parsed.error.message, {
        details: {
          reason: parsed.error.reason,
          ...(parsed.error.command === undefined ? {} : { command: parsed.error.command }),
          known: COMMANDS.map((c) => c.name),
          usage: COMMANDS.map((c) => c.usage),
        },
      });
    }
    return this.run(parsed.command);
  }

  async run(command: Command): Promise<CommandResponse> {
    switch (command.action) {
      case 'approve':
        return this.#change(() => this.#approve(command.target));
      case 'brief':
        return this.#change(() => this.#brief(command.target));
      case 'refresh':
        return { action: 'refresh', collection: await this.collections.start() };
      case 'help':
        return { action: 'help', commands: [...COMMANDS] };
    }
  }

  /** Read, decide and write inside one change, so two approvals never overwrite each other. */
  async #approve(id: string): Promise<CommandResponse> {
    const priorities = this.section('priorities');
    const index = priorities.findIndex((p) => p.id === id);
    const priority = priorities[index];
    if (!priority) throw this.#unknownTarget(id, 'priority');
    if (priority.status === 'done') {
      throw new LookoutError('conflict', `priority ${id} is already done; only an open priority can be approved`, {
        details: { target: id, status: priority.status },
      });
    }
    if (priority.status === 'approved') return { action: 'approve', target: id, changed: false, priority };
    const approved: Priority = { ...priority, status: 'approved' };
    priorities[index] = approved;
    await this.#replace('priorities', priorities);
    return { action: 'approve', target: id, changed: true, priority: approved };
  }

  async #brief(id: string): Promise<CommandResponse> {
    const target = resolveTarget(this.document(), id);
    if (!target) throw this.#unknownTarget(id, 'priority, commitment or calendar item');
    const brief: ActiveBrief = { target: id, summary: describeTarget(target), created_at: new Date().toISOString() };
    await this.#replace('active_brief', brief);
    return { action: 'brief', target: id, active_brief: brief };
  }

  #unknownTarget(id: string, what: string): LookoutError {
    const similar = similarTargets(this.document(), id);
    const hint = similar.length > 0 ? ` (ids keep their case: did you mean ${similar.join(' or ')}?)` : '';
    return new LookoutError('not_found', `no ${what} has the id ${id}${hint}`, {
      details: { target: id, ...(similar.length > 0 ? { similar } : {}) },
    });
  }

  /** Cancels a running collection and waits (bounded) for it to let go. */
  async stop(): Promise<void> {
    this.#unfollow();
    await this.collections.stop();
    await this.#changes;
    await this.#store.flushed();
    await this.#reloading;
    await this.#teamLock?.close();
  }
}

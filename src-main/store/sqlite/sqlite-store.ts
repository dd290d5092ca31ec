import type { StatementSync } from 'node:sqlite';
import type { Database } from '../database.ts';
import type { RunResult, SqlExecutor, SqlStore, SqlValue, StoreHealth } from '../sql-store.ts';

const MAX_CACHED_STATEMENTS = 500;

/**
 * The store interface over node:sqlite (one connection, statements run synchronously).
 *
 * One connection means one transaction at a time, and a statement run while a
 * transaction is open would join it (and see its uncommitted rows). So operations are
 * serialized: when nothing is pending, an operation runs at once, synchronously, and
 * only its result is wrapped in a promise (no event-loop hop, today's latency); while a
 * transaction awaits between its statements, later operations queue behind it in order.
 * `exclusive` offers the same to SQLite-only code (the event log's synchronous append).
 */
export class SqliteStore implements SqlStore {
  readonly dialect = 'sqlite' as const;
  readonly database: Database;
  #statements = new Map<string, StatementSync>();
  /** Operations queued behind an open transaction (0: the connection is free). */
  #pending = 0;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(database: Database) {
    this.database = database;
  }

  get epoch(): string {
    return this.database.epoch;
  }

  get schemaVersion(): number {
    return this.database.schemaVersion;
  }

  get location(): string {
    return this.database.file;
  }

  /** True when an operation may run synchronously now (nothing open, nothing queued). */
  get idle(): boolean {
    return this.#pending === 0;
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.database.db.prepare(sql);
      // Bounded: statements built from user input (pattern lists) must not grow it forever.
      if (this.#statements.size >= MAX_CACHED_STATEMENTS) this.#statements.clear();
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** The statements themselves, synchronous: only ever called while the connection is ours. */
  #direct: SqlExecutor & {
    allSync<T>(sql: string, params?: readonly SqlValue[]): T[];
    getSync<T>(sql: string, params?: readonly SqlValue[]): T | undefined;
    runSync(sql: string, params?: readonly SqlValue[]): RunResult;
  } = {
    dialect: 'sqlite',
    allSync: <T>(sql: string, params: readonly SqlValue[] = []) => this.#prepare(sql).all(...params) as T[],
    getSync: <T>(sql: string, params: readonly SqlValue[] = []) => this.#prepare(sql).get(...params) as T | undefined,
    runSync: (sql: string, params: readonly SqlValue[] = []) => ({
      changes: Number(this.#prepare(sql).run(...params).changes),
    }),
    all: async <T>(sql: string, params?: readonly SqlValue[]) => this.#direct.allSync<T>(sql, params),
    get: async <T>(sql: string, params?: readonly SqlValue[]) => this.#direct.getSync<T>(sql, params),
    run: async (sql: string, params?: readonly SqlValue[]) => this.#direct.runSync(sql, params),
  };

  /**
   * Runs fn with the connection to itself: synchronously when it is free (the result is
   * returned as is), else after everything queued before it (a promise). fn may return a
   * promise; the connection stays reserved until it settles.
   */
  exclusive<T>(fn: () => T | Promise<T>): T | Promise<T> {
    if (this.#pending === 0) {
      const result = fn();
      if (!(result instanceof Promise)) return result;
      return this.#hold(result);
    }
    this.#pending++;
    const run = this.#tail.then(fn);
    this.#tail = run.then(
      () => this.#pending--,
      () => this.#pending--,
    );
    return run;
  }

  #hold<T>(running: Promise<T>): Promise<T> {
    this.#pending++;
    this.#tail = running.then(
      () => this.#pending--,
      () => this.#pending--,
    );
    return running;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return Promise.resolve(this.exclusive(() => this.#direct.allSync<T>(sql, params)));
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return Promise.resolve(this.exclusive(() => this.#direct.getSync<T>(sql, params)));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return Promise.resolve(this.exclusive(() => this.#direct.runSync(sql, params)));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const db = this.database.db;
    return Promise.resolve(
      this.exclusive(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(this.#direct);
          db.exec('COMMIT');
          this.database.afterCommit();
          return result;
        } catch (error) {
          if (db.isTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
    );
  }

  health(): StoreHealth {
    return this.database.ping() ? { status: 'ok' } : { status: 'error', reason: 'the database is closed' };
  }

  async ping(): Promise<boolean> {
    return this.database.ping();
  }

  async close(): Promise<void> {
    await this.#tail.catch(() => undefined);
    this.#statements.clear();
    await this.database.close();
  }
}

import pg from 'pg';
import { LookoutError, StartupError } from '../../errors.ts';
import { planMigrations } from '../migrate.ts';
import { isConnectionFault } from './connection-fault.ts';
import { LOCK_MIGRATIONS, LOCK_NAMESPACE } from './advisory-locks.ts';
import { SCHEMA_VERSION } from '../migrations.ts';
import { redactUrl } from '../../config.ts';
import {
  numberPlaceholders,
  type RunResult,
  type SqlExecutor,
  type SqlStore,
  type SqlValue,
  type StoreHealth,
} from '../sql-store.ts';

/** How long a request waits for a pooled connection before it is answered 503. */
const CONNECT_TIMEOUT_MS = 5000;
/** A statement that takes longer than this is abandoned (a hung network, not a slow query). */
const QUERY_TIMEOUT_MS = 15_000;
const POOL_SIZE = 10;

/** BIGINT (int8) and COUNT(*) come back as numbers, as node:sqlite gives them (all stay below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

const describe = (error: unknown): string => {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' && e.message ? e.message : String(error);
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${message} (${e.code})` : message;
};

export interface PgStoreOptions {
  /** Connections in the pool (each server; PostgreSQL's max_connections must cover all servers + 2 each). */
  poolSize?: number;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
}

/**
 * The store interface over PostgreSQL: a pool for requests, plus dedicated clients for
 * what must hold one connection (LISTEN, the session's advisory lock). A connection fault
 * becomes a typed 503 (`unavailable`, with Retry-After) so a publisher is answered at
 * once, never left hanging, and /health says why.
 */
export { isConnectionFault };

export class PgStore implements SqlStore {
  readonly dialect = 'postgres' as const;
  readonly location: string;
  readonly schemaVersion = SCHEMA_VERSION;
  readonly pool: pg.Pool;
  #url: string;
  #options: Required<PgStoreOptions>;
  #epoch = '';
  #health: StoreHealth = { status: 'ok' };
  #closed = false;
  #poolExecutor: SqlExecutor;

  private constructor(url: string, options: PgStoreOptions) {
    this.#url = url;
    this.location = redactUrl(url);
    this.#options = {
      poolSize: options.poolSize ?? POOL_SIZE,
      connectTimeoutMs: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      queryTimeoutMs: options.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
    };
    this.pool = new pg.Pool({ ...this.#clientConfig(), max: this.#options.poolSize, idleTimeoutMillis: 30_000 });
    // An idle pooled connection that dies (the database restarted) must not crash the process.
    this.pool.on('error', (error) => this.#noteFault(error));
    this.#poolExecutor = this.#executor(this.pool);
  }

  #clientConfig(): pg.ClientConfig {
    return {
      connectionString: this.#url,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      query_timeout: this.#options.queryTimeoutMs,
      application_name: 'lookout',
      types,
    };
  }

  /** Connects, migrates (one server at a time, under an advisory lock) and reads the epoch. */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const store = new PgStore(url, options);
    try {
      await store.#migrate();
      const row = await store.get<{ value: string }>(`SELECT value FROM meta WHERE key = 'epoch'`);
      store.#epoch = row!.value;
      return store;
    } catch (error) {
      await store.pool.end().catch(() => undefined);
      if (error instanceof StartupError) throw error;
      const cause = error instanceof LookoutError && error.cause ? error.cause : error;
      throw new StartupError(
        isConnectionFault(cause)
          ? `cannot reach PostgreSQL at ${store.location}: ${describe(cause)}; check that it is running and that --database-url (LOOKOUT_DATABASE_URL) is right`
          : `the PostgreSQL database at ${store.location} cannot be used: ${describe(cause)}`,
        { cause },
      );
    }
  }

  async #migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Two servers starting together: the second waits, then finds nothing left to do.
      await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, LOCK_MIGRATIONS]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS lookout_schema (version INTEGER NOT NULL)');
        const row = (await client.query<{ version: number }>('SELECT version FROM lookout_schema')).rows[0];
        if (!row) await client.query('INSERT INTO lookout_schema (version) VALUES (0)');
        for (const step of planMigrations('postgres', row?.version ?? 0, this.location)) {
          await client.query('BEGIN');
          try {
            await client.query(step.sql);
            await client.query('UPDATE lookout_schema SET version = $1', [step.version]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw new StartupError(
              `the PostgreSQL database at ${this.location} cannot be migrated to version ${step.version}: ${describe(error)}`,
              { cause: error },
            );
          }
        }
      } finally {
        await client
          .query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, LOCK_MIGRATIONS])
          .catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }

  get epoch(): string {
    return this.#epoch;
  }

  /** A new connection outside the pool (LISTEN, a session-level advisory lock), same settings. */
  newClient(): pg.Client {
    return new pg.Client({ ...this.#clientConfig(), query_timeout: undefined });
  }

  #noteFault(error: unknown): void {
    if (isConnectionFault(error))
      this.#health = { status: 'error', reason: `PostgreSQL at ${this.location}: ${describe(error)}` };
  }

  #noteOk(): void {
    if (this.#health.status !== 'ok') this.#health = { status: 'ok' };
  }

  /** A connection fault as the 503 every caller renders; anything else as it is. */
  unavailable(error: unknown): unknown {
    if (error instanceof LookoutError || !isConnectionFault(error)) return error;
    this.#noteFault(error);
    return new LookoutError(
      'unavailable',
      `the database is unreachable (${describe(error)}); nothing was acknowledged: try again shortly`,
      { cause: error, headers: { 'Retry-After': '2' } },
    );
  }

  async #query<T>(runner: pg.Pool | pg.PoolClient, sql: string, params: readonly SqlValue[] = []) {
    try {
      const result = await runner.query(numberPlaceholders(sql), params as unknown[]);
      this.#noteOk();
      return result as unknown as pg.QueryResult<T & pg.QueryResultRow>;
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  #executor(runner: pg.Pool | pg.PoolClient): SqlExecutor {
    return {
      dialect: 'postgres',
      all: async <T>(sql: string, params?: readonly SqlValue[]) => (await this.#query<T>(runner, sql, params)).rows,
      get: async <T>(sql: string, params?: readonly SqlValue[]) =>
        (await this.#query<T>(runner, sql, params)).rows[0] as T | undefined,
      run: async (sql: string, params?: readonly SqlValue[]): Promise<RunResult> => ({
        changes: (await this.#query(runner, sql, params)).rowCount ?? 0,
      }),
    };
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#poolExecutor.all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.#poolExecutor.get<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.#poolExecutor.run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      const result = await fn(this.#executor(client));
      await client.query('COMMIT');
      return result;
    });
  }

  /**
   * One pooled connection for a caller that drives its own statements (the event log's
   * group commit bundles several in one round trip). If fn throws, whatever it left open
   * is rolled back and the error comes out as `unavailable` when it is a connection
   * fault; a connection whose ROLLBACK failed, or that reported an error, is dropped.
   */
  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.unavailable(error);
    }
    let broken = false;
    // A connection that dies between two statements reports it as an event, not through
    // a query: note it (the next statement fails with it) instead of crashing the process.
    const onError = (error: Error) => {
      broken = true;
      this.#noteFault(error);
    };
    client.on('error', onError);
    try {
      const result = await fn(client);
      this.#noteOk();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw this.unavailable(error);
    } finally {
      client.off('error', onError);
      // A connection whose ROLLBACK failed is in an unknown state: drop it, never reuse it.
      client.release(broken ? true : undefined);
    }
  }

  health(): StoreHealth {
    return this.#closed ? { status: 'error', reason: 'the store is closed' } : this.#health;
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      await this.#query(this.pool, 'SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}

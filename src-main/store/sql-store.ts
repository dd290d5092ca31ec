/**
 * The store interface every domain writes its tables through, implemented twice:
 * `sqlite/` (node:sqlite, the default: one file in the workspace) and `postgres/` (team
 * mode: several servers on one database). It is asynchronous at the boundary because a
 * remote database must never block the event loop; the SQLite side still runs each
 * statement synchronously inside, so a single user keeps today's ordering and latency.
 *
 * SQL is written once with `?` placeholders; the PostgreSQL side numbers them ($1, $2…).
 * Where the dialects differ (GLOB vs LIKE, DDL), ask `dialect`.
 */

export type Dialect = 'sqlite' | 'postgres';

/** What a parameter may be. Booleans are stored as 0/1 integers in both dialects. */
export type SqlValue = string | number | bigint | null | Uint8Array;

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** Runs statements: the store itself, or a transaction handed to a callback. */
export interface SqlExecutor {
  readonly dialect: Dialect;
  /** Every row. INTEGER/BIGINT columns come back as numbers in both dialects. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined. */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** A statement for its effect (INSERT/UPDATE/DELETE/DDL). */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
}

export interface StoreHealth {
  status: 'ok' | 'error';
  /** Why not ok, in words (never a password: URLs are redacted). */
  reason?: string;
}

export interface SqlStore extends SqlExecutor {
  /** Names this history; changes only when the store is recreated (see CONTRACT `epoch`). */
  readonly epoch: string;
  readonly schemaVersion: number;
  /** Where the data lives, for messages and /health: a file path, or a URL without its password. */
  readonly location: string;
  /**
   * Runs fn in one transaction: committed when fn resolves, rolled back when it throws.
   * fn must use only `tx` for its statements, and should await nothing but them: on
   * SQLite the whole store waits for an open transaction (one connection), and on
   * PostgreSQL the transaction holds a pooled connection and its row locks meanwhile.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** The last known state of the connection (cheap; /health reads it). */
  health(): StoreHealth;
  /** Checks the connection now; resolves false instead of throwing. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Numbers the `?` placeholders of a statement for PostgreSQL ($1, $2, …). Question marks
 * inside quoted strings or identifiers are left alone.
 */
export function numberPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      out += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  return out;
}

import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { LOCK_NAMESPACE, LOCK_WORKSPACE, type PgStore } from '../store/postgres/pg-store.ts';
import { HolderRecord } from './lock.ts';

interface HolderRow {
  kind: string;
  pid: number;
  hostname: string;
  started_at: string;
  holder_id: string;
  command_json: string;
}

/**
 * Team mode's workspace lock: one PostgreSQL advisory lock for all servers on the
 * database, held (session-level) on a connection of its own. PostgreSQL releases it the
 * moment that connection dies — a server killed with -9, a network cut — so no stale
 * lock outlives its holder and no timeout has to be guessed. The `session_holder` row
 * says who holds the workspace (this server, or the `lookout run` it handed the
 * workspace to), so every server can name the holder and accept its lock id.
 *
 * A server that loses its lock connection stops believing it holds the lock at once
 * (the connection's error/end), and checks the connection on every watch tick.
 */
export class TeamLock {
  #store: PgStore;
  #logger: Logger;
  #client: pg.Client | undefined;
  #held = false;
  /** The row as last written by us or read from the table. */
  #lastRow: HolderRecord | null = null;
  #written: string | undefined;
  #tookOver: HolderRecord | null = null;

  constructor(store: PgStore, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  get held(): boolean {
    return this.#held;
  }

  /** The holder as last seen (cheap; refreshed by `ensure`). */
  get lastHolder(): HolderRecord | null {
    return this.#lastRow;
  }

  /**
   * Set when the last `ensure` took the lock and found a holder still recorded: that
   * holder never released it (a clean release removes the row), so it died.
   */
  get tookOverFrom(): HolderRecord | null {
    return this.#tookOver;
  }

  #lost(reason: string): void {
    if (this.#held) this.#logger.warn({ reason }, 'lost the team workspace lock (its database connection ended)');
    this.#held = false;
    this.#written = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
    }
  }

  /**
   * Holds the lock if it can (trying again when not held, checking the connection when
   * held). Returns whether this server holds it now. Never throws: an unreachable
   * database means "not held".
   */
  async ensure(): Promise<boolean> {
    try {
      this.#tookOver = null;
      if (this.#held && this.#client) {
        await this.#client.query('SELECT 1');
        return true;
      }
      if (!this.#client) {
        const client = this.#store.newClient();
        client.on('error', (error) => this.#lost(error.message));
        client.on('end', () => this.#lost('the connection closed'));
        this.#client = client;
        await client.connect();
      }
      const result = await this.#client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        LOCK_NAMESPACE,
        LOCK_WORKSPACE,
      ]);
      this.#held = result.rows[0]?.ok === true;
      this.#tookOver = await this.holder();
      if (!this.#held) this.#tookOver = null;
      return this.#held;
    } catch (error) {
      this.#lost((error as Error).message);
      return false;
    }
  }

  /** Who holds the workspace according to the table (another server, or the CLI one of them serves). */
  async holder(): Promise<HolderRecord | null> {
    try {
      const row = await this.#store.get<HolderRow>(
        'SELECT kind, pid, hostname, started_at, holder_id, command_json FROM session_holder WHERE id = 1',
      );
      this.#lastRow = row ? toRecord(row) : null;
    } catch {
      // Unreachable: keep what we knew.
    }
    return this.#lastRow;
  }

  /** Records who holds the workspace (we do, or the CLI we handed it to). Only while we hold the lock. */
  async record(holder: HolderRecord): Promise<void> {
    if (!this.#held || !this.#client) return;
    const key = JSON.stringify(holder);
    if (key === this.#written) return;
    // On the lock's own connection: a write that lands after we lost the lock is impossible.
    await this.#client.query(
      `INSERT INTO session_holder (id, kind, pid, hostname, started_at, holder_id, command_json)
       VALUES (1, $1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, pid = excluded.pid, hostname = excluded.hostname,
         started_at = excluded.started_at, holder_id = excluded.holder_id, command_json = excluded.command_json`,
      [holder.kind, holder.pid, holder.hostname, holder.started_at, holder.id, JSON.stringify(holder.command)],
    );
    this.#written = key;
    this.#lastRow = holder;
  }

  /** Gives the lock up (stop): the row goes first, so nobody reads a holder that left. */
  async release(): Promise<void> {
    const client = this.#client;
    if (this.#held && client) {
      try {
        await client.query('DELETE FROM session_holder WHERE id = 1');
        await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, LOCK_WORKSPACE]);
      } catch {
        // Ending the connection below releases the lock anyway.
      }
    }
    this.#held = false;
    this.#lastRow = null;
    this.#written = undefined;
    this.#client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

function toRecord(row: HolderRow): HolderRecord | null {
  let command: unknown = [];
  try {
    command = JSON.parse(row.command_json);
  } catch {
    // Shown without its command.
  }
  const parsed = HolderRecord.safeParse({
    kind: row.kind,
    pid: row.pid,
    hostname: row.hostname,
    started_at: row.started_at,
    id: row.holder_id,
    command,
  });
  return parsed.success ? parsed.data : null;
}

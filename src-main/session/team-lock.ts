import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { advisoryLockHeld, LOCK_NAMESPACE, LOCK_WORKSPACE } from '../store/postgres/advisory-locks.ts';
import { DB_NOW_MS } from '../store/postgres/clock.ts';
import type { PgStore } from '../store/postgres/pg-store.ts';
import { HolderRecord } from './lock.ts';

/** Where servers say they have seen a holder and ended the writes they let in before (see WriteFence). */
const FENCE_CHANNEL = 'lookout_write_fence';

/**
 * A handover's fence: the other servers' acknowledgements that they have seen the new
 * holder and that the lock-bound writes they admitted before seeing it have ended. The
 * command is answered after it, so no write admitted under the old holder lands during
 * the command's hold (docs/team-mode.md, "A write in flight during a handover").
 */
export interface WriteFence {
  /** Resolves once every server named has acknowledged, or after timeoutMs: the ones that did not. */
  wait(servers: readonly string[], timeoutMs: number): Promise<string[]>;
  close(): void;
}

interface HolderRow {
  kind: string;
  pid: number;
  hostname: string;
  started_at: string;
  holder_id: string;
  command_json: string;
  handover_until_ms: number;
  live: boolean;
}

/**
 * Who holds the team's workspace: a `lookout run` (`handoverUntil` 0), or the server it
 * asked, between handing the workspace over and the command taking it (`holder` is that
 * server, `handoverUntil` when it takes the workspace back if the command never comes).
 */
export interface TeamHolder {
  holder: HolderRecord;
  handoverUntil: number;
}

/** What `current` found. */
export interface TeamView {
  /** The live holder, or null when the workspace is the servers' (every one may write). */
  holder: TeamHolder | null;
  /** A holder whose server died (its lock went with its connection): this call cleared it. */
  cleared: TeamHolder | null;
}

const LOCK_IS_HELD = advisoryLockHeld(LOCK_WORKSPACE);

/**
 * Team mode's side of the workspace lock. Every server of a team takes lock-bound writes
 * while no `lookout run` holds the workspace; a `lookout run` takes it through the server
 * on its machine (its own file lock there, as with one server), and that server holds
 * this team lock for it: a PostgreSQL advisory lock, session-level, on a connection of its
 * own, plus the `session_holder` row naming the command. Every other server reads the row
 * (at once when the `session.lock_changed` event arrives, and every second) and turns
 * read-only naming the command.
 *
 * The row counts only while somebody holds the advisory lock. The command's liveness is
 * watched by its server (the pid on its host, the file lock's mtime); the server's own
 * liveness by PostgreSQL: a server killed with -9 or cut off loses its connection and so
 * the lock, and the next server that looks clears the row (`cleared`) and the team is
 * writable again. The row is written on the lock's own connection, so a write that lands
 * after the lock was lost is impossible.
 */
export class TeamLock {
  #store: PgStore;
  #logger: Logger;
  #client: pg.Client | undefined;
  #held = false;
  #written: string | undefined;
  #last: TeamHolder | null = null;
  #listening = false;

  constructor(store: PgStore, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  /**
   * Starts collecting acknowledgements for `holderId` (before the holder is written, so
   * none is missed), on the lock's own connection.
   */
  async fence(holderId: string): Promise<WriteFence> {
    const client = await this.#connection();
    if (!this.#listening) {
      await client.query(`LISTEN ${FENCE_CHANNEL}`);
      this.#listening = true;
    }
    const acked = new Set<string>();
    let check: (() => void) | undefined;
    const onNotification = (message: pg.Notification) => {
      if (message.channel !== FENCE_CHANNEL || !message.payload) return;
      try {
        const { holder, server } = JSON.parse(message.payload) as { holder?: unknown; server?: unknown };
        if (holder === holderId && typeof server === 'string') acked.add(server);
      } catch {
        return; // not ours to read
      }
      check?.();
    };
    client.on('notification', onNotification);
    return {
      wait: (servers, timeoutMs) =>
        new Promise<string[]>((resolve) => {
          const missing = () => servers.filter((server) => !acked.has(server));
          const timer = setTimeout(() => finish(), timeoutMs);
          const finish = () => {
            clearTimeout(timer);
            check = undefined;
            resolve(missing());
          };
          check = () => {
            if (missing().length === 0) finish();
          };
          check?.();
        }),
      close: () => {
        client.off('notification', onNotification);
      },
    };
  }

  /** Tells the server holding the team lock that this one has seen `holderId` and its earlier writes ended. */
  async acknowledge(holderId: string, server: string): Promise<void> {
    await this.#store.run('SELECT pg_notify(?, ?)', [FENCE_CHANNEL, JSON.stringify({ holder: holderId, server })]);
  }

  /** The other servers alive now (a live lease in `server_leases`): those a fence waits for. */
  async otherServers(self: string): Promise<string[]> {
    const rows = await this.#store.all<{ holder: string }>(
      `SELECT DISTINCT holder FROM server_leases WHERE expires_at_ms > ${DB_NOW_MS} AND holder <> ?`,
      [self],
    );
    return rows.map((row) => row.holder);
  }

  /** Whether this server holds the team lock (for its `lookout run`, or a handover to one). */
  get held(): boolean {
    return this.#held;
  }

  /** Another server's holder as last read (cheap; refreshed by `current`). Null while we hold it. */
  get last(): TeamHolder | null {
    return this.#held ? null : this.#last;
  }

  #lost(reason: string): void {
    if (this.#held) this.#logger.warn({ reason }, 'lost the team workspace lock (its database connection ended)');
    this.#held = false;
    this.#written = undefined;
    this.#listening = false;
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
    }
  }

  async #connection(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = this.#store.newClient();
    client.on('error', (error) => this.#lost(error.message));
    client.on('end', () => this.#lost('the connection closed'));
    this.#client = client;
    await client.connect();
    return client;
  }

  /**
   * Takes the team lock for `entry` (a handover, or the command that now holds the
   * workspace here) and records it, or keeps it and updates the record. Resolves false
   * when another server holds it; rejects when the database cannot be reached.
   */
  async take(entry: TeamHolder): Promise<boolean> {
    try {
      const client = await this.#connection();
      if (!this.#held) {
        const result = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
          LOCK_NAMESPACE,
          LOCK_WORKSPACE,
        ]);
        this.#held = result.rows[0]?.ok === true;
        if (!this.#held) return false;
      }
      const key = JSON.stringify(entry);
      if (key === this.#written) {
        // Nothing to record: check the connection that holds the lock (a cut that sent no
        // reset shows only when it is used).
        await client.query('SELECT 1');
        return true;
      }
      // On the lock's own connection: a write that lands after we lost the lock is impossible.
      await client.query(
        `INSERT INTO session_holder (id, kind, pid, hostname, started_at, holder_id, command_json, handover_until_ms)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, pid = excluded.pid, hostname = excluded.hostname,
           started_at = excluded.started_at, holder_id = excluded.holder_id, command_json = excluded.command_json,
           handover_until_ms = excluded.handover_until_ms`,
        [
          entry.holder.kind,
          entry.holder.pid,
          entry.holder.hostname,
          entry.holder.started_at,
          entry.holder.id,
          JSON.stringify(entry.holder.command),
          entry.handoverUntil,
        ],
      );
      this.#written = key;
      return true;
    } catch (error) {
      this.#lost((error as Error).message);
      throw error;
    }
  }

  /**
   * Who holds the team's workspace, if anyone but us. A row left by a server that died
   * (nobody holds the advisory lock) is cleared here, by exactly one server (the DELETE
   * re-checks the lock and names the row it read), which then says so (`cleared`).
   * Rejects when the database cannot be reached.
   */
  async current(): Promise<TeamView> {
    if (this.#held && this.#client) {
      // Ours: check the connection that holds it (its loss frees the lock).
      try {
        await this.#client.query('SELECT 1');
        return { holder: null, cleared: null };
      } catch (error) {
        this.#lost((error as Error).message);
      }
    }
    const row = await this.#store.get<HolderRow>(
      `SELECT kind, pid, hostname, started_at, holder_id, command_json, handover_until_ms, ${LOCK_IS_HELD} AS live
       FROM session_holder WHERE id = 1`,
    );
    const entry = row ? toEntry(row) : null;
    if (!row || row.live) {
      this.#last = entry;
      return { holder: entry, cleared: null };
    }
    const deleted = await this.#store.get<{ holder_id: string }>(
      `DELETE FROM session_holder WHERE id = 1 AND holder_id = ? AND NOT ${LOCK_IS_HELD} RETURNING holder_id`,
      [row.holder_id],
    );
    this.#last = null;
    return { holder: null, cleared: deleted ? entry : null };
  }

  /** Gives the team lock up (the command finished, or died): the row goes first, so nobody reads a holder that left. */
  async release(): Promise<void> {
    const client = this.#client;
    if (this.#held && client) {
      try {
        await client.query('DELETE FROM session_holder WHERE id = 1');
        await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, LOCK_WORKSPACE]);
      } catch (error) {
        // Ending the connection releases the lock anyway; the row is cleared by whoever looks next.
        this.#lost((error as Error).message);
        return;
      }
    }
    this.#held = false;
    this.#written = undefined;
  }

  /** Releases and closes the connection (the server stops). */
  async close(): Promise<void> {
    await this.release();
    const client = this.#client;
    this.#client = undefined;
    this.#listening = false;
    this.#last = null;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

function toEntry(row: HolderRow): TeamHolder | null {
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
  return parsed.success ? { holder: parsed.data, handoverUntil: Number(row.handover_until_ms) } : null;
}

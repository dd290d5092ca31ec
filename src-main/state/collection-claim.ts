import type pg from 'pg';
import { advisoryLockHeld, LOCK_COLLECTION, LOCK_NAMESPACE } from '../store/postgres/advisory-locks.ts';
import type { PgStore } from '../store/postgres/pg-store.ts';

/** The row naming the server whose collection runs (meaningful only while the lock is held). */
const ROW = 'collection.team';

/** The collection running somewhere in the team, as its server recorded it. */
export interface RunningElsewhere {
  server: string;
  id: string;
  started_at: string;
}

/**
 * What the collection runner asks before it starts: one collection at a time in the whole
 * team, because the system status it drives (COLLECTING, progress, IDLE) is one for all.
 */
export interface CollectionClaim {
  /** Claims the team's collection slot for this run, or names the run that has it. */
  take(run: {
    id: string;
    started_at: string;
  }): Promise<{ ok: true } | { ok: false; running: RunningElsewhere | null }>;
  /** Gives the slot back (the run ended). */
  release(): Promise<void>;
  /** Whether a collection runs anywhere in the team now. */
  busy(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Team mode's claim: a PostgreSQL advisory lock held, on a connection of its own, by the
 * server whose collection runs, plus a row naming it. A server that dies mid-collection
 * frees the slot with its connection; the row counts only while the lock is held.
 */
export class TeamCollectionClaim implements CollectionClaim {
  #store: PgStore;
  #server: string;
  #client: pg.Client | undefined;
  #held = false;

  constructor(store: PgStore, server: string) {
    this.#store = store;
    this.#server = server;
  }

  async #connection(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = this.#store.newClient();
    const forget = () => {
      this.#held = false;
      if (this.#client === client) this.#client = undefined;
    };
    client.on('error', forget);
    client.on('end', forget);
    this.#client = client;
    try {
      await client.connect();
    } catch (error) {
      forget();
      throw this.#store.unavailable(error);
    }
    return client;
  }

  async take(run: { id: string; started_at: string }) {
    const client = await this.#connection();
    try {
      const result = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        LOCK_NAMESPACE,
        LOCK_COLLECTION,
      ]);
      if (result.rows[0]?.ok !== true) {
        const row = await client.query<{ json: string }>('SELECT json FROM state WHERE section = $1', [ROW]);
        return { ok: false as const, running: parseRunning(row.rows[0]?.json) };
      }
      this.#held = true;
      const value: RunningElsewhere = { server: this.#server, id: run.id, started_at: run.started_at };
      await client.query(
        `INSERT INTO state (section, json, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (section) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at`,
        [ROW, JSON.stringify(value), new Date().toISOString()],
      );
      return { ok: true as const };
    } catch (error) {
      await this.release();
      throw this.#store.unavailable(error);
    }
  }

  async release(): Promise<void> {
    const client = this.#client;
    if (!this.#held || !client) return;
    this.#held = false;
    try {
      await client.query('DELETE FROM state WHERE section = $1', [ROW]);
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, LOCK_COLLECTION]);
    } catch {
      // The connection is gone, and the lock with it.
      await this.close();
    }
  }

  async busy(): Promise<boolean> {
    if (this.#held) return true;
    const row = await this.#store.get<{ busy: boolean }>(`SELECT ${advisoryLockHeld(LOCK_COLLECTION)} AS busy`);
    return row?.busy === true;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#held = false;
    if (!client) return;
    client.removeAllListeners();
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  }
}

function parseRunning(json: string | undefined): RunningElsewhere | null {
  if (json === undefined) return null;
  try {
    const value = JSON.parse(json) as Partial<RunningElsewhere>;
    return typeof value.server === 'string' && typeof value.id === 'string'
      ? { server: value.server, id: value.id, started_at: String(value.started_at ?? '') }
      : null;
  } catch {
    return null;
  }
}

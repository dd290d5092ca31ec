import type pg from 'pg';
import { LookoutError } from '../errors.ts';
import { LOCK_NAMESPACE, LOCK_STATE } from '../store/postgres/advisory-locks.ts';
import type { PgStore } from '../store/postgres/pg-store.ts';

/** How long a change waits for another server's change before giving up (503). */
const WAIT_MS = 10_000;

/**
 * Team mode: changes of the state document are made one at a time across all servers, each
 * holding a PostgreSQL advisory lock (session-level, on a connection of its own) while it
 * re-reads the document, writes its section by compare-and-set and publishes its event.
 * The compare-and-set alone already prevents a lost update; the lock adds that the events
 * of two servers' changes reach every subscriber in the order the changes were stored (a
 * `system.status_changed` carries the new value: published out of order, the last one a
 * dashboard saw would not be the stored one).
 *
 * A server that dies while holding it frees it with its connection; one that hangs holds
 * the others' changes back for at most WAIT_MS each (lock_timeout), then they answer 503.
 */
export class StateLock {
  #store: PgStore;
  #client: Promise<pg.Client> | undefined;

  constructor(store: PgStore) {
    this.#store = store;
  }

  #connection(): Promise<pg.Client> {
    this.#client ??= (async () => {
      const client = this.#store.newClient();
      const forget = () => {
        this.#client = undefined;
      };
      client.on('error', forget);
      client.on('end', forget);
      await client.connect();
      await client.query(`SET lock_timeout = ${WAIT_MS}`);
      return client;
    })().catch((error: unknown) => {
      this.#client = undefined;
      throw error;
    });
    return this.#client;
  }

  /** Runs fn while holding the team's state lock. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    let client: pg.Client;
    try {
      client = await this.#connection();
      await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, LOCK_STATE]);
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') {
        throw new LookoutError(
          'unavailable',
          `another server has been changing the state for over ${WAIT_MS / 1000} s; nothing was changed: try again shortly`,
          { headers: { 'Retry-After': '2' } },
        );
      }
      throw this.#store.unavailable(error);
    }
    try {
      return await fn();
    } finally {
      // If the unlock fails the connection is gone, and the lock with it.
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, LOCK_STATE]).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const client = await this.#client?.catch(() => undefined);
    this.#client = undefined;
    if (!client) return;
    client.removeAllListeners();
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  }
}

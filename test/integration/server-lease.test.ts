import pg from 'pg';
import { expect, it } from 'vitest';
import { PgStore } from '../../src-main/store/postgres/pg-store.ts';
import { ServerLease } from '../../src-main/store/server-lease.ts';
import { capturedLogger } from '../helpers/captured-logger.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';

/**
 * The server lease against a real PostgreSQL: release() must leave no row of this server,
 * even when an INSERT of a new lease was already on its way. A trigger makes every INSERT
 * into server_leases wait on an advisory lock the test holds (the "gate"), so the race is
 * held open instead of hoped for.
 */

const GATE = 4242;

async function gatedStore() {
  const database = await createTestDatabase();
  const store = await PgStore.open(database.url);
  const gate = new pg.Client({ connectionString: database.url });
  await gate.connect();
  await gate.query(`
    CREATE FUNCTION lease_insert_gate() RETURNS trigger AS $$
    BEGIN PERFORM pg_advisory_xact_lock_shared(${GATE}); RETURN NEW; END $$ LANGUAGE plpgsql;
    CREATE TRIGGER lease_insert_gate BEFORE INSERT ON server_leases FOR EACH ROW EXECUTE FUNCTION lease_insert_gate();
  `);
  const rows = async (holder: string) =>
    Number(
      (await gate.query<{ n: string }>('SELECT count(*) AS n FROM server_leases WHERE holder = $1', [holder])).rows[0]!
        .n,
    );
  /** Resolves once an INSERT is waiting at the gate. */
  const insertWaiting = () =>
    until(async () => {
      const { rows: waiting } = await gate.query(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`,
        [GATE],
      );
      return waiting.length > 0;
    }, 'an INSERT waiting at the gate');
  /** Resolves once no INSERT into server_leases is running any more. */
  const insertsSettled = () =>
    until(async () => {
      const { rows: running } = await gate.query(
        `SELECT 1 FROM pg_stat_activity WHERE state <> 'idle' AND query LIKE 'INSERT INTO server_leases%' AND pid <> pg_backend_pid()`,
      );
      return running.length === 0;
    }, 'the INSERTs to end');
  return {
    store,
    rows,
    insertWaiting,
    insertsSettled,
    close: () => gate.query(`SELECT pg_advisory_lock(${GATE})`).then(() => undefined),
    open: () => gate.query(`SELECT pg_advisory_unlock(${GATE})`).then(() => undefined),
    end: async () => {
      await gate.end();
      await store.close();
    },
  };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describePostgres('the server lease on PostgreSQL: release() leaves no row behind', () => {
  it('when the first lease is still being inserted (a stop during start-up)', async () => {
    const db = await gatedStore();
    try {
      const lease = new ServerLease({
        store: db.store,
        holder: 'server-a',
        durationMs: 3000,
        logger: capturedLogger().logger,
      });
      await db.close();
      const started = lease.start();
      await db.insertWaiting();
      const release = lease.release();
      await db.open();
      await Promise.all([started, release]);
      expect(await db.rows('server-a')).toBe(0);
      expect(lease.id).toBeUndefined();
    } finally {
      await db.end();
    }
  });

  it('when a renewal that found the lease lost is inserting a new one', async () => {
    const db = await gatedStore();
    try {
      const lease = new ServerLease({
        store: db.store,
        holder: 'server-b',
        durationMs: 600,
        logger: capturedLogger().logger,
      });
      const lost = new Promise<string>((resolve) => lease.onLost(resolve));
      const acquired: string[] = [];
      lease.onAcquired((id) => acquired.push(id));
      await lease.start();
      const first = lease.id!;
      expect(await db.rows('server-b')).toBe(1);

      // Another server reaped it: the next renewal finds no row, and the one after takes a new lease.
      await db.close();
      await db.store.run('DELETE FROM server_leases WHERE id = ?', [first]);
      expect(await lost).toBe(first);
      await db.insertWaiting();

      const release = lease.release();
      await db.open();
      await release;
      await db.insertsSettled();
      expect(await db.rows('server-b')).toBe(0);
      expect(acquired).toEqual([first]);
    } finally {
      await db.end();
    }
  });
});

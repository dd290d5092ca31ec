import { expect, it } from 'vitest';
import { TeamLock } from '../../src-main/session/team-lock.ts';
import type { HolderRecord } from '../../src-main/session/lock.ts';
import { PgStore } from '../../src-main/store/postgres/pg-store.ts';
import { capturedLogger } from '../helpers/captured-logger.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';

const holder = (id: string, pid: number): HolderRecord => ({
  kind: 'server',
  pid,
  hostname: 'host-' + id,
  started_at: '2026-11-30T12:00:00.000Z',
  id,
  command: ['lookout', 'serve'],
});

describePostgres('the team workspace lock (PostgreSQL advisory lock)', () => {
  it('is held by one server at a time, names its holder to the others, and passes on when released', async () => {
    const database = await createTestDatabase();
    const stores = await Promise.all([PgStore.open(database.url), PgStore.open(database.url)]);
    const [a, b] = stores.map((store) => new TeamLock(store, capturedLogger().logger)) as [TeamLock, TeamLock];
    try {
      expect(await a.ensure()).toBe(true);
      await a.record(holder('a', 101));
      // Asked at once and again: the other never gets it while A's connection lives.
      expect(await Promise.all([b.ensure(), b.ensure()])).toEqual([false, false]);
      expect(b.lastHolder).toEqual(holder('a', 101));
      expect(await a.ensure()).toBe(true); // still A's, checked on its connection

      await a.release();
      expect(await b.ensure()).toBe(true);
      expect(b.tookOverFrom).toBeNull(); // A let go cleanly: nobody died
      await b.record(holder('b', 202));
      expect(await a.ensure()).toBe(false);
      expect(a.lastHolder).toEqual(holder('b', 202));
    } finally {
      await a.release();
      await b.release();
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('is freed the moment its holder’s connection dies, and the next holder knows it took over from a dead one', async () => {
    const database = await createTestDatabase();
    const stores = await Promise.all([PgStore.open(database.url), PgStore.open(database.url)]);
    const [a, b] = stores.map((store) => new TeamLock(store, capturedLogger().logger)) as [TeamLock, TeamLock];
    try {
      expect(await a.ensure()).toBe(true);
      await a.record(holder('a', 101));
      expect(await b.ensure()).toBe(false);
      // What kill -9 or a network cut does to A: its connection ends without a word.
      await stores[1]!.run(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`,
      );
      await expect.poll(() => b.ensure(), { timeout: 10_000 }).toBe(true);
      expect(b.tookOverFrom).toEqual(holder('a', 101));
      // A learns it lost the lock; it does not get it back while B holds it.
      expect(await a.ensure()).toBe(false);
      expect(a.held).toBe(false);
    } finally {
      await a.release();
      await b.release();
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

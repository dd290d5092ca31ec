import { expect, it } from 'vitest';
import { TeamLock } from '../../src-main/session/team-lock.ts';
import type { HolderRecord } from '../../src-main/session/lock.ts';
import { PgStore } from '../../src-main/store/postgres/pg-store.ts';
import { capturedLogger } from '../helpers/captured-logger.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';

const cli = (id: string, pid: number): HolderRecord => ({
  kind: 'cli',
  pid,
  hostname: 'host-' + id,
  started_at: '2026-11-30T12:00:00.000Z',
  id,
  command: ['npm', 'test'],
});

async function twoLocks() {
  const database = await createTestDatabase();
  const stores = await Promise.all([PgStore.open(database.url), PgStore.open(database.url)]);
  const [a, b] = stores.map((store) => new TeamLock(store, capturedLogger().logger)) as [TeamLock, TeamLock];
  const close = async () => {
    await a.close();
    await b.close();
    await Promise.all(stores.map((store) => store.close()));
  };
  return { stores, a, b, close };
}

describePostgres('the team workspace lock (held for a lookout run, PostgreSQL advisory lock)', () => {
  it('is free until a server takes it for its command; the others then read that command, and nothing once released', async () => {
    const { a, b, close } = await twoLocks();
    try {
      expect(await a.current()).toEqual({ holder: null, cleared: null });
      expect(await a.take({ holder: cli('a', 101), handoverUntil: 0 })).toBe(true);
      // Asked at once and again: the other never gets it while A's connection lives.
      expect(
        await Promise.all([
          b.take({ holder: cli('b', 202), handoverUntil: 0 }),
          b.take({ holder: cli('b', 202), handoverUntil: 0 }),
        ]),
      ).toEqual([false, false]);
      expect(await b.current()).toEqual({ holder: { holder: cli('a', 101), handoverUntil: 0 }, cleared: null });
      expect(b.last?.holder.id).toBe('a');
      // The holder's own view: nobody else holds it, and its connection is checked.
      expect(await a.current()).toEqual({ holder: null, cleared: null });
      // A handover placeholder, then the command itself: the row follows.
      expect(await a.take({ holder: cli('a2', 103), handoverUntil: 0 })).toBe(true);
      expect((await b.current()).holder?.holder.id).toBe('a2');

      await a.release();
      expect(await b.current()).toEqual({ holder: null, cleared: null });
      expect(await b.take({ holder: cli('b', 202), handoverUntil: 12345 })).toBe(true);
      expect(await a.current()).toEqual({ holder: { holder: cli('b', 202), handoverUntil: 12345 }, cleared: null });
    } finally {
      await close();
    }
  });

  it('is freed the moment its holder’s connection dies; exactly one server clears the dead holder’s row', async () => {
    const { stores, a, b, close } = await twoLocks();
    const c = new TeamLock(stores[1]!, capturedLogger().logger);
    try {
      expect(await a.take({ holder: cli('a', 101), handoverUntil: 0 })).toBe(true);
      expect((await b.current()).holder?.holder.id).toBe('a');
      // What kill -9 or a network cut does to A: its connection ends without a word.
      await stores[1]!.run(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`,
      );
      await expect
        .poll(async () => (await stores[1]!.all(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory'`)).length)
        .toBe(0);
      // B and C look at once: both see nobody, and exactly one cleared the row (and says so).
      const views = await Promise.all([b.current(), c.current()]);
      expect(views.map((view) => view.holder)).toEqual([null, null]);
      expect(views.map((view) => view.cleared?.holder.id ?? null).sort()).toEqual(['a', null]);
      expect(await stores[0]!.get('SELECT * FROM session_holder')).toBeUndefined();
      // A learns it lost the lock, and may take it again now that nobody holds it.
      expect(await a.current()).toEqual({ holder: null, cleared: null });
      expect(a.held).toBe(false);
      expect(await a.take({ holder: cli('a', 101), handoverUntil: 0 })).toBe(true);
    } finally {
      await c.close();
      await close();
    }
  });
});

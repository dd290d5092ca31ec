import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../../src-main/events/bus.ts';
import type { StoredEvent } from '../../../src-main/events/event-log.ts';
import { SqliteEventLog } from '../../../src-main/events/sqlite-event-log.ts';
import { type Database, openDatabase } from '../../../src-main/store/database.ts';
import { SqliteStore } from '../../../src-main/store/sqlite/sqlite-store.ts';
import { capturedLogger } from '../../helpers/captured-logger.ts';
import { tempWorkspace } from '../../helpers/workspace.ts';

/**
 * Group commit in the SQLite event log (sqlite-event-log.ts): the appends of one turn of
 * the event loop share one transaction, each in its own savepoint. Real database files,
 * a second connection to tell committed from uncommitted, real triggers for the faults.
 */

const open: { close(): Promise<void> }[] = [];
const readers: DatabaseSync[] = [];
afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  await Promise.all(open.splice(0).map((db) => db.close().catch(() => undefined)));
});

function fileDatabase(): Database {
  const db = openDatabase(path.join(tempWorkspace(), 'lookout.db'));
  open.push(db);
  return db;
}

/** A second connection: it sees only what is committed (WAL readers never see an open transaction). */
function secondConnection(db: Database): (seq: number) => boolean {
  const reader = new DatabaseSync(db.file, { readOnly: true });
  readers.push(reader);
  const statement = reader.prepare('SELECT 1 AS found FROM events WHERE seq = ?');
  return (seq) => statement.get(seq) !== undefined;
}

const ev = (type: string, data: Record<string, unknown> = {}) => ({ type, data });
const settle = <T>(promises: Promise<T>[]) => Promise.allSettled(promises);

/** Refuses (at insert) events of type x.boom: a per-request SQL error, as a constraint or trigger would raise. */
function refuseBoom(db: Database): void {
  db.db.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.type = 'x.boom'
              BEGIN SELECT RAISE(ABORT, 'boom'); END`);
}

/**
 * Makes the COMMIT of any transaction that stored an x.commit_fails event fail: the
 * trigger adds a row breaking a deferred foreign key, which SQLite checks at COMMIT.
 */
function failCommitOn(db: Database): void {
  db.db.exec(`CREATE TABLE guard_parent (id INTEGER PRIMARY KEY);
              CREATE TABLE guard_child (parent INTEGER REFERENCES guard_parent (id) DEFERRABLE INITIALLY DEFERRED);
              CREATE TRIGGER break_commit AFTER INSERT ON events WHEN NEW.type = 'x.commit_fails'
              BEGIN INSERT INTO guard_child (parent) VALUES (42); END`);
}

describe('group commit (SQLite event log)', () => {
  it('commits the appends of one tick in one transaction, numbered in call order, contiguous', async () => {
    const db = fileDatabase();
    const log = new SqliteEventLog(db);
    const fed: number[][] = [];
    log.setFeed((events) => fed.push(events.map((e) => e.seq)));
    const appends = Array.from({ length: 20 }, (_, i) => log.append(i % 2 ? [ev('x.a'), ev('x.b')] : [ev('x.c')]));
    // Nothing is stored or fed before the group commits.
    expect(log.lastSequenceNumber).toBe(0);
    expect(fed).toEqual([]);
    const results = await Promise.all(appends);
    expect(log.commits).toEqual({ transactions: 1, events: 30, requests: 20 });
    const numbers = results.flatMap((r) => r.envelopes.map((e) => e.sequence_number));
    expect(numbers).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(fed).toEqual([numbers]);
    expect(log.lastSequenceNumber).toBe(30);
    // The next tick is the next group.
    await log.append([ev('x.d')]);
    expect(log.commits.transactions).toBe(2);
  });

  it('bounds a group at maxGroup publishes; maxGroup 1 commits each append at once', async () => {
    const db = fileDatabase();
    const log = new SqliteEventLog(db, { maxGroup: 5 });
    const results = await Promise.all(Array.from({ length: 12 }, () => log.append([ev('x.a')])));
    expect(results.map((r) => r.stored[0]!.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(log.commits).toEqual({ transactions: 3, events: 12, requests: 12 });

    const alone = new SqliteEventLog(db, { maxGroup: 1 });
    const appended = alone.append([ev('x.b')]);
    // Committed and numbered before append returns (the connection was free).
    expect(alone.lastSequenceNumber).toBe(13);
    expect((await appended).stored[0]!.seq).toBe(13);
    await Promise.all([alone.append([ev('x.c')]), alone.append([ev('x.d')])]);
    expect(alone.commits.transactions).toBe(3);
  });

  it('fans out only after the COMMIT: a second connection sees every event the feed hands out', async () => {
    const db = fileDatabase();
    const store = new SqliteStore(db);
    const log = new SqliteEventLog(store);
    const committed = secondConnection(db);
    const notVisible: number[] = [];
    let fedCount = 0;
    log.setFeed((events) => {
      for (const event of events) {
        fedCount++;
        if (!committed(event.seq)) notVisible.push(event.seq);
      }
    });
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => log.append([ev('x.a', { round, i }), ev('x.b')])));
    }
    expect(fedCount).toBe(100);
    expect(notVisible).toEqual([]);
  });

  it('answers the publisher only once its events are committed and fed', async () => {
    const db = fileDatabase();
    const log = new SqliteEventLog(db);
    const committed = secondConnection(db);
    const fed = new Set<number>();
    log.setFeed((events) => events.forEach((e) => fed.add(e.seq)));
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        log.append([ev('x.a')]).then((appended) => {
          const seq = appended.stored[0]!.seq;
          return { seq, committed: committed(seq), fed: fed.has(seq) };
        }),
      ),
    );
    expect(answers.every((a) => a.committed && a.fed)).toBe(true);
  });

  it("keeps each publisher all or nothing: one request's failing check or insert fails only that request", async () => {
    const db = fileDatabase();
    refuseBoom(db);
    const log = new SqliteEventLog(db);
    const fed: StoredEvent[] = [];
    log.setFeed((events) => fed.push(...events));
    const tooBig = (json: string) => {
      if (json.includes('"big"')) throw new Error('too large');
    };
    const results = await settle([
      Promise.resolve(log.append([ev('x.ok', { p: 0 }), ev('x.ok', { p: 0 })])),
      Promise.resolve(log.append([ev('x.ok', { p: 1 }), ev('x.ok', { big: true }), ev('x.ok')], Date.now(), tooBig)),
      Promise.resolve(log.append([ev('x.ok', { p: 2 })])),
      Promise.resolve(log.append([ev('x.ok', { p: 3 }), ev('x.boom'), ev('x.ok')])),
      Promise.resolve(log.append([ev('x.ok', { p: 4 }), ev('x.ok', { p: 4 })])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/too large/);
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/boom/);
    expect(log.commits.transactions).toBe(1);
    // The failed requests used no number: the next request took them, so numbers stay contiguous.
    const numbers = results.flatMap((r) =>
      r.status === 'fulfilled' ? r.value.envelopes.map((e) => e.sequence_number) : [],
    );
    expect(numbers).toEqual([1, 2, 3, 4, 5]);
    expect(fed.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(fed.map((e) => (JSON.parse(e.json) as { data: { p: number } }).data.p)).toEqual([0, 0, 2, 4, 4]);
    const rows = db.db.prepare('SELECT seq, json FROM events ORDER BY seq').all() as { seq: number; json: string }[];
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    // What is stored is exactly what the publishers were given.
    const given = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.stored.map((s) => s.json) : []));
    expect(rows.map((r) => r.json)).toEqual(given);
    expect(log.lastSequenceNumber).toBe(5);
  });

  it('a failed COMMIT answers every publisher of the group with the error, feeds nothing and loses nothing acknowledged', async () => {
    const db = fileDatabase();
    failCommitOn(db);
    const log = new SqliteEventLog(db);
    const fed: number[] = [];
    log.setFeed((events) => fed.push(...events.map((e) => e.seq)));
    await Promise.all([log.append([ev('x.before')]), log.append([ev('x.before')])]);
    expect(fed).toEqual([1, 2]);
    const results = await settle([
      Promise.resolve(log.append([ev('x.ok')])),
      Promise.resolve(log.append([ev('x.commit_fails')])),
      Promise.resolve(log.append([ev('x.ok'), ev('x.ok')])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect(String((r as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(fed).toEqual([1, 2]);
    expect(log.lastSequenceNumber).toBe(2);
    expect(db.db.isTransaction).toBe(false);
    expect((db.db.prepare('SELECT seq FROM events ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq)).toEqual(
      [1, 2],
    );
    // The log goes on: the next group gets the next numbers.
    const next = await log.append([ev('x.after')]);
    expect(next.stored[0]!.seq).toBe(3);
    expect(fed).toEqual([1, 2, 3]);
  });

  it('waits behind another domain’s open transaction, and the appends arriving meanwhile join the group', async () => {
    const db = fileDatabase();
    const store = new SqliteStore(db);
    const log = new SqliteEventLog(store);
    let release!: () => void;
    const other = store.transaction(async (tx) => {
      await tx.run("INSERT INTO meta (key, value) VALUES ('group-commit-test', 'x')");
      await new Promise<void>((resolve) => (release = resolve));
    });
    const first = Array.from({ length: 3 }, () => log.append([ev('x.a')]));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.lastSequenceNumber).toBe(0); // queued behind the open transaction
    const later = Array.from({ length: 3 }, () => log.append([ev('x.b')]));
    release();
    await other;
    const all = await Promise.all([...first, ...later]);
    expect(all.map((a) => a.stored[0]!.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.commits.transactions).toBe(1);
  });

  it('stop() commits what is waiting, then refuses new appends with a clear error', async () => {
    const db = fileDatabase();
    const log = new SqliteEventLog(db);
    const pending = [log.append([ev('x.a')]), log.append([ev('x.b')])];
    await log.stop();
    expect(log.lastSequenceNumber).toBe(2);
    expect((await Promise.all(pending)).map((a) => a.stored[0]!.seq)).toEqual([1, 2]);
    await expect(Promise.resolve(log.append([ev('x.c')]))).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/shutting down/),
    });
    expect((db.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(2);
  });

  it('keeps the count cap across groups', async () => {
    const db = fileDatabase();
    const log = new SqliteEventLog(db, { maxEvents: 100 });
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 25 }, () => log.append([ev('x.a'), ev('x.b')])));
      const { n, oldest } = db.db.prepare('SELECT COUNT(*) AS n, MIN(seq) AS oldest FROM events').get() as {
        n: number;
        oldest: number;
      };
      // Pruned in steps of 1 % of the cap, once per group.
      expect(n).toBeLessThanOrEqual(100);
      expect(oldest).toBe(log.lastSequenceNumber - n + 1);
    }
    expect(log.lastSequenceNumber).toBe(500);
  });

  it('through the bus: an event over 64 KiB among concurrent publishes fails only its own (413)', async () => {
    const db = fileDatabase();
    const log = new SqliteEventLog(db);
    const bus = new EventBus({ log, logger: capturedLogger().logger, queueSize: 1000 });
    const seen: number[] = [];
    bus.listen(['*'], (event) => seen.push(event.sequence_number));
    const results = await settle([
      bus.publish([ev('x.a')]),
      bus.publish([ev('x.b'), ev('x.big', { blob: 'z'.repeat(70_000) })]),
      bus.publish([ev('x.c')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'payload_too_large' });
    expect(results.flatMap((r) => (r.status === 'fulfilled' ? r.value.map((e) => e.sequence_number) : []))).toEqual([
      1, 2,
    ]);
    await expect.poll(() => seen).toEqual([1, 2]);
    expect(bus.stats.published).toBe(2);
  });
});

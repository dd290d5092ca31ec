import { afterEach, expect, it } from 'vitest';
import { createEventLog } from '../../../src-main/events/create-event-log.ts';
import type { EventLog } from '../../../src-main/events/event-log.ts';
import type { SqlStore } from '../../../src-main/store/sql-store.ts';
import { SqliteStore } from '../../../src-main/store/sqlite/sqlite-store.ts';
import { capturedLogger } from '../../helpers/captured-logger.ts';
import { describeEachDialect, type StoreFixture, storeFixture } from '../../helpers/dialects.ts';

const started: EventLog[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((log) => log.stop()));
});

async function openLog(store: SqlStore, options: { maxEvents?: number } = {}): Promise<EventLog> {
  const log = createEventLog(store, { logger: capturedLogger().logger, ...options });
  await log.start();
  started.push(log);
  return log;
}

const ev = (type: string, data: Record<string, unknown> = {}, metadata?: Record<string, unknown>) => ({
  type,
  data,
  metadata,
});
const seqs = (rows: { seq: number }[]) => rows.map((row) => row.seq);

/** A trigger that refuses to store events of type x.boom, in the store's own SQL. */
async function refuseBoom(store: SqlStore): Promise<void> {
  if (store instanceof SqliteStore) {
    store.database.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.type = 'x.boom'
                BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    return;
  }
  await store.run(`CREATE FUNCTION refuse_boom() RETURNS trigger AS $$
    BEGIN IF NEW.type = 'x.boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
  await store.run('CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_boom()');
}

describeEachDialect('EventLog', (dialect) => {
  let fixture: StoreFixture;
  const fresh = async (options: { maxEvents?: number } = {}) => {
    fixture = await storeFixture(dialect);
    return openLog(await fixture.open(), options);
  };

  it('numbers from 1 and stamps every envelope with one timestamp and metadata ({} when none was sent)', async () => {
    const log = await fresh();
    expect(log.lastSequenceNumber).toBe(0);
    expect(log.oldestSequenceNumber).toBe(1); // empty: last + 1
    const now = Date.parse('2026-11-23T17:49:02.123Z');
    const { stored, envelopes } = await log.append([ev('x.a', { n: 1 }), ev('x.b', {}, { agent: 'claude' })], now);
    expect(envelopes).toEqual([
      { type: 'x.a', timestamp: '2026-11-23T17:49:02.123Z', sequence_number: 1, data: { n: 1 }, metadata: {} },
      {
        type: 'x.b',
        timestamp: '2026-11-23T17:49:02.123Z',
        sequence_number: 2,
        data: {},
        metadata: { agent: 'claude' },
      },
    ]);
    // What is stored is the envelope's JSON, exactly as clients receive it.
    expect(stored.map((s) => JSON.parse(s.json))).toEqual(envelopes);
    expect(stored.map((s) => s.type)).toEqual(['x.a', 'x.b']);
    expect(await log.read({ after: 0, patterns: ['*'], limit: 10 })).toEqual(stored);
    // The append resolves once its events went through this server's feed.
    expect(log.lastSequenceNumber).toBe(2);
    expect(await log.oldest()).toBe(1);
  });

  it('feeds every append to the bus once, in order', async () => {
    const log = await fresh();
    const fed: number[] = [];
    log.setFeed((events) => fed.push(...events.map((e) => e.seq)));
    await log.append([ev('x.a'), ev('x.b')]);
    await Promise.all([log.append([ev('x.c')]), log.append([ev('x.d'), ev('x.e')]), log.append([ev('x.f')])]);
    expect(fed).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('stores a batch all or nothing: a failing row leaves no trace and no number used', async () => {
    fixture = await storeFixture(dialect);
    const store = await fixture.open();
    await refuseBoom(store);
    const log = await openLog(store);
    await log.append([ev('x.ok')]);
    await expect(async () => log.append([ev('x.fine'), ev('x.boom'), ev('x.never')])).rejects.toThrow(/boom/);
    expect(log.lastSequenceNumber).toBe(1);
    expect(seqs(await log.read({ after: 0, patterns: ['*'], limit: 10 }))).toEqual([1]);
    expect((await log.append([ev('x.next')])).envelopes[0]!.sequence_number).toBe(2);
  });

  it('never reuses a number: not after pruning everything, not across reopening the store', async () => {
    fixture = await storeFixture(dialect);
    const first = await fixture.open();
    const log = await openLog(first);
    await log.append([ev('x.a'), ev('x.b'), ev('x.c')]);
    expect(await log.prune({ maxEvents: 0, maxAgeMs: 86_400_000 })).toBe(3);
    expect(await log.oldest()).toBe(4);
    await log.stop();
    await first.close();

    const again = await openLog(await fixture.open());
    expect(again.epoch).toBe(first.epoch);
    expect(again.lastSequenceNumber).toBe(3);
    expect((await again.append([ev('x.d')])).envelopes[0]!.sequence_number).toBe(4);
  });

  it('reads a range by pattern, oldest first, up to a bound and a limit', async () => {
    const log = await fresh();
    await log.append([ev('chat.message_sent'), ev('x.a'), ev('workflow.started'), ev('x.b'), ev('x.c')]);
    expect(seqs(await log.read({ after: 0, patterns: ['x.*'], limit: 10 }))).toEqual([2, 4, 5]);
    expect(seqs(await log.read({ after: 2, patterns: ['x.*'], limit: 10 }))).toEqual([4, 5]);
    expect(seqs(await log.read({ after: 0, upTo: 4, patterns: ['x.*'], limit: 10 }))).toEqual([2, 4]);
    expect(seqs(await log.read({ after: 0, patterns: ['x.*'], limit: 2 }))).toEqual([2, 4]);
    expect(seqs(await log.read({ after: 0, patterns: ['x.a', 'chat.*'], limit: 10 }))).toEqual([1, 2]);
    expect(seqs(await log.read({ after: 0, patterns: ['*'], limit: 10 }))).toEqual([1, 2, 3, 4, 5]);
    expect(await log.read({ after: 0, patterns: [], limit: 10 })).toEqual([]);
    // A namespace pattern is a prefix up to its dot: x.* never matches xy.a.
    await log.append([ev('xy.a')]);
    expect(seqs(await log.read({ after: 0, patterns: ['x.*'], limit: 10 }))).toEqual([2, 4, 5]);
    // The same query shape twice stays right.
    expect(seqs(await log.read({ after: 3, patterns: ['x.*'], limit: 10 }))).toEqual([4, 5]);
  });

  it('counts a range and finds the event with exactly N newer matches in it', async () => {
    const log = await fresh();
    await log.append([ev('x.a'), ev('y.b'), ev('x.a'), ev('x.a'), ev('y.b'), ev('x.a')]);
    expect(await log.countRange(0, 6, ['x.a'])).toEqual({ count: 4, first: 1 });
    expect(await log.countRange(1, 5, ['x.a'])).toEqual({ count: 2, first: 3 });
    expect(await log.countRange(6, 6, ['*'])).toEqual({ count: 0, first: null });
    expect(await log.seqFromEnd(0, 6, ['x.a'], 0)).toBe(6);
    expect(await log.seqFromEnd(0, 6, ['x.a'], 2)).toBe(3);
    expect(await log.seqFromEnd(0, 5, ['x.a'], 2)).toBe(1);
    expect(await log.seqFromEnd(0, 6, ['x.a'], 4)).toBeNull();
  });

  it('keeps at most maxEvents as events arrive, pruning in steps of 1 % of the cap', async () => {
    const log = await fresh({ maxEvents: 200 });
    await log.append(Array.from({ length: 200 }, () => ev('x.fill')));
    expect(await log.oldest()).toBe(1);
    await log.append([ev('x.over')]); // one over: below the 2-event step, nothing pruned yet
    expect(await log.oldest()).toBe(1);
    await log.append([ev('x.over')]);
    // PostgreSQL prunes beside the append (never in the publisher's way): wait for it.
    await expect.poll(() => log.oldest()).toBe(3);
    expect((await log.countRange(0, log.lastSequenceNumber, ['*'])).count).toBe(200);
  });

  it('prunes by count and by age, and says how many went', async () => {
    const log = await fresh();
    const day = 86_400_000;
    const now = Date.parse('2026-11-23T12:00:00.000Z');
    await log.append([ev('x.old'), ev('x.old')], now - 3 * day);
    await log.append([ev('x.new'), ev('x.new'), ev('x.new')], now);
    expect(await log.prune({ maxEvents: 100, maxAgeMs: 2 * day }, now)).toBe(2);
    expect(await log.oldest()).toBe(3);
    expect(await log.prune({ maxEvents: 1, maxAgeMs: 2 * day }, now)).toBe(2);
    expect(seqs(await log.read({ after: 0, patterns: ['*'], limit: 10 }))).toEqual([5]);
    expect(await log.prune({ maxEvents: 1, maxAgeMs: 2 * day }, now)).toBe(0);
  });
});

import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../../src-main/events/sqlite-event-log.ts';
import { type Database, openDatabase } from '../../../src-main/store/database.ts';
import { tempWorkspace } from '../../helpers/workspace.ts';

const open: Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

function memory(): Database {
  const db = openDatabase(':memory:');
  open.push(db);
  return db;
}

const ev = (type: string, data: Record<string, unknown> = {}, metadata?: Record<string, unknown>) => ({
  type,
  data,
  metadata,
});
const seqs = (rows: { seq: number }[]) => rows.map((row) => row.seq);

describe('EventLog', () => {
  it('numbers from 1 and stamps every envelope with one timestamp and metadata ({} when none was sent)', () => {
    const log = new SqliteEventLog(memory());
    expect(log.lastSequenceNumber).toBe(0);
    expect(log.oldestSequenceNumber).toBe(1); // empty: last + 1
    const now = Date.parse('2026-11-23T17:49:02.123Z');
    const { stored, envelopes } = log.append([ev('x.a', { n: 1 }), ev('x.b', {}, { agent: 'claude' })], now);
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
    expect(log.read({ after: 0, patterns: ['*'], limit: 10 })).toEqual(stored);
    expect(log.lastSequenceNumber).toBe(2);
    expect(log.oldestSequenceNumber).toBe(1);
  });

  it('stores a batch all or nothing: a failing row leaves no trace and no number used', () => {
    const db = memory();
    db.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.type = 'x.boom'
                BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    const log = new SqliteEventLog(db);
    log.append([ev('x.ok')]);
    expect(() => log.append([ev('x.fine'), ev('x.boom'), ev('x.never')])).toThrow(/boom/);
    expect(log.lastSequenceNumber).toBe(1);
    expect(seqs(log.read({ after: 0, patterns: ['*'], limit: 10 }))).toEqual([1]);
    expect(log.append([ev('x.next')]).envelopes[0]!.sequence_number).toBe(2);
  });

  it('never reuses a number: not after pruning everything, not across reopening the file', async () => {
    const file = path.join(tempWorkspace(), 'events.db');
    const first = openDatabase(file);
    const log = new SqliteEventLog(first);
    log.append([ev('x.a'), ev('x.b'), ev('x.c')]);
    expect(log.prune({ maxEvents: 0, maxAgeMs: 86_400_000 })).toBe(3);
    expect(log.oldestSequenceNumber).toBe(4);
    await first.close();

    const second = openDatabase(file);
    open.push(second);
    const again = new SqliteEventLog(second);
    expect(again.epoch).toBe(first.epoch);
    expect(again.lastSequenceNumber).toBe(3);
    expect(again.append([ev('x.d')]).envelopes[0]!.sequence_number).toBe(4);
  });

  it('reads a range by pattern, oldest first, up to a bound and a limit', () => {
    const log = new SqliteEventLog(memory());
    log.append([ev('chat.message_sent'), ev('x.a'), ev('workflow.started'), ev('x.b'), ev('x.c')]);
    expect(seqs(log.read({ after: 0, patterns: ['x.*'], limit: 10 }))).toEqual([2, 4, 5]);
    expect(seqs(log.read({ after: 2, patterns: ['x.*'], limit: 10 }))).toEqual([4, 5]);
    expect(seqs(log.read({ after: 0, upTo: 4, patterns: ['x.*'], limit: 10 }))).toEqual([2, 4]);
    expect(seqs(log.read({ after: 0, patterns: ['x.*'], limit: 2 }))).toEqual([2, 4]);
    expect(seqs(log.read({ after: 0, patterns: ['x.a', 'chat.*'], limit: 10 }))).toEqual([1, 2]);
    expect(seqs(log.read({ after: 0, patterns: ['*'], limit: 10 }))).toEqual([1, 2, 3, 4, 5]);
    expect(log.read({ after: 0, patterns: [], limit: 10 })).toEqual([]);
    // The same query shape twice reuses its prepared statement and stays right.
    expect(seqs(log.read({ after: 3, patterns: ['x.*'], limit: 10 }))).toEqual([4, 5]);
  });

  it('counts a range and finds the event with exactly N newer matches in it', () => {
    const log = new SqliteEventLog(memory());
    log.append([ev('x.a'), ev('y.b'), ev('x.a'), ev('x.a'), ev('y.b'), ev('x.a')]);
    expect(log.countRange(0, 6, ['x.a'])).toEqual({ count: 4, first: 1 });
    expect(log.countRange(1, 5, ['x.a'])).toEqual({ count: 2, first: 3 });
    expect(log.countRange(6, 6, ['*'])).toEqual({ count: 0, first: null });
    expect(log.seqFromEnd(0, 6, ['x.a'], 0)).toBe(6);
    expect(log.seqFromEnd(0, 6, ['x.a'], 2)).toBe(3);
    expect(log.seqFromEnd(0, 5, ['x.a'], 2)).toBe(1);
    expect(log.seqFromEnd(0, 6, ['x.a'], 4)).toBeNull();
  });

  it('keeps at most maxEvents as events arrive, pruning in steps of 1 % of the cap', () => {
    const log = new SqliteEventLog(memory(), { maxEvents: 200 });
    log.append(Array.from({ length: 200 }, () => ev('x.fill')));
    expect(log.oldestSequenceNumber).toBe(1);
    log.append([ev('x.over')]); // one over: below the 2-event step, nothing pruned yet
    expect(log.oldestSequenceNumber).toBe(1);
    log.append([ev('x.over')]);
    expect(log.oldestSequenceNumber).toBe(3);
    expect(log.countRange(0, log.lastSequenceNumber, ['*']).count).toBe(200);
  });

  it('prunes by count and by age, and says how many went', () => {
    const log = new SqliteEventLog(memory());
    const day = 86_400_000;
    const now = Date.parse('2026-11-23T12:00:00.000Z');
    log.append([ev('x.old'), ev('x.old')], now - 3 * day);
    log.append([ev('x.new'), ev('x.new'), ev('x.new')], now);
    expect(log.prune({ maxEvents: 100, maxAgeMs: 2 * day }, now)).toBe(2);
    expect(log.oldestSequenceNumber).toBe(3);
    expect(log.prune({ maxEvents: 1, maxAgeMs: 2 * day }, now)).toBe(2);
    expect(seqs(log.read({ after: 0, patterns: ['*'], limit: 10 }))).toEqual([5]);
    expect(log.prune({ maxEvents: 1, maxAgeMs: 2 * day }, now)).toBe(0);
  });
});

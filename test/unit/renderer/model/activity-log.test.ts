import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../../../src-shared/events.ts';
import {
  ActivityLog,
  BACKFILL_PAGE,
  type GapRow,
  type LogRow,
  sourceOf,
} from '../../../../src-renderer/model/activity-log.ts';
import { matchesFilter, parseFilter } from '../../../../src-renderer/model/filter.ts';

const BASE = Date.parse('2026-11-23T17:00:00.000Z');

function ev(
  seq: number,
  type = 'x.tick',
  data: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): EventEnvelope {
  return {
    type,
    sequence_number: seq,
    timestamp: new Date(BASE + seq * 10).toISOString(),
    data,
    metadata,
  };
}

const seqs = (rows: readonly LogRow[]) =>
  rows.map((r) => (r.kind === 'event' ? r.key : `gap ${r.from}-${r.to} ${r.reason}`));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('ActivityLog ordering and dedupe', () => {
  it('keeps events in sequence-number order whatever order they arrive in', () => {
    const log = new ActivityLog();
    log.ingest([ev(5), ev(1), ev(3)]);
    log.ingest([ev(2), ev(6), ev(4)]);
    expect(seqs(log.rows)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seqs(log.visible)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.lastSequenceNumber).toBe(6);
  });

  it('drops duplicates (a replay overlapping the live stream, a backfill of what is held)', () => {
    const log = new ActivityLog();
    const fresh1 = log.ingest([ev(1), ev(2), ev(3)]);
    const fresh2 = log.ingest([ev(2), ev(3), ev(4), ev(4)]);
    expect(fresh1.map((e) => e.sequence_number)).toEqual([1, 2, 3]);
    expect(fresh2.map((e) => e.sequence_number)).toEqual([4]);
    expect(log.eventCount).toBe(4);
    expect(seqs(log.rows)).toEqual([1, 2, 3, 4]);
  });

  it('bumps its version once per call that changed something, and not for pure duplicates', () => {
    const log = new ActivityLog();
    let calls = 0;
    log.subscribe(() => calls++);
    log.ingest([ev(1), ev(2)]);
    const v = log.version;
    log.ingest([ev(1)]);
    expect(log.version).toBe(v);
    expect(calls).toBe(1);
  });

  it('finds events by number', () => {
    const log = new ActivityLog();
    log.ingest([ev(10), ev(20)]);
    expect(log.find(20)?.event.sequence_number).toBe(20);
    expect(log.find(15)).toBeUndefined();
    expect(log.has(10)).toBe(true);
  });
});

describe('ActivityLog rows', () => {
  it('takes the source from metadata, then from the data', () => {
    expect(sourceOf({ data: {}, metadata: { agent: 'claude', source: 'ci' } })).toBe('claude');
    expect(sourceOf({ data: {}, metadata: { source: 'ci' } })).toBe('ci');
    expect(sourceOf({ data: { agent: 'planner' }, metadata: {} })).toBe('planner');
    expect(sourceOf({ data: { speaker: 'Ana' }, metadata: {} })).toBe('Ana');
    expect(sourceOf({ data: {}, metadata: {} })).toBe('');
    expect(sourceOf({ data: {}, metadata: { agent: 'a'.repeat(60) } })).toHaveLength(40);
  });

  it('summarizes lazily from the shared catalogue', () => {
    const log = new ActivityLog();
    log.ingest([ev(1, 'workflow.failed', { workflow_id: 'w1', name: 'deploy', step: 'push', error: 'denied' })]);
    const row = log.find(1)!;
    expect(row.summary).toBe('deploy failed at push: denied');
    expect(row.namespace).toBe('workflow');
  });
});

describe('ActivityLog filters', () => {
  const chat = (seq: number, text: string) => ev(seq, 'chat.message_sent', { text }, { agent: 'claude' });
  const seed = () => {
    const log = new ActivityLog();
    log.ingest([
      chat(1, 'deploy the thing'),
      ev(2, 'workflow.started', { workflow_id: 'w-deploy', name: 'release' }),
      ev(3, 'workflow.failed', { workflow_id: 'w1', error: 'disk full' }),
      chat(4, 'all good'),
      ev(5, 'system.status_changed', { status: 'IDLE', progress: 0, last_sync: null }),
    ]);
    return log;
  };

  it('selects by type patterns (ORed)', () => {
    const log = seed();
    log.setFilter(parseFilter('chat.* workflow.failed'));
    expect(seqs(log.visible)).toEqual([1, 3, 4]);
    expect(log.visibleEventCount).toBe(3);
  });

  it('matches free text against what the row shows and its data (ANDed, case-insensitive)', () => {
    const log = seed();
    log.setFilter(parseFilter('DEPLOY'));
    // 1 by its text, 2 by a data field the summary leaves out (workflow_id).
    expect(seqs(log.visible)).toEqual([1, 2]);
    log.setFilter(parseFilter('deploy thing'));
    expect(seqs(log.visible)).toEqual([1]);
    log.setFilter(parseFilter('"disk full"'));
    expect(seqs(log.visible)).toEqual([3]);
    log.setFilter(parseFilter('claude'));
    expect(seqs(log.visible)).toEqual([1, 4]);
  });

  it('combines patterns, text and exclusions', () => {
    const log = seed();
    log.setFilter(parseFilter('chat.* -deploy'));
    expect(seqs(log.visible)).toEqual([4]);
    log.setFilter(parseFilter('-system.*'));
    expect(seqs(log.visible)).toEqual([1, 2, 3, 4]);
  });

  it('applies the filter to events arriving later, in order and out of order', () => {
    const log = seed();
    log.setFilter(parseFilter('chat.*'));
    log.ingest([chat(7, 'later'), ev(8, 'x.other')]);
    log.ingest([chat(6, 'late arrival')]);
    expect(seqs(log.visible)).toEqual([1, 4, 6, 7]);
    log.setFilter(parseFilter(''));
    expect(seqs(log.visible)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('always shows gap notices: a filter cannot know what a hole holds', () => {
    const log = seed();
    log.addGap(10, 20, 'overflow');
    log.setFilter(parseFilter('nothing-matches-this'));
    expect(seqs(log.visible)).toEqual(['gap 10-20 overflow']);
    expect(log.visibleEventCount).toBe(0);
  });

  it('counts the rows that arrived after a given key (the "N new" of a detached view)', () => {
    const log = seed();
    log.setFilter(parseFilter('chat.*'));
    log.ingest([chat(6, 'a'), ev(7, 'x.y'), chat(8, 'b')]);
    expect(log.visibleAfter(4)).toBe(2);
    expect(log.visibleAfter(8)).toBe(0);
  });

  it('exports what is shown as JSON lines', () => {
    const log = seed();
    log.setFilter(parseFilter('workflow.*'));
    const lines = log.exportVisible().trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as EventEnvelope).sequence_number)).toEqual([2, 3]);
    expect(JSON.parse(lines[0]!)).toEqual(log.find(2)!.event);
  });
});

describe('ActivityLog pause buffer', () => {
  it('holds events while paused, deduped, and shows them in order on resume', () => {
    const log = new ActivityLog();
    log.ingest([ev(1), ev(2)]);
    log.setPaused(true);
    const fresh = log.ingest([ev(4), ev(3), ev(2), ev(4)]);
    expect(fresh.map((e) => e.sequence_number)).toEqual([4, 3]);
    expect(log.pendingCount).toBe(2);
    expect(seqs(log.visible)).toEqual([1, 2]);
    log.setPaused(false);
    expect(log.pendingCount).toBe(0);
    expect(seqs(log.visible)).toEqual([1, 2, 3, 4]);
  });

  it('does not hold an event again that a backfill brought in meanwhile', () => {
    const log = new ActivityLog();
    log.ingest([ev(1)]);
    log.addGap(2, 3, 'overflow');
    log.setPaused(true);
    log.ingest([ev(4)]);
    const gap = log.gaps[0]!;
    log.beginBackfill(gap.id);
    log.completeBackfill(gap.id, { events: [ev(2), ev(3)], oldest_sequence_number: 1 });
    log.ingest([ev(3)]);
    log.setPaused(false);
    expect(seqs(log.rows)).toEqual([1, 2, 3, 4]);
  });
});

describe('ActivityLog gaps and backfill', () => {
  it('places a gap notice where the missing numbers would be', () => {
    const log = new ActivityLog();
    log.ingest([ev(1), ev(2), ev(9)]);
    log.addGap(3, 8, 'overflow');
    expect(seqs(log.rows)).toEqual([1, 2, 'gap 3-8 overflow', 9]);
  });

  it('merges overlapping or touching fetchable gaps (the latest reason wins), keeps retention apart', () => {
    const log = new ActivityLog();
    log.addGap(10, 20, 'overflow');
    log.addGap(21, 30, 'limit');
    log.addGap(15, 25, 'overflow');
    log.addGap(1, 5, 'retention');
    log.addGap(6, 9, 'overflow');
    expect(seqs(log.rows)).toEqual(['gap 1-5 retention', 'gap 6-30 overflow']);
  });

  it('never lets holes overlap: retention takes its range out of fetchable holes', () => {
    const log = new ActivityLog();
    log.addGap(5, 20, 'overflow');
    log.addGap(1, 8, 'retention');
    expect(seqs(log.rows)).toEqual(['gap 1-8 retention', 'gap 9-20 overflow']);
    log.addGap(12, 14, 'retention');
    expect(seqs(log.rows)).toEqual([
      'gap 1-8 retention',
      'gap 9-11 overflow',
      'gap 12-14 retention',
      'gap 15-20 overflow',
    ]);
    log.addGap(1, 30, 'limit');
    expect(seqs(log.rows)).toEqual(['gap 1-8 retention', 'gap 9-11 limit', 'gap 12-14 retention', 'gap 15-30 limit']);
  });

  it('ignores nonsense ranges', () => {
    const log = new ActivityLog();
    log.addGap(5, 4, 'overflow');
    log.addGap(0, 4, 'overflow');
    log.addGap(1.5, 4, 'overflow');
    expect(log.rows).toEqual([]);
  });

  it('backfills a small gap in one page and removes the notice', () => {
    const log = new ActivityLog();
    log.ingest([ev(1), ev(5)]);
    log.addGap(2, 4, 'overflow');
    const gap = log.gaps[0]!;
    const request = log.beginBackfill(gap.id);
    expect(request).toEqual({ since: 1, limit: BACKFILL_PAGE });
    expect(log.gaps[0]!.loading).toBe(true);
    expect(log.beginBackfill(gap.id)).toBeUndefined(); // no double fetch
    // The page may overlap what is held, and run past the gap: both are ignored.
    const fresh = log.completeBackfill(gap.id, {
      events: [ev(2), ev(3), ev(4), ev(5), ev(6)],
      oldest_sequence_number: 1,
    });
    expect(fresh.map((e) => e.sequence_number)).toEqual([2, 3, 4]);
    expect(seqs(log.rows)).toEqual([1, 2, 3, 4, 5]);
  });

  it('backfills a large gap newest end first, one page per request', () => {
    const log = new ActivityLog();
    log.ingest([ev(2501)]);
    log.addGap(1, 2500, 'limit');
    const first = log.beginBackfill(log.gaps[0]!.id)!;
    expect(first.since).toBe(1500);
    log.completeBackfill(log.gaps[0]!.id, { events: range(1501, 2500).map((n) => ev(n)), oldest_sequence_number: 1 });
    expect(log.gaps.map((g) => [g.from, g.to, g.reason])).toEqual([[1, 1500, 'limit']]);
    expect(log.rows[0]!.kind).toBe('gap');
    expect((log.rows[1] as { key: number }).key).toBe(1501);
    const second = log.beginBackfill(log.gaps[0]!.id)!;
    expect(second.since).toBe(500);
    log.completeBackfill(log.gaps[0]!.id, { events: range(501, 1500).map((n) => ev(n)), oldest_sequence_number: 1 });
    const third = log.beginBackfill(log.gaps[0]!.id)!;
    expect(third.since).toBe(0);
    log.completeBackfill(log.gaps[0]!.id, { events: range(1, 500).map((n) => ev(n)), oldest_sequence_number: 1 });
    expect(log.gaps).toEqual([]);
    expect(log.eventCount).toBe(2501);
  });

  it('turns the part older than the server retains into a retention notice', () => {
    const log = new ActivityLog();
    log.ingest([ev(11)]);
    log.addGap(1, 10, 'overflow');
    const gap = log.gaps[0]!;
    log.beginBackfill(gap.id);
    log.completeBackfill(gap.id, { events: range(6, 10).map((n) => ev(n)), oldest_sequence_number: 6 });
    // The request covered (0, 10]: 6..10 arrived, 1..5 are gone for good.
    expect(seqs(log.rows)).toEqual(['gap 1-5 retention', 6, 7, 8, 9, 10, 11]);
    const retention = log.gaps[0] as GapRow;
    expect(log.beginBackfill(retention.id)).toBeUndefined();
  });

  it('keeps a failed gap, with the reason, and lets it be retried', () => {
    const log = new ActivityLog();
    log.addGap(3, 4, 'overflow');
    const id = log.gaps[0]!.id;
    log.beginBackfill(id);
    log.failBackfill(id, 'the server cannot be reached');
    expect(log.gaps[0]).toMatchObject({ loading: false, error: 'the server cannot be reached' });
    expect(log.beginBackfill(id)).toBeDefined();
    expect(log.gaps[0]!.error).toBeNull();
  });
});

describe('ActivityLog capacity', () => {
  it('unloads the oldest events past capacity behind one leading notice, in chunks', () => {
    const log = new ActivityLog({ capacity: 100 });
    log.ingest(range(1, 102).map((n) => ev(n)));
    expect(log.eventCount).toBe(102); // within the slack: nothing moved yet
    log.ingest(range(103, 110).map((n) => ev(n)));
    expect(log.eventCount).toBe(100);
    expect(seqs(log.rows.slice(0, 2))).toEqual(['gap 1-10 unloaded', 11]);
    log.ingest(range(111, 130).map((n) => ev(n)));
    expect(log.eventCount).toBe(100);
    expect(seqs(log.rows.slice(0, 2))).toEqual(['gap 1-30 unloaded', 31]);
    expect(log.gaps).toHaveLength(1);
    expect(seqs(log.visible)).toEqual(seqs(log.rows));
  });

  it('folds older notices into the unloaded one and keeps the filtered view consistent', () => {
    const log = new ActivityLog({ capacity: 10 });
    log.ingest(range(1, 5).map((n) => ev(n, n % 2 ? 'chat.message_sent' : 'x.y', n % 2 ? { text: 't' } : {})));
    log.addGap(6, 7, 'overflow');
    log.setFilter(parseFilter('chat.*'));
    log.ingest(range(8, 30).map((n) => ev(n, n % 2 ? 'chat.message_sent' : 'x.y', n % 2 ? { text: 't' } : {})));
    expect(log.eventCount).toBe(10);
    expect(log.gaps.map((g) => [g.from, g.to, g.reason])).toEqual([[1, 20, 'unloaded']]);
    expect(seqs(log.visible)).toEqual(['gap 1-20 unloaded', 21, 23, 25, 27, 29]);
    log.setFilter(parseFilter(''));
    expect(seqs(log.visible)).toEqual(seqs(log.rows));
  });
});

describe('ActivityLog while the reader is away from the live tail', () => {
  it('holds off trimming up to holdCapacity, and trims back when the reader returns', () => {
    const log = new ActivityLog({ capacity: 100 });
    expect(log.holdCapacity).toBe(150);
    log.ingest(range(1, 100).map((n) => ev(n)));
    log.setHold(true);
    log.ingest(range(101, 140).map((n) => ev(n)));
    expect(log.eventCount).toBe(140);
    expect(log.gaps).toEqual([]);
    log.ingest(range(141, 170).map((n) => ev(n)));
    expect(log.eventCount).toBe(150);
    log.setHold(false);
    expect(log.eventCount).toBe(100);
    expect(seqs(log.rows.slice(0, 2))).toEqual(['gap 1-70 unloaded', 71]);
    expect(log.unloadedCount).toBe(70);
  });

  it('lets older events be loaded back while held, not while following at capacity', () => {
    const log = new ActivityLog({ capacity: 2000 });
    log.ingest(range(1, 2100).map((n) => ev(n)));
    expect(log.gaps.map((g) => [g.from, g.to])).toEqual([[1, 100]]);
    expect(log.canLoadOlder).toBe(false);
    log.setHold(true);
    expect(log.canLoadOlder).toBe(true);
    const id = log.gaps[0]!.id;
    log.beginBackfill(id);
    log.completeBackfill(id, { events: range(1, 100).map((n) => ev(n)), oldest_sequence_number: 1 });
    expect(log.eventCount).toBe(2100);
    expect(log.unloadedCount).toBe(0);
    log.ingest([ev(2101)]);
    expect(log.has(1)).toBe(true); // still held while the reader is up there
  });

  it('bounds the pause buffer: the oldest held events become a notice on resume', () => {
    const log = new ActivityLog({ capacity: 100 });
    expect(log.pauseCapacity).toBe(50);
    log.ingest([ev(1)]);
    log.setPaused(true);
    log.ingest(range(2, 81).map((n) => ev(n)));
    expect(log.pendingCount).toBe(80); // every arrival is counted, held or let go
    log.setPaused(false);
    expect(log.eventCount).toBe(51);
    expect(seqs(log.rows.slice(0, 3))).toEqual([1, 'gap 2-31 unloaded', 32]);
    const gap = log.gaps[0]!;
    log.beginBackfill(gap.id);
    log.completeBackfill(gap.id, { events: range(2, 31).map((n) => ev(n)), oldest_sequence_number: 1 });
    expect(seqs(log.rows)).toEqual(range(1, 81));
  });
});

describe('ActivityLog under random operations', () => {
  it('keeps rows sorted and unique, and visible equal to a fresh filtering of rows', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const types = ['chat.message_sent', 'workflow.started', 'x.a', 'file.created'];
    const log = new ActivityLog({ capacity: 300 });
    const filters = ['', 'chat.*', '-x.*', 'workflow.* file.*', 'hello'];
    for (let step = 0; step < 400; step++) {
      const r = random();
      if (r < 0.6) {
        const batch = Array.from({ length: 1 + Math.floor(random() * 20) }, () => {
          const seq = 1 + Math.floor(random() * 800);
          const type = types[Math.floor(random() * types.length)]!;
          const data =
            type === 'chat.message_sent'
              ? { text: random() < 0.5 ? 'hello' : 'bye' }
              : type === 'workflow.started'
                ? { workflow_id: 'w' }
                : type === 'file.created'
                  ? { path: 'a' }
                  : {};
          return ev(seq, type, data);
        });
        log.ingest(batch);
      } else if (r < 0.7) {
        const from = 1 + Math.floor(random() * 800);
        log.addGap(from, from + Math.floor(random() * 30), random() < 0.2 ? 'retention' : 'overflow');
      } else if (r < 0.8) {
        log.setFilter(parseFilter(filters[Math.floor(random() * filters.length)]!));
      } else if (r < 0.9) {
        if (random() < 0.5) log.setPaused(random() < 0.5);
        else log.setHold(random() < 0.5);
      } else {
        const gap = log.gaps[Math.floor(random() * log.gaps.length)];
        if (gap) {
          const request = log.beginBackfill(gap.id);
          if (request)
            log.completeBackfill(gap.id, {
              events: range(request.since + 1, gap.to).map((n) => ev(n)),
              oldest_sequence_number: 1,
            });
        }
      }
      const keys = log.rows.map((row) => row.key);
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
      expect(new Set(keys).size).toBe(keys.length);
      expect(log.eventCount).toBe(log.rows.filter((row) => row.kind === 'event').length);
      // The incrementally kept view must equal filtering every row from scratch.
      const filter = log.filter;
      expect(log.visible).toEqual(log.rows.filter((row) => row.kind === 'gap' || matchesFilter(row, filter)));
      expect(log.visibleEventCount).toBe(log.visible.filter((row) => row.kind === 'event').length);
    }
    // A backfill never trims what it just loaded; the next live event brings the bound back.
    log.setPaused(false);
    log.ingest([ev(10_000)]);
    expect(log.eventCount).toBeLessThanOrEqual(log.holdCapacity + 6);
  });
});

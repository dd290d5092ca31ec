import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../../src-main/events/bus.ts';
import { SqliteEventLog } from '../../../src-main/events/sqlite-event-log.ts';
import { EventStream, type StreamItem } from '../../../src-main/events/event-stream.ts';
import { type Database, openDatabase } from '../../../src-main/store/database.ts';
import { capturedLogger } from '../../helpers/captured-logger.ts';

const open: Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

function newBus(): EventBus {
  const db = openDatabase(':memory:');
  open.push(db);
  // Group commit off: each publish is stored and fanned out inside publish(), so these
  // tests can interleave publishes and reads step by step (group commit has its own suite).
  return new EventBus({
    log: new SqliteEventLog(db, { maxGroup: 1 }),
    logger: capturedLogger().logger,
    queueSize: 1000,
  });
}

/** With group commit off the bus stores and fans out inside publish(): the promise is already settled. */
const publish = (bus: EventBus, types: string[]) => void bus.publish(types.map((type) => ({ type })));
const many = (bus: EventBus, n: number, type = 'x.n') => {
  for (let i = 0; i < n; i += 1000)
    publish(
      bus,
      Array.from({ length: Math.min(1000, n - i) }, () => type),
    );
};

type Options = Partial<ConstructorParameters<typeof EventStream>[1]>;
function stream(bus: EventBus, options: Options = {}) {
  let readable = 0;
  const s = new EventStream(bus, {
    patterns: ['*'],
    replayLimit: 10_000,
    onReadable: () => readable++,
    ...options,
  });
  return { stream: s, readable: () => readable };
}

/** Everything next() gives now, in a compact form. */
function drain(s: EventStream): string[] {
  const out: string[] = [];
  for (let item: StreamItem | undefined = s.next(); item; item = s.next()) {
    if (item.kind === 'event') out.push(String(item.event.seq));
    else if (item.kind === 'gap') out.push(`gap ${item.from}-${item.to} ${item.reason}`);
    else if (item.kind === 'replay_complete') out.push(`complete ${item.last_sequence_number}`);
    else out.push(`error ${item.message}`);
  }
  return out;
}

describe('EventStream', () => {
  it('without since or tail: only what is published after it began', () => {
    const bus = newBus();
    publish(bus, ['x.a', 'x.b']);
    const { stream: s, readable } = stream(bus);
    expect(s.boundary).toBe(2);
    expect(s.oldestAtBoundary).toBe(1);
    expect(s.replaying).toBe(false);
    expect(drain(s)).toEqual([]);
    publish(bus, ['x.c']);
    expect(readable()).toBe(1);
    expect(s.queued).toBe(1);
    expect(drain(s)).toEqual(['3']);
  });

  it('since: replays (since, boundary] then live, meeting at the boundary with no duplicate and no hole', () => {
    const bus = newBus();
    publish(bus, ['x.1', 'x.2', 'x.3', 'x.4']);
    const { stream: s } = stream(bus, { since: 1 });
    publish(bus, ['x.5']); // after the boundary: queued live while the replay is pending
    expect(s.replaying).toBe(true);
    expect(drain(s)).toEqual(['2', '3', '4', 'complete 4', '5']);
    expect(s.replaying).toBe(false);
  });

  it('since with nothing to replay still says so, naming since as the resume point', () => {
    const bus = newBus();
    publish(bus, ['x.1', 'x.2']);
    expect(drain(stream(bus, { since: 1, patterns: ['x.1'] }).stream)).toEqual(['complete 1']);
    // Beyond the newest (2) is clamped to it: the client is never told a number live events fall below.
    expect(drain(stream(bus, { since: 5 }).stream)).toEqual(['complete 2']);
  });

  it('pages a long replay from the store (more than one page of 256)', () => {
    const bus = newBus();
    many(bus, 600);
    const out = drain(stream(bus, { since: 0 }).stream);
    expect(out).toHaveLength(601);
    expect(out.slice(0, -1)).toEqual(Array.from({ length: 600 }, (_, i) => String(i + 1)));
    expect(out.at(-1)).toBe('complete 600');
  });

  it('announces what retention removed as gap(retention) first', () => {
    const bus = newBus();
    many(bus, 10);
    bus.log.prune({ maxEvents: 4, maxAgeMs: 86_400_000 });
    expect(drain(stream(bus, { since: 2 }).stream)).toEqual(['gap 3-6 retention', '7', '8', '9', '10', 'complete 10']);
  });

  it('announces rows pruned while the replay runs, never skipping them silently', () => {
    const bus = newBus();
    many(bus, 600);
    const { stream: s } = stream(bus, { since: 0 });
    const first = s.next();
    expect(first).toMatchObject({ kind: 'event', event: { seq: 1 } });
    // The first page (1..256) is in memory; retention now removes up to 500.
    bus.log.prune({ maxEvents: 100, maxAgeMs: 86_400_000 });
    const rest = drain(s);
    expect(rest.slice(0, 255)).toEqual(Array.from({ length: 255 }, (_, i) => String(i + 2)));
    expect(rest[255]).toBe('gap 257-500 retention');
    expect(rest.slice(256, -1)).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 501)));
    expect(rest.at(-1)).toBe('complete 600');
  });

  it('replays at most replayLimit events: the newest, after one gap(limit) for the older ones', () => {
    const bus = newBus();
    publish(bus, ['x.a', 'x.b', 'x.a', 'x.a', 'x.b', 'x.a', 'x.a']);
    const { stream: s } = stream(bus, { since: 0, replayLimit: 3, patterns: ['x.a'] });
    expect(drain(s)).toEqual(['gap 1-3 limit', '4', '6', '7', 'complete 7']);
  });

  it('tail: the newest N matching events up to the boundary, then live, never a gap for what is older', () => {
    const bus = newBus();
    publish(bus, ['x.a', 'x.b', 'x.a', 'x.a', 'x.b', 'x.a']);
    const { stream: s } = stream(bus, { tail: 2, patterns: ['x.a'] });
    publish(bus, ['x.a']);
    expect(drain(s)).toEqual(['4', '6', 'complete 6', '7']);
  });

  it('tail: caps N at replayLimit, and sends all there is when fewer match', () => {
    const bus = newBus();
    many(bus, 20);
    expect(drain(stream(bus, { tail: 50, replayLimit: 5 }).stream)).toEqual([
      '16',
      '17',
      '18',
      '19',
      '20',
      'complete 20',
    ]);
    expect(drain(stream(bus, { tail: 50, patterns: ['nothing.*'] }).stream)).toEqual(['complete 0']);
  });

  it('tail: starts at the oldest retained event without announcing the pruned range', () => {
    const bus = newBus();
    many(bus, 10);
    bus.log.prune({ maxEvents: 3, maxAgeMs: 86_400_000 });
    const { stream: s } = stream(bus, { tail: 100 });
    expect(s.oldestAtBoundary).toBe(8);
    expect(drain(s)).toEqual(['8', '9', '10', 'complete 10']);
  });

  it('tail=0 and an empty store behave like a live-only stream', () => {
    const bus = newBus();
    expect(drain(stream(bus, { tail: 0 }).stream)).toEqual([]);
    const empty = stream(bus, { tail: 5 }).stream;
    expect(empty.oldestAtBoundary).toBe(1);
    expect(drain(empty)).toEqual(['complete 0']);
  });

  it('since wins over tail', () => {
    const bus = newBus();
    many(bus, 5);
    expect(drain(stream(bus, { since: 3, tail: 1 }).stream)).toEqual(['4', '5', 'complete 5']);
  });

  it('a new filter applies to the rest of the replay and to live delivery alike', () => {
    const bus = newBus();
    publish(bus, ['x.a', 'x.c', 'x.a', 'x.c']);
    const { stream: s } = stream(bus, { since: 0 });
    expect(s.next()).toMatchObject({ kind: 'event', event: { seq: 1 } });
    s.setPatterns(['x.c']);
    expect(s.patterns).toEqual(['x.c']);
    publish(bus, ['x.a', 'x.c']);
    expect(drain(s)).toEqual(['2', '4', 'complete 4', '6']);
  });

  it('reports overflow of the live queue as gap(overflow) before the next event', () => {
    const bus = newBus();
    const { stream: s } = stream(bus, { capacity: 2 });
    publish(bus, ['x.1', 'x.2', 'x.3', 'x.4']);
    expect(s.dropped).toBe(2);
    expect(drain(s)).toEqual(['gap 1-2 overflow', '3', '4']);
  });

  it('reads from the store what the live queue dropped during a replay: no gap, nothing counted as dropped', () => {
    const bus = newBus();
    publish(bus, ['x.1', 'x.2', 'x.3']);
    const { stream: s } = stream(bus, { since: 0, capacity: 2, patterns: ['x.keep'] });
    // Published while the replay has not been read yet: 5 matching events for a queue of 2.
    publish(bus, ['x.keep', 'x.skip', 'x.keep', 'x.keep', 'x.skip', 'x.keep', 'x.keep']);
    expect(drain(s)).toEqual(['complete 0', '4', '6', '7', '9', '10']);
    expect(s.dropped).toBe(0);
    expect(bus.stats.dropped).toBe(0);
    // Once caught up, the queue announces its drops again.
    publish(bus, ['x.keep', 'x.keep', 'x.keep']);
    expect(drain(s)).toEqual(['gap 11-11 overflow', '12', '13']);
    expect(s.dropped).toBe(1);
    expect(bus.stats.dropped).toBe(1);
  });

  it('refills again when the queue overflows while a refill is being read', () => {
    const bus = newBus();
    publish(bus, ['x.1', 'x.2']);
    const { stream: s } = stream(bus, { since: 0, capacity: 2 });
    publish(bus, ['x.3', 'x.4', 'x.5', 'x.6']); // 3-4 dropped
    expect(s.next()).toMatchObject({ kind: 'event', event: { seq: 1 } });
    expect(s.next()).toMatchObject({ kind: 'event', event: { seq: 2 } });
    expect(s.next()).toMatchObject({ kind: 'replay_complete', last_sequence_number: 2 });
    expect(s.next()).toMatchObject({ kind: 'event', event: { seq: 3 } }); // the refill has begun
    publish(bus, ['x.7', 'x.8']); // 5-6 dropped now
    expect(drain(s)).toEqual(['4', '5', '6', '7', '8']);
    expect(bus.stats.dropped).toBe(0);
  });

  it('announces a replay’s overflow as gap(overflow) when it is more than replayLimit events', () => {
    const bus = newBus();
    publish(bus, ['x.1']);
    const { stream: s } = stream(bus, { since: 0, capacity: 1, replayLimit: 2 });
    publish(bus, ['x.2', 'x.3', 'x.4', 'x.5']); // 2-4 dropped: three, over the limit of two
    expect(drain(s)).toEqual(['1', 'complete 1', 'gap 2-4 overflow', '5']);
    expect(bus.stats.dropped).toBe(3);
  });

  it('applies a filter changed while a page is on its way (an asynchronous store) to that page', async () => {
    const bus = newBus();
    publish(bus, ['x.a', 'x.b', 'x.a', 'x.b']);
    // The real log, answering its reads a turn later, as PostgreSQL does.
    const log = bus.log;
    const read = log.read.bind(log);
    log.read = (options) => new Promise((resolve) => setImmediate(() => resolve(read(options))));
    let readable = 0;
    const s = new EventStream(bus, { since: 0, patterns: ['*'], replayLimit: 100, onReadable: () => readable++ });
    await new Promise((resolve) => setImmediate(resolve)); // count and oldest answered
    expect(s.next()).toBeUndefined(); // the page is on its way
    s.setPatterns(['x.a']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(readable).toBeGreaterThan(0);
    expect(drain(s)).toEqual(['1', '3', 'complete 3']);
  });

  it('a live-only stream still announces its drops as gap(overflow)', () => {
    const bus = newBus();
    publish(bus, ['x.1']);
    const { stream: s } = stream(bus, { capacity: 1 });
    publish(bus, ['x.2', 'x.3']);
    expect(drain(s)).toEqual(['gap 2-2 overflow', '3']);
    expect(bus.stats.dropped).toBe(1);
  });

  it('close() stops live delivery and releases its subscription', () => {
    const bus = newBus();
    const { stream: s } = stream(bus);
    expect(bus.subscriberCount).toBe(1);
    s.close();
    expect(bus.subscriberCount).toBe(0);
    publish(bus, ['x.1']);
    expect(drain(s)).toEqual([]);
  });
});

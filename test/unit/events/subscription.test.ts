import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../../src-main/events/event-log.ts';
import { Subscription } from '../../../src-main/events/subscription.ts';

const event = (seq: number, type = 'x.a'): StoredEvent => ({ seq, type, json: JSON.stringify({ seq, type }) });

function subscription(options: { patterns?: string[]; capacity?: number } = {}) {
  const calls = { readable: 0, released: 0 };
  const sub: Subscription = new Subscription({
    patterns: options.patterns ?? ['*'],
    capacity: options.capacity ?? 10,
    onReadable: () => calls.readable++,
    release: (s) => {
      expect(s).toBe(sub);
      calls.released++;
    },
  });
  return { sub, calls };
}

/** Everything take() gives until the queue is empty. */
function drain(sub: Subscription): (number | string)[] {
  const out: (number | string)[] = [];
  for (let item = sub.take(); item; item = sub.take()) {
    out.push('gap' in item ? `gap ${item.gap.from}-${item.gap.to}` : item.event.seq);
  }
  return out;
}

describe('Subscription', () => {
  it('queues matching events in order and signals only when the queue goes from empty to non-empty', () => {
    const { sub, calls } = subscription({ patterns: ['x.*'] });
    sub.offer(event(1));
    sub.offer(event(2, 'chat.message_sent'));
    sub.offer(event(3, 'x.b'));
    expect(calls.readable).toBe(1);
    expect(sub.size).toBe(2);
    expect(drain(sub)).toEqual([1, 3]);
    expect(sub.take()).toBeUndefined();
    sub.offer(event(4));
    expect(calls.readable).toBe(2);
  });

  it('drops the oldest when full and reports the dropped range once, before the next event', () => {
    const { sub, calls } = subscription({ capacity: 3 });
    for (let seq = 1; seq <= 7; seq++) sub.offer(event(seq));
    expect(sub.dropped).toBe(4);
    expect(sub.size).toBe(3);
    expect(calls.readable).toBe(1);
    expect(drain(sub)).toEqual(['gap 1-4', 5, 6, 7]);
    // A later overflow is its own range.
    for (let seq = 8; seq <= 12; seq++) sub.offer(event(seq));
    expect(drain(sub)).toEqual(['gap 8-9', 10, 11, 12]);
    expect(sub.dropped).toBe(6);
  });

  it('does not signal again while an undelivered gap is pending, even with an empty queue', () => {
    const { sub, calls } = subscription({ capacity: 1 });
    sub.offer(event(1));
    sub.offer(event(2)); // drops 1: gap pending, 2 queued
    sub.setPatterns(['chat.*']); // 2 leaves the queue; the gap stays owed
    expect(sub.size).toBe(0);
    sub.offer(event(3, 'chat.message_sent'));
    expect(calls.readable).toBe(1); // the consumer was told once and has not drained yet
    expect(drain(sub)).toEqual(['gap 1-1', 3]);
  });

  it('applies a new filter to what is queued as well as to what comes', () => {
    const { sub } = subscription();
    sub.offer(event(1, 'x.a'));
    sub.offer(event(2, 'chat.message_sent'));
    sub.offer(event(3, 'x.b'));
    sub.take(); // consumed: the head moved
    sub.setPatterns(['chat.*']);
    expect(sub.patterns).toEqual(['chat.*']);
    sub.offer(event(4, 'x.c'));
    sub.offer(event(5, 'chat.message_received'));
    expect(drain(sub)).toEqual([2, 5]);
  });

  it('keeps its order through the compaction of a long-consumed queue', () => {
    const { sub } = subscription({ capacity: 5000 });
    for (let seq = 1; seq <= 3000; seq++) sub.offer(event(seq));
    const taken: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const item = sub.take();
      if (item && 'event' in item) taken.push(item.event.seq);
    }
    for (let seq = 3001; seq <= 3010; seq++) sub.offer(event(seq)); // compacts (head > 1024)
    const rest = drain(sub);
    expect([...taken, ...rest]).toEqual(Array.from({ length: 3010 }, (_, i) => i + 1));
    expect(sub.size).toBe(0);
  });

  it('on close empties, releases itself once, and ignores later events', () => {
    const { sub, calls } = subscription();
    sub.offer(event(1));
    sub.close();
    sub.close();
    expect(sub.closed).toBe(true);
    expect(calls.released).toBe(1);
    sub.offer(event(2));
    expect(sub.size).toBe(0);
    expect(sub.take()).toBeUndefined();
  });

  it('merges a range it could not read with an overflow into one retention gap, never an inverted one', () => {
    const { sub } = subscription({ capacity: 3 });
    for (const seq of [5, 6, 7]) sub.offer(event(seq));
    sub.offerLost(8, 10);
    sub.offer(event(11)); // drops 5
    const first = sub.take();
    expect(first).toEqual({ gap: { from: 5, to: 10, reason: 'retention' } });
    const other = subscription({ capacity: 1 }).sub;
    other.offer(event(1));
    other.offer(event(2)); // drops 1: an overflow gap
    other.offerLost(3, 4);
    expect(other.take()).toEqual({ gap: { from: 1, to: 4, reason: 'retention' } });
  });

  it('holds drops uncounted for a refill, and counts them when the gap cannot be refilled', () => {
    const stats = { dropped: 0, queueHighWater: 0 } as unknown as ConstructorParameters<
      typeof Subscription
    >[0]['stats'];
    const make = () =>
      new Subscription({ patterns: ['*'], capacity: 1, onReadable: () => undefined, release: () => undefined, stats });
    const refilled = make();
    refilled.holdDrops();
    for (const seq of [1, 2, 3]) refilled.offer(event(seq));
    expect(refilled.releaseDrops(10)).toEqual({ from: 1, to: 2 });
    expect(refilled.dropped).toBe(0);
    expect(drain(refilled)).toEqual([3]);
    // More than the caller will read back: announced and counted after all.
    const tooMany = make();
    tooMany.holdDrops();
    for (const seq of [1, 2, 3, 4]) tooMany.offer(event(seq));
    expect(tooMany.releaseDrops(2)).toBeUndefined();
    expect(tooMany.dropped).toBe(3);
    expect(drain(tooMany)).toEqual(['gap 1-3', 4]);
    // Merged with a range this server could not read: announced and counted.
    const lost = make();
    lost.holdDrops();
    lost.offer(event(1));
    lost.offer(event(2));
    lost.offerLost(3, 5);
    expect(lost.releaseDrops(10)).toBeUndefined();
    expect(lost.dropped).toBe(1);
    expect(stats!.dropped).toBe(4);
  });
});

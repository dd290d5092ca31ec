import { describe, expect, it } from 'vitest';
import {
  describeLock,
  formatAge,
  formatClock,
  formatCount,
  formatDuration,
  formatWhen,
  secondsUntil,
} from '../../src-renderer/model/format.ts';
import { FrameBatcher, type FrameScheduler } from '../../src-renderer/model/frame-batcher.ts';

/** A scheduler the test drives by hand: frames and timers run only when told. */
function manualScheduler() {
  let next = 1;
  const frames = new Map<number, () => void>();
  const timers = new Map<number, () => void>();
  const scheduler: FrameScheduler = {
    requestFrame: (cb) => (frames.set(next, cb), next++),
    cancelFrame: (h) => void frames.delete(h),
    setTimer: (cb) => (timers.set(next, cb), next++),
    clearTimer: (h) => void timers.delete(h),
  };
  const run = (map: Map<number, () => void>) => {
    const callbacks = [...map.values()];
    map.clear();
    for (const cb of callbacks) cb();
  };
  return { scheduler, frame: () => run(frames), timeout: () => run(timers), pending: () => frames.size + timers.size };
}

describe('FrameBatcher', () => {
  it('hands over everything pushed before a frame in one batch', () => {
    const clock = manualScheduler();
    const batches: number[][] = [];
    const batcher = new FrameBatcher<number>((items) => batches.push(items), clock.scheduler);
    for (let i = 0; i < 1000; i++) batcher.push(i);
    expect(batches).toEqual([]);
    clock.frame();
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(1000);
    expect(clock.pending()).toBe(0); // the fallback timer was cancelled
  });

  it('drains on the fallback timer when no frame comes (a hidden tab)', () => {
    const clock = manualScheduler();
    const batches: number[][] = [];
    const batcher = new FrameBatcher<number>((items) => batches.push(items), clock.scheduler);
    batcher.push(1);
    batcher.push(2);
    clock.timeout();
    expect(batches).toEqual([[1, 2]]);
    expect(clock.pending()).toBe(0);
    batcher.push(3);
    clock.frame();
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('flushes on demand (before a gap notice) and drops everything on dispose', () => {
    const clock = manualScheduler();
    const batches: number[][] = [];
    const batcher = new FrameBatcher<number>((items) => batches.push(items), clock.scheduler);
    batcher.push(1);
    batcher.flush();
    batcher.flush();
    expect(batches).toEqual([[1]]);
    batcher.push(2);
    expect(batcher.size).toBe(1);
    batcher.dispose();
    clock.frame();
    clock.timeout();
    expect(batches).toEqual([[1]]);
  });
});

describe('format', () => {
  it('writes clock times with milliseconds in local time', () => {
    const d = new Date(2026, 10, 23, 9, 5, 7, 42);
    expect(formatClock(d.toISOString())).toBe('09:05:07.042');
    expect(formatClock('not a date')).toBe('not a date');
  });

  it('names the lock holder like the banner does', () => {
    const since = new Date(2026, 10, 23, 14, 2).toISOString();
    expect(describeLock({ holder: 'cli', pid: 4242, hostname: 'box', since, id: 'x' })).toBe(
      'CLI pid 4242 since 14:02',
    );
    expect(describeLock({ holder: 'server', pid: 1, hostname: null, since: 'garbage', id: null })).toBe('Server pid 1');
    expect(describeLock({ holder: null, pid: null, hostname: null, since: null, id: null })).toBe('nobody');
  });

  it('writes counts, countdowns, durations and ages', () => {
    expect(formatCount(60000)).toBe('60,000');
    expect(secondsUntil(10_500, 10_000)).toBe(1);
    expect(secondsUntil(9_000, 10_000)).toBe(0);
    expect(formatDuration(5)).toBe('5 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    const now = Date.parse('2026-11-23T17:00:00Z');
    expect(formatAge('2026-11-23T16:59:50Z', now)).toBe('just now');
    expect(formatAge('2026-11-23T16:55:00Z', now)).toBe('5 min ago');
    expect(formatAge('2026-11-23T14:00:00Z', now)).toBe('3 h ago');
  });

  it('writes calendar times relative to today', () => {
    const now = new Date(2026, 10, 23, 12, 0);
    expect(formatWhen(new Date(2026, 10, 23, 14, 30).toISOString(), now)).toBe('14:30');
    expect(formatWhen(new Date(2026, 10, 24, 9, 0).toISOString(), now)).toBe('Tomorrow 09:00');
    expect(formatWhen('2026-11-24', now)).toBe('Tomorrow');
    expect(formatWhen(new Date(2026, 10, 26, 10, 0).toISOString(), now)).toMatch(/^Thu, Nov 26 10:00$/);
  });
});

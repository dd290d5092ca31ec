import { describe, expect, it } from 'vitest';
import { FrameBatcher, type FrameScheduler } from '../../../../src-renderer/model/frame-batcher.ts';

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

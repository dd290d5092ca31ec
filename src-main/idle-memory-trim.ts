import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from './logger.ts';

/** How often the server looks whether it is idle. */
const CHECK_MS = 5_000;
/**
 * Start-up's own allocation is what grew the young generation first: it is trimmed this
 * soon after listening whatever the load (the collectors' first scans still run then, and
 * a busy machine makes the loop look busy), not only once an idle look allows.
 */
const AFTER_START_MS = 250;
/** Idle: the event loop was busy less than this share of the time since the last look. */
const IDLE_UTILIZATION = 0.02;
/** Below this the young generation is as small as it gets back to anyway (V8 starts at 1 MB). */
const TRIM_ABOVE_BYTES = 4 * 1024 * 1024;

type MemoryReducingGc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let gc: MemoryReducingGc | null | undefined;

/**
 * V8's `gc` extension, taken from a fresh context (the flag only adds it to contexts made
 * after it is set) and the flag cleared again, so no other context ever sees `gc`.
 */
function memoryReducingGc(): MemoryReducingGc | null {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as MemoryReducingGc;
    } catch {
      gc = null;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  return gc;
}

export const youngGenerationBytes = (): number =>
  v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;

/** Whether to trim: the loop was (nearly) idle and the young generation is still large. */
export const shouldTrim = (utilization: number, youngBytes: number): boolean =>
  utilization < IDLE_UTILIZATION && youngBytes > TRIM_ABOVE_BYTES;

/**
 * Gives back the young generation an idle server no longer needs (issue 19, idle RSS).
 * Start-up's allocation grows V8's young generation to 16–32 MB, and a burst of events
 * does the same; V8 keeps it committed while idle, where it is the largest part of the
 * server's idle RSS that nothing uses. When the event loop has been idle since the last
 * look, one memory-reducing GC (what V8 does for a background tab) shrinks it back to
 * 1 MB; it grows again as soon as load returns. A look costs a few microseconds; a trim
 * (10–40 ms) happens once after start-up, then only once per busy → idle change.
 * For the `lookout serve` process only: several runtimes in one process (tests) or the
 * desktop app's main process decide for themselves. Returns a stop function.
 */
export function trimMemoryWhenIdle(logger?: Logger): () => void {
  let last = performance.eventLoopUtilization();
  const check = (afterStart = false) => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    const before = youngGenerationBytes();
    if (!shouldTrim(afterStart ? 0 : utilization, before)) return;
    const collect = memoryReducingGc();
    if (!collect) return;
    const started = performance.now();
    collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    // The GC's own time is not load: start the next look's window after it.
    last = performance.eventLoopUtilization();
    logger?.debug(
      {
        young_generation_mb_before: Math.round(before / 2 ** 20),
        young_generation_mb_after: Math.round(youngGenerationBytes() / 2 ** 20),
        duration_ms: Math.round(performance.now() - started),
      },
      'idle: trimmed memory',
    );
  };
  const first = setTimeout(() => check(true), AFTER_START_MS).unref();
  const timer = setInterval(() => check(), CHECK_MS).unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}

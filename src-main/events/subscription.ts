import { matchesAny } from '../../src-shared/events.ts';
import type { StoredEvent } from './event-log.ts';
import type { StreamStats } from './stream-stats.ts';

export interface OverflowGap {
  from: number;
  to: number;
  /** Set when the range was pruned before this server could read it (PostgreSQL, far behind). */
  reason?: 'retention';
}

/**
 * One consumer's bounded queue. When it is full the oldest event is dropped and the
 * dropped range remembered, so the consumer learns of it (a `gap`) before the next
 * event it does get. Memory per subscriber is therefore bounded by `capacity`.
 */
export class Subscription {
  readonly capacity: number;
  #patterns: readonly string[];
  #items: (StoredEvent | undefined)[] = [];
  #head = 0;
  #gap: OverflowGap | undefined;
  #dropped = 0;
  /** Drops are being held back from the counts (see holdDrops), and how many so far. */
  #holding = false;
  #held = 0;
  #onReadable: () => void;
  #closed = false;
  #release: (subscription: Subscription) => void;
  #stats: StreamStats | undefined;

  constructor(options: {
    patterns: readonly string[];
    capacity: number;
    onReadable: () => void;
    release: (subscription: Subscription) => void;
    /** Where drops and the queue high-water mark are counted (the bus's totals). */
    stats?: StreamStats;
  }) {
    this.#stats = options.stats;
    this.#patterns = options.patterns;
    this.capacity = options.capacity;
    this.#onReadable = options.onReadable;
    this.#release = options.release;
  }

  get patterns(): readonly string[] {
    return this.#patterns;
  }

  /** Replaces the filter, for queued events too: nothing the new filter excludes arrives after it. */
  setPatterns(patterns: readonly string[]): void {
    this.#patterns = patterns;
    this.#items = this.#items
      .slice(this.#head)
      .filter((event) => event !== undefined && matchesAny(event.type, patterns));
    this.#head = 0;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Total events ever dropped for this subscriber. */
  get dropped(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called by the bus for every published event. */
  offer(event: StoredEvent): void {
    if (this.#closed || !matchesAny(event.type, this.#patterns)) return;
    const wasEmpty = this.size === 0 && !this.#gap;
    if (this.size >= this.capacity) {
      const oldest = this.#items[this.#head]!;
      this.#items[this.#head++] = undefined;
      if (this.#holding) this.#held++;
      else this.#count(1);
      // One announced range: a range this server could not read (offerLost) may already be
      // waiting, below or above the dropped event; it keeps the range `retention`.
      this.#gap = this.#gap
        ? { ...this.#gap, from: Math.min(this.#gap.from, oldest.seq), to: Math.max(this.#gap.to, oldest.seq) }
        : { from: oldest.seq, to: oldest.seq };
    }
    this.#items.push(event);
    if (this.#stats && this.size > this.#stats.queueHighWater) this.#stats.queueHighWater = this.size;
    // Compact now and then so the array does not grow with the consumed prefix.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (wasEmpty) this.#onReadable();
  }

  /**
   * A range this server can no longer deliver (pruned before it was read): the consumer
   * is told with a gap before the next event, whatever its filter (the types are unknown).
   */
  offerLost(from: number, to: number): void {
    if (this.#closed) return;
    const wasEmpty = this.size === 0 && !this.#gap;
    this.#gap = this.#gap
      ? { from: Math.min(this.#gap.from, from), to: Math.max(this.#gap.to, to), reason: 'retention' }
      : { from, to, reason: 'retention' };
    if (wasEmpty) this.#onReadable();
  }

  #count(dropped: number): void {
    this.#dropped += dropped;
    if (this.#stats) this.#stats.dropped += dropped;
  }

  /**
   * From now on, events dropped on overflow are not counted as dropped yet: the consumer
   * is still reading the store (a replay), and may fetch them from there instead.
   */
  holdDrops(): void {
    this.#holding = true;
  }

  /**
   * Ends holdDrops. The overflow gap made meanwhile is handed back (and no longer
   * announced) for the consumer to read from the store, if it holds at most `max` events.
   * Otherwise it stays to be announced, and its events count as dropped: a larger one, or
   * one merged with a range this server could not read at all (`retention`).
   */
  releaseDrops(max: number): OverflowGap | undefined {
    this.#holding = false;
    const held = this.#held;
    this.#held = 0;
    const gap = this.#gap;
    if (!gap || held === 0) return undefined;
    if (gap.reason === 'retention' || held > max) {
      this.#count(held);
      return undefined;
    }
    this.#gap = undefined;
    return gap;
  }

  /** The next thing to deliver: a pending overflow gap first, then the oldest event. */
  take(): { gap: OverflowGap } | { event: StoredEvent } | undefined {
    if (this.#gap) {
      const gap = this.#gap;
      this.#gap = undefined;
      return { gap };
    }
    if (this.size === 0) return undefined;
    const event = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined;
    if (this.size === 0) {
      this.#items = [];
      this.#head = 0;
    }
    return { event };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#items = [];
    this.#head = 0;
    this.#release(this);
  }
}

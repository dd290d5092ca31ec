import { matchesAny } from '../../src-shared/events.ts';
import type { EventBus } from './bus.ts';
import type { StoredEvent } from './event-log.ts';
import type { Subscription } from './subscription.ts';

export type GapReason = 'retention' | 'overflow' | 'limit';

export type StreamItem =
  | { kind: 'event'; event: StoredEvent }
  | { kind: 'gap'; from: number; to: number; reason: GapReason }
  | { kind: 'replay_complete'; last_sequence_number: number };

const PAGE = 256;

/**
 * What one client (WebSocket or SSE) receives, as a pull-based sequence: an optional
 * replay from the store (after `since`, or the newest `tail` events), then the live
 * stream, with no duplicate and no hole.
 *
 * The live subscription is taken first and the store read only up to the number that
 * was newest at that instant (`boundary`). Publishing is synchronous, so every event
 * is either ≤ boundary (replayed from the store) or > boundary (queued live): the two
 * halves meet exactly. The transport pulls with next() only while it can write, so
 * neither half is held in memory beyond one page and the bounded live queue.
 */
export class EventStream {
  readonly boundary: number;
  /** The oldest number still stored when the stream began (boundary + 1 for an empty store). */
  readonly oldestAtBoundary: number;
  #bus: EventBus;
  #subscription: Subscription;
  #replay: { cursor: number; page: StoredEvent[]; lastSent: number } | undefined;
  #pending: StreamItem[] = [];
  #replayLimit: number;

  constructor(
    bus: EventBus,
    options: {
      since?: number | undefined;
      /** Without `since`: start with the newest `tail` matching events (at most replayLimit). */
      tail?: number | undefined;
      patterns: readonly string[];
      capacity?: number;
      replayLimit: number;
      onReadable: () => void;
    },
  ) {
    this.#bus = bus;
    this.#replayLimit = options.replayLimit;
    this.#subscription = bus.subscribe({
      patterns: options.patterns,
      capacity: options.capacity,
      onReadable: options.onReadable,
    });
    this.boundary = bus.log.lastSequenceNumber;
    this.oldestAtBoundary = bus.log.oldestSequenceNumber;
    if (options.since !== undefined) this.#startReplay(options.since);
    else if (options.tail !== undefined && options.tail > 0) this.#startTail(options.tail);
  }

  get patterns(): readonly string[] {
    return this.#subscription.patterns;
  }

  /** Replaces the filter for the rest of the replay and for live delivery alike. */
  setPatterns(patterns: readonly string[]): void {
    this.#subscription.setPatterns(patterns);
    if (this.#replay) this.#replay.page = this.#replay.page.filter((event) => matchesAny(event.type, patterns));
  }

  get replaying(): boolean {
    return this.#replay !== undefined || this.#pending.length > 0;
  }

  #startReplay(requested: number): void {
    const log = this.#bus.log;
    // A number beyond the newest is clamped to it (docs/protocol.md): replay_complete then
    // reports the real newest, and live events follow it, never numbers below the one announced.
    const since = Math.min(Math.max(0, requested), this.boundary);
    let cursor = since;
    const oldest = log.oldestSequenceNumber;
    if (cursor + 1 < oldest && cursor < this.boundary) {
      const to = Math.min(oldest - 1, this.boundary);
      this.#pending.push({ kind: 'gap', from: cursor + 1, to, reason: 'retention' });
      cursor = to;
    }
    const patterns = this.#subscription.patterns;
    const { count, first } = log.countRange(cursor, this.boundary, patterns);
    if (count > this.#replayLimit && first !== null) {
      // Send the newest replayLimit events; the older part is announced as a gap the
      // client can page through GET /api/v1/events.
      const cutoff = log.seqFromEnd(cursor, this.boundary, patterns, this.#replayLimit)!;
      this.#pending.push({ kind: 'gap', from: first, to: cutoff, reason: 'limit' });
      cursor = cutoff;
    }
    this.#replay = { cursor, page: [], lastSent: since };
  }

  /**
   * The newest `count` matching events up to the boundary, oldest first, then
   * `replay_complete`. What lies before them was not asked for, so it is no gap; a
   * client that wants it pages back with GET /api/v1/events from oldest_sequence_number.
   */
  #startTail(count: number): void {
    const take = Math.min(count, this.#replayLimit);
    // The event just before the tail, or (fewer matching events than asked) the start of
    // what is stored: starting below it would announce the pruned range as a gap.
    const before = this.#bus.log.seqFromEnd(0, this.boundary, this.#subscription.patterns, take);
    const cursor = Math.max(before ?? 0, this.oldestAtBoundary - 1);
    this.#replay = { cursor, page: [], lastSent: cursor };
  }

  /** The next item to send, or undefined when there is nothing now (wait for onReadable). */
  next(): StreamItem | undefined {
    const pending = this.#pending.shift();
    if (pending) return pending;
    const replay = this.#replay;
    if (replay) {
      if (replay.page.length === 0 && replay.cursor < this.boundary) {
        // Retention may have pruned rows since the replay began: announce, never skip.
        const oldest = this.#bus.log.oldestSequenceNumber;
        if (replay.cursor + 1 < oldest) {
          const to = Math.min(oldest - 1, this.boundary);
          const from = replay.cursor + 1;
          replay.cursor = to;
          return { kind: 'gap', from, to, reason: 'retention' };
        }
        replay.page = this.#bus.log.read({
          after: replay.cursor,
          upTo: this.boundary,
          patterns: this.#subscription.patterns,
          limit: PAGE,
        });
        replay.cursor = replay.page.length < PAGE ? this.boundary : replay.page.at(-1)!.seq;
      }
      const event = replay.page.shift();
      if (event) {
        replay.lastSent = event.seq;
        return { kind: 'event', event };
      }
      this.#replay = undefined;
      return { kind: 'replay_complete', last_sequence_number: replay.lastSent };
    }
    const item = this.#subscription.take();
    if (!item) return undefined;
    return 'gap' in item ? { kind: 'gap', ...item.gap, reason: 'overflow' } : { kind: 'event', event: item.event };
  }

  /** Live events waiting (for diagnostics and tests). */
  get queued(): number {
    return this.#subscription.size;
  }

  /** Live events dropped because this consumer fell behind. */
  get dropped(): number {
    return this.#subscription.dropped;
  }

  close(): void {
    this.#subscription.close();
  }
}

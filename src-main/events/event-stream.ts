import { matchesAny } from '../../src-shared/events.ts';
import { type Awaitable, andThen } from './awaitable.ts';
import type { EventBus } from './bus.ts';
import type { StoredEvent } from './event-log.ts';
import type { Subscription } from './subscription.ts';

export type GapReason = 'retention' | 'overflow' | 'limit';

export type StreamItem =
  | { kind: 'event'; event: StoredEvent }
  | { kind: 'gap'; from: number; to: number; reason: GapReason }
  | { kind: 'replay_complete'; last_sequence_number: number }
  /** The store failed mid-replay (PostgreSQL unreachable): the transport ends the stream; the client resumes. */
  | { kind: 'error'; code: 'unavailable'; message: string };

const PAGE = 256;

interface Replay {
  cursor: number;
  /** The last number this replay reads (the boundary, or the end of a refilled overflow). */
  upTo: number;
  page: StoredEvent[];
  lastSent: number;
  /** A refill of events the live queue dropped meanwhile: it ends without replay_complete. */
  refill: boolean;
}

/**
 * What one client (WebSocket or SSE) receives, as a pull-based sequence: an optional
 * replay from the store (after `since`, or the newest `tail` events), then the live
 * stream, with no duplicate and no hole.
 *
 * The live subscription is taken first and the store read only up to the number that
 * was newest at that instant (`boundary`). The log feeds subscribers in order and moves
 * its last number in the same step, so every event is either ≤ boundary (replayed from
 * the store) or > boundary (queued live): the two halves meet exactly. The transport
 * pulls with next() only while it can write, so neither half is held in memory beyond
 * one page and the bounded live queue.
 *
 * Reads from a SQLite log answer at once, so next() returns them synchronously; reads
 * from PostgreSQL answer later: next() then returns undefined and `onReadable` fires when
 * the page has arrived.
 */
export class EventStream {
  readonly boundary: number;
  /** The oldest number still stored when the stream began (boundary + 1 for an empty store). */
  readonly oldestAtBoundary: number;
  #bus: EventBus;
  #subscription: Subscription;
  #replay: Replay | undefined;
  #pending: StreamItem[] = [];
  #replayLimit: number;
  #onReadable: () => void;
  /** A store read under way: next() has nothing until it lands. */
  #waiting = false;
  #closed = false;

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
    this.#onReadable = options.onReadable;
    this.#subscription = bus.subscribe({
      patterns: options.patterns,
      capacity: options.capacity,
      onReadable: options.onReadable,
    });
    this.boundary = bus.log.lastSequenceNumber;
    this.oldestAtBoundary = bus.log.oldestSequenceNumber;
    const replaying = options.since !== undefined || (options.tail !== undefined && options.tail > 0);
    // While the store is read, live events wait in the bounded queue; on PostgreSQL the
    // pages arrive asynchronously and a flood can overflow it. What overflows then is in
    // the store too, so it is read from there after the replay (a refill) instead of
    // being announced as a gap: a client that asked for history loses nothing to the
    // speed of the store.
    if (replaying) this.#subscription.holdDrops();
    if (options.since !== undefined) this.#await(this.#startReplay(options.since));
    else if (options.tail !== undefined && options.tail > 0) this.#await(this.#startTail(options.tail));
  }

  /**
   * Lets a store answer arrive: nothing to do when it is already here (SQLite); else
   * next() waits for it, and the consumer is woken when it lands (or when it failed).
   */
  #await(work: Awaitable<void>): void {
    if (!(work instanceof Promise)) return;
    this.#waiting = true;
    work.then(
      () => {
        this.#waiting = false;
        if (!this.#closed) this.#onReadable();
      },
      (error: unknown) => {
        this.#waiting = false;
        this.#replay = undefined;
        this.#pending = [
          {
            kind: 'error',
            code: 'unavailable',
            message: `the history cannot be read now (${(error as Error)?.message ?? String(error)}); reconnect with since to resume`,
          },
        ];
        if (!this.#closed) this.#onReadable();
      },
    );
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

  #startReplay(requested: number): Awaitable<void> {
    const log = this.#bus.log;
    // A number beyond the newest is clamped to it (docs/protocol.md): replay_complete then
    // reports the real newest, and live events follow it, never numbers below the one announced.
    const since = Math.min(Math.max(0, requested), this.boundary);
    let cursor = since;
    return andThen(log.oldest(), (oldest) => {
      if (cursor + 1 < oldest && cursor < this.boundary) {
        const to = Math.min(oldest - 1, this.boundary);
        this.#pending.push({ kind: 'gap', from: cursor + 1, to, reason: 'retention' });
        cursor = to;
      }
      const patterns = this.#subscription.patterns;
      return andThen(log.countRange(cursor, this.boundary, patterns), ({ count, first }) => {
        const start = (at: number) => {
          this.#replay = { cursor: at, upTo: this.boundary, page: [], lastSent: since, refill: false };
        };
        if (count <= this.#replayLimit || first === null) return start(cursor);
        // Send the newest replayLimit events; the older part is announced as a gap the
        // client can page through GET /api/v1/events.
        return andThen(log.seqFromEnd(cursor, this.boundary, patterns, this.#replayLimit), (cutoff) => {
          this.#pending.push({ kind: 'gap', from: first, to: cutoff!, reason: 'limit' });
          start(cutoff!);
        });
      });
    });
  }

  /**
   * The newest `count` matching events up to the boundary, oldest first, then
   * `replay_complete`. What lies before them was not asked for, so it is no gap; a
   * client that wants it pages back with GET /api/v1/events from oldest_sequence_number.
   */
  #startTail(count: number): Awaitable<void> {
    const take = Math.min(count, this.#replayLimit);
    // The event just before the tail, or (fewer matching events than asked) the start of
    // what is stored: starting below it would announce the pruned range as a gap.
    return andThen(this.#bus.log.seqFromEnd(0, this.boundary, this.#subscription.patterns, take), (before) => {
      const cursor = Math.max(before ?? 0, this.oldestAtBoundary - 1);
      this.#replay = { cursor, upTo: this.boundary, page: [], lastSent: cursor, refill: false };
    });
  }

  /**
   * The next item to send, or undefined when there is nothing now (wait for onReadable).
   * The transport sends what it gets at once, so each item is counted here as delivered.
   */
  next(): StreamItem | undefined {
    const item = this.#next();
    if (item) {
      const stats = this.#bus.stats;
      if (item.kind === 'event') stats.delivered++;
      else if (item.kind === 'gap') stats.gaps[item.reason]++;
    }
    return item;
  }

  #next(): StreamItem | undefined {
    if (this.#waiting) return undefined;
    const pending = this.#pending.shift();
    if (pending) return pending;
    const replay = this.#replay;
    if (replay) {
      if (replay.page.length === 0 && replay.cursor < replay.upTo) {
        this.#await(this.#nextPage(replay));
        if (this.#waiting) return undefined;
        const gap = this.#pending.shift();
        if (gap) return gap;
      }
      const event = replay.page.shift();
      if (event) {
        replay.lastSent = event.seq;
        return { kind: 'event', event };
      }
      if (replay.cursor < replay.upTo) return this.#next();
      this.#replay = undefined;
      this.#refill();
      // The refill's events are past the boundary, live to the client: the replay proper ends here.
      if (!replay.refill) return { kind: 'replay_complete', last_sequence_number: replay.lastSent };
      return this.#next();
    }
    const item = this.#subscription.take();
    if (!item) return undefined;
    return 'gap' in item
      ? { kind: 'gap', from: item.gap.from, to: item.gap.to, reason: item.gap.reason ?? 'overflow' }
      : { kind: 'event', event: item.event };
  }

  /**
   * At the end of a replay: the live events the queue dropped meanwhile become the next
   * replay (still holding drops, which the refill may cause in turn), or the queue goes
   * back to announcing its drops.
   */
  #refill(): void {
    // Bounded like a replay: a client that keeps falling further behind than replayLimit
    // while reading the store gets gap(overflow) again, not an endless read of the store.
    const dropped = this.#subscription.releaseDrops(this.#replayLimit);
    if (!dropped) return;
    this.#subscription.holdDrops();
    this.#replay = { cursor: dropped.from - 1, upTo: dropped.to, page: [], lastSent: dropped.from - 1, refill: true };
  }

  /** Fills the replay page (or queues a retention gap when rows were pruned since the replay began). */
  #nextPage(replay: Replay): Awaitable<void> {
    const log = this.#bus.log;
    // Retention may have pruned rows since the replay began: announce, never skip.
    return andThen(log.oldest(), (oldest) => {
      if (replay.cursor + 1 < oldest) {
        const to = Math.min(oldest - 1, replay.upTo);
        const from = replay.cursor + 1;
        replay.cursor = to;
        this.#pending.push({ kind: 'gap', from, to, reason: 'retention' });
        return;
      }
      const patterns = this.#subscription.patterns;
      return andThen(log.read({ after: replay.cursor, upTo: replay.upTo, patterns, limit: PAGE }), (page) => {
        replay.cursor = page.length < PAGE ? replay.upTo : page.at(-1)!.seq;
        // A new filter set while the page was on its way (PostgreSQL) applies to it too.
        const now = this.#subscription.patterns;
        replay.page = now === patterns ? page : page.filter((event) => matchesAny(event.type, now));
      });
    });
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
    this.#closed = true;
    this.#subscription.close();
  }
}

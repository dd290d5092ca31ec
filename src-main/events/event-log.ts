import type { EventEnvelope } from '../../src-shared/events.ts';
import type { Awaitable } from './awaitable.ts';

/** An event as the log holds it: the envelope pre-serialized exactly as clients get it. */
export interface StoredEvent {
  readonly seq: number;
  readonly type: string;
  readonly json: string;
}

export interface NewEvent {
  type: string;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown> | undefined;
}

export interface Retention {
  maxEvents: number;
  maxAgeMs: number;
}

export interface Appended {
  stored: StoredEvent[];
  envelopes: EventEnvelope[];
}

/**
 * What the log hands the bus to fan out: committed events in sequence order, each exactly
 * once, and before them (rarely) a range this server can no longer deliver because
 * retention pruned it before the server read it (PostgreSQL: it fell that far behind).
 */
export type FeedListener = (events: readonly StoredEvent[], lost?: { from: number; to: number }) => void;

/**
 * The event history: SQLite (`SqliteEventLog`, synchronous inside, values returned as is)
 * or PostgreSQL (`PgEventLog`, promises; events of every server arrive through the feed).
 */
export interface EventLog {
  readonly dialect: 'sqlite' | 'postgres';
  readonly epoch: string;
  /**
   * Newest number this server has fed to its subscribers: every event at or below it is
   * committed and was fed; every later one will be. Streams split replay and live here.
   */
  readonly lastSequenceNumber: number;
  /** Oldest number still stored as last known (cheap; PostgreSQL refreshes it on reads and pruning). */
  readonly oldestSequenceNumber: number;
  /** Oldest number still stored, asked of the store now. */
  oldest(): Awaitable<number>;
  /** Registers where committed events go (the bus); one listener. */
  setFeed(listener: FeedListener): void;
  /**
   * Stamps and stores events in one transaction: all or none. Durable when it resolves.
   * `check` sees each envelope's JSON before it is stored (the size limit); if it throws,
   * nothing of the batch is stored.
   */
  append(events: readonly NewEvent[], now?: number, check?: (json: string, index: number) => void): Awaitable<Appended>;
  /** Events with after < seq <= upTo matching any pattern, oldest first, at most limit. */
  read(options: { after: number; upTo?: number; patterns: readonly string[]; limit: number }): Awaitable<StoredEvent[]>;
  /** How many matching events lie in (after, upTo], and the first one's number. */
  countRange(
    after: number,
    upTo: number,
    patterns: readonly string[],
  ): Awaitable<{ count: number; first: number | null }>;
  /** The number of the matching event that has exactly `skip` newer matching events in the range. */
  seqFromEnd(after: number, upTo: number, patterns: readonly string[], skip: number): Awaitable<number | null>;
  /** Drops what retention no longer keeps; returns how many events were removed. */
  prune(retention: Retention, now?: number): Awaitable<number>;
  /** Starts following other writers (PostgreSQL); resolves once caught up. */
  start(): Promise<void>;
  /** Stops following; the store is closed by its owner. */
  stop(): Promise<void>;
  /** Whether the log can deliver now, and why not (for /health). */
  health(): { status: 'ok' | 'error'; reason?: string };
}

import { type EventEnvelope, validateEventInput } from '../../src-shared/events.ts';
import type { FieldIssue } from '../../src-shared/errors.ts';
import { MAX_BATCH, MAX_EVENT_BYTES } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import { assertJsonDepth } from '../transport/json-depth.ts';
import type { Logger } from '../logger.ts';
import type { EventLog, NewEvent, StoredEvent } from './event-log.ts';
import { StreamStats } from './stream-stats.ts';
import { Subscription } from './subscription.ts';

export interface PublishOptions {
  /** The server's own producers may publish system.* and session.*; clients may not. */
  allowServerTypes?: boolean;
  /** Name offending events `events.N` (the body was a batch) rather than the root. */
  batch?: boolean;
}

/**
 * The event bus: validate → stamp → store → fan out. An event is committed before any
 * subscriber sees it and before its publisher is answered, and every subscriber sees
 * events in sequence order. Publishing returns a promise: both logs commit the publishes
 * of one turn of the event loop together (group commit: sqlite-event-log.ts,
 * pg-event-log.ts, where those arriving during a commit join the next), each publish
 * still all or nothing.
 *
 * Fan-out is driven by the log's feed, not by the publisher: on PostgreSQL the feed
 * brings every server's events, ours included, in sequence order.
 */
export class EventBus {
  readonly log: EventLog;
  /** Totals for /metrics: published here, delivered and gaps by the streams, drops by the queues. */
  readonly stats = new StreamStats();
  #subscriptions = new Set<Subscription>();
  #logger: Logger;
  #defaultCapacity: number;

  constructor(options: { log: EventLog; logger: Logger; queueSize: number }) {
    this.log = options.log;
    this.#logger = options.logger;
    this.#defaultCapacity = options.queueSize;
    this.log.setFeed((events, lost) => this.#fanOut(events, lost));
  }

  get subscriberCount(): number {
    return this.#subscriptions.size;
  }

  /** Validates every input first; stores all or none (400/413 name the offending index). */
  publish(inputs: readonly unknown[], options: PublishOptions = {}): Promise<EventEnvelope[]> {
    try {
      return this.#validateAndStore(inputs, options);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  #validateAndStore(inputs: readonly unknown[], options: PublishOptions): Promise<EventEnvelope[]> {
    if (inputs.length > MAX_BATCH) {
      throw new LookoutError('payload_too_large', `a batch holds at most ${MAX_BATCH} events; got ${inputs.length}`);
    }
    const batch = options.batch ?? inputs.length > 1;
    const events: NewEvent[] = [];
    const issues: FieldIssue[] = [];
    inputs.forEach((input, index) => {
      const prefix = batch ? `events.${index}.` : '';
      // Depth first: the serialization in the log recurses, and overflows on thousands of levels.
      assertJsonDepth(input, prefix ? prefix.slice(0, -1) : '(root)');
      const result = validateEventInput(input, { allowServerTypes: options.allowServerTypes ?? false });
      if (result.ok) events.push(result.event);
      else issues.push(...result.issues.map((issue) => ({ path: `${prefix}${issue.path}`, message: issue.message })));
    });
    if (issues.length > 0) {
      throw new LookoutError('invalid_input', `invalid event: ${issues[0]!.path}: ${issues[0]!.message}`, {
        details: issues,
      });
    }
    // The 64 KiB limit is measured on the envelope as stored: each event is serialized once,
    // and a batch with one event too large is rolled back whole.
    return this.#store(events, (json, index) => {
      const size = Buffer.byteLength(json);
      if (size <= MAX_EVENT_BYTES) return;
      const path = batch ? `events.${index}` : '(root)';
      throw new LookoutError(
        'payload_too_large',
        `event${batch ? ` ${index}` : ''} is ${size} bytes of JSON; the limit is ${MAX_EVENT_BYTES}`,
        { details: [{ path, message: `larger than ${MAX_EVENT_BYTES} bytes` }] },
      );
    });
  }

  /**
   * Stores and fans out events the caller has already checked with validateEventInput
   * and bounded to MAX_EVENT_BYTES (the OTLP receiver does, item by item, to reject only
   * the bad ones): the same append, without checking every event a second time.
   */
  publishChecked(events: readonly NewEvent[]): Promise<EventEnvelope[]> {
    try {
      return this.#store(events);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Not async on purpose: a log that answers at once (group commit off) is answered without a hop. */
  #store(events: readonly NewEvent[], check?: (json: string, index: number) => void): Promise<EventEnvelope[]> {
    if (events.length === 0) return Promise.resolve([]);
    const appended = this.log.append(events, Date.now(), check);
    if (appended instanceof Promise) {
      return appended.then(({ stored, envelopes }) => {
        this.stats.published += stored.length;
        return envelopes;
      });
    }
    this.stats.published += appended.stored.length;
    return Promise.resolve(appended.envelopes);
  }

  /** For the server's own events (lock changes, status): same path, server namespaces allowed. */
  async emit(type: string, data: Record<string, unknown>): Promise<EventEnvelope> {
    return (await this.publish([{ type, data }], { allowServerTypes: true }))[0]!;
  }

  /**
   * emit() for producers that do not wait for the answer: a failure (the database is
   * unreachable) is logged, never an unhandled rejection.
   */
  emitLater(type: string, data: Record<string, unknown>): void {
    this.emit(type, data).catch((error: unknown) => this.#logger.error({ err: error, type }, 'could not publish'));
  }

  #fanOut(stored: readonly StoredEvent[], lost?: { from: number; to: number }): void {
    if (lost) for (const subscription of this.#subscriptions) subscription.offerLost(lost.from, lost.to);
    for (const subscription of this.#subscriptions) {
      for (const event of stored) {
        try {
          subscription.offer(event);
        } catch (error) {
          // One failing in-process subscriber must not stop the others or the publisher.
          this.#logger.error({ err: error }, 'subscriber failed');
        }
      }
    }
  }

  /**
   * Registers a consumer. Events published from now on that match are queued (bounded);
   * `onReadable` fires when the queue goes from empty to non-empty.
   */
  subscribe(options: { patterns: readonly string[]; onReadable: () => void; capacity?: number }): Subscription {
    const subscription = new Subscription({
      patterns: options.patterns,
      capacity: options.capacity ?? this.#defaultCapacity,
      onReadable: options.onReadable,
      release: (s) => this.#subscriptions.delete(s),
      stats: this.stats,
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** Convenience for in-process listeners: a callback per event (and per overflow gap). */
  listen(patterns: readonly string[], listener: (event: EventEnvelope) => void): () => void {
    const subscription: Subscription = this.subscribe({
      patterns,
      onReadable: () => {
        queueMicrotask(() => {
          for (let item = subscription.take(); item; item = subscription.take()) {
            if ('event' in item) listener(JSON.parse(item.event.json) as EventEnvelope);
          }
        });
      },
    });
    return () => subscription.close();
  }

  close(): void {
    for (const subscription of [...this.#subscriptions]) subscription.close();
  }
}

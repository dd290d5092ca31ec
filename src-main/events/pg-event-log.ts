import type pg from 'pg';
import type { EventEnvelope } from '../../src-shared/events.ts';
import type { Logger } from '../logger.ts';
import type { PgStore } from '../store/postgres/pg-store.ts';
import type { SqlValue } from '../store/sql-store.ts';
import type { Appended, EventLog, FeedListener, NewEvent, Retention, StoredEvent } from './event-log.ts';

/** The channel every server LISTENs on; the payload is the newest committed number. */
export const EVENTS_CHANNEL = 'lookout_events';
/** Rows per catch-up read: bounds memory when a server comes back far behind. */
const FEED_PAGE = 1000;
const RECONNECT_MIN_MS = 100;
/**
 * An append waits at most this long for its events to pass through this server's feed
 * (they are committed already: the wait only gives read-your-writes on this server).
 */
const OWN_FEED_WAIT_MS = 5000;
const RECONNECT_MAX_MS = 5000;

/** The SQL condition for a set of type patterns (validated: `*`, `ns.*` or an exact type). */
function patternClause(patterns: readonly string[]): { sql: string; params: string[] } {
  if (patterns.includes('*')) return { sql: 'TRUE', params: [] };
  if (patterns.length === 0) return { sql: 'FALSE', params: [] };
  const params: string[] = [];
  const terms = patterns.map((pattern) => {
    if (pattern.endsWith('.*')) {
      params.push(pattern.slice(0, -1));
      return 'starts_with(type, ?)';
    }
    params.push(pattern);
    return 'type = ?';
  });
  return { sql: `(${terms.join(' OR ')})`, params };
}

/**
 * The event history in PostgreSQL, shared by every server on the database.
 *
 * Appends are serialized by the row lock on `event_counter` (taken by the UPDATE that
 * hands out the numbers and held until COMMIT), so transactions commit in number order:
 * whatever a reader sees is a prefix of the history, never 12 without 11. The append's
 * transaction also NOTIFYs the newest number; every server LISTENs on a dedicated
 * connection and then reads `seq > lastSeen ORDER BY seq` from the table, so its
 * subscribers get every server's events once and in order. Local appends take the same
 * path (they only wake the reader sooner). A lost LISTEN connection is re-opened and the
 * reader catches up from lastSeen, so nothing committed is missed.
 */
export class PgEventLog implements EventLog {
  readonly dialect = 'postgres' as const;
  #store: PgStore;
  #logger: Logger;
  #maxEvents: number | undefined;
  #feed: FeedListener = () => undefined;
  /** Newest number fed to this server's subscribers. */
  #lastSeen = 0;
  #oldestKnown = 1;
  #prunedUpTo = 0;
  /** Newest number known to be committed (NOTIFY payloads, local appends). */
  #wanted = 0;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #listener: pg.Client | undefined;
  #listening = false;
  #listenError: string | undefined;
  #reconnectMs = RECONNECT_MIN_MS;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Appends waiting for the feed to pass their last number. */
  #waiters: { upTo: number; resolve: () => void }[] = [];

  constructor(store: PgStore, options: { logger: Logger; maxEvents?: number }) {
    this.#store = store;
    this.#logger = options.logger;
    this.#maxEvents = options.maxEvents;
  }

  get epoch(): string {
    return this.#store.epoch;
  }

  get lastSequenceNumber(): number {
    return this.#lastSeen;
  }

  get oldestSequenceNumber(): number {
    return Math.min(this.#oldestKnown, this.#lastSeen + 1);
  }

  setFeed(listener: FeedListener): void {
    this.#feed = listener;
  }

  /** Begins where the history ends now, and follows every writer from there. */
  async start(): Promise<void> {
    const row = await this.#store.get<{ last: number }>('SELECT last FROM event_counter WHERE id = 1');
    this.#lastSeen = row?.last ?? 0;
    this.#wanted = this.#lastSeen;
    await this.oldest();
    await this.#listen();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeWaiters();
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#retryTimer);
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.#reading;
  }

  health(): { status: 'ok' | 'error'; reason?: string } {
    if (this.#listening) return { status: 'ok' };
    return {
      status: 'error',
      reason: `not following other servers' events: ${this.#listenError ?? 'the LISTEN connection is not open yet'}`,
    };
  }

  async #listen(): Promise<void> {
    if (this.#stopped) return;
    const client = this.#store.newClient();
    this.#listener = client;
    const lost = (error?: Error) => {
      if (this.#listener !== client) return;
      this.#listener = undefined;
      this.#listening = false;
      this.#listenError = error?.message ?? 'the connection closed';
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      this.#logger.warn({ reason: this.#listenError }, 'lost the PostgreSQL LISTEN connection; reconnecting');
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      const upTo = Number(message.payload);
      if (Number.isSafeInteger(upTo)) this.#want(upTo);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      lost(error as Error);
      return;
    }
    if (this.#listener !== client) return;
    this.#listening = true;
    this.#listenError = undefined;
    this.#reconnectMs = RECONNECT_MIN_MS;
    // Whatever was committed while we were not listening: read it now.
    this.#readAgain = true;
    await this.#kick();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#reconnectTimer) return;
    const delay = this.#reconnectMs;
    this.#reconnectMs = Math.min(RECONNECT_MAX_MS, this.#reconnectMs * 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#listen();
    }, delay);
    this.#reconnectTimer.unref();
  }

  #want(upTo: number): void {
    if (upTo > this.#wanted) this.#wanted = upTo;
    if (upTo > this.#lastSeen) {
      this.#readAgain = true;
      void this.#kick();
    }
  }

  /** One reader at a time; a wake-up during a read makes it read once more. */
  #kick(): Promise<void> {
    if (this.#reading) return this.#reading;
    const reading = this.#readLoop().finally(() => {
      if (this.#reading === reading) this.#reading = undefined;
    });
    this.#reading = reading;
    return reading;
  }

  async #readLoop(): Promise<void> {
    // Start after the caller has set #reading, so a wake-up meanwhile joins this read.
    await Promise.resolve();
    try {
      while (this.#readAgain && !this.#stopped) {
        this.#readAgain = false;
        await this.#readNew();
      }
    } catch (error) {
      // The database is away: try again soon (the LISTEN reconnect also wakes us).
      this.#logger.warn({ err: error }, 'reading new events failed; retrying');
      this.#readAgain = true;
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => void this.#kick(), 500);
      this.#retryTimer.unref();
    }
  }

  async #readNew(): Promise<void> {
    for (;;) {
      // Known committed before the query starts, so the query's snapshot holds it: only
      // then may its absence mean "pruned". (A number learnt while the query runs may be
      // newer than the query's snapshot.)
      const committed = this.#wanted;
      const rows = await this.#store.all<StoredEvent>(
        'SELECT seq, type, json FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
        [this.#lastSeen, FEED_PAGE],
      );
      if (this.#stopped) return;
      const first = rows[0]?.seq;
      const expectedUpTo = Math.max(committed, rows.at(-1)?.seq ?? 0);
      // Numbers are contiguous and commit in order, so a missing number below a committed
      // one was pruned before this server read it: say so, never skip silently.
      const lostTo = first !== undefined ? first - 1 : expectedUpTo;
      const lost = lostTo > this.#lastSeen ? { from: this.#lastSeen + 1, to: lostTo } : undefined;
      if (rows.length === 0 && !lost) return;
      this.#lastSeen = rows.at(-1)?.seq ?? lostTo;
      if (lost) this.#oldestKnown = Math.max(this.#oldestKnown, lost.to + 1);
      this.#feed(rows, lost);
      this.#wakeWaiters();
      if (rows.length < FEED_PAGE) return;
    }
  }

  #wakeWaiters(): void {
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.upTo <= this.#lastSeen || this.#stopped);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const waiter of ready) waiter.resolve();
  }

  /** Resolves once this server's subscribers have been given everything up to upTo (bounded wait). */
  #fedUpTo(upTo: number): Promise<void> {
    if (this.#lastSeen >= upTo || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve();
      }, OWN_FEED_WAIT_MS);
      timer.unref();
      const waiter = {
        upTo,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }

  async append(
    events: readonly NewEvent[],
    now = Date.now(),
    check?: (json: string, index: number) => void,
  ): Promise<Appended> {
    const timestamp = new Date(now).toISOString();
    const result = await this.#store.transaction(async (tx) => {
      const counter = await tx.get<{ last: number }>(
        'UPDATE event_counter SET last = last + ? WHERE id = 1 RETURNING last',
        [events.length],
      );
      const first = counter!.last - events.length + 1;
      const stored: StoredEvent[] = [];
      const envelopes: EventEnvelope[] = [];
      const params: SqlValue[] = [];
      events.forEach((event, index) => {
        const envelope: EventEnvelope = {
          type: event.type,
          timestamp,
          sequence_number: first + index,
          data: event.data,
          metadata: event.metadata ?? {},
        };
        const json = JSON.stringify(envelope);
        check?.(json, index);
        stored.push({ seq: first + index, type: event.type, json });
        envelopes.push(envelope);
        params.push(first + index, event.type, now, json);
      });
      await tx.run(
        `INSERT INTO events (seq, type, ts_ms, json) VALUES ${events.map(() => '(?, ?, ?, ?)').join(', ')}`,
        params,
      );
      // Delivered to every listener when (and only if) this transaction commits.
      await tx.run('SELECT pg_notify(?, ?)', [EVENTS_CHANNEL, String(counter!.last)]);
      return { stored, envelopes };
    });
    // Our own events reach our subscribers through the same ordered reader as everyone
    // else's; waking it now saves the NOTIFY round trip. The publisher is answered once
    // they have passed through it, so what it reads next from this server includes them.
    const last = result.stored.at(-1)!.seq;
    this.#want(last);
    // The count cap holds when the publisher is answered, as on SQLite (where pruning is
    // inside the append): the DELETE runs beside the feed, once per 1 % of the cap.
    await Promise.all([this.#enforceCount(last), this.#fedUpTo(last)]);
    return result;
  }

  async #enforceCount(last: number): Promise<void> {
    if (this.#maxEvents === undefined) return;
    const cutoff = last - this.#maxEvents;
    if (cutoff - this.#prunedUpTo < Math.max(1, Math.floor(this.#maxEvents / 100))) return;
    this.#prunedUpTo = cutoff;
    try {
      await this.#store.run('DELETE FROM events WHERE seq <= ?', [cutoff]);
      this.#oldestKnown = Math.max(this.#oldestKnown, cutoff + 1);
    } catch {
      // Retried on a later append, or by the retention sweep.
      this.#prunedUpTo = 0;
    }
  }

  async oldest(): Promise<number> {
    const row = await this.#store.get<{ seq: number | null; last: number }>(
      'SELECT (SELECT MIN(seq) FROM events) AS seq, (SELECT last FROM event_counter WHERE id = 1) AS last',
    );
    this.#oldestKnown = row?.seq ?? (row?.last ?? 0) + 1;
    return this.#oldestKnown;
  }

  async read(options: {
    after: number;
    upTo?: number;
    patterns: readonly string[];
    limit: number;
  }): Promise<StoredEvent[]> {
    const clause = patternClause(options.patterns);
    return this.#store.all<StoredEvent>(
      `SELECT seq, type, json FROM events WHERE seq > ? AND seq <= ? AND ${clause.sql} ORDER BY seq LIMIT ?`,
      [options.after, options.upTo ?? this.#lastSeen, ...clause.params, options.limit],
    );
  }

  async countRange(
    after: number,
    upTo: number,
    patterns: readonly string[],
  ): Promise<{ count: number; first: number | null }> {
    const clause = patternClause(patterns);
    const row = await this.#store.get<{ count: number; first: number | null }>(
      `SELECT COUNT(*) AS count, MIN(seq) AS first FROM events WHERE seq > ? AND seq <= ? AND ${clause.sql}`,
      [after, upTo, ...clause.params],
    );
    return row ?? { count: 0, first: null };
  }

  async seqFromEnd(after: number, upTo: number, patterns: readonly string[], skip: number): Promise<number | null> {
    const clause = patternClause(patterns);
    const row = await this.#store.get<{ seq: number }>(
      `SELECT seq FROM events WHERE seq > ? AND seq <= ? AND ${clause.sql} ORDER BY seq DESC LIMIT 1 OFFSET ?`,
      [after, upTo, ...clause.params, skip],
    );
    return row?.seq ?? null;
  }

  async prune(retention: Retention, now = Date.now()): Promise<number> {
    const byCount = await this.#store.run(
      'DELETE FROM events WHERE seq <= (SELECT last FROM event_counter WHERE id = 1) - ?',
      [retention.maxEvents],
    );
    const byAge = await this.#store.run('DELETE FROM events WHERE ts_ms < ?', [now - retention.maxAgeMs]);
    await this.oldest();
    return byCount.changes + byAge.changes;
  }
}

import type { StatementSync } from 'node:sqlite';
import type { EventEnvelope } from '../../src-shared/events.ts';
import type { Database } from '../store/database.ts';
import type { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Awaitable } from './awaitable.ts';
import type { Appended, EventLog, FeedListener, NewEvent, Retention, StoredEvent } from './event-log.ts';

/** The SQL condition for a set of type patterns (validated: no GLOB metacharacters but `*`). */
function patternClause(patterns: readonly string[]): { sql: string; params: string[] } {
  if (patterns.includes('*')) return { sql: '1', params: [] };
  if (patterns.length === 0) return { sql: '0', params: [] };
  return { sql: `(${patterns.map(() => 'type GLOB ?').join(' OR ')})`, params: [...patterns] };
}

/**
 * The append-only event history in SQLite. Numbers are assigned here, inside the insert
 * transaction, from SQLite's AUTOINCREMENT counter: never reused, even across restarts
 * and after retention pruned everything. Everything runs synchronously on the one
 * connection (through the store's `exclusive`, so it queues only behind an open
 * transaction of another domain): an append is committed and fed to subscribers before
 * `append` returns.
 */
export class SqliteEventLog implements EventLog {
  readonly dialect = 'sqlite' as const;
  readonly epoch: string;
  #db: Database;
  #store: SqliteStore | undefined;
  #feed: FeedListener = () => undefined;
  #last: number;
  #insert: StatementSync;
  #oldest: StatementSync;
  #statements = new Map<string, StatementSync>();
  #maxEvents: number | undefined;
  /** Everything at or below this number is known to be pruned by count already. */
  #prunedUpTo = 0;

  /**
   * `maxEvents`, when given, is enforced as events arrive (in steps of 1%, so pruning
   * costs one DELETE per hundredth of the cap); age retention runs on a timer.
   */
  constructor(db: Database | SqliteStore, options: { maxEvents?: number } = {}) {
    if ('database' in db) {
      this.#store = db;
      db = db.database;
    }
    this.#db = db;
    this.#maxEvents = options.maxEvents;
    this.epoch = db.epoch;
    const row = db.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).get() as
      { seq: number } | undefined;
    this.#last = row?.seq ?? 0;
    this.#insert = db.db.prepare('INSERT INTO events (seq, type, ts_ms, json) VALUES (?, ?, ?, ?)');
    this.#oldest = db.db.prepare('SELECT MIN(seq) AS seq FROM events');
  }

  /** Newest number ever assigned (0 for a new store). */
  get lastSequenceNumber(): number {
    return this.#last;
  }

  /** Oldest number still stored; lastSequenceNumber + 1 when nothing is stored. */
  get oldestSequenceNumber(): number {
    const row = this.#oldest.get() as { seq: number | null };
    return row.seq ?? this.#last + 1;
  }

  oldest(): Awaitable<number> {
    return this.#exclusive(() => this.oldestSequenceNumber);
  }

  setFeed(listener: FeedListener): void {
    this.#feed = listener;
  }

  /** Runs fn now when the connection is free (the usual case), else after the open transaction. */
  #exclusive<T>(fn: () => T): Awaitable<T> {
    return this.#store ? this.#store.exclusive(fn) : fn();
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  health(): { status: 'ok' | 'error'; reason?: string } {
    return { status: 'ok' };
  }

  append(
    events: readonly NewEvent[],
    now = Date.now(),
    check?: (json: string, index: number) => void,
  ): Awaitable<Appended> {
    return this.#exclusive(() => {
      const appended = this.#append(events, now, check);
      this.#feed(appended.stored);
      return appended;
    });
  }

  #append(events: readonly NewEvent[], now: number, check?: (json: string, index: number) => void): Appended {
    const timestamp = new Date(now).toISOString();
    const stored: StoredEvent[] = [];
    const envelopes: EventEnvelope[] = [];
    const first = this.#last + 1;
    this.#db.transaction(() => {
      let seq = first;
      for (const event of events) {
        const envelope: EventEnvelope = {
          type: event.type,
          timestamp,
          sequence_number: seq,
          data: event.data,
          // Every envelope has metadata, {} when the producer sent none: a consumer reads
          // event.metadata.agent without checking that metadata exists.
          metadata: event.metadata ?? {},
        };
        const json = JSON.stringify(envelope);
        check?.(json, seq - first);
        this.#insert.run(seq, event.type, now, json);
        stored.push({ seq, type: event.type, json });
        envelopes.push(envelope);
        seq++;
      }
    });
    this.#last = first + events.length - 1;
    try {
      this.#enforceCount();
    } catch {
      // The events are committed; pruning by count is retried on the next append (a
      // full disk can refuse the delete's WAL frames) and must not turn a stored write
      // into an error answer.
    }
    return { stored, envelopes };
  }

  #prepared(key: string, sql: string): StatementSync {
    let statement = this.#statements.get(key);
    if (!statement) {
      statement = this.#db.db.prepare(sql);
      this.#statements.set(key, statement);
    }
    return statement;
  }

  read(options: {
    after: number;
    upTo?: number;
    patterns: readonly string[];
    limit: number;
  }): Awaitable<StoredEvent[]> {
    return this.#exclusive(() => this.readNow(options));
  }

  /** read(), synchronously (SQLite-only callers). */
  readNow(options: { after: number; upTo?: number; patterns: readonly string[]; limit: number }): StoredEvent[] {
    const clause = patternClause(options.patterns);
    const statement = this.#prepared(
      `read:${clause.sql}`,
      `SELECT seq, type, json FROM events WHERE seq > ? AND seq <= ? AND ${clause.sql} ORDER BY seq LIMIT ?`,
    );
    return statement.all(
      options.after,
      options.upTo ?? this.#last,
      ...clause.params,
      options.limit,
    ) as unknown as StoredEvent[];
  }

  countRange(
    after: number,
    upTo: number,
    patterns: readonly string[],
  ): Awaitable<{ count: number; first: number | null }> {
    return this.#exclusive(() => {
      const clause = patternClause(patterns);
      const statement = this.#prepared(
        `count:${clause.sql}`,
        `SELECT COUNT(*) AS count, MIN(seq) AS first FROM events WHERE seq > ? AND seq <= ? AND ${clause.sql}`,
      );
      return statement.get(after, upTo, ...clause.params) as { count: number; first: number | null };
    });
  }

  seqFromEnd(after: number, upTo: number, patterns: readonly string[], skip: number): Awaitable<number | null> {
    return this.#exclusive(() => this.seqFromEndNow(after, upTo, patterns, skip));
  }

  /** seqFromEnd(), synchronously (SQLite-only callers). */
  seqFromEndNow(after: number, upTo: number, patterns: readonly string[], skip: number): number | null {
    const clause = patternClause(patterns);
    const statement = this.#prepared(
      `from-end:${clause.sql}`,
      `SELECT seq FROM events WHERE seq > ? AND seq <= ? AND ${clause.sql} ORDER BY seq DESC LIMIT 1 OFFSET ?`,
    );
    const row = statement.get(after, upTo, ...clause.params, skip) as { seq: number } | undefined;
    return row?.seq ?? null;
  }

  #enforceCount(): void {
    if (this.#maxEvents === undefined) return;
    const cutoff = this.#last - this.#maxEvents;
    if (cutoff - this.#prunedUpTo < Math.max(1, Math.floor(this.#maxEvents / 100))) return;
    this.#prepared('prune-count', 'DELETE FROM events WHERE seq <= ?').run(cutoff);
    this.#prunedUpTo = cutoff;
  }

  prune(retention: Retention, now = Date.now()): Awaitable<number> {
    return this.#exclusive(() => this.#prune(retention, now));
  }

  #prune(retention: Retention, now: number): number {
    const byCount = this.#prepared('prune-count', 'DELETE FROM events WHERE seq <= ?').run(
      this.#last - retention.maxEvents,
    );
    const byAge = this.#prepared('prune-age', 'DELETE FROM events WHERE ts_ms < ?').run(now - retention.maxAgeMs);
    return Number(byCount.changes) + Number(byAge.changes);
  }
}

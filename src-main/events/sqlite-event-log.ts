import type { StatementSync } from 'node:sqlite';
import type { EventEnvelope } from '../../src-shared/events.ts';
import type { Database } from '../store/database.ts';
import type { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { LookoutError } from '../errors.ts';
import type { Awaitable } from './awaitable.ts';
import type { Appended, EventLog, FeedListener, NewEvent, Retention, StoredEvent } from './event-log.ts';

/** The SQL condition for a set of type patterns (validated: no GLOB metacharacters but `*`). */
function patternClause(patterns: readonly string[]): { sql: string; params: string[] } {
  if (patterns.includes('*')) return { sql: '1', params: [] };
  if (patterns.length === 0) return { sql: '0', params: [] };
  return { sql: `(${patterns.map(() => 'type GLOB ?').join(' OR ')})`, params: [...patterns] };
}

/** Publishes one transaction takes at most (a bound on one commit's size and on one feed's burst). */
export const DEFAULT_MAX_GROUP = 1000;

/** Rows per multi-row INSERT. */
const INSERT_CHUNK = 32;

/** One publisher's events waiting for the next group commit. */
interface PendingAppend {
  events: readonly NewEvent[];
  now: number;
  check: ((json: string, index: number) => void) | undefined;
  resolve: (appended: Appended) => void;
  reject: (error: unknown) => void;
}

/**
 * The append-only event history in SQLite. Numbers are assigned here, inside the insert
 * transaction, from SQLite's AUTOINCREMENT counter: never reused, even across restarts
 * and after retention pruned everything. Everything runs synchronously on the one
 * connection (through the store's `exclusive`, so it queues only behind an open
 * transaction of another domain).
 *
 * **Group commit** (docs/performance.md, docs/decisions.md): the appends of one turn of
 * the event loop (the HTTP requests whose bodies arrived together, in-process emits) wait
 * for `setImmediate` and are committed in one transaction, each inside its own SAVEPOINT:
 * a request whose check or insert fails rolls back to its savepoint alone and gets its
 * error, and the numbers it would have used go to the next request, so numbers stay
 * contiguous. Only after the COMMIT does the last number move, the feed get the group's
 * events (in number order) and the publishers get their answers; a failed COMMIT rolls
 * everything back and answers each publisher of the group with the error (none of them
 * was acknowledged, so nothing acknowledged is lost). One COMMIT costs as much as
 * inserting ~40 events, so ten one-event publishers sharing one pay a fifth of the CPU each.
 */
export class SqliteEventLog implements EventLog {
  readonly dialect = 'sqlite' as const;
  readonly epoch: string;
  #db: Database;
  #store: SqliteStore | undefined;
  #feed: FeedListener = () => undefined;
  #last: number;
  #insert: StatementSync;
  #insertChunk: StatementSync;
  #oldest: StatementSync;
  #begin: StatementSync;
  #commit: StatementSync;
  #savepoint: StatementSync;
  #release: StatementSync;
  #rollbackTo: StatementSync;
  #statements = new Map<string, StatementSync>();
  #maxEvents: number | undefined;
  /** Everything at or below this number is known to be pruned by count already. */
  #prunedUpTo = 0;
  #maxGroup: number;
  /** Appends waiting for the next group commit, in arrival order. */
  #queue: PendingAppend[] = [];
  #flushScheduled = false;
  #stopped = false;
  /** Transactions committed by append, and the events in them (the group-commit ratio, for tests and benches). */
  readonly commits = { transactions: 0, events: 0, requests: 0 };

  /**
   * `maxEvents`, when given, is enforced as events arrive (in steps of 1%, so pruning
   * costs one DELETE per hundredth of the cap); age retention runs on a timer.
   * `maxGroup` bounds the publishes one transaction takes (1: group commit off, every
   * append commits at once, synchronously when the connection is free).
   */
  constructor(db: Database | SqliteStore, options: { maxEvents?: number | undefined; maxGroup?: number } = {}) {
    if ('database' in db) {
      this.#store = db;
      db = db.database;
    }
    this.#db = db;
    this.#maxEvents = options.maxEvents;
    this.#maxGroup = Math.max(1, options.maxGroup ?? DEFAULT_MAX_GROUP);
    this.epoch = db.epoch;
    const row = db.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).get() as
      { seq: number } | undefined;
    this.#last = row?.seq ?? 0;
    this.#insert = db.db.prepare('INSERT INTO events (seq, type, ts_ms, json) VALUES (?, ?, ?, ?)');
    this.#insertChunk = db.db.prepare(
      `INSERT INTO events (seq, type, ts_ms, json) VALUES ${Array<string>(INSERT_CHUNK).fill('(?, ?, ?, ?)').join(', ')}`,
    );
    this.#oldest = db.db.prepare('SELECT MIN(seq) AS seq FROM events');
    this.#begin = db.db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.db.prepare('COMMIT');
    this.#savepoint = db.db.prepare('SAVEPOINT publish');
    this.#release = db.db.prepare('RELEASE publish');
    this.#rollbackTo = db.db.prepare('ROLLBACK TO publish');
  }

  /** Newest number committed and fed to subscribers (0 for a new store). */
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

  /**
   * Commits what is waiting (a publisher still waiting for its answer gets it), then
   * refuses further appends: the store is about to close.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#exclusive(() => this.#flush());
  }

  health(): { status: 'ok' | 'error'; reason?: string } {
    return { status: 'ok' };
  }

  append(
    events: readonly NewEvent[],
    now = Date.now(),
    check?: (json: string, index: number) => void,
  ): Promise<Appended> {
    if (this.#stopped) {
      return Promise.reject(new LookoutError('unavailable', 'the server is shutting down; the event was not stored'));
    }
    return new Promise<Appended>((resolve, reject) => {
      this.#queue.push({ events, now, check, resolve, reject });
      if (this.#queue.length >= this.#maxGroup) {
        // A full group (or group commit off: maxGroup 1) commits now, synchronously when
        // the connection is free.
        void this.#exclusive(() => this.#flush());
        return;
      }
      if (this.#flushScheduled) return;
      this.#flushScheduled = true;
      // setImmediate, not nextTick: the check phase comes after every socket read of this
      // turn of the loop, so the requests that arrived together commit together.
      setImmediate(() => void this.#exclusive(() => this.#flush()));
    });
  }

  /** Commits everything queued so far (the queue taken when the connection is ours, so latecomers join). */
  #flush(): void {
    this.#flushScheduled = false;
    const group = this.#queue;
    if (group.length === 0) return;
    this.#queue = [];
    this.#commitGroup(group);
  }

  /**
   * One transaction for the group; never throws (each publisher gets its answer or its error).
   * A lone append needs no savepoint: the transaction itself is its all-or-nothing.
   */
  #commitGroup(group: readonly PendingAppend[]): void {
    const db = this.#db.db;
    const alone = group.length === 1;
    const outcomes: (Appended | { error: unknown })[] = [];
    let next = this.#last + 1;
    try {
      this.#begin.run();
      for (const request of group) {
        if (alone) {
          outcomes.push(this.#insertAll(request, next));
          next += request.events.length;
          continue;
        }
        this.#savepoint.run();
        try {
          outcomes.push(this.#insertAll(request, next));
          this.#release.run();
          next += request.events.length;
        } catch (error) {
          // Some errors (a full disk, I/O) end the whole transaction: then nothing of the
          // group is stored and every publisher is told so, below.
          if (!this.#inTransaction()) throw error;
          this.#rollbackTo.run();
          this.#release.run();
          outcomes.push({ error });
        }
      }
      this.#commit.run();
    } catch (error) {
      if (this.#inTransaction()) db.exec('ROLLBACK');
      group.forEach((request, index) => {
        const outcome = outcomes[index];
        request.reject(outcome && 'error' in outcome ? outcome.error : error);
      });
      return;
    }
    const committed = next - 1 - this.#last;
    this.#last = next - 1;
    this.commits.transactions++;
    this.commits.events += committed;
    this.commits.requests += group.length;
    try {
      this.#db.afterCommit();
      this.#enforceCount();
    } catch {
      // The events are committed; the checkpoint and pruning by count are retried after
      // the next commit (a full disk can refuse the delete's WAL frames) and must not
      // turn a stored write into an error answer.
    }
    // Fed in number order, once, after the COMMIT: no subscriber sees an uncommitted event.
    const stored: StoredEvent[] = [];
    for (const outcome of outcomes) if (!('error' in outcome)) stored.push(...outcome.stored);
    if (stored.length > 0) this.#feed(stored);
    group.forEach((request, index) => {
      const outcome = outcomes[index]!;
      if ('error' in outcome) request.reject(outcome.error);
      else request.resolve(outcome);
    });
  }

  /** Whether a transaction is open (false once the database is closed, where asking throws). */
  #inTransaction(): boolean {
    try {
      return this.#db.db.isTransaction;
    } catch {
      return false;
    }
  }

  /** Inserts one publisher's events from number `first` on (inside the open transaction). */
  #insertAll(request: PendingAppend, first: number): Appended {
    const { events, now, check } = request;
    const timestamp = new Date(now).toISOString();
    const stored: StoredEvent[] = [];
    const envelopes: EventEnvelope[] = [];
    let seq = first;
    // Every event is serialized and checked before any is inserted: a refused batch never
    // touches the database.
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
      stored.push({ seq, type: event.type, json });
      envelopes.push(envelope);
      seq++;
    }
    // Rows go in INSERT_CHUNK at a time (one statement call instead of one per row: about
    // 1 µs less per event, measured in docs/performance.md), the rest one by one.
    let i = 0;
    if (stored.length >= INSERT_CHUNK) {
      const params: (number | string)[] = new Array<number | string>(INSERT_CHUNK * 4);
      for (; i + INSERT_CHUNK <= stored.length; i += INSERT_CHUNK) {
        for (let k = 0; k < INSERT_CHUNK; k++) {
          const row = stored[i + k]!;
          params[k * 4] = row.seq;
          params[k * 4 + 1] = row.type;
          params[k * 4 + 2] = now;
          params[k * 4 + 3] = row.json;
        }
        this.#insertChunk.run(...params);
      }
    }
    for (; i < stored.length; i++) this.#insert.run(stored[i]!.seq, stored[i]!.type, now, stored[i]!.json);
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

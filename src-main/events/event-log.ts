import type { StatementSync } from 'node:sqlite';
import type { EventEnvelope } from '../../src-shared/events.ts';
import type { Database } from '../store/database.ts';

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

/** The SQL condition for a set of type patterns (validated: no GLOB metacharacters but `*`). */
function patternClause(patterns: readonly string[]): { sql: string; params: string[] } {
  if (patterns.includes('*')) return { sql: '1', params: [] };
  if (patterns.length === 0) return { sql: '0', params: [] };
  return { sql: `(${patterns.map(() => 'type GLOB ?').join(' OR ')})`, params: [...patterns] };
}

/**
 * The append-only event history in SQLite. Numbers are assigned here, inside the insert
 * transaction, from SQLite's AUTOINCREMENT counter: never reused, even across restarts
 * and after retention pruned everything.
 */
export class EventLog {
  readonly epoch: string;
  #db: Database;
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
  constructor(db: Database, options: { maxEvents?: number } = {}) {
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

  /**
   * Stamps and stores events in one transaction: all are stored or none is. The
   * returned events are durable (committed) when this returns.
   */
  append(events: readonly NewEvent[], now = Date.now()): { stored: StoredEvent[]; envelopes: EventEnvelope[] } {
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

  /** Events with after < seq <= upTo matching any pattern, oldest first, at most limit. */
  read(options: { after: number; upTo?: number; patterns: readonly string[]; limit: number }): StoredEvent[] {
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

  /** How many matching events lie in (after, upTo], and the first one's number. */
  countRange(after: number, upTo: number, patterns: readonly string[]): { count: number; first: number | null } {
    const clause = patternClause(patterns);
    const statement = this.#prepared(
      `count:${clause.sql}`,
      `SELECT COUNT(*) AS count, MIN(seq) AS first FROM events WHERE seq > ? AND seq <= ? AND ${clause.sql}`,
    );
    return statement.get(after, upTo, ...clause.params) as { count: number; first: number | null };
  }

  /** The number of the matching event that has exactly `skip` newer matching events in the range. */
  seqFromEnd(after: number, upTo: number, patterns: readonly string[], skip: number): number | null {
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

  /** Drops what retention no longer keeps; returns how many events were removed. */
  prune(retention: Retention, now = Date.now()): number {
    const byCount = this.#prepared('prune-count', 'DELETE FROM events WHERE seq <= ?').run(
      this.#last - retention.maxEvents,
    );
    const byAge = this.#prepared('prune-age', 'DELETE FROM events WHERE ts_ms < ?').run(now - retention.maxAgeMs);
    return Number(byCount.changes) + Number(byAge.changes);
  }
}

import type pg from 'pg';
import type { EventEnvelope } from '../../src-shared/events.ts';
import { LookoutError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isConnectionFault } from '../store/postgres/connection-fault.ts';
import type { PgStore } from '../store/postgres/pg-store.ts';
import type { Appended, EventLog, FeedListener, NewEvent, Retention, StoredEvent } from './event-log.ts';
import { DEFAULT_MAX_GROUP } from './sqlite-event-log.ts';

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

/** One publisher's events waiting for the next group commit. */
interface PendingAppend {
  events: readonly NewEvent[];
  now: number;
  check: ((json: string, index: number) => void) | undefined;
  resolve: (appended: Appended) => void;
  reject: (error: unknown) => void;
}

/** What became of one publisher's events in a group: stamped (with their time) or refused. */
type Outcome = (Appended & { ts: number }) | { error: unknown };

/**
 * Numbers, serializes and checks each publisher's events from `first` on; a publisher
 * whose check fails gets its error and uses no number.
 */
function stampGroup(group: readonly PendingAppend[], first: number): Outcome[] {
  let seq = first;
  return group.map((request): Outcome => {
    const timestamp = new Date(request.now).toISOString();
    const stored: StoredEvent[] = [];
    const envelopes: EventEnvelope[] = [];
    try {
      request.events.forEach((event, index) => {
        const envelope: EventEnvelope = {
          type: event.type,
          timestamp,
          sequence_number: seq + index,
          data: event.data,
          metadata: event.metadata ?? {},
        };
        const json = JSON.stringify(envelope);
        request.check?.(json, index);
        stored.push({ seq: seq + index, type: event.type, json });
        envelopes.push(envelope);
      });
    } catch (error) {
      return { error };
    }
    seq += stored.length;
    return { stored, envelopes, ts: request.now };
  });
}

const countStored = (outcomes: readonly Outcome[]): number =>
  outcomes.reduce((n, outcome) => n + ('error' in outcome ? 0 : outcome.stored.length), 0);

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
 * Appends are serialized by the row lock on `event_counter` (taken when a transaction
 * reads the number to start from, held until COMMIT), so transactions commit in number
 * order: whatever a reader sees is a prefix of the history, never 12 without 11. The
 * append's transaction also NOTIFYs the newest number; every server LISTENs on a
 * dedicated connection and then reads `seq > lastSeen ORDER BY seq` from the table, so its
 * subscribers get every server's events once and in order, and only committed ones.
 * Local appends take the same path (they only wake the reader sooner). A lost LISTEN
 * connection is re-opened and the reader catches up from lastSeen, so nothing committed
 * is missed.
 *
 * **Group commit** (docs/performance.md, docs/decisions.md): publishes that arrive in the
 * same turn of the event loop, or while this server's previous group is committing, share
 * one transaction (at most `maxGroup` publishes; 1 turns it off). The counter row allows
 * one writer at a time anyway, so a server gains nothing from several transactions queueing
 * on it, and one COMMIT (its WAL flush) and three round trips serve the whole group. Each
 * publish stays all or nothing and is answered only after the COMMIT; one that fails (its
 * check, or an insert a constraint refuses) fails alone and uses no number; a failed
 * COMMIT answers every publisher of the group with the error (none was acknowledged).
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
  #maxGroup: number;
  /** Appends waiting for the next group commit, in arrival order. */
  #queue: PendingAppend[] = [];
  #drainScheduled = false;
  /** The group commits in progress (one group at a time), while any. */
  #draining: Promise<void> | undefined;
  /** Commits of group commit off (maxGroup 1: each publish alone, several at once) and answers still to give. */
  #pending = new Set<Promise<void>>();
  /** Set by stop(): what is queued is committed, new appends are refused. */
  #stopping = false;
  /** Transactions committed by append, and the events and publishes in them (the group-commit ratio, for tests). */
  readonly commits = { transactions: 0, events: 0, requests: 0 };

  /** `maxGroup` bounds the publishes one transaction takes (1: group commit off). */
  constructor(
    store: PgStore,
    options: { logger: Logger; maxEvents?: number | undefined; maxGroup?: number | undefined },
  ) {
    this.#store = store;
    this.#logger = options.logger;
    this.#maxEvents = options.maxEvents;
    this.#maxGroup = Math.max(1, options.maxGroup ?? DEFAULT_MAX_GROUP);
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

  /**
   * Commits what is queued (a publisher still waiting gets its answer), refuses further
   * appends, then stops following: the store is about to close.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#drain();
    while (this.#pending.size > 0) await Promise.all(this.#pending);
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

  /**
   * Queues the publish for the next group commit (see the class comment); with
   * `maxGroup` 1 it commits at once in a transaction of its own, beside any others.
   */
  append(
    events: readonly NewEvent[],
    now = Date.now(),
    check?: (json: string, index: number) => void,
  ): Promise<Appended> {
    if (this.#stopping) {
      return Promise.reject(new LookoutError('unavailable', 'the server is shutting down; the event was not stored'));
    }
    return new Promise<Appended>((resolve, reject) => {
      const request: PendingAppend = { events, now, check, resolve, reject };
      if (this.#maxGroup === 1) {
        this.#track(this.#commit([request]));
        return;
      }
      this.#queue.push(request);
      // One group at a time: while one commits, the next gathers everyone who arrives.
      if (this.#draining || this.#drainScheduled) return;
      this.#drainScheduled = true;
      // setImmediate: after every socket read of this turn of the loop, so requests that
      // arrived together go together even when no commit is in flight.
      setImmediate(() => {
        this.#drainScheduled = false;
        void this.#drain();
      });
    });
  }

  /** Commits the queue group by group (at most maxGroup each) until it is empty. */
  #drain(): Promise<void> {
    if (this.#draining) return this.#draining;
    if (this.#queue.length === 0) return Promise.resolve();
    const draining = (async () => {
      try {
        while (this.#queue.length > 0) await this.#commit(this.#queue.splice(0, this.#maxGroup));
      } finally {
        this.#draining = undefined;
      }
    })();
    this.#draining = draining;
    return draining;
  }

  /** Keeps count of work stop() must wait for. */
  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  /**
   * One transaction for the group; never throws: each publisher gets its answer or its
   * error, answers only after the COMMIT. Resolves once the transaction is over; the
   * answers follow on their own, so the next group need not wait for them.
   */
  async #commit(group: readonly PendingAppend[]): Promise<void> {
    let outcomes: Outcome[];
    let last: number;
    try {
      ({ outcomes, last } = await this.#store.withClient((client) => this.#insertGroup(client, group)));
    } catch (error) {
      // Nothing of the group is stored (a failed COMMIT, a lost connection): none of its
      // publishers was acknowledged, each is told why.
      for (const request of group) request.reject(error);
      return;
    }
    this.#track(this.#answer(group, outcomes, last));
  }

  /** Answers each publisher of a committed group, once the feed has passed its events. */
  async #answer(group: readonly PendingAppend[], outcomes: readonly Outcome[], last: number): Promise<void> {
    const events = countStored(outcomes);
    if (events > 0) {
      this.commits.transactions++;
      this.commits.events += events;
      this.commits.requests += outcomes.filter((outcome) => !('error' in outcome)).length;
      // Our own events reach our subscribers through the same ordered reader as everyone
      // else's; waking it now saves the NOTIFY round trip. The publishers are answered once
      // the events have passed through it, so what they read next from this server
      // includes them. The count cap holds when they are answered, as on SQLite.
      this.#want(last);
      await Promise.all([this.#enforceCount(last), this.#fedUpTo(last)]);
    }
    group.forEach((request, index) => {
      const outcome = outcomes[index]!;
      if ('error' in outcome) request.reject(outcome.error);
      else request.resolve({ stored: outcome.stored, envelopes: outcome.envelopes });
    });
  }

  /**
   * The group's transaction, on one connection, in three round trips when nothing fails:
   * (1) BEGIN, lock the counter row and read it, SAVEPOINT; (2) one statement that
   * inserts every row (unnest of four arrays, any number of rows), moves the counter and
   * NOTIFYs; (3) COMMIT. Each publisher's events are serialized and checked first: one
   * that fails its check is left out and its numbers go to the next. If the insert fails
   * (a constraint, a trigger), the savepoint undoes it and the publishers are inserted
   * one at a time, each inside its own savepoint, so only the failing one is refused and
   * the numbers stay contiguous. A connection fault, or a failed COMMIT, throws: then
   * nothing is stored.
   */
  async #insertGroup(
    client: pg.PoolClient,
    group: readonly PendingAppend[],
  ): Promise<{ outcomes: Outcome[]; last: number }> {
    const alone = group.length === 1;
    const opened = (await client.query(
      `BEGIN; SELECT last FROM event_counter WHERE id = 1 FOR UPDATE${alone ? '' : '; SAVEPOINT publish'}`,
    )) as unknown as pg.QueryResult<{ last: number }>[];
    const base = opened[1]!.rows[0]!.last;
    let outcomes = stampGroup(group, base + 1);
    let last = base + countStored(outcomes);
    if (last > base) {
      try {
        await this.#insertRows(client, outcomes, last);
      } catch (error) {
        if (alone || isConnectionFault(error)) throw error;
        await client.query('ROLLBACK TO publish');
        ({ outcomes, last } = await this.#insertOneByOne(client, group, base));
      }
    }
    if (last === base) {
      await client.query('ROLLBACK');
      return { outcomes, last };
    }
    await client.query('COMMIT');
    return { outcomes, last };
  }

  /** Inserts the publishers one at a time, each in its own savepoint (the SAVEPOINT publish is open). */
  async #insertOneByOne(
    client: pg.PoolClient,
    group: readonly PendingAppend[],
    base: number,
  ): Promise<{ outcomes: Outcome[]; last: number }> {
    const outcomes: Outcome[] = [];
    let next = base + 1;
    for (const request of group) {
      const [outcome] = stampGroup([request], next);
      if ('error' in outcome!) {
        outcomes.push(outcome!);
        continue;
      }
      try {
        await this.#insertRows(client, [outcome!], next + outcome!.stored.length - 1);
        await client.query('RELEASE publish; SAVEPOINT publish');
        next += outcome!.stored.length;
        outcomes.push(outcome!);
      } catch (error) {
        if (isConnectionFault(error)) throw error;
        await client.query('ROLLBACK TO publish');
        outcomes.push({ error });
      }
    }
    return { outcomes, last: next - 1 };
  }

  /** One statement: the rows of every stored outcome, the counter moved to last, the NOTIFY. */
  async #insertRows(client: pg.PoolClient, outcomes: readonly Outcome[], last: number): Promise<void> {
    const seqs: number[] = [];
    const types: string[] = [];
    const times: number[] = [];
    const jsons: string[] = [];
    for (const outcome of outcomes) {
      if ('error' in outcome) continue;
      for (const event of outcome.stored) {
        seqs.push(event.seq);
        types.push(event.type);
        times.push(outcome.ts);
        jsons.push(event.json);
      }
    }
    // Data-modifying CTEs always run to completion; the NOTIFY is delivered on COMMIT only.
    await client.query(
      `WITH counter AS (UPDATE event_counter SET last = $1 WHERE id = 1),
            inserted AS (INSERT INTO events (seq, type, ts_ms, json)
                         SELECT * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[]))
       SELECT pg_notify($6, $7)`,
      [last, seqs, types, times, jsons, EVENTS_CHANNEL, String(last)],
    );
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

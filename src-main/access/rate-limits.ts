import { DB_NOW_MS } from '../store/postgres/clock.ts';
import type { SqlStore } from '../store/sql-store.ts';

/**
 * Rate limits: a token bucket per principal for the API, and a failure counter per name
 * and per address for sign-in that first slows down and then refuses with Retry-After.
 * One server keeps them in memory (a restart forgives, which a local tool can afford),
 * bounded: idle entries are forgotten. Servers sharing a store (team mode) keep them in
 * it, so N servers allow what one does, not N times as much (the Stored* classes below).
 */

/** The API limit: takes one request's token for a principal. */
export interface ApiRateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  /** 0 when allowed, else the seconds until a token is available. */
  take(key: string): number | Promise<number>;
}

/** The sign-in throttle (see SignInThrottle for the rules). */
export interface SignInLimiter {
  check(keys: readonly string[]): ThrottleVerdict | Promise<ThrottleVerdict>;
  failed(keys: readonly string[]): void | Promise<void>;
  succeeded(key: string): void | Promise<void>;
}

const MAX_KEYS = 10_000;

function evictOldest<V>(map: Map<string, V>): void {
  // Maps iterate in insertion order; entries are re-inserted on use, so the first is the stalest.
  if (map.size > MAX_KEYS) map.delete(map.keys().next().value!);
}

export interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets implements ApiRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly perSecond: number;
  readonly burst: number;

  constructor(options: { perSecond: number; burst: number }) {
    this.perSecond = options.perSecond;
    this.burst = options.burst;
  }

  /** Takes one token for `key`: 0 when allowed, else the seconds until one is available. */
  take(key: string, now = Date.now()): number {
    const previous = this.#buckets.get(key);
    const tokens = previous
      ? Math.min(this.burst, previous.tokens + ((now - previous.at) / 1000) * this.perSecond)
      : this.burst;
    this.#buckets.delete(key);
    if (tokens >= 1) {
      this.#buckets.set(key, { tokens: tokens - 1, at: now });
      evictOldest(this.#buckets);
      return 0;
    }
    this.#buckets.set(key, { tokens, at: now });
    return Math.max(1, Math.ceil((1 - tokens) / this.perSecond));
  }
}

interface Failures {
  count: number;
  last: number;
  blockedUntil: number;
}

/** How long a key is refused after its `count`th failure: 30 s at the limit, doubling, at most 15 minutes. */
const blockMs = (count: number, blockAfter: number): number =>
  Math.min(15 * 60_000, 30_000 * 2 ** (count - blockAfter));

/** The strictest verdict over the (current) failure entries of one attempt's keys. */
function verdict(entries: readonly (Failures | undefined)[], now: number, slowAfter: number): ThrottleVerdict {
  let delayMs = 0;
  let retryAfterS: number | undefined;
  for (const entry of entries) {
    if (!entry) continue;
    if (entry.blockedUntil > now)
      retryAfterS = Math.max(retryAfterS ?? 0, Math.ceil((entry.blockedUntil - now) / 1000));
    if (entry.count >= slowAfter) delayMs = Math.max(delayMs, Math.min(2000, 250 * (entry.count - slowAfter + 1)));
  }
  return retryAfterS === undefined ? { delayMs } : { retryAfterS, delayMs: 0 };
}

export interface ThrottleVerdict {
  /** Refuse now: seconds until trying again makes sense. */
  retryAfterS?: number;
  /** Allowed, after waiting this long (ms). */
  delayMs: number;
}

/**
 * Sign-in throttling per key (`name:…`, `addr:…`). After `slowAfter` failures each
 * attempt waits a little longer (up to 2 s); after `blockAfter` the key is refused for
 * 30 s, doubling with every further failure up to 15 minutes. Failures are forgotten
 * after 15 quiet minutes; a success clears the name's count.
 */
export class SignInThrottle implements SignInLimiter {
  readonly #failures = new Map<string, Failures>();
  readonly slowAfter: number;
  readonly blockAfter: number;
  static readonly FORGET_MS = 15 * 60_000;

  constructor(options: { slowAfter?: number; blockAfter: number }) {
    this.blockAfter = options.blockAfter;
    this.slowAfter = options.slowAfter ?? Math.max(1, Math.floor(options.blockAfter / 2));
  }

  #current(key: string, now: number): Failures | undefined {
    const entry = this.#failures.get(key);
    if (entry && now - entry.last > SignInThrottle.FORGET_MS && now >= entry.blockedUntil) {
      this.#failures.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The strictest verdict over all keys of one attempt. */
  check(keys: readonly string[], now = Date.now()): ThrottleVerdict {
    return verdict(
      keys.map((key) => this.#current(key, now)),
      now,
      this.slowAfter,
    );
  }

  failed(keys: readonly string[], now = Date.now()): void {
    for (const key of keys) {
      const entry = this.#current(key, now) ?? { count: 0, last: now, blockedUntil: 0 };
      entry.count += 1;
      entry.last = now;
      if (entry.count >= this.blockAfter) entry.blockedUntil = now + blockMs(entry.count, this.blockAfter);
      this.#failures.delete(key);
      this.#failures.set(key, entry);
      evictOldest(this.#failures);
    }
  }

  succeeded(key: string): void {
    this.#failures.delete(key);
  }
}

// ---------------------------------------------------------------------------------------
// Team mode: the same limits in the shared store (PostgreSQL), one row per key.

/** Stale rows are deleted at most this often (each server, in the background of a write). */
const PRUNE_EVERY_MS = 60_000;

/** Runs `prune` at most once a minute, never awaited by the request that triggers it. */
class Pruner {
  #last = 0;
  #prune: () => Promise<unknown>;
  constructor(prune: () => Promise<unknown>) {
    this.#prune = prune;
  }
  maybe(): void {
    const now = Date.now();
    if (now - this.#last < PRUNE_EVERY_MS) return;
    this.#last = now;
    void this.#prune().catch(() => undefined); // the next write tries again a minute later
  }
}

/**
 * The token bucket in `rate_buckets`: one atomic upsert per request. A token is taken only
 * if, refilled up to now, the bucket holds one (the conditional DO UPDATE); otherwise the
 * row is left as it is, which refills to the same level later, and a read says how long
 * until one is there. Concurrent requests on any servers serialize on the key's row.
 */
export class StoredTokenBuckets implements ApiRateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  #store: SqlStore;
  #pruner: Pruner;

  constructor(store: SqlStore, options: { perSecond: number; burst: number }) {
    this.#store = store;
    this.perSecond = options.perSecond;
    this.burst = options.burst;
    // A bucket idle long enough to be full again is the same as no row.
    this.#pruner = new Pruner(() =>
      store.run(`DELETE FROM rate_buckets WHERE at_ms < ${DB_NOW_MS} - ?`, [
        Math.ceil((this.burst / this.perSecond) * 1000),
      ]),
    );
  }

  #refilled(row: string): string {
    return `LEAST(?::DOUBLE PRECISION, ${row}.tokens + GREATEST(0, EXCLUDED.at_ms - ${row}.at_ms) / 1000.0 * ?::DOUBLE PRECISION)`;
  }

  async take(key: string): Promise<number> {
    this.#pruner.maybe();
    const refilled = this.#refilled('b');
    const taken = await this.#store.get<{ tokens: number }>(
      `INSERT INTO rate_buckets AS b (key, tokens, at_ms) VALUES (?, ?::DOUBLE PRECISION - 1, ${DB_NOW_MS})
       ON CONFLICT (key) DO UPDATE SET tokens = ${refilled} - 1, at_ms = GREATEST(b.at_ms, EXCLUDED.at_ms)
       WHERE ${refilled} >= 1
       RETURNING tokens`,
      [key, this.burst, this.burst, this.perSecond, this.burst, this.perSecond],
    );
    if (taken) return 0;
    const row = await this.#store.get<{ tokens: number; idle_ms: number }>(
      `SELECT tokens, GREATEST(0, ${DB_NOW_MS} - at_ms) AS idle_ms FROM rate_buckets WHERE key = ?`,
      [key],
    );
    const tokens = Math.min(this.burst, (row?.tokens ?? 0) + ((row?.idle_ms ?? 0) / 1000) * this.perSecond);
    return Math.max(1, Math.ceil((1 - tokens) / this.perSecond));
  }
}

interface FailureRow {
  key: string;
  count: number;
  last_ms: number;
  blocked_until_ms: number;
  now_ms: number;
}

/**
 * The sign-in throttle in `sign_in_failures`, with SignInThrottle's rules: a failure is
 * one atomic upsert per key (a key quiet for 15 minutes and not blocked starts again at
 * 1), a check one read of the attempt's keys.
 */
export class StoredSignInThrottle implements SignInLimiter {
  readonly slowAfter: number;
  readonly blockAfter: number;
  #store: SqlStore;
  #pruner: Pruner;

  constructor(store: SqlStore, options: { slowAfter?: number; blockAfter: number }) {
    this.#store = store;
    this.blockAfter = options.blockAfter;
    this.slowAfter = options.slowAfter ?? Math.max(1, Math.floor(options.blockAfter / 2));
    this.#pruner = new Pruner(() =>
      store.run(`DELETE FROM sign_in_failures WHERE last_ms < ${DB_NOW_MS} - ? AND blocked_until_ms <= ${DB_NOW_MS}`, [
        SignInThrottle.FORGET_MS,
      ]),
    );
  }

  async check(keys: readonly string[]): Promise<ThrottleVerdict> {
    if (keys.length === 0) return { delayMs: 0 };
    const rows = await this.#store.all<FailureRow>(
      `SELECT key, count, last_ms, blocked_until_ms, ${DB_NOW_MS} AS now_ms FROM sign_in_failures
       WHERE key IN (${keys.map(() => '?').join(', ')})`,
      keys,
    );
    const now = rows[0]?.now_ms ?? 0;
    const current = rows
      .filter((row) => !(now - row.last_ms > SignInThrottle.FORGET_MS && now >= row.blocked_until_ms))
      .map((row) => ({ count: row.count, last: row.last_ms, blockedUntil: row.blocked_until_ms }));
    return verdict(current, now, this.slowAfter);
  }

  async failed(keys: readonly string[]): Promise<void> {
    this.#pruner.maybe();
    const forgotten = `(f.last_ms < EXCLUDED.last_ms - ${SignInThrottle.FORGET_MS} AND f.blocked_until_ms <= EXCLUDED.last_ms)`;
    const count = `(CASE WHEN ${forgotten} THEN 1 ELSE f.count + 1 END)`;
    const block = (n: string, now: string) =>
      `(${now} + LEAST(${15 * 60_000}, 30000 * POWER(2, ${n} - ${this.blockAfter})))::BIGINT`;
    for (const key of keys)
      await this.#store.run(
        `INSERT INTO sign_in_failures AS f (key, count, last_ms, blocked_until_ms)
         SELECT ?, 1, n.ms, CASE WHEN 1 >= ${this.blockAfter} THEN ${block('1', 'n.ms')} ELSE 0 END
         FROM (SELECT ${DB_NOW_MS} AS ms) n
         ON CONFLICT (key) DO UPDATE SET
           count = ${count},
           last_ms = EXCLUDED.last_ms,
           blocked_until_ms = CASE
             WHEN ${count} >= ${this.blockAfter} THEN ${block(count, 'EXCLUDED.last_ms')}
             WHEN ${forgotten} THEN 0
             ELSE f.blocked_until_ms END`,
        [key],
      );
  }

  async succeeded(key: string): Promise<void> {
    await this.#store.run('DELETE FROM sign_in_failures WHERE key = ?', [key]);
  }
}

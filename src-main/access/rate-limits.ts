/**
 * Rate limits: a token bucket per principal for the API, and a failure counter per name
 * and per address for sign-in that first slows down and then refuses with Retry-After.
 * Both live in memory (a restart forgives, which a local tool can afford) and are
 * bounded: idle entries are forgotten.
 */

const MAX_KEYS = 10_000;

function evictOldest<V>(map: Map<string, V>): void {
  // Maps iterate in insertion order; entries are re-inserted on use, so the first is the stalest.
  if (map.size > MAX_KEYS) map.delete(map.keys().next().value!);
}

export interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
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
export class SignInThrottle {
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
    let delayMs = 0;
    let retryAfterS: number | undefined;
    for (const key of keys) {
      const entry = this.#current(key, now);
      if (!entry) continue;
      if (entry.blockedUntil > now)
        retryAfterS = Math.max(retryAfterS ?? 0, Math.ceil((entry.blockedUntil - now) / 1000));
      if (entry.count >= this.slowAfter)
        delayMs = Math.max(delayMs, Math.min(2000, 250 * (entry.count - this.slowAfter + 1)));
    }
    return retryAfterS === undefined ? { delayMs } : { retryAfterS, delayMs: 0 };
  }

  failed(keys: readonly string[], now = Date.now()): void {
    for (const key of keys) {
      const entry = this.#current(key, now) ?? { count: 0, last: now, blockedUntil: 0 };
      entry.count += 1;
      entry.last = now;
      if (entry.count >= this.blockAfter)
        entry.blockedUntil = now + Math.min(15 * 60_000, 30_000 * 2 ** (entry.count - this.blockAfter));
      this.#failures.delete(key);
      this.#failures.set(key, entry);
      evictOldest(this.#failures);
    }
  }

  succeeded(key: string): void {
    this.#failures.delete(key);
  }
}

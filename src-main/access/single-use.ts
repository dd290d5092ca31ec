import { randomBytes } from 'node:crypto';
import { secretHash } from './access-store.ts';

const MAX_LIVE = 1000;

/**
 * Short-lived secrets good for one use (sign-in codes, stream tickets). Only their
 * hashes are kept, in memory: a restart voids them, which costs at most one retry.
 */
export class SingleUseSecrets<T> {
  readonly #live = new Map<string, { value: T; expiresAt: number }>();
  readonly ttlMs: number;

  constructor(ttlMs: number) {
    this.ttlMs = ttlMs;
  }

  mint(value: T, now = Date.now()): string {
    for (const [key, entry] of this.#live) if (entry.expiresAt <= now) this.#live.delete(key);
    // Bounded: the oldest live secret goes first if someone mints in a loop.
    if (this.#live.size >= MAX_LIVE) this.#live.delete(this.#live.keys().next().value!);
    const secret = randomBytes(24).toString('base64url');
    this.#live.set(secretHash(secret), { value, expiresAt: now + this.ttlMs });
    return secret;
  }

  /** The value behind a secret, once; undefined if unknown, used or expired. */
  consume(secret: string, now = Date.now()): T | undefined {
    const key = secretHash(secret);
    const entry = this.#live.get(key);
    this.#live.delete(key);
    return entry && entry.expiresAt > now ? entry.value : undefined;
  }

  clear(): void {
    this.#live.clear();
  }
}

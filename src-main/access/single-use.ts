import { randomBytes } from 'node:crypto';
import type { SqlExecutor } from '../store/sql-store.ts';
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

/** Either kind of one-use secrets: in memory (one server), or in the store (servers sharing it). */
export interface OneUseSecrets<T> {
  readonly ttlMs: number;
  mint(value: T): string | Promise<string>;
  consume(secret: string): T | undefined | Promise<T | undefined>;
  clear(): void | Promise<void>;
}

/**
 * One-use secrets in the store, for servers that share it: a code minted on one server
 * can be redeemed on another (a load balancer picks the server per request), and the
 * `DELETE … RETURNING` that redeems it is atomic, so a secret still works exactly once
 * however many servers race for it. Hashes only, as in memory.
 */
export class StoredSingleUseSecrets<T> implements OneUseSecrets<T> {
  readonly ttlMs: number;
  readonly #store: SqlExecutor;
  readonly #kind: string;

  constructor(store: SqlExecutor, kind: string, ttlMs: number) {
    this.#store = store;
    this.#kind = kind;
    this.ttlMs = ttlMs;
  }

  async mint(value: T, now = Date.now()): Promise<string> {
    await this.#store.run('DELETE FROM single_use_secrets WHERE expires_at_ms <= ?', [now]);
    const live = await this.#store.get<{ n: number }>('SELECT COUNT(*) AS n FROM single_use_secrets WHERE kind = ?', [
      this.#kind,
    ]);
    if (Number(live?.n ?? 0) >= MAX_LIVE)
      await this.#store.run(
        'DELETE FROM single_use_secrets WHERE hash = (SELECT hash FROM single_use_secrets WHERE kind = ? ORDER BY expires_at_ms LIMIT 1)',
        [this.#kind],
      );
    const secret = randomBytes(24).toString('base64url');
    await this.#store.run(
      'INSERT INTO single_use_secrets (hash, kind, value_json, expires_at_ms) VALUES (?, ?, ?, ?)',
      [secretHash(secret), this.#kind, JSON.stringify(value), now + this.ttlMs],
    );
    return secret;
  }

  async consume(secret: string, now = Date.now()): Promise<T | undefined> {
    const row = await this.#store.get<{ value_json: string; expires_at_ms: number }>(
      'DELETE FROM single_use_secrets WHERE hash = ? AND kind = ? RETURNING value_json, expires_at_ms',
      [secretHash(secret), this.#kind],
    );
    return row && Number(row.expires_at_ms) > now ? (JSON.parse(row.value_json) as T) : undefined;
  }

  async clear(): Promise<void> {
    await this.#store.run('DELETE FROM single_use_secrets WHERE kind = ?', [this.#kind]);
  }
}

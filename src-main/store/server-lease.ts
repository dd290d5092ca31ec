import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.ts';
import { DB_NOW_MS } from './postgres/clock.ts';
import type { SqlExecutor, SqlStore } from './sql-store.ts';

/**
 * A server's lease on the work it does (team mode): one row in `server_leases` per server
 * incarnation, renewed every third of its duration. Work a server owns (a running task)
 * carries its lease id. When a server stops renewing (killed, machine lost, cut off), the
 * lease runs out by the database's clock and any other server may reap it and settle what
 * carried it. The holder fences itself: once it cannot prove the lease is still live
 * (a renewal refused, or its own deadline passed: a paused event loop, an unreachable
 * database), it reports the lease lost, its owners stop that work at once, and it takes a
 * new lease for new work. See docs/team-mode.md ("When a server is lost").
 */
export class ServerLease {
  readonly holder: string;
  readonly durationMs: number;
  #store: SqlStore;
  #logger: Logger;
  #id: string | undefined;
  /** Monotonic time until which the current lease is surely live (measured from before its renewal was sent). */
  #validUntil = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  /**
   * The renewal or acquisition in flight, if any. Every write this class makes to its own
   * row goes through it, one at a time, so release() can wait for it: an INSERT sent before
   * release() and landing after its DELETE would otherwise leave a row nobody renews.
   */
  #inFlight: Promise<void> | undefined;
  #stopped = false;
  #lost: ((leaseId: string) => void)[] = [];
  #acquired: ((leaseId: string) => void)[] = [];

  constructor(options: { store: SqlStore; holder: string; durationMs: number; logger: Logger }) {
    this.#store = options.store;
    this.holder = options.holder;
    this.durationMs = options.durationMs;
    this.#logger = options.logger;
  }

  /** The live lease's id, to stamp on work this server takes; undefined while it has none. */
  get id(): string | undefined {
    return this.valid ? this.#id : undefined;
  }

  /** Whether the lease is surely still live (synchronous, by the monotonic clock): check before acting on owned work. */
  get valid(): boolean {
    if (this.#id === undefined) return false;
    if (performance.now() < this.#validUntil) return true;
    this.#lose(this.#id, 'its deadline passed before a renewal (a paused process or an unreachable database)');
    return false;
  }

  /** Called with the id of a lease that was lost: stop the work that carries it, now. */
  onLost(listener: (leaseId: string) => void): void {
    this.#lost.push(listener);
  }

  /** Called with each new lease id (the first, and each one taken after a loss). */
  onAcquired(listener: (leaseId: string) => void): void {
    this.#acquired.push(listener);
  }

  /** Takes the first lease and starts renewing it. */
  async start(): Promise<void> {
    await this.#serially(() => this.#acquire());
    if (this.#stopped) return;
    const every = Math.max(100, Math.floor(this.durationMs / 3));
    this.#heartbeat = setInterval(() => void this.#beat(), every);
    this.#heartbeat.unref();
  }

  /** Runs one write on this server's row unless another is in flight (it is then skipped: the next beat comes soon). */
  #serially(write: () => Promise<void>): Promise<void> {
    if (this.#inFlight || this.#stopped) return this.#inFlight ?? Promise.resolve();
    const running = write().finally(() => {
      if (this.#inFlight === running) this.#inFlight = undefined;
    });
    this.#inFlight = running;
    return running;
  }

  async #acquire(): Promise<void> {
    if (this.#stopped) return;
    const id = randomUUID();
    const sentAt = performance.now();
    const at = new Date().toISOString();
    await this.#store.run(
      `INSERT INTO server_leases (id, holder, pid, acquired_at, renewed_at, expires_at_ms)
       VALUES (?, ?, ?, ?, ?, ${DB_NOW_MS} + ?)`,
      [id, this.holder, process.pid, at, at, this.durationMs],
    );
    // release() came while the INSERT was on its way: it waits for us, and the row is ours to remove.
    if (this.#stopped) {
      await this.#store.run('DELETE FROM server_leases WHERE id = ?', [id]);
      return;
    }
    this.#id = id;
    this.#extend(sentAt);
    for (const listener of this.#acquired) listener(id);
  }

  /** Renews the lease (or, having lost it, takes a new one); never throws. */
  #beat(): Promise<void> {
    return this.#serially(() => this.#renew());
  }

  async #renew(): Promise<void> {
    try {
      if (!this.valid) {
        await this.#acquire();
        return;
      }
      const id = this.#id!;
      const sentAt = performance.now();
      const { changes } = await this.#store.run(
        `UPDATE server_leases SET expires_at_ms = ${DB_NOW_MS} + ?, renewed_at = ? WHERE id = ? AND expires_at_ms > ${DB_NOW_MS}`,
        [this.durationMs, new Date().toISOString(), id],
      );
      if (this.#id !== id) return; // lost meanwhile (the deadline fired): the next beat takes a new one
      if (changes === 1) this.#extend(sentAt);
      else this.#lose(id, 'the database says it ran out (another server may have settled its work)');
    } catch (error) {
      this.#logger.warn({ err: error }, 'renewing the server lease failed; trying again');
    }
  }

  #extend(sentAt: number): void {
    this.#validUntil = sentAt + this.durationMs;
    clearTimeout(this.#deadline);
    // Fires even while a renewal hangs on an unreachable database.
    this.#deadline = setTimeout(() => void this.valid, Math.max(0, this.#validUntil - performance.now()) + 1);
    this.#deadline.unref();
  }

  #lose(id: string, why: string): void {
    if (this.#id !== id) return;
    this.#id = undefined;
    clearTimeout(this.#deadline);
    this.#logger.error({ lease: id }, `this server lost its lease: ${why}; ending the work it held`);
    for (const listener of this.#lost) listener(id);
  }

  /**
   * Inside a claim transaction: the live lease's id, with its row share-locked until the
   * transaction ends (so no server reaps it meanwhile), or undefined: claim nothing then.
   */
  async hold(tx: SqlExecutor): Promise<string | undefined> {
    const id = this.id;
    if (id === undefined) return undefined;
    const row = await tx.get<{ id: string }>(
      `SELECT id FROM server_leases WHERE id = ? AND expires_at_ms > ${DB_NOW_MS} FOR SHARE`,
      [id],
    );
    return row?.id;
  }

  /**
   * Inside a sweep transaction, first: deletes the leases that ran out (locking each, and
   * skipping any another server is reaping or its holder renewing), so their holders can
   * never renew them. After it, in the same transaction, work whose lease id has no row
   * in `server_leases` is orphaned. Answers the reaped leases.
   */
  async reap(tx: SqlExecutor): Promise<{ id: string; holder: string }[]> {
    const expired = await tx.all<{ id: string; holder: string }>(
      `SELECT id, holder FROM server_leases WHERE expires_at_ms <= ${DB_NOW_MS} ORDER BY id FOR UPDATE SKIP LOCKED`,
    );
    for (const lease of expired) await tx.run('DELETE FROM server_leases WHERE id = ?', [lease.id]);
    return expired;
  }

  /** Whether any lease has run out (a cheap look before a sweep's transaction). */
  async anyExpired(): Promise<boolean> {
    return (
      (await this.#store.get<{ id: string }>(
        `SELECT id FROM server_leases WHERE expires_at_ms <= ${DB_NOW_MS} LIMIT 1`,
      )) !== undefined
    );
  }

  /**
   * Stops renewing and gives the lease up (a clean stop: what still carries it is orphaned
   * at once). A renewal or acquisition already sent is waited for first, so no row of this
   * server outlives the call.
   */
  async release(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#deadline);
    await this.#inFlight?.catch(() => undefined);
    const id = this.#id;
    this.#id = undefined;
    if (id !== undefined) await this.#store.run('DELETE FROM server_leases WHERE id = ?', [id]);
  }
}

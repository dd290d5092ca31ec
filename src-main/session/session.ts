import fs from 'node:fs';
import { describeHolder, type LockInfo, NO_LOCK, type SessionState } from '../../src-shared/session.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { type HolderRecord, isHeld, type LockPaths, readHolder, WorkspaceLock } from './lock.ts';
import type { TeamLock } from './team-lock.ts';

const WATCH_MS = 1000;
/** After handing the lock to a CLI, how long the server waits for it before taking it back. */
const HANDOVER_GRACE_MS = 10_000;

/** Device and inode of a directory: tells the one we started with from a new one at the same path. */
function identityOf(dir: string): string | undefined {
  try {
    const stat = fs.lstatSync(dir);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

const toLockInfo = (holder: HolderRecord | null): LockInfo =>
  holder
    ? { holder: holder.kind, pid: holder.pid, hostname: holder.hostname, since: holder.started_at, id: holder.id }
    : NO_LOCK;

/**
 * The server's side of the workspace lock: hold it when free, hand it to a CLI that
 * asks, watch it while someone else has it, and take it back when they let go or die.
 * Read-only mode is derived from one fact: the server does not hold the lock.
 */
export class SessionService {
  #lock: WorkspaceLock;
  #paths: LockPaths;
  #bus: EventBus;
  #logger: Logger;
  #state: SessionState = { read_only: true, lock: NO_LOCK };
  #timer: NodeJS.Timeout | undefined;
  #handoverUntil = 0;
  /** Lock checks run one at a time (watch ticks, rechecks, handovers never interleave). */
  #queue: Promise<void> = Promise.resolve();
  #tickQueued = false;
  #stopped = false;

  #identity: string | undefined;
  #onStateDirLost: (message: string) => void;
  #team: TeamLock | undefined;

  constructor(options: {
    paths: LockPaths;
    bus: EventBus;
    logger: Logger;
    /** `.lookout/` was deleted or replaced under the running server. */
    onStateDirLost?: (message: string) => void;
    /**
     * Team mode: the workspace is held by one server of all those on the database. This
     * server may hold (or hand to its local `lookout run`) the workspace only while it
     * holds the team lock; otherwise it is read-only and names the team's holder.
     */
    team?: TeamLock;
  }) {
    this.#team = options.team;
    this.#onStateDirLost = options.onStateDirLost ?? (() => undefined);
    this.#identity = identityOf(options.paths.stateDir);
    this.#paths = options.paths;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#lock = new WorkspaceLock(options.paths, {
      onCompromised: (error) => {
        this.#logger.error({ err: error }, 'workspace lock compromised; continuing read-only until it can be re-taken');
        void this.#serially(() => this.#refresh('compromised')).catch(() => undefined);
      },
    });
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Takes the lock if free (else starts read-only) and begins watching. */
  async start(): Promise<void> {
    await this.#serially(() => this.#refresh('start'));
    this.#timer = setInterval(() => void this.#tick(), WATCH_MS);
    this.#timer.unref();
  }

  #serially(fn: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch((error: unknown) => this.#logger.error({ err: error }, 'lock check failed'));
    return run;
  }

  async #tick(): Promise<void> {
    if (this.#tickQueued) return; // one pending watch check is enough
    this.#tickQueued = true;
    await this.#serially(async () => {
      this.#tickQueued = false;
      await this.#refresh('watch');
    }).catch(() => undefined);
  }

  /**
   * Look again now (`lookout run` calls this right after it took or gave back the lock):
   * a run shorter than the watch interval is still published, and the server takes the
   * lock back at once instead of waiting out the handover grace period.
   */
  recheck(): Promise<void> {
    return this.#serially(async () => {
      this.#handoverUntil = 0;
      await this.#refresh('recheck');
    });
  }

  async #refresh(reason: string): Promise<void> {
    if (this.#stopped) return;
    // A .lookout/ deleted (or replaced) under us is not ours any more: taking a lock in
    // the new one would make this orphan the holder a new server waits on for good.
    const identity = identityOf(this.#paths.stateDir);
    if (identity !== this.#identity) {
      this.#stopped = true;
      clearInterval(this.#timer);
      await this.#lock.release();
      this.#onStateDirLost(
        `${this.#paths.stateDir} was ${identity ? 'replaced' : 'deleted'} while the server ran; stopping (start it again to use a fresh one)`,
      );
      return;
    }
    if (this.#team) {
      const wasHeld = this.#team.held;
      const teamHeld = await this.#team.ensure();
      if (this.#stopped) return;
      if (!teamHeld) {
        // Another server holds the workspace (or the database is away): never hold the
        // local lock meanwhile, and name whoever the table says holds it.
        if (this.#lock.held) await this.#lock.release();
        this.#publishIfChanged({ read_only: true, lock: toLockInfo(this.#team.lastHolder) }, wasHeld ? 'lost' : reason);
        return;
      }
      // A holder still recorded by a server whose connection (and so its lock) is gone: it died.
      const dead = this.#team.tookOverFrom;
      if (!wasHeld && dead) {
        this.#logger.warn({ pid: dead.pid, hostname: dead.hostname }, 'took over the workspace of a server that died');
        reason = 'reclaimed';
      }
    }
    const mine = this.#lock.held;
    if (!mine && !isHeld(this.#paths)) {
      const reclaimed = await this.#lock.reclaimIfDead();
      if (reclaimed)
        this.#logger.warn({ pid: reclaimed.pid, kind: reclaimed.kind }, 'reclaimed the lock of a holder that died');
      if (Date.now() >= this.#handoverUntil) {
        const result = await this.#lock.acquire('server');
        if (this.#stopped) {
          // stop() ran while we were taking it: give it straight back.
          await this.#lock.release();
          return;
        }
        if (result.ok)
          reason = reclaimed ? 'reclaimed' : reason === 'watch' || reason === 'recheck' ? 'released' : reason;
      }
    } else if (!mine && Date.now() < this.#handoverUntil) {
      this.#handoverUntil = 0; // the CLI has it now
    }
    const held = this.#lock.held;
    const local = held ? null : isHeld(this.#paths) ? readHolder(this.#paths) : null;
    const next: SessionState = held
      ? { read_only: false, lock: toLockInfo(held) }
      : { read_only: true, lock: local ? toLockInfo(local) : NO_LOCK };
    const holder = held ?? local;
    if (this.#team && holder) {
      // Tell the other servers who holds the workspace (and whose lock id to accept).
      await this.#team.record(holder).catch((error: unknown) => {
        this.#logger.warn({ err: error }, 'could not record the workspace holder for the team');
      });
    }
    this.#publishIfChanged(next, reason);
  }

  #publishIfChanged(next: SessionState, reason: string): void {
    const previous = this.#state;
    if (
      previous.read_only === next.read_only &&
      previous.lock.id === next.lock.id &&
      previous.lock.holder === next.lock.holder
    )
      return;
    this.#state = next;
    this.#logger.info({ read_only: next.read_only, holder: describeHolder(next.lock), reason }, 'lock changed');
    this.#bus.emitLater('session.lock_changed', { ...next, reason });
  }

  /** A CLI asks for the workspace: release it and keep away for a grace period. */
  async handover(): Promise<boolean> {
    let released = false;
    await this.#serially(async () => {
      if (!this.#lock.held) return;
      this.#handoverUntil = Date.now() + HANDOVER_GRACE_MS;
      await this.#lock.release();
      this.#publishIfChanged({ read_only: true, lock: NO_LOCK }, 'handover');
      released = true;
    });
    return released;
  }

  /** The holder's id, from the state or, if the state is behind, from the lock on disk. */
  #isHolderId(id: string): boolean {
    if (this.#state.lock.id === id) return true;
    if (this.#team && !this.#team.held) {
      if (this.#team.lastHolder?.id !== id) return false;
      void this.#tick();
      return true;
    }
    const holder = isHeld(this.#paths) ? readHolder(this.#paths) : null;
    if (holder?.id !== id) return false;
    void this.#tick(); // our state is behind: catch up (and publish) now
    return true;
  }

  /**
   * Whether a write may go ahead: always while the server holds the lock, else only for
   * the holder, who proves it with its lock id. (The read-only guard in http/ asks this.)
   */
  mayWrite(lockId: string | undefined): boolean {
    return !this.#state.read_only || (lockId !== undefined && lockId !== '' && this.#isHolderId(lockId));
  }

  /** The 423 for a write refused now: who holds the lock, or that a handover is under way. */
  readOnlyError(): LookoutError {
    const lock = this.#state.lock;
    if (lock.holder) {
      return new LookoutError(
        'read_only',
        `the workspace is read-only: it is held by ${describeHolder(lock)}; writes resume when it is released`,
        { details: { lock } },
      );
    }
    // Handed over to a `lookout run` that has not taken the lock yet: nobody holds it,
    // and this server takes it back when the grace period ends.
    const seconds = Math.max(1, Math.ceil((this.#handoverUntil - Date.now()) / 1000));
    return new LookoutError(
      'read_only',
      `the workspace is read-only: this server handed the lock over to a lookout command that has not taken it yet; writes resume when that command finishes, or within ${seconds} s if it never takes the lock`,
      { details: { lock, handover: true }, headers: { 'Retry-After': String(seconds) } },
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#queue;
    await this.#lock.release();
    await this.#team?.release();
  }
}

import fs from 'node:fs';
import { describeHolder, type LockInfo, NO_LOCK, type SessionState } from '../../src-shared/session.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { type HolderRecord, isHeld, type LockPaths, readHolder, WorkspaceLock } from './lock.ts';
import type { TeamHolder, TeamLock, TeamView, WriteFence } from './team-lock.ts';

const WATCH_MS = 1000;
/** After handing the lock to a CLI, how long the server waits for it before taking it back. */
const HANDOVER_GRACE_MS = 10_000;
/**
 * Team mode: how long a handover waits for the other servers to acknowledge it (each has
 * seen the new holder and its writes admitted before have ended). A server that never
 * answers (it died within its lease, or its database link is gone) costs this once.
 */
const FENCE_MS = 5_000;

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
  /** Team mode: the server record a handover was made under (the team row names it until the command comes). */
  #handoverRecord: HolderRecord | undefined;
  /** Team mode: the state was adopted from another server's holder. */
  #followingTeam = false;
  #conflictLogged = false;
  #unfollow: () => void = () => undefined;
  /** Lock-bound requests admitted and not yet answered (see admitWrite). */
  #writes = new Set<Promise<unknown>>();
  /** Team mode: this server's name among the team's (its lease holder), for the write fence. */
  #server: string | undefined;
  /** Team mode: the holder whose fence this server last acknowledged. */
  #acked: string | undefined;

  constructor(options: {
    paths: LockPaths;
    bus: EventBus;
    logger: Logger;
    /** `.lookout/` was deleted or replaced under the running server. */
    onStateDirLost?: (message: string) => void;
    /**
     * Team mode: every server on the database takes writes while no `lookout run` holds
     * the workspace; one that does (through any server) makes every server read-only.
     */
    team?: TeamLock;
    /** Team mode: this server's name among the team's (the holder of its lease in `server_leases`). */
    server?: string;
  }) {
    this.#team = options.team;
    this.#server = options.server;
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
    // Team mode: another server's change arrives as its event; look at the team row then
    // rather than at the next tick (the tick still catches a server that died silently).
    if (this.#team) this.#unfollow = this.#bus.listen(['session.lock_changed'], () => void this.#tick());
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
    if (!this.#team) {
      await this.#publishIfChanged(next, reason);
      return;
    }
    await this.#refreshTeam(this.#team, next, held, local, reason);
  }

  /**
   * Team mode: this server's own view (above) meets the team's. While a `lookout run`
   * holds the workspace here (or we handed it over to one), we hold the team lock for it,
   * and every other server turns read-only; while we hold our own file lock, the team
   * decides: writable unless another server's command holds the workspace.
   */
  async #refreshTeam(
    team: TeamLock,
    next: SessionState,
    held: HolderRecord | undefined,
    local: HolderRecord | null,
    reason: string,
  ): Promise<void> {
    const handingOver = !held && !local && Date.now() < this.#handoverUntil;
    const ours: TeamHolder | null =
      local?.kind === 'cli'
        ? { holder: local, handoverUntil: 0 }
        : handingOver && this.#handoverRecord
          ? { holder: this.#handoverRecord, handoverUntil: this.#handoverUntil }
          : null;
    if (ours) {
      // Ours to hold for the team. A loss (the database went away) is re-taken here; if
      // another server's command took the workspace meanwhile, both run: say so.
      const taken = await team.take(ours).catch((error: unknown) => {
        this.#logger.warn({ err: error }, 'could not record the workspace holder for the team');
        return team.held;
      });
      if (!taken && !this.#conflictLogged) {
        this.#conflictLogged = true;
        this.#logger.warn(
          { holder: team.last?.holder },
          'a lookout run holds this workspace while another server’s command holds the team’s',
        );
      }
      await this.#publishIfChanged(next, reason);
      return;
    }
    this.#conflictLogged = false;
    if (team.held) await team.release(); // the command finished or died, or the handover ran out
    let view: TeamView;
    try {
      view = await team.current();
    } catch (error) {
      // The database is away: keep what we knew about the team (writes fail on their own).
      this.#logger.debug({ err: error }, 'could not read the team workspace holder');
      view = { holder: team.last, cleared: null };
    }
    if (view.cleared) {
      const dead = view.cleared.holder;
      this.#logger.warn(
        { pid: dead.pid, hostname: dead.hostname, kind: dead.kind },
        'the server holding the workspace for a lookout run died; the workspace is the servers’ again',
      );
      reason = 'reclaimed';
    }
    const other = held ? view.holder : null;
    if (other) {
      // Another server's command holds the workspace (or is about to): that server
      // announced it to everyone (the event stream is shared), so it is only adopted here.
      const lock = other.handoverUntil > 0 ? NO_LOCK : toLockInfo(other.holder);
      await this.#publishIfChanged({ read_only: true, lock }, reason, { announce: false });
      this.#followingTeam = true;
      this.#acknowledge(team, other.holder.id);
      return;
    }
    // Writable again because the other server's command finished: that server said so.
    // Because its server died, or for a reason of our own: ours to say.
    this.#acked = undefined; // the next holder is acknowledged afresh
    const followed = this.#followingTeam && !view.cleared && reason !== 'start';
    await this.#publishIfChanged(next, reason, { announce: !followed });
    this.#followingTeam = false;
  }

  /**
   * Adopts `next` if it differs; publishes it unless `announce` is false. In team mode a
   * change another server made is announced by that server (the event stream is shared,
   * so every dashboard hears it once), and only adopted here; see #refreshTeam.
   */
  async #publishIfChanged(next: SessionState, reason: string, options: { announce?: boolean } = {}): Promise<void> {
    const previous = this.#state;
    if (
      previous.read_only === next.read_only &&
      previous.lock.id === next.lock.id &&
      previous.lock.holder === next.lock.holder
    )
      return;
    this.#state = next;
    const announce = options.announce ?? true;
    this.#logger.info(
      { read_only: next.read_only, holder: describeHolder(next.lock), reason, announced: announce },
      'lock changed',
    );
    if (!announce) return;
    const published = this.#bus.emit('session.lock_changed', { ...next, reason }).then(
      () => undefined,
      (error: unknown) => this.#logger.error({ err: error, type: 'session.lock_changed' }, 'could not publish'),
    );
    // Team mode: the other servers learn of the change from this event, so it is stored
    // before a handover or a recheck is answered (the CLI then acts on a team that knows).
    if (this.#team) await published;
  }

  /**
   * A CLI asks for the workspace: release it and keep away for a grace period. In team
   * mode the team lock is taken for the command first (every other server turns
   * read-only); while another server's command holds the workspace, nothing is released.
   */
  async handover(): Promise<boolean> {
    let released = false;
    let fence: WriteFence | undefined;
    await this.#serially(async () => {
      const own = this.#lock.held;
      if (!own) return;
      const until = Date.now() + HANDOVER_GRACE_MS;
      if (this.#team) {
        let taken: boolean;
        try {
          // Listening before the holder is written: no acknowledgement is missed.
          if (this.#server !== undefined) fence = await this.#team.fence(own.id);
          taken = await this.#team.take({ holder: own, handoverUntil: until });
        } catch (error) {
          throw new LookoutError(
            'unavailable',
            `cannot hand the workspace over: the team's database is unreachable (${(error as Error).message}); try again once it is back`,
            { headers: { 'Retry-After': '1' } },
          );
        }
        if (!taken) {
          await this.#refresh('handover'); // name the holder in the answer
          return;
        }
        this.#handoverRecord = own;
      }
      this.#handoverUntil = until;
      await this.#lock.release();
      await this.#publishIfChanged({ read_only: true, lock: NO_LOCK }, 'handover');
      // Read-only from here on: the writes admitted before end before the command is
      // answered (on every server of a team: the fence), so none lands during its hold.
      if (this.#team && fence && this.#server !== undefined) await this.#fence(this.#team, fence, this.#server);
      else await this.#drain();
      released = true;
    }).finally(() => fence?.close());
    return released;
  }

  /** The holder's id, from the state or, if the state is behind, from the lock on disk (or the team's row). */
  #isHolderId(id: string): boolean {
    if (this.#state.lock.id === id) return true;
    const team = this.#team?.last;
    const holder =
      team && team.handoverUntil === 0 ? team.holder : isHeld(this.#paths) ? readHolder(this.#paths) : null;
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

  /**
   * Runs a lock-bound request that was just found writable (the guard calls this in the
   * same turn as its check, so no state change falls between them), counting it until it
   * is answered: a handover waits for the ones admitted before it (#drain).
   */
  admitWrite<T>(run: () => Promise<T>): Promise<T> {
    const running = run();
    const tracked = running.catch(() => undefined);
    this.#writes.add(tracked);
    void tracked.then(() => this.#writes.delete(tracked));
    return running;
  }

  /** Resolves once every lock-bound request admitted until now has been answered (at most FENCE_MS). */
  async #drain(): Promise<void> {
    if (this.#writes.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, FENCE_MS)));
    await Promise.race([Promise.all([...this.#writes]), bound]);
    clearTimeout(timer);
  }

  /**
   * Team mode, on a server that just saw another's holder: once the writes it admitted
   * before have ended, tell the holding server (its handover waits for that).
   */
  #acknowledge(team: TeamLock, holderId: string): void {
    const server = this.#server;
    if (server === undefined || this.#acked === holderId) return;
    this.#acked = holderId;
    void this.#drain()
      .then(() => team.acknowledge(holderId, server))
      .catch((error: unknown) => this.#logger.debug({ err: error }, 'could not acknowledge the workspace holder'));
  }

  /**
   * Team mode, in a handover: waits (at most FENCE_MS) until this server's own writes
   * admitted before and every other live server's have ended, each server saying so.
   */
  async #fence(team: TeamLock, fence: WriteFence, server: string): Promise<void> {
    await this.#drain();
    let servers: string[];
    try {
      servers = await team.otherServers(server);
    } catch (error) {
      // The database went away mid-handover: the command is answered; nobody can write meanwhile anyway.
      this.#logger.warn({ err: error }, 'could not list the servers to wait for at the handover');
      return;
    }
    const missing = await fence.wait(servers, FENCE_MS);
    if (missing.length > 0)
      this.#logger.warn(
        { servers: missing },
        'handing the workspace over without word from some servers (a write they admitted before may still land)',
      );
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
    const team = this.#team?.last;
    if (team && team.handoverUntil > 0) {
      // Another server handed the workspace to its `lookout run`, which has not taken it yet.
      const seconds = Math.max(1, Math.ceil((team.handoverUntil - Date.now()) / 1000));
      const by = `the server pid ${team.holder.pid} on ${team.holder.hostname}`;
      return new LookoutError(
        'read_only',
        `the workspace is read-only: ${by} handed it over to a lookout command that has not taken it yet; writes resume when that command finishes, or within ${seconds} s if it never takes the lock`,
        {
          details: { lock, handover: true, server: { pid: team.holder.pid, hostname: team.holder.hostname } },
          headers: { 'Retry-After': String(seconds) },
        },
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
    this.#unfollow();
    await this.#lock.release();
    await this.#team?.close();
  }
}

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import { isPidAlive, readStateFile } from '../workspace.ts';

/**
 * The record beside the lock that says who holds it. proper-lockfile's lock is a
 * directory it removes with rmdir, so the record lives next to it, not inside.
 */
export const HolderRecord = z.object({
  kind: z.enum(['server', 'cli']),
  pid: z.number().int(),
  hostname: z.string(),
  started_at: z.string(),
  id: z.string(),
  command: z.array(z.string()),
  /**
   * The process group of the command a `lookout run` started (or, when the command could
   * not have a group of its own, its pid as `command_pid`). Whoever takes the lock after
   * this holder died or went stale ends that group first: two holders' commands never
   * run at once.
   */
  command_pgid: z.number().int().positive().optional(),
  command_pid: z.number().int().positive().optional(),
});
export type HolderRecord = z.infer<typeof HolderRecord>;

export interface LockPaths {
  /** The directory being locked (`.lookout/`). */
  stateDir: string;
  /** The lock itself (`.lookout/session.lock`, a directory managed by proper-lockfile). */
  lock: string;
}

export const holderFile = (paths: LockPaths): string => `${paths.lock}.json`;

/** A lock is stale when its mtime is older than this (the holder refreshes it every second). */
export const STALE_MS = 5000;
const UPDATE_MS = 1000;

export type AcquireResult = { ok: true; holder: HolderRecord } | { ok: false; holder: HolderRecord | null };

export function readHolder(paths: LockPaths): HolderRecord | null {
  try {
    const parsed = HolderRecord.safeParse(JSON.parse(readStateFile(holderFile(paths))));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const lockExists = (paths: LockPaths): boolean => {
  try {
    fs.lstatSync(paths.lock);
    return true;
  } catch {
    return false;
  }
};

/**
 * True when the lock is held by a live holder. A holder on this host whose pid is gone
 * is dead at once; one on another host only by the lock's mtime going stale.
 */
export function isHeld(paths: LockPaths): boolean {
  if (!lockExists(paths)) return false;
  const holder = readHolder(paths);
  if (holder && holder.hostname === os.hostname() && !isPidAlive(holder.pid)) return false;
  try {
    return Date.now() - fs.statSync(paths.lock).mtimeMs < STALE_MS;
  } catch {
    return false;
  }
}

/**
 * True while a process runs: a zombie (killed, not yet reaped by a parent that is itself
 * stopped) has ended and counts as gone. Linux reads /proc; elsewhere signal 0.
 */
export function processRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync('/proc/self')) return false;
    return isPidAlive(pid);
  }
}

const TERM_GRACE_MS = 2000;
const KILL_WAIT_MS = 2000;

/**
 * Ends the command a previous holder left running (its process group, else its pid):
 * SIGTERM (and SIGCONT, so a stopped group gets it), then SIGKILL to whatever of the
 * group is left. Resolves once the command is gone, or after a bounded wait.
 */
export async function endHolderCommand(holder: HolderRecord): Promise<boolean> {
  const leader = holder.command_pgid ?? holder.command_pid;
  if (!leader || holder.hostname !== os.hostname() || !processRunning(leader)) return false;
  const target = holder.command_pgid ? -holder.command_pgid : leader;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(target, name);
    } catch {
      // Gone already.
    }
  };
  const waitGone = async (ms: number) => {
    const until = Date.now() + ms;
    while (processRunning(leader) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 25));
  };
  signal('SIGTERM');
  signal('SIGCONT');
  await waitGone(TERM_GRACE_MS);
  signal('SIGKILL'); // members of the group that ignored SIGTERM
  await waitGone(KILL_WAIT_MS);
  return true;
}

/** True when the lock directory's mtime is older than STALE_MS (its holder stopped refreshing). */
const isStale = (paths: LockPaths): boolean => {
  try {
    return Date.now() - fs.statSync(paths.lock).mtimeMs >= STALE_MS;
  } catch {
    return true;
  }
};

/**
 * The workspace lock (proper-lockfile, mkdir-based, mtime-refreshed) plus its holder
 * record. One instance per would-be holder; `acquire` never blocks.
 */
export class WorkspaceLock {
  #paths: LockPaths;
  #release: (() => Promise<void>) | undefined;
  #holder: HolderRecord | undefined;
  #onCompromised: (error: Error) => void;

  constructor(paths: LockPaths, options: { onCompromised?: (error: Error) => void } = {}) {
    this.#paths = paths;
    this.#onCompromised = options.onCompromised ?? (() => undefined);
  }

  get held(): HolderRecord | undefined {
    return this.#holder;
  }

  /**
   * Removes the leftovers of a holder that died on this host (its pid is gone), after
   * ending the command it left running.
   */
  async reclaimIfDead(): Promise<HolderRecord | null> {
    if (!lockExists(this.#paths)) return null;
    const holder = readHolder(this.#paths);
    if (!holder || holder.hostname !== os.hostname() || isPidAlive(holder.pid)) return null;
    if (holder.id === this.#holder?.id) return null;
    await endHolderCommand(holder);
    fs.rmSync(this.#paths.lock, { recursive: true, force: true });
    fs.rmSync(holderFile(this.#paths), { force: true });
    return holder;
  }

  async acquire(kind: HolderRecord['kind'], command: string[] = process.argv.slice(1)): Promise<AcquireResult> {
    if (this.#holder) return { ok: true, holder: this.#holder };
    await this.reclaimIfDead();
    // A holder that is alive but stale (SIGSTOPped, say) loses the lock to proper-lockfile's
    // stale rule below; its command must end before anyone else's starts.
    const previous = readHolder(this.#paths);
    if (previous && (!lockExists(this.#paths) || isStale(this.#paths))) await endHolderCommand(previous);
    try {
      this.#release = await lockfile.lock(this.#paths.stateDir, {
        lockfilePath: this.#paths.lock,
        realpath: false,
        stale: STALE_MS,
        update: UPDATE_MS,
        retries: 0,
        onCompromised: (error) => {
          // Someone removed or took over our lock (or the disk stalled past the stale
          // threshold). Never crash: forget the lock and let the owner react.
          this.#release = undefined;
          this.#holder = undefined;
          this.#onCompromised(error);
        },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return { ok: false, holder: readHolder(this.#paths) };
      throw error;
    }
    const holder: HolderRecord = {
      kind,
      pid: process.pid,
      hostname: os.hostname(),
      started_at: new Date().toISOString(),
      id: randomUUID(),
      command,
    };
    this.#writeRecord(holder);
    this.#holder = holder;
    return { ok: true, holder };
  }

  /** Records the process group (or pid) of the command run under this lock. */
  recordCommand(command: { pgid?: number; pid?: number }): void {
    const holder = this.#holder;
    if (!holder) return;
    const updated: HolderRecord = {
      ...holder,
      ...(command.pgid ? { command_pgid: command.pgid } : {}),
      ...(command.pid ? { command_pid: command.pid } : {}),
    };
    this.#writeRecord(updated);
    this.#holder = updated;
  }

  #writeRecord(holder: HolderRecord): void {
    const temp = path.join(this.#paths.stateDir, `.holder.${process.pid}.${holder.id}.tmp`);
    fs.rmSync(temp, { force: true });
    fs.writeFileSync(temp, `${JSON.stringify(holder, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, holderFile(this.#paths));
  }

  /** Releases the lock if held; the record goes first so nobody reads a stale holder. */
  async release(): Promise<void> {
    const release = this.#release;
    const holder = this.#holder;
    this.#release = undefined;
    this.#holder = undefined;
    if (!release || !holder) return;
    if (readHolder(this.#paths)?.id === holder.id) fs.rmSync(holderFile(this.#paths), { force: true });
    try {
      await release();
    } catch {
      // Already gone (compromised or removed by hand): nothing left to release.
    }
  }
}

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

  /** Removes the leftovers of a holder that died on this host (its pid is gone). */
  reclaimIfDead(): HolderRecord | null {
    if (!lockExists(this.#paths)) return null;
    const holder = readHolder(this.#paths);
    if (!holder || holder.hostname !== os.hostname() || isPidAlive(holder.pid)) return null;
    if (holder.id === this.#holder?.id) return null;
    fs.rmSync(this.#paths.lock, { recursive: true, force: true });
    fs.rmSync(holderFile(this.#paths), { force: true });
    return holder;
  }

  async acquire(kind: HolderRecord['kind'], command: string[] = process.argv.slice(1)): Promise<AcquireResult> {
    if (this.#holder) return { ok: true, holder: this.#holder };
    this.reclaimIfDead();
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
    const file = holderFile(this.#paths);
    const temp = path.join(this.#paths.stateDir, `.holder.${process.pid}.${holder.id}.tmp`);
    fs.writeFileSync(temp, `${JSON.stringify(holder, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, file);
    this.#holder = holder;
    return { ok: true, holder };
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

import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { validateEventInput } from '../../src-shared/events.ts';
import { MAX_BATCH } from '../../src-shared/protocol.ts';
import type { Collection, SystemState } from '../../src-shared/state.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { CollectionClaim } from './collection-claim.ts';
import type { StateStore } from './state-store.ts';

/** An event a collector reports; metadata naming the collector and the run is added. */
export interface CollectorEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface CollectorContext {
  readonly workspace: string;
  /** Aborted when the collection is cancelled or the server stops; pass it to I/O. */
  readonly signal: AbortSignal;
  /** When the last successful collection finished (null before the first). */
  readonly lastSync: string | null;
  readonly logger: Logger;
  /** How far this collector has come, 0..1; the runner maps it onto the overall bar. */
  progress(fraction: number): void;
  /** What this collector remembered at its last commit, if it still parses. */
  recall<T>(schema: z.ZodType<T>): T | undefined;
  /**
   * Publishes events and remembers `memory`, after checking every event, so what was
   * reported and what is remembered never disagree: each thing is reported exactly once
   * across runs. Rejects once the run is cancelled (or when the store refuses).
   */
  commit(events: readonly CollectorEvent[], memory: unknown): Promise<void>;
}

/**
 * One source of observations. Collectors run one after another; a throw ends the
 * collection in ERROR with its message. The returned summary (small, JSON) is shown in
 * the collection's `results` under the collector's name.
 */
export interface Collector {
  /** Lowercase, unique: `git`, `files`. Also the key of its memory. */
  readonly name: string;
  /** Share of the progress bar relative to the other collectors (default 1). */
  readonly weight?: number;
  collect(context: CollectorContext): Promise<Record<string, unknown>>;
}

/** Where the runner reads and writes the system status (the state service). */
export interface StatusPort {
  current(): SystemState;
  /** Stores and publishes the new status; changes land in the order they were made. */
  set(next: SystemState): Promise<void>;
}

export interface CollectionRunnerOptions {
  store: StateStore;
  bus: EventBus;
  logger: Logger;
  workspace: string;
  status: StatusPort;
  collectors: readonly Collector[];
  /** Team mode: one collection at a time across every server (the system status is one). */
  claim?: CollectionClaim;
}

/** Finished collections kept for `GET /api/v1/collections/{id}` (memory only). */
const HISTORY = 20;
/** How long stop() waits for a cancelled collector to let go of its processes. */
const STOP_WAIT_MS = 2000;
const RUNNING_KEY = 'collection.running';
const RunningMarker = z.object({ id: z.string(), started_at: z.string() });
const MAX_MESSAGE = 500;

interface Run {
  record: Collection;
  controller: AbortController;
  settled: Promise<void>;
  /** The progress last published, and when (progress is published at most once a second). */
  published: number;
  publishedAt: number;
  /** A later progress waiting for its turn. */
  pending: NodeJS.Timeout | undefined;
  /** Its final status is being stored: no progress may be published after it. */
  ending?: boolean;
}

/**
 * Progress is published at most this often. A sync that finishes sooner publishes only
 * its start and its end; a long one shows movement every second, not a row per tenth.
 */
export const PROGRESS_INTERVAL_MS = 1000;

class Cancelled extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Cancelled';
  }
}

/**
 * Runs collections one at a time with progress. The system status follows the run:
 * COLLECTING 0, then the progress at most once a second while it runs, then IDLE with
 * `last_sync`, or ERROR with the reason (the progress stays where it failed), or IDLE
 * with a message when cancelled. A marker row survives a crash, so the next start can
 * say that the collection was interrupted instead of showing COLLECTING forever.
 */
export class CollectionRunner {
  #options: CollectionRunnerOptions;
  #collectors: Collector[];
  #current: Run | undefined;
  #history = new Map<string, Collection>();
  /** Runs cancelled but not yet settled: stop() waits for their child processes too. */
  #draining = new Set<Promise<void>>();
  #stopped = false;

  constructor(options: CollectionRunnerOptions) {
    this.#options = options;
    this.#collectors = [...options.collectors];
    this.#recoverInterrupted();
  }

  /** Adds a collector, or replaces the one with the same name. */
  register(collector: Collector): void {
    if (!/^[a-z][a-z0-9_-]*$/.test(collector.name))
      throw new Error(`a collector name is lowercase (git, files); got ${collector.name}`);
    this.#collectors = [...this.#collectors.filter((c) => c.name !== collector.name), collector];
  }

  /** Removes a collector; false when there was none by that name. */
  unregister(name: string): boolean {
    const before = this.#collectors.length;
    this.#collectors = this.#collectors.filter((c) => c.name !== name);
    return this.#collectors.length < before;
  }

  get collectorNames(): string[] {
    return this.#collectors.map((c) => c.name);
  }

  get running(): Collection | undefined {
    return this.#current && structuredClone(this.#current.record);
  }

  get(id: string): Collection | undefined {
    if (this.#current?.record.id === id) return structuredClone(this.#current.record);
    const done = this.#history.get(id);
    return done && structuredClone(done);
  }

  /** Most recent first, the running one included. */
  list(): Collection[] {
    const all = [...this.#history.values()].reverse();
    if (this.#current) all.unshift(this.#current.record);
    return structuredClone(all);
  }

  /** Starts a collection, or throws 409 while one runs. COLLECTING 0 is published before this resolves. */
  async start(): Promise<Collection> {
    if (this.#stopped)
      throw new LookoutError('unavailable', 'the server is stopping; start the collection again once it is back');
    if (this.#current) {
      const { id } = this.#current.record;
      throw new LookoutError('conflict', `a collection is already running (${id}); wait for it or cancel it first`, {
        details: { collection: this.get(id) },
      });
    }
    const record: Collection = {
      id: newId(),
      status: 'running',
      progress: 0,
      started_at: new Date().toISOString(),
      finished_at: null,
      collector: null,
      results: {},
    };
    const run: Run = {
      record,
      controller: new AbortController(),
      settled: Promise.resolve(),
      published: 0,
      publishedAt: Date.now(),
      pending: undefined,
    };
    this.#current = run;
    const claim = this.#options.claim;
    if (claim) {
      // Held before anything is announced: a refused start leaves the status alone.
      let taken: Awaited<ReturnType<CollectionClaim['take']>>;
      try {
        taken = await claim.take(record);
      } catch (error) {
        this.#current = undefined;
        throw error;
      }
      if (!taken.ok) {
        this.#current = undefined;
        const where = taken.running
          ? ` on the server ${taken.running.server} (${taken.running.id})`
          : ' on another server';
        throw new LookoutError('conflict', `a collection is already running${where}; wait for it or cancel it there`, {
          details: { running: taken.running },
        });
      }
      if (this.#stopped) {
        this.#current = undefined;
        await claim.release();
        throw new LookoutError('unavailable', 'the server is stopping; start the collection again once it is back');
      }
    }
    const marked = this.#options.store.writePrivate(RUNNING_KEY, { id: record.id, started_at: record.started_at });
    const { last_sync } = this.#options.status.current();
    const announced = this.#options.status.set({
      status: 'COLLECTING',
      progress: 0,
      last_sync,
      message: 'collection started',
    });
    const copy = structuredClone(record);
    run.settled = (async () => {
      try {
        await Promise.all([marked, announced]);
      } catch (error) {
        await this.#fail(run, 'collection', error);
        return;
      }
      // The interval counts from the start row as stored, not from before the writes above.
      run.publishedAt = Date.now();
      await this.#execute(run);
    })();
    await announced.catch(() => undefined);
    return copy;
  }

  /** Resolves when the collection has finished, one way or another. */
  async settled(id: string): Promise<Collection | undefined> {
    if (this.#current?.record.id === id) await this.#current.settled;
    return this.get(id);
  }

  /**
   * Cancels a running collection at once: its status becomes `cancelled`, the system
   * goes back to IDLE, and nothing it had not committed yet is reported. 404 for an
   * unknown id, 409 for one that has already finished.
   */
  async cancel(id: string, reason?: string): Promise<Collection> {
    const run = this.#current;
    if (!run || run.record.id !== id) {
      const done = this.#history.get(id);
      if (!done) throw new LookoutError('not_found', `no collection has the id ${id}`);
      throw new LookoutError(
        'conflict',
        `collection ${id} has already ${done.status === 'running' ? 'stopped' : done.status}; there is nothing to cancel`,
        {
          details: { collection: done },
        },
      );
    }
    run.controller.abort(new Cancelled(reason ?? 'cancelled'));
    const last = this.#options.status.current();
    this.#finish(run, { status: 'cancelled', error: reason ?? 'cancelled on request' });
    const message = reason === undefined ? 'collection cancelled' : `collection cancelled: ${reason}`;
    const stored = this.#setStatus({
      status: 'IDLE',
      progress: run.record.progress,
      last_sync: last.last_sync,
      message,
    });
    const draining = run.settled.finally(() => this.#draining.delete(draining));
    this.#draining.add(draining);
    const record = structuredClone(run.record);
    // Answered once IDLE is stored: a client that reads the status next sees it.
    await stored;
    await this.#releaseClaim();
    return record;
  }

  /** Cancels what runs (the server is stopping) and waits a little for it to let go. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#current) await this.cancel(this.#current.record.id, 'the server is stopping');
    if (this.#draining.size === 0) return await this.#closeClaim();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
    await Promise.race([Promise.allSettled([...this.#draining]), timeout]);
    clearTimeout(timer);
    await this.#closeClaim();
  }

  async #closeClaim(): Promise<void> {
    await this.#options.claim?.close();
  }

  async #execute(run: Run): Promise<void> {
    const { logger } = this.#options;
    const collectors = this.#collectors;
    const total = collectors.reduce((sum, c) => sum + (c.weight ?? 1), 0) || 1;
    const lastSync = this.#options.status.current().last_sync;
    let offset = 0;
    let collector: Collector | undefined;
    try {
      for (collector of collectors) {
        if (run.controller.signal.aborted) return;
        const share = ((collector.weight ?? 1) / total) * 100;
        const base = offset;
        run.record.collector = collector.name;
        const summary = await collector.collect(
          this.#context(run, collector, lastSync, (fraction) => this.#advance(run, base + share * clamp(fraction))),
        );
        if (run.controller.signal.aborted) return;
        run.record.results[collector.name] = summary;
        offset += share;
        this.#advance(run, offset);
      }
      if (run.controller.signal.aborted) return;
      this.#advance(run, 100);
      const finishedAt = new Date().toISOString();
      // The status first: whoever sees the collection finished then reads IDLE.
      this.#endProgress(run);
      await this.#options.status.set({ status: 'IDLE', progress: 100, last_sync: finishedAt });
      this.#finish(run, { status: 'succeeded', finishedAt });
      await this.#releaseClaim();
      logger.info({ collection: run.record.id, results: run.record.results }, 'collection finished');
    } catch (error) {
      if (run.controller.signal.aborted) return; // cancel() has already said so
      await this.#fail(run, collector?.name ?? 'collection', error);
    }
  }

  /** Ends a run in ERROR, saying which collector failed and why; resolves once that is stored. */
  #fail(run: Run, name: string, error: unknown): Promise<void> {
    const reason = clip(error instanceof Error ? error.message : String(error));
    this.#options.logger.warn({ err: error, collection: run.record.id, collector: name }, 'collection failed');
    try {
      const last = this.#options.status.current();
      // The status first: whoever sees the collection failed then reads ERROR.
      this.#endProgress(run);
      return this.#setStatus({
        status: 'ERROR',
        progress: run.record.progress,
        last_sync: last.last_sync,
        message: clip(`${name} collector failed: ${reason}`),
      }).then(() => {
        this.#finish(run, { status: 'failed', error: reason });
        return this.#releaseClaim();
      });
    } catch (inner) {
      this.#options.logger.error({ err: inner, collection: run.record.id }, 'could not record a failed collection');
      return this.#releaseClaim();
    }
  }

  /** A status change that never fails its caller: stored and published in order; a failure is logged. */
  #setStatus(next: SystemState): Promise<void> {
    return this.#options.status.set(next).catch((error: unknown) => {
      this.#options.logger.error({ err: error, status: next.status }, 'could not record the system status');
    });
  }

  #context(
    run: Run,
    collector: Collector,
    lastSync: string | null,
    progress: (fraction: number) => void,
  ): CollectorContext {
    const { store, bus, logger, workspace } = this.#options;
    const key = `collector.${collector.name}`;
    const signal = run.controller.signal;
    return {
      workspace,
      signal,
      lastSync,
      logger: logger.child({ collector: collector.name, collection: run.record.id }),
      progress: (fraction) => {
        if (!signal.aborted) progress(fraction);
      },
      recall: (schema) => store.readPrivate(key, schema),
      // Not async: a cancelled run or a bad event throws at once, before anything is published.
      commit: (events, memory) => {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Cancelled('cancelled');
        const metadata = { source: 'collector', collector: collector.name, collection_id: run.record.id };
        const inputs = events.map((event) => ({ type: event.type, data: event.data, metadata }));
        // Check everything before publishing anything: a bad event must not leave half
        // a batch reported and nothing remembered (it would be reported again).
        for (const input of inputs) {
          const result = validateEventInput(input);
          if (!result.ok)
            throw new Error(
              `${collector.name} produced an invalid ${input.type} event: ${result.issues[0]?.path} ${result.issues[0]?.message}`,
            );
        }
        return (async () => {
          for (let i = 0; i < inputs.length; i += MAX_BATCH) {
            await bus.publish(inputs.slice(i, i + MAX_BATCH), { batch: true });
          }
          await store.writePrivate(key, memory);
        })();
      },
    };
  }

  /**
   * Moves the run to `percent`. The document (GET /system/status, GET /collections/{id})
   * always has the latest value; the event log gets it at most once a second, the latest
   * value at that moment, so a quick sync adds no progress rows at all.
   */
  #advance(run: Run, percent: number): void {
    run.record.progress = Math.max(run.record.progress, Math.min(100, Math.floor(percent)));
    if (run.ending) return;
    // 100 is said by the end itself (IDLE 100), an instant later.
    if (run.record.progress === run.published || run.record.progress >= 100 || run.pending) return;
    const wait = run.publishedAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) this.#publishProgress(run);
    else run.pending = setTimeout(() => this.#publishProgress(run), wait);
  }

  /** No progress after this: the run's final status is on its way. */
  #endProgress(run: Run): void {
    run.ending = true;
    clearTimeout(run.pending);
    run.pending = undefined;
  }

  #publishProgress(run: Run): void {
    run.pending = undefined;
    if (run.ending || this.#current !== run || run.record.progress === run.published) return;
    const { last_sync } = this.#options.status.current();
    void this.#setStatus({
      status: 'COLLECTING',
      progress: run.record.progress,
      last_sync,
      message: `collecting ${run.record.collector ?? ''}`.trim(),
    });
    run.published = run.record.progress;
    run.publishedAt = Date.now();
  }

  #finish(
    run: Run,
    outcome: { status: 'succeeded' | 'failed' | 'cancelled'; error?: string; finishedAt?: string },
  ): void {
    clearTimeout(run.pending);
    run.pending = undefined;
    run.record.status = outcome.status;
    run.record.finished_at = outcome.finishedAt ?? new Date().toISOString();
    if (outcome.error !== undefined) run.record.error = outcome.error;
    if (outcome.status === 'succeeded') run.record.collector = null;
    this.#history.set(run.record.id, run.record);
    while (this.#history.size > HISTORY) this.#history.delete(this.#history.keys().next().value!);
    if (this.#current === run) this.#current = undefined;
    this.#options.store.deletePrivate(RUNNING_KEY).catch((error: unknown) => {
      this.#options.logger.warn({ err: error }, 'could not clear the running-collection marker');
    });
  }

  /** Gives the team's slot back, once the run's final status is stored (never before: it would land over the next run's). */
  async #releaseClaim(): Promise<void> {
    await this.#options.claim?.release().catch((error: unknown) => {
      this.#options.logger.warn({ err: error }, 'could not release the team collection slot');
    });
  }

  /**
   * A marker left behind means the process died mid-collection. (Its own marker: in team
   * mode each server's is its own, and a COLLECTING shown while another server's
   * collection runs is that one's, not ours to end.)
   */
  #recoverInterrupted(): void {
    const marker = this.#options.store.readPrivate(RUNNING_KEY, RunningMarker);
    if (!marker) return;
    this.#options.store.deletePrivate(RUNNING_KEY).catch(() => undefined);
    const claim = this.#options.claim;
    if (!claim) {
      this.#reportInterrupted(marker);
      return;
    }
    void claim
      .busy()
      .then((busy) => {
        if (!busy) this.#reportInterrupted(marker);
      })
      .catch((error: unknown) => this.#options.logger.warn({ err: error }, 'could not check for a running collection'));
  }

  #reportInterrupted(marker: z.infer<typeof RunningMarker>): void {
    const last = this.#options.status.current();
    if (last.status !== 'COLLECTING') return;
    this.#options.logger.warn({ collection: marker.id }, 'the last collection was interrupted');
    void this.#setStatus({
      status: 'ERROR',
      progress: last.progress,
      last_sync: last.last_sync,
      message: `collection ${marker.id} was interrupted: the server stopped before it finished`,
    });
  }
}

function newId(): string {
  // Time first, so ids sort in start order; random after, so two servers never collide.
  return `c${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

const clamp = (fraction: number): number => (Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0);

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= MAX_MESSAGE ? line : `${line.slice(0, MAX_MESSAGE - 1)}…`;
}

import type { z } from 'zod';
import {
  SECTION_SCHEMAS,
  type StateDocument,
  STATE_SECTIONS,
  SystemState,
  initialState,
} from '../../src-shared/state.ts';
import type { Logger } from '../logger.ts';
import type { SqlStore } from '../store/sql-store.ts';

/** The rows of the `state` table that make up the document; any other row is private. */
const DOCUMENT_ROWS = ['system', ...STATE_SECTIONS] as const;
type DocumentRow = (typeof DOCUMENT_ROWS)[number];

const ROW_SCHEMAS: Record<DocumentRow, z.ZodType> = { system: SystemState, ...SECTION_SCHEMAS };

/** Private rows (collector memory) are this server's alone: written without a version. */
const UPSERT =
  'INSERT INTO state (section, json, updated_at) VALUES (?, ?, ?) ON CONFLICT (section) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at';
/** A document row written over the version we read: nobody wrote it since. */
const COMPARE_AND_SET =
  'UPDATE state SET json = ?, updated_at = ?, version = version + 1 WHERE section = ? AND version = ?';
/** A document row written for the first time: nobody wrote it since we found it absent. */
const INSERT_FIRST =
  'INSERT INTO state (section, json, updated_at, version) VALUES (?, ?, ?, 1) ON CONFLICT (section) DO NOTHING';
const SELECT_DOCUMENT = `SELECT section, json, version FROM state WHERE section IN (${DOCUMENT_ROWS.map(() => '?').join(', ')})`;

/**
 * A write lost its compare-and-set: another server wrote the section since this one read
 * it. The caller reads it again (`reload`) and decides again; nothing was written.
 */
export class StaleSection extends Error {
  readonly section: string;
  constructor(section: string) {
    super(`the ${section} section was changed by another server meanwhile`);
    this.name = 'StaleSection';
    this.section = section;
  }
}

/**
 * The state document in the store (SQLite or PostgreSQL), one row per section
 * (migration 2), plus private rows where collectors remember what they have already
 * reported (`collector.git`, …). Everything is small and read often (every snapshot),
 * so the document rows are cached in memory and written through; reads never wait on the
 * store.
 *
 * Every document row has a version (migration 11) that each write bumps by
 * compare-and-set against the version this cache holds: with several servers on one
 * store, a write made over a section another server changed meanwhile fails
 * (`StaleSection`) instead of overwriting it, and the caller re-reads and decides again.
 * The cache takes a row only when its version is newer than the one it holds, so a
 * reload racing a write never moves it backwards. On SQLite (one server) the versions
 * are bumped the same way and never conflict.
 *
 * Writes go to the store in the order they were made (one chain), so a later change
 * never lands before an earlier one. A document section enters the cache only once it
 * is stored (a failed write never leaves the cache ahead of the table); a private row
 * is cached at once (collector memory: losing it only repeats a report).
 */
export class StateStore {
  #store: SqlStore;
  #logger: Logger;
  #document: StateDocument;
  /** The version of each document row as cached; absent: no row in the table yet. */
  #versions = new Map<DocumentRow, number>();
  #private = new Map<string, string>();
  #writes: Promise<unknown> = Promise.resolve();

  /** Team mode: the suffix (`@<server>`) of this server's private rows. */
  #suffix: string;

  private constructor(store: SqlStore, logger: Logger, server: string | undefined) {
    this.#store = store;
    this.#logger = logger;
    this.#document = initialState();
    this.#suffix = server === undefined ? '' : `@${server}`;
  }

  /**
   * `server` (team mode) names this server among those sharing the store: its private rows
   * (what its collectors reported from its own workspace) are stored under its name, so
   * servers never read or overwrite each other's.
   */
  static async open(store: SqlStore, logger: Logger, options: { server?: string } = {}): Promise<StateStore> {
    const state = new StateStore(store, logger, options.server);
    await state.#loadPrivate();
    await state.reload();
    return state;
  }

  async #loadPrivate(): Promise<void> {
    const rows = await this.#store.all<{ section: string; json: string }>('SELECT section, json FROM state');
    for (const row of rows) {
      if ((DOCUMENT_ROWS as readonly string[]).includes(row.section)) continue;
      if (this.#suffix && !row.section.endsWith(this.#suffix)) continue; // another server's
      this.#private.set(row.section, row.json);
    }
  }

  #privateKey(key: string): string {
    return privateKey(key) + this.#suffix;
  }

  /**
   * Reads the document rows again (another server changed one) and takes those newer than
   * the cache. The private rows are this server's collector memory and stay as they are.
   * Resolves to whether anything changed.
   */
  async reload(): Promise<boolean> {
    const rows = await this.#store.all<{ section: string; json: string; version: number }>(
      SELECT_DOCUMENT,
      DOCUMENT_ROWS,
    );
    let changed = false;
    for (const row of rows) {
      const section = row.section as DocumentRow;
      const version = Number(row.version);
      const cached = this.#versions.get(section);
      if (cached !== undefined && version <= cached) continue;
      this.#versions.set(section, version);
      changed = true;
      const parsed = ROW_SCHEMAS[section].safeParse(parseJson(row.json));
      // A row this version cannot read (hand-edited, or from a newer Lookout) falls back
      // to the default so the server still starts; it is overwritten on the next write.
      if (parsed.success) (this.#document as Record<DocumentRow, unknown>)[section] = parsed.data;
      else {
        (this.#document as Record<DocumentRow, unknown>)[section] = initialState()[section];
        this.#logger.warn({ section, issue: parsed.error.issues[0]?.message }, 'ignoring an unreadable state row');
      }
    }
    return changed;
  }

  /** The whole document (a copy: callers may not change the cache behind the store's back). */
  document(): StateDocument {
    return structuredClone(this.#document);
  }

  get<K extends DocumentRow>(section: K): StateDocument[K] {
    return structuredClone(this.#document[section]);
  }

  /** Queues a job (a statement and what follows from it) behind every earlier write. */
  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(job);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  /**
   * Replaces one section, over the version this cache holds when the write's turn comes
   * (so writes queued one after another by this server build on each other). The value
   * must already be valid. Everything that can throw (encoding, copying) happens before
   * the write, and the cache takes the value only once it is stored. Rejects with
   * `StaleSection` when another server wrote the section since it was read (nothing is
   * written then).
   */
  async set<K extends DocumentRow>(section: K, value: StateDocument[K]): Promise<void> {
    const json = JSON.stringify(value);
    const copy = structuredClone(value);
    await this.#enqueue(async () => {
      const now = new Date().toISOString();
      const version = this.#versions.get(section);
      const { changes } =
        version === undefined
          ? await this.#store.run(INSERT_FIRST, [section, json, now])
          : await this.#store.run(COMPARE_AND_SET, [json, now, section, version]);
      if (changes !== 1) throw new StaleSection(section);
      const next = (version ?? 0) + 1;
      // A reload that ran meanwhile may only have seen older rows (ours was not there yet).
      if ((this.#versions.get(section) ?? -1) < next) {
        this.#versions.set(section, next);
        this.#document[section] = copy;
      }
    });
  }

  /** A private row (collector memory), checked against its schema; undefined when absent or unreadable. */
  readPrivate<T>(key: string, schema: z.ZodType<T>): T | undefined {
    const json = this.#private.get(this.#privateKey(key));
    if (json === undefined) return undefined;
    const parsed = schema.safeParse(parseJson(json));
    if (parsed.success) return parsed.data;
    this.#logger.warn({ key, issue: parsed.error.issues[0]?.message }, 'ignoring an unreadable private state row');
    return undefined;
  }

  async writePrivate(key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value);
    const row = this.#privateKey(key);
    this.#private.set(row, json);
    await this.#enqueue(() => this.#store.run(UPSERT, [row, json, new Date().toISOString()]));
  }

  async deletePrivate(key: string): Promise<void> {
    const row = this.#privateKey(key);
    this.#private.delete(row);
    await this.#enqueue(() => this.#store.run('DELETE FROM state WHERE section = ?', [row]));
  }

  /** Resolves when every write made so far has been tried. */
  flushed(): Promise<void> {
    return this.#writes.then(() => undefined);
  }
}

function privateKey(key: string): string {
  // A dotted name can never collide with a document section (those have no dot).
  if (!key.includes('.')) throw new Error(`private state keys are dotted (collector.git); got ${key}`);
  return key;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

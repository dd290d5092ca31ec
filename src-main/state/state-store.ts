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

const UPSERT =
  'INSERT INTO state (section, json, updated_at) VALUES (?, ?, ?) ON CONFLICT (section) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at';

/**
 * The state document in the store (SQLite or PostgreSQL), one row per section
 * (migration 2), plus private rows where collectors remember what they have already
 * reported (`collector.git`, …). Everything is small and read often (every snapshot),
 * so all rows are cached in memory and written through; reads never wait on the store.
 *
 * Writes go to the store in the order they were made (one chain), so a later change
 * never lands before an earlier one. A document section enters the cache only once it
 * is stored (a failed write never leaves the cache ahead of the table); a private row
 * is cached at once (collector memory: losing it only repeats a report).
 *
 * In team mode another server may change a section: `reload` reads it back (the state
 * service calls it when that server's `system.*` event arrives).
 */
export class StateStore {
  #store: SqlStore;
  #logger: Logger;
  #document: StateDocument;
  #private = new Map<string, string>();
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(store: SqlStore, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
    this.#document = initialState();
  }

  static async open(store: SqlStore, logger: Logger): Promise<StateStore> {
    const state = new StateStore(store, logger);
    await state.reload();
    return state;
  }

  /** Reads every row again (start-up; in team mode, after another server changed one). */
  async reload(): Promise<void> {
    const rows = await this.#store.all<{ section: string; json: string }>('SELECT section, json FROM state');
    const document = initialState() as Record<DocumentRow, unknown>;
    this.#private.clear();
    for (const row of rows) {
      if (!(DOCUMENT_ROWS as readonly string[]).includes(row.section)) {
        this.#private.set(row.section, row.json);
        continue;
      }
      const section = row.section as DocumentRow;
      const parsed = ROW_SCHEMAS[section].safeParse(parseJson(row.json));
      // A row this version cannot read (hand-edited, or from a newer Lookout) falls back
      // to the default so the server still starts; it is overwritten on the next write.
      if (parsed.success) document[section] = parsed.data;
      else this.#logger.warn({ section, issue: parsed.error.issues[0]?.message }, 'ignoring an unreadable state row');
    }
    this.#document = document as StateDocument;
  }

  /** The whole document (a copy: callers may not change the cache behind the store's back). */
  document(): StateDocument {
    return structuredClone(this.#document);
  }

  get<K extends DocumentRow>(section: K): StateDocument[K] {
    return structuredClone(this.#document[section]);
  }

  /** Queues a statement behind every earlier write. */
  #write(sql: string, params: string[]): Promise<void> {
    const run = this.#writes.then(() => this.#store.run(sql, params));
    this.#writes = run.catch(() => undefined);
    return run.then(() => undefined);
  }

  /**
   * Replaces one section. The value must already be valid. Everything that can throw
   * (encoding, copying) happens before the write, and the cache takes the value only
   * once it is stored.
   */
  async set<K extends DocumentRow>(section: K, value: StateDocument[K]): Promise<void> {
    const json = JSON.stringify(value);
    const copy = structuredClone(value);
    await this.#write(UPSERT, [section, json, new Date().toISOString()]);
    this.#document[section] = copy;
  }

  /** A private row (collector memory), checked against its schema; undefined when absent or unreadable. */
  readPrivate<T>(key: string, schema: z.ZodType<T>): T | undefined {
    const json = this.#private.get(privateKey(key));
    if (json === undefined) return undefined;
    const parsed = schema.safeParse(parseJson(json));
    if (parsed.success) return parsed.data;
    this.#logger.warn({ key, issue: parsed.error.issues[0]?.message }, 'ignoring an unreadable private state row');
    return undefined;
  }

  writePrivate(key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value);
    this.#private.set(privateKey(key), json);
    return this.#write(UPSERT, [key, json, new Date().toISOString()]);
  }

  deletePrivate(key: string): Promise<void> {
    this.#private.delete(privateKey(key));
    return this.#write('DELETE FROM state WHERE section = ?', [key]);
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

import type { StatementSync } from 'node:sqlite';
import type { z } from 'zod';
import {
  SECTION_SCHEMAS,
  type StateDocument,
  STATE_SECTIONS,
  SystemState,
  initialState,
} from '../../src-shared/state.ts';
import type { Logger } from '../logger.ts';
import type { Database } from '../store/database.ts';

/** The rows of the `state` table that make up the document; any other row is private. */
const DOCUMENT_ROWS = ['system', ...STATE_SECTIONS] as const;
type DocumentRow = (typeof DOCUMENT_ROWS)[number];

const ROW_SCHEMAS: Record<DocumentRow, z.ZodType> = { system: SystemState, ...SECTION_SCHEMAS };

/**
 * The state document in SQLite, one row per section (migration 2), plus private rows
 * where collectors remember what they have already reported (`collector.git`, …).
 * The document is small and read on every snapshot, so it is cached in memory and
 * written through.
 */
export class StateStore {
  #logger: Logger;
  #select: StatementSync;
  #selectAll: StatementSync;
  #upsert: StatementSync;
  #delete: StatementSync;
  #document: StateDocument;

  constructor(db: Database, logger: Logger) {
    this.#logger = logger;
    this.#select = db.db.prepare('SELECT json FROM state WHERE section = ?');
    this.#selectAll = db.db.prepare('SELECT section, json FROM state');
    this.#upsert = db.db.prepare(
      'INSERT INTO state (section, json, updated_at) VALUES (?, ?, ?) ON CONFLICT (section) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at',
    );
    this.#delete = db.db.prepare('DELETE FROM state WHERE section = ?');
    this.#document = this.#load();
  }

  #load(): StateDocument {
    const document = initialState() as Record<DocumentRow, unknown>;
    for (const row of this.#selectAll.all() as { section: string; json: string }[]) {
      if (!(DOCUMENT_ROWS as readonly string[]).includes(row.section)) continue;
      const section = row.section as DocumentRow;
      const parsed = ROW_SCHEMAS[section].safeParse(parseJson(row.json));
      // A row this version cannot read (hand-edited, or from a newer Lookout) falls back
      // to the default so the server still starts; it is overwritten on the next write.
      if (parsed.success) document[section] = parsed.data;
      else this.#logger.warn({ section, issue: parsed.error.issues[0]?.message }, 'ignoring an unreadable state row');
    }
    return document as StateDocument;
  }

  /** The whole document (a copy: callers may not change the cache behind the store's back). */
  document(): StateDocument {
    return structuredClone(this.#document);
  }

  get<K extends DocumentRow>(section: K): StateDocument[K] {
    return structuredClone(this.#document[section]);
  }

  /**
   * Replaces one section. The value must already be valid. Everything that can throw
   * (encoding, copying) happens before the write, so a failure never leaves a row the
   * cache does not hold.
   */
  set<K extends DocumentRow>(section: K, value: StateDocument[K]): void {
    const json = JSON.stringify(value);
    const copy = structuredClone(value);
    this.#upsert.run(section, json, new Date().toISOString());
    this.#document[section] = copy;
  }

  /** A private row (collector memory), checked against its schema; undefined when absent or unreadable. */
  readPrivate<T>(key: string, schema: z.ZodType<T>): T | undefined {
    const row = this.#select.get(privateKey(key)) as { json: string } | undefined;
    if (!row) return undefined;
    const parsed = schema.safeParse(parseJson(row.json));
    if (parsed.success) return parsed.data;
    this.#logger.warn({ key, issue: parsed.error.issues[0]?.message }, 'ignoring an unreadable private state row');
    return undefined;
  }

  writePrivate(key: string, value: unknown): void {
    this.#upsert.run(privateKey(key), JSON.stringify(value), new Date().toISOString());
  }

  deletePrivate(key: string): void {
    this.#delete.run(privateKey(key));
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

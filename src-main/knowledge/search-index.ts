import type { SqlExecutor } from '../store/sql-store.ts';

/**
 * What differs between the two stores' full-text indexes: SQLite's FTS5 (fts5-index.ts)
 * and PostgreSQL's tsvector with a GIN index (tsvector-index.ts). Documents and chunks are
 * the same tables with the same SQL in both (knowledge-service.ts); only how a chunk is
 * indexed, ranked and quoted is here. Both read the same query syntax (FTS5's).
 */

/** A chunk as it is stored: its text with the snippet markers taken out (query.ts withoutMarkers). */
export interface ChunkInsert {
  id: string;
  index: number;
  heading: string;
  body: string;
}

/** A chunk as search results and retrieval show it. */
export interface ChunkColumns {
  rowid: number;
  chunk_id: string;
  document_id: string;
  idx: number;
  title: string;
  heading: string;
  source: string | null;
}

export interface Ranked {
  rowid: number;
  /** Relevance, higher is better; comparable within one query only. */
  score: number;
  /** The chunk itself, when the index read it with the ranking (PostgreSQL: one round trip fewer). */
  chunk?: ChunkColumns & { body: string };
}

export interface SnippetRow extends ChunkColumns {
  /** With MARK_OPEN / MARK_CLOSE around each match (parseSnippet reads it). */
  snippet: string;
}

export interface SearchIndex {
  /**
   * A FROM item over the JSON array of strings given as one `?` parameter, with the columns
   * `value` (the string) and `key` (its place), named `alias`.
   */
  jsonValues(alias: string): string;
  /** Inserts a document's chunks with whatever the index needs. */
  insertChunks(tx: SqlExecutor, documentId: string, title: string, chunks: readonly ChunkInsert[]): Promise<void>;
  /** The best chunks for an FTS5-syntax query, best first; within `ids` when given. */
  rank(exec: SqlExecutor, match: string, limit: number, ids?: readonly string[]): Promise<Ranked[]>;
  /** True for the error rank() raises on query text it cannot read (anything else is real). */
  isSyntaxError(error: unknown): boolean;
  /** The ranked chunks with a snippet for the query (any order; a chunk deleted meanwhile is left out). */
  snippets(exec: SqlExecutor, match: string, ranked: readonly Ranked[]): Promise<SnippetRow[]>;
}

/** Rows per multi-row INSERT: few statements (round trips on PostgreSQL), far below either's parameter limit. */
export const INSERT_BATCH = 100;

/** `(?, ?, …), (?, ?, …)` for `rows` rows of `columns` placeholders (each may be wrapped, e.g. a CAST). */
export function valuesList(rows: number, placeholders: readonly string[]): string {
  const row = `(${placeholders.join(', ')})`;
  return Array.from({ length: rows }, () => row).join(', ');
}

/** Words of context a snippet keeps around the best match, on both stores. */
export const SNIPPET_TOKENS = 24;

/**
 * Column weights (title, heading path, body): a word in a document's title says more about
 * a chunk than the same word somewhere in its text.
 */
export const COLUMN_WEIGHTS = { title: 5, heading: 2, body: 1 } as const;

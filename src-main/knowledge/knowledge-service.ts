import { randomBytes } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import {
  type KnowledgeChunk,
  type KnowledgeDocument,
  type KnowledgeDocumentCreate,
  type KnowledgeDocumentSummary,
  type KnowledgeSearchResponse,
  type KnowledgeSearchResult,
} from '../../src-shared/knowledge.ts';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { Database } from '../store/database.ts';
import { type Chunk, chunkDocument } from './chunker.ts';
import {
  asWritten,
  cleanQuery,
  isPlainWords,
  isQuerySyntaxError,
  literalWords,
  MARK_CLOSE,
  MARK_OPEN,
  parseSnippet,
  withoutMarkers,
} from './query.ts';
import type { KnowledgeRetriever, RetrievedChunk, RetrieveOptions } from './retrieval.ts';

interface DocumentRow {
  id: string;
  title: string;
  source: string | null;
  tags_json: string;
  bytes: number;
  chunk_count: number;
  created_at: string;
  updated_at: string;
  text?: string;
}

interface Ranked {
  rowid: number;
  rank: number;
}

interface SnippetRow {
  rowid: number;
  chunk_id: string;
  document_id: string;
  idx: number;
  title: string;
  heading: string;
  source: string | null;
  snippet: string;
}

interface ChunkRow {
  chunk_id: string;
  document_id: string;
  title: string;
  body: string;
  rowid?: number;
}

/**
 * BM25 weights per indexed column (title, heading path, body): a word in a document's
 * title says more about the chunk than the same word somewhere in its text.
 */
export const COLUMN_WEIGHTS = { title: 5, heading: 2, body: 1 } as const;
/** Words of context snippet() keeps around the best match. */
const SNIPPET_TOKENS = 24;

const newId = (): string => randomBytes(6).toString('hex');
const SUMMARY_COLUMNS = 'id, title, source, tags_json, bytes, chunk_count, created_at, updated_at';

type SearchMode = KnowledgeSearchResponse['mode'];

/**
 * The knowledge base: documents, their chunks and the FTS5 index over them (tables from
 * migration 6, all SQL of the domain in this file, so a PostgreSQL port — tsvector and
 * ts_rank — replaces one class). Every change is published as `knowledge.*`.
 */
export class KnowledgeService implements KnowledgeRetriever {
  #db: Database;
  #bus: EventBus;
  #insertChunk: StatementSync;
  #byId: StatementSync;
  #bySource: StatementSync;
  #ranked: StatementSync;
  #rankedIn: StatementSync;
  #snippets: StatementSync;
  #chunks: StatementSync;

  constructor(options: { db: Database; bus: EventBus }) {
    this.#db = options.db;
    this.#bus = options.bus;
    const sql = this.#db.db;
    this.#insertChunk = sql.prepare(
      'INSERT INTO knowledge_chunks (id, document_id, idx, title, heading, body) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#byId = sql.prepare(`SELECT ${SUMMARY_COLUMNS}, text FROM knowledge_documents WHERE id = ?`);
    this.#bySource = sql.prepare('SELECT id, created_at FROM knowledge_documents WHERE source = ?');
    // Ranking and reading are two statements: SQLite computes every column of every match
    // before ORDER BY … LIMIT sorts them, and snippet() re-reads and re-tokenizes a chunk's
    // text, so one statement would make a snippet for each of thousands of matches.
    const weights = `${COLUMN_WEIGHTS.title}, ${COLUMN_WEIGHTS.heading}, ${COLUMN_WEIGHTS.body}`;
    const ranked = (where: string) =>
      sql.prepare(`
        SELECT f.rowid AS rowid, bm25(knowledge_fts, ${weights}) AS rank
        FROM knowledge_fts AS f
        ${where === '' ? '' : 'JOIN knowledge_chunks c ON c.rowid = f.rowid'}
        WHERE knowledge_fts MATCH ? ${where}
        ORDER BY rank, f.rowid
        LIMIT ?`);
    this.#ranked = ranked('');
    this.#rankedIn = ranked('AND c.document_id IN (SELECT value FROM json_each(?))');
    // The MATCH is repeated so snippet() knows what to mark; the rowid list keeps it to the top rows.
    this.#snippets = sql.prepare(`
      SELECT f.rowid AS rowid, c.id AS chunk_id, c.document_id, c.idx, c.title, c.heading, d.source,
        snippet(knowledge_fts, 2, '${MARK_OPEN}', '${MARK_CLOSE}', '…', ${SNIPPET_TOKENS}) AS snippet
      FROM knowledge_fts AS f
      JOIN knowledge_chunks c ON c.rowid = f.rowid
      JOIN knowledge_documents d ON d.id = c.document_id
      WHERE knowledge_fts MATCH ? AND f.rowid IN (SELECT value FROM json_each(?))`);
    this.#chunks = sql.prepare(`
      SELECT c.rowid AS rowid, c.id AS chunk_id, c.document_id, c.title, c.body
      FROM knowledge_chunks c WHERE c.rowid IN (SELECT value FROM json_each(?))`);
  }

  /** Adds a document, or replaces the one with the same `source` (same id, created_at kept). */
  add(input: KnowledgeDocumentCreate): { document: KnowledgeDocument; replaced: boolean } {
    const chunks = chunkDocument(input.text);
    const tags = [...new Set(input.tags ?? [])];
    const bytes = Buffer.byteLength(input.text, 'utf8');
    const at = new Date().toISOString();
    const source = input.source ?? null;
    const { id, replaced } = this.#db.transaction(() => {
      const existing =
        source === null ? undefined : (this.#bySource.get(source) as { id: string; created_at: string } | undefined);
      const id = existing?.id ?? newId();
      if (existing) {
        this.#db.db.prepare('DELETE FROM knowledge_chunks WHERE document_id = ?').run(id);
        this.#db.db
          .prepare(
            'UPDATE knowledge_documents SET title = ?, tags_json = ?, text = ?, bytes = ?, chunk_count = ?, updated_at = ? WHERE id = ?',
          )
          .run(input.title, JSON.stringify(tags), input.text, bytes, chunks.length, at, id);
      } else {
        this.#db.db
          .prepare(
            `INSERT INTO knowledge_documents (id, title, source, tags_json, text, bytes, chunk_count, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, input.title, source, JSON.stringify(tags), input.text, bytes, chunks.length, at, at);
      }
      this.#storeChunks(id, input.title, chunks);
      return { id, replaced: existing !== undefined };
    });
    const document = this.get(id);
    this.#bus.emitLater('knowledge.document_added', {
      document_id: id,
      title: document.title,
      source: document.source,
      tags: document.tags,
      chunk_count: document.chunk_count,
      bytes: document.bytes,
      replaced,
    });
    return { document, replaced };
  }

  #storeChunks(documentId: string, title: string, chunks: readonly Chunk[]): void {
    for (const chunk of chunks) {
      this.#insertChunk.run(newId(), documentId, chunk.index, title, chunk.heading, withoutMarkers(chunk.text));
    }
  }

  list(): KnowledgeDocumentSummary[] {
    const rows = this.#db.db
      .prepare(`SELECT ${SUMMARY_COLUMNS} FROM knowledge_documents ORDER BY created_at DESC, id`)
      .all() as unknown as DocumentRow[];
    return rows.map(toSummary);
  }

  find(id: string): KnowledgeDocument | undefined {
    const row = this.#byId.get(id) as DocumentRow | undefined;
    return row ? { ...toSummary(row), text: row.text ?? '' } : undefined;
  }

  get(id: string): KnowledgeDocument {
    const document = this.find(id);
    if (!document)
      throw new LookoutError(
        'not_found',
        `no knowledge document has the id ${id}; list them with GET ${API_PREFIX}/knowledge/documents`,
      );
    return document;
  }

  /** One chunk, whole (a citation's target). */
  chunk(id: string): KnowledgeChunk {
    const row = this.#db.db
      .prepare(
        `SELECT c.id, c.document_id, c.title, d.source, c.idx AS chunk_index, c.heading, c.body AS text
         FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id WHERE c.id = ?`,
      )
      .get(id) as KnowledgeChunk | undefined;
    if (!row)
      throw new LookoutError(
        'not_found',
        `no knowledge chunk has the id ${id}; its document was deleted or replaced (search again: GET ${API_PREFIX}/knowledge/search?q=)`,
      );
    return { ...row };
  }

  /** Removes the document, its chunks and their index entries in one transaction. */
  delete(id: string): void {
    const document = this.get(id);
    this.#db.transaction(() => {
      // The chunks' delete trigger takes each one out of the index.
      this.#db.db.prepare('DELETE FROM knowledge_chunks WHERE document_id = ?').run(id);
      this.#db.db.prepare('DELETE FROM knowledge_documents WHERE id = ?').run(id);
    });
    this.#bus.emitLater('knowledge.document_deleted', { document_id: id, title: document.title });
  }

  search(query: string, options: { limit: number }): KnowledgeSearchResponse {
    const { ranked, match, mode } = this.#rank(query, options.limit);
    if (ranked.length === 0) return { results: [], mode };
    const rows = this.#snippets.all(match, JSON.stringify(ranked.map((r) => r.rowid))) as unknown as SnippetRow[];
    const byRowid = new Map(rows.map((row) => [row.rowid, row]));
    const results = ranked.flatMap(({ rowid, rank }) => {
      const row = byRowid.get(rowid);
      return row ? [toResult(row, rank)] : [];
    });
    return { results, mode };
  }

  retrieve(query: string, options: RetrieveOptions): RetrievedChunk[] {
    const limit = Math.max(0, Math.floor(options.limit));
    if (limit === 0) return [];
    const ids = options.documentIds === undefined ? undefined : [...new Set(options.documentIds)];
    if (ids !== undefined && ids.length === 0) return [];
    const { ranked } = this.#rank(query, limit, ids);
    if (ranked.length > 0 || ids === undefined) {
      const rows = this.#chunks.all(JSON.stringify(ranked.map((r) => r.rowid))) as unknown as ChunkRow[];
      const byRowid = new Map(rows.map((row) => [row.rowid, row]));
      return ranked.flatMap(({ rowid, rank }) => {
        const row = byRowid.get(rowid);
        return row ? [toRetrieved(row, score(rank))] : [];
      });
    }
    // Nothing matched inside the documents the discussion was given: they were given for a
    // reason, so their openings are the best context there is.
    return this.#openings(ids, limit);
  }

  #openings(ids: readonly string[], limit: number): RetrievedChunk[] {
    const rows = this.#db.db
      .prepare(
        `SELECT c.id AS chunk_id, c.document_id, c.title, c.body
         FROM json_each(?) AS wanted
         JOIN knowledge_chunks c ON c.document_id = wanted.value
         ORDER BY c.idx, wanted.key
         LIMIT ?`,
      )
      .all(JSON.stringify(ids), limit) as unknown as ChunkRow[];
    return rows.map((row) => toRetrieved(row, 0));
  }

  /**
   * The best rowids for the query, read as written when FTS5 can, as literal words otherwise
   * (see query.ts), with the MATCH expression that found them.
   */
  #rank(query: string, limit: number, ids?: readonly string[]): { ranked: Ranked[]; match: string; mode: SearchMode } {
    const cleaned = cleanQuery(query);
    const written = asWritten(cleaned);
    if (written !== undefined) {
      try {
        const ranked = this.#run(written, limit, ids);
        if (ranked.length > 0 || !isPlainWords(cleaned)) return { ranked, match: written, mode: 'fts' };
      } catch (error) {
        if (!isQuerySyntaxError(error)) throw error;
      }
    }
    const literal = literalWords(cleaned);
    return { ranked: literal === undefined ? [] : this.#run(literal, limit, ids), match: literal ?? '', mode: 'words' };
  }

  #run(match: string, limit: number, ids?: readonly string[]): Ranked[] {
    return (ids === undefined
      ? this.#ranked.all(match, limit)
      : this.#rankedIn.all(match, JSON.stringify(ids), limit)) as unknown as Ranked[];
  }
}

function toSummary(row: DocumentRow): KnowledgeDocumentSummary {
  return {
    id: row.id,
    title: row.title,
    source: row.source,
    tags: JSON.parse(row.tags_json) as string[],
    chunk_count: row.chunk_count,
    bytes: row.bytes,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** SQLite's bm25() is lower-is-better and negative; the wire says higher is better. */
const score = (rank: number): number => (rank === 0 ? 0 : -rank);

function toResult(row: SnippetRow, rank: number): KnowledgeSearchResult {
  return {
    document_id: row.document_id,
    title: row.title,
    chunk_id: row.chunk_id,
    chunk_index: row.idx,
    heading: row.heading,
    source: row.source,
    ...parseSnippet(row.snippet),
    score: score(rank),
  };
}

function toRetrieved(row: ChunkRow, relevance: number): RetrievedChunk {
  return { document_id: row.document_id, title: row.title, chunk_id: row.chunk_id, text: row.body, score: relevance };
}

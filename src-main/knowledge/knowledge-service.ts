import { randomBytes } from 'node:crypto';
import {
  type KnowledgeChunk,
  type KnowledgeDocument,
  type KnowledgeDocumentCreate,
  type KnowledgeDocumentSummary,
  type KnowledgeSearchResponse,
} from '../../src-shared/knowledge.ts';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { SqlExecutor, SqlStore } from '../store/sql-store.ts';
import { isUniqueViolation } from '../store/unique-violation.ts';
import { chunkDocument } from './chunker.ts';
import { fts5Index } from './fts5-index.ts';
import { asWritten, cleanQuery, isPlainWords, literalWords, parseSnippet, withoutMarkers } from './query.ts';
import type { KnowledgeRetriever, RetrievedChunk, RetrieveOptions } from './retrieval.ts';
import type { Ranked, SearchIndex } from './search-index.ts';
import { tsvectorIndex } from './tsvector-index.ts';

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

interface ChunkRow {
  chunk_id: string;
  document_id: string;
  title: string;
  body: string;
  rowid?: number;
}

const newId = (): string => randomBytes(6).toString('hex');
const SUMMARY_COLUMNS = 'id, title, source, tags_json, bytes, chunk_count, created_at, updated_at';

type SearchMode = KnowledgeSearchResponse['mode'];

/**
 * The knowledge base: documents, their chunks and a full-text index over them, on the
 * store every domain writes through — SQLite (FTS5, BM25) for a single user, PostgreSQL
 * (tsvector, GIN, ts_rank_cd) in team mode, where every server sees one knowledge base.
 * The tables and their SQL are the same on both; what differs is in a SearchIndex
 * (fts5-index.ts, tsvector-index.ts). Every change is published as `knowledge.*` once it
 * is committed.
 */
export class KnowledgeService implements KnowledgeRetriever {
  #store: SqlStore;
  #bus: EventBus;
  #index: SearchIndex;

  constructor(options: { store: SqlStore; bus: EventBus }) {
    this.#store = options.store;
    this.#bus = options.bus;
    this.#index = options.store.dialect === 'postgres' ? tsvectorIndex : fts5Index;
  }

  /** Adds a document, or replaces the one with the same `source` (same id, created_at kept). */
  async add(input: KnowledgeDocumentCreate): Promise<{ document: KnowledgeDocument; replaced: boolean }> {
    const chunks = chunkDocument(input.text).map((chunk) => ({
      id: newId(),
      index: chunk.index,
      heading: chunk.heading,
      body: withoutMarkers(chunk.text),
    }));
    const tags = JSON.stringify([...new Set(input.tags ?? [])]);
    const bytes = Buffer.byteLength(input.text, 'utf8');
    const at = new Date().toISOString();
    const source = input.source ?? null;
    const write = () =>
      this.#store.transaction(async (tx) => {
        // Two servers replacing one source take turns.
        const existing =
          source === null
            ? undefined
            : await tx.get<{ id: string }>(`SELECT id FROM knowledge_documents WHERE source = ?${forUpdate(tx)}`, [
                source,
              ]);
        const id = existing?.id ?? newId();
        if (existing) {
          await tx.run('DELETE FROM knowledge_chunks WHERE document_id = ?', [id]);
          await tx.run(
            'UPDATE knowledge_documents SET title = ?, tags_json = ?, text = ?, bytes = ?, chunk_count = ?, updated_at = ? WHERE id = ?',
            [input.title, tags, input.text, bytes, chunks.length, at, id],
          );
        } else {
          await tx.run(
            `INSERT INTO knowledge_documents (id, title, source, tags_json, text, bytes, chunk_count, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [id, input.title, source, tags, input.text, bytes, chunks.length, at, at],
          );
        }
        await this.#index.insertChunks(tx, id, input.title, chunks);
        return { id, replaced: existing !== undefined };
      });
    let written: { id: string; replaced: boolean };
    try {
      written = await write();
    } catch (error) {
      // Another server added the same source between our SELECT and INSERT: now it exists,
      // so adding again replaces it, as if we had come second.
      if (source === null || !isUniqueViolation(error)) throw error;
      written = await write();
    }
    const document = await this.get(written.id);
    await this.#bus.emit('knowledge.document_added', {
      document_id: document.id,
      title: document.title,
      source: document.source,
      tags: document.tags,
      chunk_count: document.chunk_count,
      bytes: document.bytes,
      replaced: written.replaced,
    });
    return { document, replaced: written.replaced };
  }

  async list(): Promise<KnowledgeDocumentSummary[]> {
    const rows = await this.#store.all<DocumentRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM knowledge_documents ORDER BY created_at DESC, id`,
    );
    return rows.map(toSummary);
  }

  async find(id: string): Promise<KnowledgeDocument | undefined> {
    const row = await this.#store.get<DocumentRow>(
      `SELECT ${SUMMARY_COLUMNS}, text FROM knowledge_documents WHERE id = ?`,
      [id],
    );
    return row ? { ...toSummary(row), text: row.text ?? '' } : undefined;
  }

  async get(id: string): Promise<KnowledgeDocument> {
    const document = await this.find(id);
    if (!document) throw documentNotFound(id);
    return document;
  }

  /** One chunk, whole (a citation's target). */
  async chunk(id: string): Promise<KnowledgeChunk> {
    const row = await this.#store.get<KnowledgeChunk>(
      `SELECT c.id, c.document_id, c.title, d.source, c.idx AS chunk_index, c.heading, c.body AS text
       FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id WHERE c.id = ?`,
      [id],
    );
    if (!row)
      throw new LookoutError(
        'not_found',
        `no knowledge chunk has the id ${id}; its document was deleted or replaced (search again: GET ${API_PREFIX}/knowledge/search?q=)`,
      );
    return { ...row };
  }

  /** Removes the document, its chunks and their index entries in one transaction. */
  async delete(id: string): Promise<void> {
    const removed = await this.#store.transaction(async (tx) => {
      const row = await tx.get<{ title: string }>(
        `SELECT title FROM knowledge_documents WHERE id = ?${forUpdate(tx)}`,
        [id],
      );
      if (!row) return undefined;
      // SQLite: the chunks' delete trigger takes each one out of the FTS5 index; PostgreSQL:
      // the index is a column of the chunk.
      await tx.run('DELETE FROM knowledge_chunks WHERE document_id = ?', [id]);
      await tx.run('DELETE FROM knowledge_documents WHERE id = ?', [id]);
      return row;
    });
    if (!removed) throw documentNotFound(id);
    await this.#bus.emit('knowledge.document_deleted', { document_id: id, title: removed.title });
  }

  async search(query: string, options: { limit: number }): Promise<KnowledgeSearchResponse> {
    const { ranked, match, mode } = await this.#rank(query, options.limit);
    if (ranked.length === 0) return { results: [], mode };
    const rows = await this.#index.snippets(this.#store, match, ranked);
    const byRowid = new Map(rows.map((row) => [row.rowid, row]));
    const results = ranked.flatMap(({ rowid, score }) => {
      const row = byRowid.get(rowid);
      if (!row) return []; // deleted between the two statements
      return [
        {
          document_id: row.document_id,
          title: row.title,
          chunk_id: row.chunk_id,
          chunk_index: row.idx,
          heading: row.heading,
          source: row.source,
          ...parseSnippet(row.snippet),
          score,
        },
      ];
    });
    return { results, mode };
  }

  async retrieve(query: string, options: RetrieveOptions): Promise<RetrievedChunk[]> {
    const limit = Math.max(0, Math.floor(options.limit));
    if (limit === 0) return [];
    const ids = options.documentIds === undefined ? undefined : [...new Set(options.documentIds)];
    if (ids !== undefined && ids.length === 0) return [];
    const { ranked } = await this.#rank(query, limit, ids);
    if (ranked.length > 0 || ids === undefined) return this.#chunksOf(ranked);
    // Nothing matched inside the documents the discussion was given: they were given for a
    // reason, so their openings are the best context there is.
    const rows = await this.#store.all<ChunkRow>(
      `SELECT c.id AS chunk_id, c.document_id, c.title, c.body
       FROM ${this.#index.jsonValues('wanted')}
       JOIN knowledge_chunks c ON c.document_id = wanted.value
       ORDER BY c.idx, wanted.key
       LIMIT ?`,
      [JSON.stringify(ids), limit],
    );
    return rows.map((row) => toRetrieved(row, 0));
  }

  /** The ranked chunks' text, best first: read with the ranking (PostgreSQL), or now (SQLite). */
  async #chunksOf(ranked: readonly Ranked[]): Promise<RetrievedChunk[]> {
    const unread = ranked.filter((r) => r.chunk === undefined).map((r) => r.rowid);
    const rows =
      unread.length === 0
        ? []
        : await this.#store.all<ChunkRow>(
            `SELECT c.rowid AS rowid, c.id AS chunk_id, c.document_id, c.title, c.body
             FROM knowledge_chunks c WHERE c.rowid IN (SELECT CAST(wanted.value AS BIGINT) FROM ${this.#index.jsonValues('wanted')})`,
            [JSON.stringify(unread)],
          );
    const byRowid = new Map(rows.map((row) => [row.rowid, row]));
    return ranked.flatMap(({ rowid, score, chunk }) => {
      const row = chunk ?? byRowid.get(rowid);
      return row ? [toRetrieved(row, score)] : [];
    });
  }

  /**
   * The best rowids for the query, read as written when the syntax parses, as literal words
   * otherwise (see query.ts), with the expression that found them.
   */
  async #rank(
    query: string,
    limit: number,
    ids?: readonly string[],
  ): Promise<{ ranked: Ranked[]; match: string; mode: SearchMode }> {
    const cleaned = cleanQuery(query);
    const written = asWritten(cleaned);
    if (written !== undefined) {
      try {
        const ranked = await this.#index.rank(this.#store, written, limit, ids);
        if (ranked.length > 0 || !isPlainWords(cleaned)) return { ranked, match: written, mode: 'fts' };
      } catch (error) {
        if (!this.#index.isSyntaxError(error)) throw error;
      }
    }
    const literal = literalWords(cleaned);
    return {
      ranked: literal === undefined ? [] : await this.#index.rank(this.#store, literal, limit, ids),
      match: literal ?? '',
      mode: 'words',
    };
  }
}

/**
 * Locks the row read on PostgreSQL, where servers write at once; SQLite's transactions are
 * serialized already (BEGIN IMMEDIATE) and it has no such clause.
 */
const forUpdate = (tx: SqlExecutor): string => (tx.dialect === 'postgres' ? ' FOR UPDATE' : '');

const documentNotFound = (id: string): LookoutError =>
  new LookoutError(
    'not_found',
    `no knowledge document has the id ${id}; list them with GET ${API_PREFIX}/knowledge/documents`,
  );

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

function toRetrieved(row: ChunkRow, relevance: number): RetrievedChunk {
  return { document_id: row.document_id, title: row.title, chunk_id: row.chunk_id, text: row.body, score: relevance };
}

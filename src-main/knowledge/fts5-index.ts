import type { SqlExecutor } from '../store/sql-store.ts';
import { isQuerySyntaxError, MARK_CLOSE, MARK_OPEN } from './query.ts';
import {
  type ChunkInsert,
  COLUMN_WEIGHTS,
  INSERT_BATCH,
  type Ranked,
  type SearchIndex,
  SNIPPET_TOKENS,
  type SnippetRow,
  valuesList,
} from './search-index.ts';

const WEIGHTS = `${COLUMN_WEIGHTS.title}, ${COLUMN_WEIGHTS.heading}, ${COLUMN_WEIGHTS.body}`;

/**
 * The SQLite index: the external-content FTS5 table `knowledge_fts` over the chunks
 * (migration 6; triggers on knowledge_chunks keep it in step), ranked by bm25() with the
 * column weights, snippets by snippet().
 */
export const fts5Index: SearchIndex = {
  jsonValues: (alias) => `json_each(?) AS ${alias}`,

  async insertChunks(tx: SqlExecutor, documentId: string, title: string, chunks: readonly ChunkInsert[]) {
    for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
      const batch = chunks.slice(i, i + INSERT_BATCH);
      await tx.run(
        `INSERT INTO knowledge_chunks (id, document_id, idx, title, heading, body) VALUES ${valuesList(batch.length, ['?', '?', '?', '?', '?', '?'])}`,
        batch.flatMap((c) => [c.id, documentId, c.index, title, c.heading, c.body]),
      );
    }
  },

  async rank(exec: SqlExecutor, match: string, limit: number, ids?: readonly string[]): Promise<Ranked[]> {
    // Ranking and reading are two statements: SQLite computes every column of every match
    // before ORDER BY … LIMIT sorts them, and snippet() re-reads and re-tokenizes a chunk's
    // text, so one statement would make a snippet for each of thousands of matches.
    const rows = await exec.all<{ rowid: number; rank: number }>(
      `SELECT f.rowid AS rowid, bm25(knowledge_fts, ${WEIGHTS}) AS rank
       FROM knowledge_fts AS f
       ${ids === undefined ? '' : 'JOIN knowledge_chunks c ON c.rowid = f.rowid'}
       WHERE knowledge_fts MATCH ? ${ids === undefined ? '' : 'AND c.document_id IN (SELECT value FROM json_each(?))'}
       ORDER BY rank, f.rowid
       LIMIT ?`,
      ids === undefined ? [match, limit] : [match, JSON.stringify(ids), limit],
    );
    // bm25() is lower-is-better and negative; the wire says higher is better.
    return rows.map((row) => ({ rowid: row.rowid, score: row.rank === 0 ? 0 : -row.rank }));
  },

  isSyntaxError: isQuerySyntaxError,

  snippets(exec: SqlExecutor, match: string, ranked: readonly Ranked[]): Promise<SnippetRow[]> {
    // The MATCH is repeated so snippet() knows what to mark; the rowid list keeps it to the top rows.
    return exec.all<SnippetRow>(
      `SELECT f.rowid AS rowid, c.id AS chunk_id, c.document_id, c.idx, c.title, c.heading, d.source,
         snippet(knowledge_fts, 2, '${MARK_OPEN}', '${MARK_CLOSE}', '…', ${SNIPPET_TOKENS}) AS snippet
       FROM knowledge_fts AS f
       JOIN knowledge_chunks c ON c.rowid = f.rowid
       JOIN knowledge_documents d ON d.id = c.document_id
       WHERE knowledge_fts MATCH ? AND f.rowid IN (SELECT value FROM json_each(?))`,
      [match, JSON.stringify(ranked.map((r) => r.rowid))],
    );
  },
};

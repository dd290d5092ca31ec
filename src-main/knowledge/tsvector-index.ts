import type { SqlExecutor } from '../store/sql-store.ts';
import { chunkVector } from './lexemes.ts';
import { markedSnippet } from './snippet.ts';
import {
  type ChunkColumns,
  type ChunkInsert,
  COLUMN_WEIGHTS,
  INSERT_BATCH,
  type Ranked,
  type SearchIndex,
  SNIPPET_TOKENS,
  type SnippetRow,
  valuesList,
} from './search-index.ts';
import { compileQuery, QuerySyntaxError } from './tsquery.ts';

/**
 * ts_rank_cd's weights, in its order {D, C, B, A}: the body is C, the heading path B, the
 * title A (lexemes.ts chunkVector), scaled so that A : B : C is 5 : 2 : 1 as in SQLite's bm25().
 */
const RANK_WEIGHTS = `{0, ${COLUMN_WEIGHTS.body / 5}, ${COLUMN_WEIGHTS.heading / 5}, ${COLUMN_WEIGHTS.title / 5}}`;
/**
 * ts_rank_cd normalization 1: the rank divided by 1 + the logarithm of the chunk's length,
 * so that, as with BM25, a short chunk saying a word once can outrank a long one saying it
 * once among many others, without long chunks losing to every short one.
 */
const RANK_NORMALIZATION = 1;

/**
 * The PostgreSQL index: each chunk's `tsv` column (a tsvector of Lookout's own lexemes,
 * weighted by column: lexemes.ts) under a GIN index (migration "knowledge on PostgreSQL"),
 * queries read as FTS5 syntax and written as tsquery (tsquery.ts), ranked by ts_rank_cd,
 * snippets cut from the chunk's text in JavaScript (snippet.ts).
 */
export const tsvectorIndex: SearchIndex = {
  jsonValues: (alias) => `json_array_elements_text(CAST(? AS json)) WITH ORDINALITY AS ${alias}(value, key)`,

  async insertChunks(tx: SqlExecutor, documentId: string, title: string, chunks: readonly ChunkInsert[]) {
    for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
      const batch = chunks.slice(i, i + INSERT_BATCH);
      await tx.run(
        `INSERT INTO knowledge_chunks (id, document_id, idx, title, heading, body, tsv) VALUES ${valuesList(batch.length, ['?', '?', '?', '?', '?', '?', 'CAST(? AS tsvector)'])}`,
        batch.flatMap((c) => [
          c.id,
          documentId,
          c.index,
          title,
          c.heading,
          c.body,
          chunkVector({ title, heading: c.heading, body: c.body }),
        ]),
      );
    }
  },

  async rank(exec: SqlExecutor, match: string, limit: number, ids?: readonly string[]): Promise<Ranked[]> {
    const { tsquery } = compileQuery(match);
    if (tsquery === undefined) return [];
    // The top rows' columns come with the ranking, read for those rows only (after LIMIT):
    // a round trip to the database is most of what a search of rare words costs.
    const rows = await exec.all<ChunkColumns & { score: number; body: string }>(
      `SELECT r.rowid, r.score, c.id AS chunk_id, c.document_id, c.idx, c.title, c.heading, d.source, c.body
       FROM (
         SELECT c.rowid, ts_rank_cd('${RANK_WEIGHTS}', c.tsv, q.q, ${RANK_NORMALIZATION}) AS score
         FROM knowledge_chunks c, (SELECT CAST(? AS tsquery) AS q) AS q
         WHERE c.tsv @@ q.q ${ids === undefined ? '' : 'AND c.document_id IN (SELECT value FROM json_array_elements_text(CAST(? AS json)))'}
         ORDER BY score DESC, c.rowid
         LIMIT ?
       ) AS r
       JOIN knowledge_chunks c ON c.rowid = r.rowid
       JOIN knowledge_documents d ON d.id = c.document_id
       ORDER BY r.score DESC, r.rowid`,
      ids === undefined ? [tsquery, limit] : [tsquery, JSON.stringify(ids), limit],
    );
    return rows.map(({ score, ...chunk }) => ({ rowid: chunk.rowid, score, chunk }));
  },

  // compileQuery raises QuerySyntaxError where FTS5 would; PostgreSQL refusing the tsquery
  // written from it (42601 syntax_error, 54001 too complex) would be our bug, but is still
  // only a query that cannot be read: the service falls back to literal words.
  isSyntaxError: (error) =>
    error instanceof QuerySyntaxError ||
    ['42601', '54001'].includes(String((error as { code?: unknown } | null)?.code ?? '')),

  // rank() read the chunks already: the snippets are made here, in JavaScript.
  async snippets(_exec: SqlExecutor, match: string, ranked: readonly Ranked[]): Promise<SnippetRow[]> {
    const { highlights } = compileQuery(match);
    return ranked.flatMap(({ chunk }) => {
      if (!chunk) return [];
      const { body, ...row } = chunk;
      return [{ ...row, snippet: markedSnippet(body, highlights, SNIPPET_TOKENS) }];
    });
  },
};

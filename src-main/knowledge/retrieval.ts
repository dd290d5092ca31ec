/**
 * What discussions ask of the knowledge base: the best chunks for a query, to put into an
 * agent's prompt with a citation. Kept as a narrow interface so discussions depend on
 * this, not on the store or its index (SQLite's FTS5, or PostgreSQL's tsvector in team mode).
 */

export interface RetrievedChunk {
  document_id: string;
  title: string;
  chunk_id: string;
  /** The chunk's text as added (Markdown stays Markdown), whole. */
  text: string;
  /** Relevance, higher is better; comparable within one call only. */
  score: number;
}

export interface RetrieveOptions {
  /** Only these documents (a discussion's `document_ids`); unknown ids are ignored. */
  documentIds?: readonly string[];
  limit: number;
}

export interface KnowledgeRetriever {
  /**
   * Best first. Never rejects on query text: any text is read as FTS5 syntax when it parses,
   * else as literal words. When `documentIds` is given and the query finds nothing in them
   * (or is blank), their first chunks are returned instead, in the order of `documentIds`.
   */
  retrieve(query: string, options: RetrieveOptions): Promise<RetrievedChunk[]>;
}

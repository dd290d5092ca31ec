/**
 * What discussions need from the knowledge domain: the best chunks for a query, within a
 * discussion's documents when it names some. Declared here (the knowledge service
 * satisfies it structurally) so this domain depends on the shape, not the module.
 */
export interface RetrievedChunk {
  document_id: string;
  title: string;
  chunk_id: string;
  text: string;
  score: number;
}

export interface KnowledgeSource {
  retrieve(query: string, options: { documentIds?: readonly string[]; limit: number }): RetrievedChunk[];
  /** A document by id (a discussion may only name documents that exist). */
  find(id: string): { title: string } | undefined;
}

/** No knowledge base: every prompt goes without, and no document exists. */
export const NO_KNOWLEDGE: KnowledgeSource = { retrieve: () => [], find: () => undefined };

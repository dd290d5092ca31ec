import type { KnowledgeRetriever } from '../knowledge/retrieval.ts';

export type { RetrievedChunk } from '../knowledge/retrieval.ts';

/**
 * What discussions need from the knowledge base: the best chunks for a query (within a
 * discussion's documents when it names some), and whether a document exists (a new
 * discussion may only name documents that do).
 */
export interface KnowledgeSource extends KnowledgeRetriever {
  find(id: string): Promise<{ title: string } | undefined>;
}

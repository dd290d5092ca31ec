import type { RetrievedChunk, RetrieveOptions } from '../knowledge/retrieval.ts';

export type { RetrievedChunk } from '../knowledge/retrieval.ts';

/**
 * What discussions need from the knowledge base: the best chunks for a query (within a
 * discussion's documents when it names some), and whether a document exists (a new
 * discussion may only name documents that do). Either may answer now or later (the
 * knowledge base is asynchronous over the shared store); the service awaits both.
 */
export interface KnowledgeSource {
  retrieve(query: string, options: RetrieveOptions): RetrievedChunk[] | Promise<RetrievedChunk[]>;
  find(id: string): { title: string } | undefined | Promise<{ title: string } | undefined>;
}

import type { EventEnvelope } from '../../src-shared/events.ts';
import type { KnowledgeDocumentSummary } from '../../src-shared/knowledge.ts';
import { VersionedModel } from './versioned-model.ts';

/**
 * The knowledge base's documents as the dashboard lists them: the list the server last
 * gave, kept current by `knowledge.*` events (which say when to read it again, not the
 * whole document).
 */
export class KnowledgeLibrary extends VersionedModel {
  documents: KnowledgeDocumentSummary[] = [];
  loaded = false;
  /** Bumps on every `knowledge.*` event: an open search runs again to stay true. */
  changes = 0;

  setDocuments(documents: KnowledgeDocumentSummary[]): void {
    this.documents = documents;
    this.loaded = true;
    this.changed();
  }

  /** Drops a document the page just deleted, before the list is read again. */
  remove(id: string): void {
    const before = this.documents.length;
    this.documents = this.documents.filter((d) => d.id !== id);
    if (this.documents.length !== before) this.changed();
  }

  /** Whether these events changed the knowledge base (the list is read again then). */
  affectedBy(events: readonly EventEnvelope[]): boolean {
    const touched = events.some(
      (e) => e.type === 'knowledge.document_added' || e.type === 'knowledge.document_deleted',
    );
    if (touched) {
      this.changes++;
      this.changed();
    }
    return touched;
  }

  /** Total size and chunk count of what is listed. */
  get totals(): { documents: number; chunks: number; bytes: number } {
    let chunks = 0;
    let bytes = 0;
    for (const d of this.documents) {
      chunks += d.chunk_count;
      bytes += d.bytes;
    }
    return { documents: this.documents.length, chunks, bytes };
  }
}

import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../../../src-shared/events.ts';
import type { KnowledgeDocumentSummary } from '../../../../src-shared/knowledge.ts';
import { KnowledgeLibrary } from '../../../../src-renderer/model/knowledge-library.ts';

const doc = (id: string, chunk_count: number, bytes: number) =>
  ({ id, title: id, source: null, tags: [], chunk_count, bytes }) as unknown as KnowledgeDocumentSummary;
const event = (type: string) =>
  ({ type, data: {}, sequence_number: 1, timestamp: '2026-11-30T00:00:00.000Z', metadata: {} }) as EventEnvelope;

describe('KnowledgeLibrary (dashboard model)', () => {
  it('lists documents with their totals; a deleted one leaves at once', () => {
    const library = new KnowledgeLibrary();
    expect(library.loaded).toBe(false);
    library.setDocuments([doc('a', 2, 100), doc('b', 3, 50)]);
    expect(library.totals).toEqual({ documents: 2, chunks: 5, bytes: 150 });
    const version = library.version;
    library.remove('a');
    expect(library.documents.map((d) => d.id)).toEqual(['b']);
    expect(library.version).toBeGreaterThan(version);
    const after = library.version;
    library.remove('missing');
    expect(library.version).toBe(after);
  });

  it('says when knowledge events call for a new read, and counts them so an open search runs again', () => {
    const library = new KnowledgeLibrary();
    let calls = 0;
    library.subscribe(() => calls++);
    expect(library.affectedBy([event('task.created'), event('discussion.updated')])).toBe(false);
    expect(library.changes).toBe(0);
    expect(library.affectedBy([event('knowledge.document_added'), event('knowledge.document_deleted')])).toBe(true);
    expect(library.changes).toBe(1);
    expect(calls).toBe(1);
  });
});

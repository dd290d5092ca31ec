import { expect, it } from 'vitest';
import type { KnowledgeDocument, KnowledgeDocumentList, KnowledgeSearchResponse } from '../../src-shared/knowledge.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { commandAgent, newDiscussion, waitForDiscussion } from '../helpers/discussions.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';
import { api, startRuntime } from '../helpers/runtime.ts';

/**
 * Two servers of one team: their own workspaces, one PostgreSQL database. A is started
 * first and holds the workspace lock, so its HTTP API takes the writes (the other answers
 * 423 to lock-bound writes); B's writes go through its KnowledgeService, which is what its
 * routes call.
 */
async function twoServers(): Promise<[Runtime, Runtime]> {
  const { url } = await createTestDatabase();
  return [await startRuntime({ databaseUrl: url }), await startRuntime({ databaseUrl: url })];
}

async function post(runtime: Runtime, json: unknown): Promise<{ status: number; body: KnowledgeDocument }> {
  const res = await api(runtime, '/api/v1/knowledge/documents', { method: 'POST', json });
  return { status: res.status, body: (await res.json()) as KnowledgeDocument };
}

async function search(runtime: Runtime, q: string): Promise<KnowledgeSearchResponse> {
  const res = await api(runtime, `/api/v1/knowledge/search?${new URLSearchParams({ q })}`);
  expect(res.status).toBe(200);
  return (await res.json()) as KnowledgeSearchResponse;
}

describePostgres('knowledge in team mode: one knowledge base for every server', () => {
  it('finds on server B what was added on A; a replace or delete on one is seen by the other', async () => {
    const [a, b] = await twoServers();
    const added = await post(a, {
      title: 'Failover runbook',
      text: '# Failover\n\nPromote the standby replica, then repoint the servers.',
      source: 'ops/failover.md',
      tags: ['ops'],
    });
    expect(added.status).toBe(201);

    const [hit] = (await search(b, 'promote replica')).results;
    expect(hit).toMatchObject({ document_id: added.body.id, title: 'Failover runbook', source: 'ops/failover.md' });
    expect(hit!.highlights.map(([s, e]) => hit!.snippet.slice(s, e))).toEqual(['Promote', 'replica']);
    const listed = (await (await api(b, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList;
    expect(listed.documents.map((d) => d.id)).toEqual([added.body.id]);
    expect((await api(b, `/api/v1/knowledge/chunks/${hit!.chunk_id}`)).status).toBe(200);

    // B replaces it (same source): A finds the new text under the same id, not the old one.
    const replaced = await b.knowledge.add({
      title: 'Failover runbook v2',
      text: 'Fence the old primary before anything else.',
      source: 'ops/failover.md',
    });
    expect(replaced.replaced).toBe(true);
    expect(replaced.document.id).toBe(added.body.id);
    expect((await search(a, 'promote')).results).toEqual([]);
    expect((await search(a, 'fence primary')).results.map((r) => r.title)).toEqual(['Failover runbook v2']);
    expect((await api(a, `/api/v1/knowledge/chunks/${hit!.chunk_id}`)).status).toBe(404);

    // Both servers' event streams tell of every change, wherever it was made.
    for (const server of [a, b]) {
      const events = (await (await api(server, '/api/v1/events?types=knowledge.*')).json()) as {
        events: { type: string; data: { replaced?: boolean } }[];
      };
      expect(events.events.map((e) => [e.type, e.data.replaced])).toEqual([
        ['knowledge.document_added', false],
        ['knowledge.document_added', true],
      ]);
    }

    expect((await api(a, `/api/v1/knowledge/documents/${added.body.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(b, `/api/v1/knowledge/documents/${added.body.id}`)).status).toBe(404);
    await expect(b.knowledge.delete(added.body.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await search(b, 'fence')).results).toEqual([]);
  });

  it('keeps one document when both servers add the same source at once', async () => {
    const [a, b] = await twoServers();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? a : b).knowledge.add({
          title: `Race ${i}`,
          text: `Version ${i} of the notes.`,
          source: 'notes.md',
        }),
      ),
    );
    expect(answers.filter((x) => !x.replaced)).toHaveLength(1);
    expect(new Set(answers.map((x) => x.document.id)).size).toBe(1);
    const listed = (await (await api(b, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList;
    expect(listed.documents).toHaveLength(1);
    // Whichever write came last, its chunks alone are indexed: one chunk, found once.
    const found = await search(a, 'notes');
    expect(found.results).toHaveLength(1);
    expect(found.results[0]!.title).toBe(listed.documents[0]!.title);
  });

  it('lets a discussion on server A cite a document added on server B', async () => {
    const [a, b] = await twoServers();
    const { document: doc } = await b.knowledge.add({
      title: 'Offline notes',
      text: '# Snapshot\n\nThe snapshot cache keeps the last state for an offline start.',
    });
    const agent = await commandAgent(a, 'echo');
    const created = await newDiscussion(a, {
      topic: 'Should the snapshot cache survive an offline start?',
      participants: [agent.id],
      document_ids: [doc.id],
      max_turns: 1,
    });
    const { messages } = await waitForDiscussion(a, created.id, (d) => d.status === 'completed');
    expect(messages[0]!.citations.map((c) => c.document_id)).toEqual([doc.id]);
    expect(messages[0]!.content).toContain(`knowledge ${messages[0]!.citations[0]!.chunk_id}`);
  });
});

import { expect, it } from 'vitest';
import type {
  KnowledgeChunk,
  KnowledgeDocument,
  KnowledgeDocumentList,
  KnowledgeSearchResponse,
} from '../../src-shared/knowledge.ts';
import { MAX_TEXT_LENGTH, snippetParts } from '../../src-shared/knowledge.ts';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import type { Dialect } from '../../src-main/store/sql-store.ts';
import { describeEachDialect } from '../helpers/dialects.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/** Where a test's runtimes keep their data: the workspace's SQLite file, or a fresh PostgreSQL database. */
async function storeFor(dialect: Dialect): Promise<{ databaseUrl?: string }> {
  return dialect === 'postgres' ? { databaseUrl: (await createTestDatabase()).url } : {};
}

/** How many chunks the full-text index still finds for these words (any of them). */
async function indexed(runtime: Runtime, words: string[]): Promise<number> {
  if (runtime.store.dialect === 'sqlite') {
    const row = await runtime.store.get<{ n: number }>(
      'SELECT count(*) AS n FROM knowledge_fts WHERE knowledge_fts MATCH ?',
      [words.join(' OR ')],
    );
    return row!.n;
  }
  const row = await runtime.store.get<{ n: number }>(
    'SELECT count(*) AS n FROM knowledge_chunks WHERE tsv @@ CAST(? AS tsquery)',
    [words.map((w) => `'${w}'`).join(' | ')],
  );
  return row!.n;
}

type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };

async function add(runtime: Runtime, json: unknown): Promise<KnowledgeDocument> {
  const res = await api(runtime, '/api/v1/knowledge/documents', { method: 'POST', json });
  const body = (await res.json()) as KnowledgeDocument;
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

async function search(runtime: Runtime, q: string, limit?: number): Promise<KnowledgeSearchResponse> {
  const params = new URLSearchParams({ q, ...(limit === undefined ? {} : { limit: String(limit) }) });
  const res = await api(runtime, `/api/v1/knowledge/search?${params}`);
  const body = (await res.json()) as KnowledgeSearchResponse;
  expect(res.status, `q=${JSON.stringify(q.slice(0, 80))}: ${JSON.stringify(body).slice(0, 300)}`).toBe(200);
  return body;
}

async function refused(res: Response, status: number, path?: string): Promise<ErrorBody['error']> {
  const body = (await res.json()) as ErrorBody;
  expect(res.status, JSON.stringify(body).slice(0, 300)).toBe(status);
  expect(body.error.message.length).toBeGreaterThan(10);
  if (path !== undefined) expect(body.error.details?.map((d) => d.path)).toContain(path);
  return body.error;
}

/**
 * A corpus whose order for "sqlite backup" follows from BM25 with the title weighted:
 * the document titled for it first, then a chunk that says both words twice under a
 * "Backups" heading, then a long chunk that says them once each; a chunk about only one
 * of the words does not match the implicit AND at all.
 */
const CORPUS = [
  {
    key: 'title',
    title: 'SQLite backup',
    text: 'Copy the database with the backup command while the server runs.',
  },
  {
    key: 'heading',
    title: 'Operations handbook',
    text: '# Operations\n\nGeneral notes.\n\n## Backups\n\nA SQLite backup is one file. Keep each backup of the SQLite file offsite.',
  },
  {
    key: 'long',
    title: 'Architecture',
    text: `# Storage\n\n${'The event log keeps every event in order and replays it to clients that reconnect. '.repeat(8)}It is stored in SQLite; a backup is rarely needed.`,
  },
  { key: 'unrelated', title: 'Cooking', text: 'A backup plan for dinner: pasta.' },
  // Documents without the query's words, so those words are rare, as in a real knowledge
  // base: BM25's IDF is (near) zero for a word most chunks hold.
  ...['gardening', 'weather', 'music', 'travel', 'chess', 'painting', 'cycling', 'baking', 'astronomy', 'poetry'].map(
    (topic) => ({
      key: topic,
      title: `Notes on ${topic}`,
      text: `# ${topic}\n\nA few thoughts on ${topic} and why it matters.`,
    }),
  ),
];

describeEachDialect('knowledge: documents and search over a real server', (dialect) => {
  const start = async () => startRuntime(await storeFor(dialect));

  it('adds, lists, reads, searches and deletes, publishing each change', async () => {
    const runtime = await start();
    const text = '# Install\n\nRun the installer — it is quick.\n\n## Linux\n\nOn Linux, installing uses the AppImage.';
    const doc = await add(runtime, {
      title: 'Install guide',
      text,
      source: 'docs/install.md',
      tags: ['setup', 'linux'],
    });
    expect(doc).toMatchObject({
      title: 'Install guide',
      source: 'docs/install.md',
      tags: ['setup', 'linux'],
      chunk_count: 2,
      bytes: Buffer.byteLength(text, 'utf8'),
    });
    expect(doc.id).toMatch(/^[0-9a-f]{12}$/);
    expect(doc.created_at).toBe(doc.updated_at);

    const list = (await (await api(runtime, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList;
    expect(list.documents).toEqual([{ ...doc, text: undefined }].map(({ text: _text, ...summary }) => summary));
    const one = (await (await api(runtime, `/api/v1/knowledge/documents/${doc.id}`)).json()) as KnowledgeDocument;
    expect(one.text).toBe(text);
    expect(doc.bytes).toBe(text.length + 2); // the dash is 3 bytes in UTF-8

    // Porter stemming: "installs" finds "installing" (not "installer", a different stem).
    const found = await search(runtime, 'installs linux');
    expect(found.mode).toBe('fts');
    expect(found.results).toHaveLength(1);
    const [hit] = found.results;
    expect(hit).toMatchObject({
      document_id: doc.id,
      title: 'Install guide',
      chunk_index: 1,
      heading: 'Install › Linux',
    });
    expect(hit!.score).toBeGreaterThan(0);
    const marked = snippetParts(hit!.snippet, hit!.highlights)
      .filter((part) => part.highlighted)
      .map((part) => part.text);
    expect(marked).toEqual(['Linux', 'Linux', 'installing']);

    // The chunk a result (or a citation) points at, whole.
    const chunk = (await (await api(runtime, `/api/v1/knowledge/chunks/${hit!.chunk_id}`)).json()) as KnowledgeChunk;
    expect(chunk).toEqual({
      id: hit!.chunk_id,
      document_id: doc.id,
      title: 'Install guide',
      source: 'docs/install.md',
      chunk_index: 1,
      heading: 'Install › Linux',
      text: '## Linux\n\nOn Linux, installing uses the AppImage.',
    });

    expect((await api(runtime, `/api/v1/knowledge/documents/${doc.id}`, { method: 'DELETE' })).status).toBe(204);
    await refused(await api(runtime, `/api/v1/knowledge/chunks/${hit!.chunk_id}`), 404);
    expect((await search(runtime, 'install')).results).toEqual([]);
    expect((await api(runtime, `/api/v1/knowledge/documents/${doc.id}`)).status).toBe(404);
    await refused(await api(runtime, `/api/v1/knowledge/documents/${doc.id}`, { method: 'DELETE' }), 404);
    // The index holds nothing of it any more (SQLite: the delete trigger removed every row).
    expect(await indexed(runtime, ['install', 'linux'])).toBe(0);

    const events = (await (await api(runtime, '/api/v1/events?types=knowledge.*&limit=100')).json()) as {
      events: { type: string; data: Record<string, unknown> }[];
    };
    expect(events.events.map((e) => [e.type, e.data.document_id])).toEqual([
      ['knowledge.document_added', doc.id],
      ['knowledge.document_deleted', doc.id],
    ]);
    expect(events.events[0]!.data).toEqual({
      document_id: doc.id,
      title: 'Install guide',
      source: 'docs/install.md',
      tags: ['setup', 'linux'],
      chunk_count: 2,
      bytes: doc.bytes,
      replaced: false,
    });
  });

  it('ranks a small corpus in the expected order', async () => {
    const runtime = await start();
    const ids = new Map<string, string>();
    for (const { key, ...doc } of CORPUS) ids.set((await add(runtime, doc)).id, key);
    const order = async (q: string) => (await search(runtime, q)).results.map((r) => ids.get(r.document_id));

    expect(await order('sqlite backup')).toEqual(['title', 'heading', 'long']);
    // A phrase only matches where the words are adjacent and in order.
    expect(await order('"sqlite backup"')).toEqual(['title', 'heading']);
    // Scores fall from first to last.
    const scores = (await search(runtime, 'sqlite backup')).results.map((r) => r.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    // limit keeps the best.
    expect((await search(runtime, 'backup', 2)).results.map((r) => ids.get(r.document_id))).toEqual([
      'title',
      'heading',
    ]);
    // Column filters and NOT work as FTS5 documents them.
    expect(await order('title:backup')).toEqual(['title']);
    expect(await order('backup NOT sqlite')).toEqual(['unrelated']);
    // Words never all in one chunk fall back to any of them, ranked by BM25 all the same:
    // the two chunks rich in "sqlite" and "backup" first; then the short chunk saying
    // "backup" once beats the long one saying each word once among ~120 others (BM25
    // divides by length relative to the average chunk).
    const question = await search(runtime, 'restoring sqlite backups please');
    expect(question.mode).toBe('words');
    expect(question.results.map((r) => ids.get(r.document_id))).toEqual(['title', 'heading', 'unrelated', 'long']);
  });

  it('answers every kind of FTS5 syntax, broken or not, with results or a 400 — never a 500', async () => {
    const runtime = await start();
    for (const { key, ...doc } of CORPUS) await add(runtime, { ...doc, source: key });
    const queries = [
      '"sqlite backup"',
      '"unbalanced quote',
      'a"b"c',
      'NEAR(sqlite backup, 3)',
      'NEAR(sqlite backup, x)',
      'NEAR(',
      'NEAR sqlite',
      'title:sqlite',
      'nosuchcolumn:sqlite',
      '{title heading}: backup',
      '- title : backup',
      'back*',
      'b*',
      '*backup',
      'sqlite AND backup',
      'sqlite OR cooking',
      'backup NOT sqlite',
      'AND',
      'OR OR OR backup',
      'sqlite AND NOT backup',
      '(sqlite OR backup',
      'sqlite OR backup)',
      ')(',
      `${'('.repeat(4000)}backup`,
      `${'('.repeat(5000)}backup`, // over the length bound: 400
      '^copy',
      '^',
      'backup ^',
      '- backup',
      '+ backup',
      'sqlite -backup',
      'node.js',
      'C++ & <script>alert(1)</script>',
      "'; DROP TABLE knowledge_chunks; --",
      'backup\u0000sqlite',
      '\u0000backup',
      'ﬁle émigré 😀 backup',
      'backup '.repeat(1400), // 9.8 KB of words
    ];
    for (const q of queries) {
      const res = await api(runtime, `/api/v1/knowledge/search?${new URLSearchParams({ q })}`);
      const body = (await res.json()) as KnowledgeSearchResponse & ErrorBody;
      expect(res.status, `${JSON.stringify(q.slice(0, 60))}: ${JSON.stringify(body).slice(0, 200)}`).toBeLessThan(500);
      if (res.status === 200) {
        expect(Array.isArray(body.results)).toBe(true);
        for (const r of body.results)
          for (const [start, end] of r.highlights) expect(start < end && end <= r.snippet.length).toBe(true);
      } else {
        expect(res.status).toBe(400);
        expect(body.error.code).toBe('invalid_input');
      }
    }
    // Every document is still there: no query changed anything.
    const list = (await (await api(runtime, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList;
    expect(list.documents).toHaveLength(CORPUS.length);
    // The broken ones still found what their words say.
    expect((await search(runtime, '"unbalanced quote backup')).mode).toBe('words');
    expect((await search(runtime, '(sqlite OR backup')).results.length).toBeGreaterThan(0);
    expect((await search(runtime, 'nosuchcolumn:sqlite')).results.length).toBeGreaterThan(0);
    expect((await search(runtime, `${'('.repeat(4000)}backup`)).results.length).toBeGreaterThan(0);
    // Markup in a query or a document is only ever text.
    await add(runtime, { title: 'XSS', text: 'a <script>alert(1)</script> tag in prose' });
    const [xss] = (await search(runtime, 'script alert')).results;
    expect(xss!.snippet).toContain('<script>alert(1)</script>');
  });

  it('refuses bad input with a clear 400 (or 404), storing nothing', async () => {
    const runtime = await start();
    const post = (json: unknown) => api(runtime, '/api/v1/knowledge/documents', { method: 'POST', json });
    await refused(await post({ text: 'x' }), 400, 'body.title');
    await refused(await post({ title: ' \t', text: 'x' }), 400, 'body.title');
    await refused(await post({ title: 'x'.repeat(201), text: 'x' }), 400, 'body.title');
    await refused(await post({ title: 'a\u0000b', text: 'x' }), 400, 'body.title');
    await refused(await post({ title: 'T' }), 400, 'body.text');
    await refused(await post({ title: 'T', text: '   \n\n ' }), 400, 'body.text');
    expect((await refused(await post({ title: 'T', text: 'bin\u0000ary' }), 400, 'body.text')).message).toMatch(/NUL/);
    // 1 MiB + 1 character, and a 3 MB body: both refused whole with the limit named.
    const overLimit = await refused(await post({ title: 'Big', text: 'x'.repeat(MAX_TEXT_LENGTH + 1) }), 400);
    expect(overLimit.message).toMatch(/at most 1048576 characters/);
    await refused(await post({ title: 'Big', text: 'word '.repeat(600_000) }), 400, 'body.text');
    await refused(await post({ title: 'T', text: 'x', tags: ['has space'] }), 400, 'body.tags.0');
    await refused(await post({ title: 'T', text: 'x', tags: 'one' }), 400, 'body.tags');
    await refused(await post({ title: 'T', text: 'x', source: '' }), 400, 'body.source');
    await refused(await post({ title: 'T', text: 'x', extra: 1 }), 400);
    await refused(await post([1, 2]), 400);
    const res = await api(runtime, '/api/v1/knowledge/documents', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title": "T", "text": ',
    });
    expect(res.status).toBe(400);

    const q = (query: string) => api(runtime, `/api/v1/knowledge/search?${query}`);
    await refused(await q(''), 400, 'query.q');
    await refused(await q('q='), 400, 'query.q');
    await refused(await q('q=%20%20'), 400, 'query.q');
    await refused(await q(`q=${encodeURIComponent('"*"()-^')}`), 400, 'query.q');
    await refused(await q(`q=${'a'.repeat(4097)}`), 400, 'query.q');
    await refused(await q('q=x&limit=0'), 400, 'query.limit');
    await refused(await q('q=x&limit=101'), 400, 'query.limit');
    await refused(await q('q=x&limit=1e3'), 400, 'query.limit');
    await refused(await q('q=x&q=y'), 400, 'query.q');
    await refused(await q('q=x&sort=asc'), 400);
    await refused(await api(runtime, '/api/v1/knowledge/documents/nope'), 404);

    expect(
      ((await (await api(runtime, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList).documents,
    ).toEqual([]);
    // And the largest allowed text is taken whole.
    const big = await add(runtime, { title: 'Largest', text: `${'lorem ipsum dolor sit amet '.repeat(38_836)}end` });
    expect(big.bytes).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
    expect(big.chunk_count).toBeGreaterThan(500);
    expect((await search(runtime, 'end')).results[0]!.document_id).toBe(big.id);
  });

  it('replaces a document added again with the same source, keeping its id', async () => {
    const runtime = await start();
    const first = await add(runtime, { title: 'Notes', text: 'old words about zebras', source: 'notes.md' });
    const res = await api(runtime, '/api/v1/knowledge/documents', {
      method: 'POST',
      json: { title: 'Notes v2', text: 'new words about giraffes', source: 'notes.md' },
    });
    expect(res.status).toBe(200);
    const second = (await res.json()) as KnowledgeDocument;
    expect(second).toMatchObject({ id: first.id, title: 'Notes v2', created_at: first.created_at });
    expect(second.updated_at >= first.updated_at).toBe(true);
    expect((await search(runtime, 'zebras')).results).toEqual([]);
    expect((await search(runtime, 'giraffes')).results.map((r) => r.title)).toEqual(['Notes v2']);
    const list = (await (await api(runtime, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList;
    expect(list.documents).toHaveLength(1);
  });

  it('reads NEAR, prefixes, column filters and ^ alike on both stores', async () => {
    const runtime = await start();
    const ids = new Map<string, string>();
    for (const { key, ...doc } of CORPUS) ids.set((await add(runtime, doc)).id, key);
    const found = async (q: string) =>
      new Set((await search(runtime, q, 100)).results.map((r) => ids.get(r.document_id)));
    // "SQLite backup" (title), "A SQLite backup" (heading), "stored in SQLite; a backup" (long):
    // one word between them in the last.
    expect(await found('NEAR(sqlite backup, 0)')).toEqual(new Set(['title', 'heading']));
    expect(await found('NEAR(backup sqlite, 1)')).toEqual(new Set(['title', 'heading', 'long']));
    expect(await found('back*')).toEqual(new Set(['title', 'heading', 'long', 'unrelated']));
    expect(await found('garden* OR astro*')).toEqual(new Set(['gardening', 'astronomy']));
    expect(await found('heading:backups')).toEqual(new Set(['heading']));
    expect(await found('{title heading}: backup')).toEqual(new Set(['title', 'heading']));
    expect(await found('- title: sqlite')).toEqual(new Set(['heading', 'long']));
    expect(await found('^copy')).toEqual(new Set(['title']));
    expect(await found('sqlite + backup')).toEqual(new Set(['title', 'heading']));
    expect(await found('(backup OR dinner) NOT (sqlite OR storage)')).toEqual(new Set(['unrelated']));
    // Accents, case and stems fold the same way.
    await add(runtime, { title: 'Émigré café', text: 'Naïve émigrés were INSTALLING things.' });
    expect((await search(runtime, 'emigre cafe naive installs')).results.map((r) => r.title)).toEqual(['Émigré café']);
  });

  it("keeps a document's own marker characters as text and still marks the matches", async () => {
    const runtime = await start();
    // U+E000 / U+E001 are what the stores' snippets mark matches with internally.
    const text = 'A \uE000fake\uE001 mark beside the real needle word.';
    const doc = await add(runtime, { title: 'Markers', text });
    expect(
      ((await (await api(runtime, `/api/v1/knowledge/documents/${doc.id}`)).json()) as KnowledgeDocument).text,
    ).toBe(text);
    const [hit] = (await search(runtime, 'needle')).results;
    expect(hit!.snippet).toBe('A \uFFFDfake\uFFFD mark beside the real needle word.');
    expect(hit!.highlights.map(([s, e]) => hit!.snippet.slice(s, e))).toEqual(['needle']);
    // A query holding them is only text; they separate words as in the indexed text.
    expect((await search(runtime, '\uE000needle\uE001')).results.map((r) => r.document_id)).toEqual([doc.id]);
  });

  it('indexes a document of the largest size and finds words at its start, middle and end', async () => {
    const runtime = await start();
    const words = (n: number) => Array.from({ length: n }, (_, i) => `filler${i % 997}`).join(' ');
    const text = `# Start\n\nopeningword ${words(48_000)}\n\n## Middle\n\nmiddleword ${words(48_000)} closingword`;
    expect(text.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
    const doc = await add(runtime, { title: 'Huge', text });
    expect(doc.chunk_count).toBeGreaterThan(400);
    for (const word of ['openingword', 'middleword', 'closingword']) {
      const [hit] = (await search(runtime, word)).results;
      expect(hit!.document_id).toBe(doc.id);
      expect(hit!.highlights.map(([s, e]) => hit!.snippet.slice(s, e))).toEqual([word]);
    }
    expect((await search(runtime, 'middleword')).results[0]!.heading).toBe('Start › Middle');
    expect((await api(runtime, `/api/v1/knowledge/documents/${doc.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await search(runtime, 'filler1')).results).toEqual([]);
  });

  it('keeps documents and the index across a restart', async () => {
    const workspace = tempWorkspace();
    const store = await storeFor(dialect);
    const first = await createRuntime({ workspace, port: 0, logLevel: 'warn', ...store });
    let id: string;
    try {
      id = (await add(first, { title: 'Persisted', text: 'durable knowledge survives restarts' })).id;
    } finally {
      await first.stop();
    }
    const second = await startRuntime({ workspace, ...store });
    const found = await search(second, 'survive');
    expect(found.results.map((r) => r.document_id)).toEqual([id]);
  });
});

describeEachDialect('knowledge: retrieval for discussions', (dialect) => {
  it('gives the best chunks, restricted to the given documents, or their openings when nothing matches', async () => {
    const runtime = await startRuntime(await storeFor(dialect));
    const ids = new Map<string, string>();
    for (const { key, ...doc } of CORPUS) ids.set(key, (await add(runtime, doc)).id);
    const k = runtime.knowledge;

    const best = await k.retrieve('sqlite backup', { limit: 2 });
    expect(best.map((c) => c.document_id)).toEqual([ids.get('title'), ids.get('heading')]);
    expect(best[0]).toEqual({
      document_id: ids.get('title'),
      title: 'SQLite backup',
      chunk_id: expect.stringMatching(/^[0-9a-f]{12}$/),
      text: CORPUS[0]!.text,
      score: expect.any(Number),
    });
    expect(best[0]!.score).toBeGreaterThan(best[1]!.score);

    // Restricted: only the listed documents, best first; unknown ids ignored.
    const inside = await k.retrieve('sqlite backup', { documentIds: [ids.get('long')!, 'nope'], limit: 5 });
    expect(inside.map((c) => c.document_id)).toEqual([ids.get('long')]);

    // A topic sentence is not FTS syntax; it still finds chunks.
    expect((await k.retrieve('What is our backup policy for the SQLite file?', { limit: 3 })).length).toBeGreaterThan(
      0,
    );

    // Nothing matches inside the given documents: their first chunks, in the given order.
    const openings = await k.retrieve('quantum chromodynamics', {
      documentIds: [ids.get('unrelated')!, ids.get('heading')!],
      limit: 3,
    });
    expect(openings.map((c) => [c.document_id, c.score])).toEqual([
      [ids.get('unrelated'), 0],
      [ids.get('heading'), 0],
      [ids.get('heading'), 0],
    ]);
    expect(openings[1]!.text).toBe('# Operations\n\nGeneral notes.');

    // Without documents, nothing matching is nothing; odd input never throws.
    expect(await k.retrieve('quantum chromodynamics', { limit: 3 })).toEqual([]);
    for (const q of ['', '(((', '"', '*', '\u0000', 'x'.repeat(100_000), 'NEAR(', 'a:b', "'", '\\']) {
      expect(Array.isArray(await k.retrieve(q, { limit: 3 }))).toBe(true);
    }
    expect((await k.retrieve('', { documentIds: [ids.get('title')!], limit: 1 })).map((c) => c.document_id)).toEqual([
      ids.get('title'),
    ]);
    expect(await k.retrieve('backup', { documentIds: [], limit: 3 })).toEqual([]);
    expect(await k.retrieve('backup', { limit: 0 })).toEqual([]);
  });
});

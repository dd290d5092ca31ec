import {
  KnowledgeChunk,
  KnowledgeDocument,
  KnowledgeDocumentCreate,
  KnowledgeDocumentList,
  KnowledgeSearchQuery,
  KnowledgeSearchResponse,
  MAX_QUERY_LENGTH,
  MAX_TEXT_LENGTH,
} from '../../src-shared/knowledge.ts';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import { defineRoute, type Route } from '../http/route.ts';
import type { KnowledgeService } from './knowledge-service.ts';

const SEARCH_HELP = [
  'Ranks chunks with BM25 (team mode on PostgreSQL: ts_rank_cd), a word in the title counting 5×, in the heading path 2×, in the text 1×, best first.',
  'Any text is safe: FTS5 syntax is used when it parses (`"exact phrase"`, `NEAR(a b, 5)`, `title:install`,',
  '`inst*`, `a AND (b OR c) NOT d`, `^start`); otherwise, or when plain words found nothing together,',
  'each word is searched as a literal and any of them matches (`mode: "words"`).',
  `\`q\` must hold a letter or digit and be at most ${MAX_QUERY_LENGTH} characters (else 400).`,
  '`snippet` is plain text; `highlights` are `[start, end)` offsets into it (JavaScript string indices) of the matches.',
].join(' ');

export const knowledgeRoutes = (knowledge: KnowledgeService): Route[] =>
  [
    defineRoute({
      method: 'post',
      path: '/knowledge/documents',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary: 'Add a document to the knowledge base (Markdown or plain text)',
      description: `The text (at most ${MAX_TEXT_LENGTH} characters) is split into chunks at headings and paragraphs and indexed. With a \`source\` that an existing document already has, that document is replaced in place (same id): 200 instead of 201. Publishes \`knowledge.document_added\`.`,
      tags: ['knowledge'],
      body: KnowledgeDocumentCreate,
      bodyExamples: {
        markdown: {
          summary: 'A Markdown page',
          value: {
            title: 'Deploying',
            text: '# Deploying\n\nRun `npm run dist`.\n\n## Linux\n\nThe AppImage needs FUSE.',
            source: 'docs/deploying.md',
            tags: ['ops'],
          },
        },
      },
      errors: [423],
      responses: {
        201: { description: 'The document, added', schema: KnowledgeDocument },
        200: { description: 'The document with this source, replaced', schema: KnowledgeDocument },
      },
      handler: async ({ body, ctx }) => {
        const { document, replaced } = await knowledge.add(body);
        ctx.set('Location', `${API_PREFIX}/knowledge/documents/${document.id}`);
        return { status: replaced ? 200 : 201, body: document };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/knowledge/documents',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'Every document (without its text), newest first',
      tags: ['knowledge'],
      responses: { 200: { description: 'The documents', schema: KnowledgeDocumentList } },
      handler: async () => ({ body: { documents: await knowledge.list() } }),
    }),
    defineRoute({
      method: 'get',
      path: '/knowledge/documents/:id',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'One document, with its text',
      tags: ['knowledge'],
      errors: [404],
      responses: { 200: { description: 'The document', schema: KnowledgeDocument } },
      handler: async ({ params }) => ({ body: await knowledge.get(params.id ?? '') }),
    }),
    defineRoute({
      method: 'delete',
      path: '/knowledge/documents/:id',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary: 'Delete a document with its chunks and index entries',
      description: 'Publishes `knowledge.document_deleted`.',
      tags: ['knowledge'],
      errors: [404, 423],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ params }) => {
        await knowledge.delete(params.id ?? '');
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/knowledge/chunks/:id',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'One chunk, whole: the passage a search result or a discussion citation points at',
      description:
        'Chunk ids change when their document is replaced (added again with the same source): an old citation then answers 404.',
      tags: ['knowledge'],
      errors: [404],
      responses: { 200: { description: 'The chunk', schema: KnowledgeChunk } },
      handler: async ({ params }) => ({ body: await knowledge.chunk(params.id ?? '') }),
    }),
    defineRoute({
      method: 'get',
      path: '/knowledge/search',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'Search the knowledge base',
      description: SEARCH_HELP,
      tags: ['knowledge'],
      query: KnowledgeSearchQuery,
      responses: { 200: { description: 'The best chunks, best first', schema: KnowledgeSearchResponse } },
      handler: async ({ query }) => ({ body: await knowledge.search(query.q, { limit: query.limit }) }),
    }),
  ] as Route[];

import { z } from 'zod';
import { integerParam } from './non-negative-integer.ts';

/**
 * Wire shapes of the knowledge base (CONTRACT Part 2, "Discussions and knowledge"): plain
 * text and Markdown documents, split into chunks that a full-text index ranks (SQLite: FTS5
 * and BM25; team mode on PostgreSQL: tsvector and ts_rank_cd).
 * Discussions put the best chunks into an agent's prompt; people search them.
 */

/** Longest title, in characters. */
export const MAX_TITLE_LENGTH = 200;
/**
 * Longest document text: 1 MiB written as characters (1,048,576 UTF-16 code units), so
 * /openapi.json can state it and a client can check before sending. A book-sized text
 * fits; larger material is better added as several documents (one per chapter or file),
 * which also gives citations a useful title.
 */
export const MAX_TEXT_LENGTH = 1024 * 1024;
/** A path or URL saying where the text came from. */
export const MAX_SOURCE_LENGTH = 2048;
export const MAX_TAGS = 32;
export const MAX_TAG_LENGTH = 64;
/** Longest search query, in characters: a pasted paragraph fits, a pasted file does not. */
export const MAX_QUERY_LENGTH = 4096;
export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 100;

/** Files `lookout knowledge add` reads: Markdown and plain text. */
export const KNOWLEDGE_FILE_EXTENSIONS = ['.md', '.markdown', '.txt'] as const;

// One pattern per field rather than refinements (or two patterns, of which /openapi.json
// would show one), so the document states every rule; the error says which one failed.
/** Some non-space character, and no NUL anywhere. */
const TEXT_PATTERN = /^(?=[\s\S]*\S)[^\0]*$/;
const textProblem = (what: string, input: unknown): string =>
  String(input).includes('\0') ? `${what} must not contain a NUL character` : `${what} must not be empty`;

export const KnowledgeTitle = z
  .string({ error: 'title is required (a string)' })
  .max(MAX_TITLE_LENGTH, { error: `title is at most ${MAX_TITLE_LENGTH} characters` })
  .regex(TEXT_PATTERN, { error: (issue) => textProblem('title', issue.input) });

/** A tag: letters, digits and `_ . : / -`, no spaces (so `tag:x` filters stay unambiguous). */
export const TAG_PATTERN = /^[\p{L}\p{N}_.:/-]{1,64}$/u;
export const KnowledgeTag = z.string().regex(TAG_PATTERN, {
  error: `a tag is 1 to ${MAX_TAG_LENGTH} letters, digits or _ . : / - (no spaces)`,
});

export const KnowledgeDocumentCreate = z.strictObject({
  title: KnowledgeTitle,
  text: z
    .string({ error: 'text is required (a string)' })
    .max(MAX_TEXT_LENGTH, {
      error: `text is at most ${MAX_TEXT_LENGTH} characters (1 MiB); split larger material into several documents`,
    })
    .regex(TEXT_PATTERN, {
      error: (issue) =>
        String(issue.input).includes('\0')
          ? 'text must not contain a NUL character (is it a binary file?)'
          : 'text must not be empty',
    }),
  /** Where the text came from (a file path, a URL). Adding again with the same source replaces that document. */
  source: z
    .string()
    .max(MAX_SOURCE_LENGTH, { error: `source is at most ${MAX_SOURCE_LENGTH} characters` })
    .regex(TEXT_PATTERN, { error: (issue) => textProblem('source', issue.input) })
    .optional(),
  tags: z
    .array(KnowledgeTag)
    .max(MAX_TAGS, { error: `at most ${MAX_TAGS} tags` })
    .optional(),
});
export type KnowledgeDocumentCreate = z.infer<typeof KnowledgeDocumentCreate>;

/** A document without its text (lists, events). */
export const KnowledgeDocumentSummary = z.object({
  id: z.string(),
  title: z.string(),
  source: z.string().nullable(),
  tags: z.array(z.string()),
  chunk_count: z.number().int(),
  /** Size of the text in UTF-8 bytes. */
  bytes: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type KnowledgeDocumentSummary = z.infer<typeof KnowledgeDocumentSummary>;

/** `GET /api/v1/knowledge/documents/{id}` and the answer to a POST: the summary plus the text as added. */
export const KnowledgeDocument = KnowledgeDocumentSummary.extend({ text: z.string() });
export type KnowledgeDocument = z.infer<typeof KnowledgeDocument>;

export const KnowledgeDocumentList = z.object({ documents: z.array(KnowledgeDocumentSummary) });
export type KnowledgeDocumentList = z.infer<typeof KnowledgeDocumentList>;

/**
 * `GET /api/v1/knowledge/chunks/{id}`: one chunk, whole — what a discussion's citation
 * (`{document_id, title, chunk_id}`) points at, so a reader can see the exact passage.
 */
export const KnowledgeChunk = z.object({
  id: z.string(),
  document_id: z.string(),
  title: z.string(),
  source: z.string().nullable(),
  /** The chunk's place in its document, from 0. */
  chunk_index: z.number().int(),
  /** Heading path (`Install › Linux`), `''` before any heading. */
  heading: z.string(),
  text: z.string(),
});
export type KnowledgeChunk = z.infer<typeof KnowledgeChunk>;

export const KnowledgeSearchQuery = z.strictObject({
  q: z
    .string({ error: 'q is required: the words to search for' })
    .max(MAX_QUERY_LENGTH, { error: `q is at most ${MAX_QUERY_LENGTH} characters` })
    .regex(/[\p{L}\p{N}]/u, { error: 'q needs at least one letter or digit to search for' }),
  limit: integerParam(1, MAX_SEARCH_LIMIT).default(DEFAULT_SEARCH_LIMIT),
});
export type KnowledgeSearchQuery = z.infer<typeof KnowledgeSearchQuery>;

/**
 * One ranked chunk. `snippet` is PLAIN TEXT (never HTML): render it as text and wrap the
 * ranges in `highlights` — `[start, end)` offsets in UTF-16 code units, i.e. JavaScript
 * string indices, sorted and non-overlapping — in <mark> or similar. Nothing in it can
 * inject markup however it is rendered as text. `…` marks text cut at either end.
 */
export const KnowledgeSearchResult = z.object({
  document_id: z.string(),
  title: z.string(),
  chunk_id: z.string(),
  /** The chunk's place in its document, from 0. */
  chunk_index: z.number().int(),
  /** The Markdown heading path the chunk sits under (`Install › Linux`), `''` before any heading. */
  heading: z.string(),
  source: z.string().nullable(),
  snippet: z.string(),
  highlights: z.array(z.tuple([z.number().int(), z.number().int()])),
  /** Relevance, higher is better (SQLite: BM25 negated; PostgreSQL: ts_rank_cd). Comparable within one query only. */
  score: z.number(),
});
export type KnowledgeSearchResult = z.infer<typeof KnowledgeSearchResult>;

export const KnowledgeSearchResponse = z.object({
  results: z.array(KnowledgeSearchResult),
  /**
   * How the query was read: `fts` when it was valid FTS5 syntax and used as written,
   * `words` when it was not (or found nothing) and its words were searched as literals.
   */
  mode: z.enum(['fts', 'words']),
});
export type KnowledgeSearchResponse = z.infer<typeof KnowledgeSearchResponse>;

/** Splits a snippet into plain/highlighted parts for renderers (dashboard, CLI). */
export function snippetParts(
  snippet: string,
  highlights: readonly (readonly [number, number])[],
): { text: string; highlighted: boolean }[] {
  const parts: { text: string; highlighted: boolean }[] = [];
  let at = 0;
  for (const [start, end] of highlights) {
    if (start < at || end <= start || end > snippet.length) continue;
    if (start > at) parts.push({ text: snippet.slice(at, start), highlighted: false });
    parts.push({ text: snippet.slice(start, end), highlighted: true });
    at = end;
  }
  if (at < snippet.length) parts.push({ text: snippet.slice(at), highlighted: false });
  return parts;
}

/**
 * How any text a person (or a discussion) types becomes an FTS5 MATCH expression. The
 * rule, in order:
 *
 * 1. Control characters (NUL included) become spaces: they mean nothing in a query.
 * 2. The text is tried as FTS5 syntax as written — `"exact phrase"`, `NEAR(a b, 5)`,
 *    `title:install`, `inst*`, `a AND (b OR c) NOT d`, `^start` all work as SQLite
 *    documents them — unless it has more than MAX_TERMS words (a pasted paragraph, which
 *    would be an AND of every word and find nothing).
 * 3. When SQLite refuses it (unbalanced quotes or parentheses, an unknown column, a lone
 *    `-`, `node.js`), or when a plain list of words found nothing, each word is searched
 *    as a literal phrase, OR-joined: BM25 then ranks chunks holding more of the words
 *    higher, which is what a natural-language question ("how do I install on linux")
 *    needs; an AND of every word would mostly find nothing.
 *
 * So every input has an answer — results or none — and none is an error.
 */

/**
 * More words than this are not tried as FTS5 syntax, and only the first ones are searched:
 * each word of an OR costs a pass over its posting list, and node:sqlite runs on the event
 * loop (64 common words over 10,000 chunks took ~300 ms; 32 about half).
 */
export const MAX_TERMS = 32;

/**
 * English words so common that, OR-ed in, they match nearly every chunk: slower, and noise
 * BM25 can only damp. Left out of the any-word fallback unless they are all there is.
 */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can could did do does for from had has have how i if in into is it its me my ' +
    'no not of on or our should so than that the their them then there these they this to was we were what when ' +
    'where which who why will with would you your'
  ).split(' '),
);

const OPERATORS = new Set(['AND', 'OR', 'NOT', 'NEAR']);

/**
 * NUL and other control characters to spaces; the snippet markers to U+FFFD, as in the
 * indexed text (withoutMarkers), where they separate words.
 */
export function cleanQuery(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  return withoutMarkers(text.replace(/[\u0000-\u001f\u007f]/g, ' ')).trim();
}

const words = (text: string): string[] => text.split(/\s+/).filter((word) => word !== '');

/**
 * A prefix term (`a*`) merges the posting lists of every word it starts: 32 one-letter
 * prefixes AND-ed took 400 ms over 10,000 chunks. Past this many, the text is read as words.
 */
export const MAX_PREFIX_TERMS = 4;

/** The query to try as FTS5 syntax first, or undefined when it should not be. */
export function asWritten(cleaned: string): string | undefined {
  if (cleaned === '' || words(cleaned).length > MAX_TERMS) return undefined;
  if ((cleaned.match(/\*/g)?.length ?? 0) > MAX_PREFIX_TERMS) return undefined;
  return cleaned;
}

/**
 * True when the text is only words (letters, digits, `_`) and no operator: an implicit
 * AND the person did not ask for, so finding nothing falls back to any of the words.
 * Syntax the person did write (a phrase, NOT, a column) is respected even when it finds nothing.
 */
export function isPlainWords(cleaned: string): boolean {
  return /^[\p{L}\p{N}_\s]+$/u.test(cleaned) && !words(cleaned).some((word) => OPERATORS.has(word));
}

/**
 * Every word as a literal phrase, OR-joined: `"node.js" OR "install"`. FTS5's syntax
 * characters split words (quotes would need doubling, and mean nothing inside a literal),
 * words with no letter or digit are skipped (the tokenizer would make them empty phrases).
 * Undefined when nothing searchable is left.
 */
export function literalWords(cleaned: string): string | undefined {
  const seen = new Set<string>();
  const stop = new Set<string>();
  // FTS5's own punctuation separates words (`col:term` is two words, `(a` is `a`); other
  // punctuation stays inside the literal, where the tokenizer makes it a phrase (`node.js`).
  for (const word of words(cleaned.replace(/["():^*{}+,]/g, ' '))) {
    // An operator that made the syntax fail (`a AND NOT b`) is not a word the person wants found.
    if (!/[\p{L}\p{N}]/u.test(word) || OPERATORS.has(word)) continue;
    const lower = word.toLowerCase();
    if (STOP_WORDS.has(lower)) stop.add(lower);
    else seen.add(lower);
    if (seen.size === MAX_TERMS) break;
  }
  const chosen = seen.size > 0 ? seen : stop;
  return chosen.size === 0 ? undefined : [...chosen].map((word) => `"${word}"`).join(' OR ');
}

/**
 * An error SQLite raises for a MATCH expression it cannot read ("fts5: syntax error",
 * "no such column", "unterminated string", "parser stack overflow", "unknown special
 * query"): all SQLITE_ERROR (1). A full disk, an I/O error or corruption carry other codes
 * and are not swallowed.
 */
export function isQuerySyntaxError(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | undefined)?.errcode;
  return typeof errcode === 'number' && (errcode & 0xff) === 1;
}

/** Private-use characters snippet() puts around each match; stripped by parseSnippet. */
export const MARK_OPEN = '\uE000';
export const MARK_CLOSE = '\uE001';

/** Indexed text must not hold the markers itself, or a snippet could not be read back. */
export const withoutMarkers = (text: string): string => text.replace(/[\uE000\uE001]/g, '\uFFFD');

/** Turns a marked snippet into plain text and `[start, end)` ranges of the matches. */
export function parseSnippet(marked: string): { snippet: string; highlights: [number, number][] } {
  let snippet = '';
  const highlights: [number, number][] = [];
  let start: number | undefined;
  for (const char of marked) {
    if (char === MARK_OPEN) start = snippet.length;
    else if (char === MARK_CLOSE) {
      if (start !== undefined && snippet.length > start) {
        const last = highlights.at(-1);
        // Adjacent matches ("open source") read better as one mark.
        if (last && last[1] === start) last[1] = snippet.length;
        else highlights.push([start, snippet.length]);
      }
      start = undefined;
    } else snippet += char;
  }
  return { snippet, highlights };
}

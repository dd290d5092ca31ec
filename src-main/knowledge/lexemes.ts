import { stemmer } from 'stemmer';

/**
 * Lookout's own tokenizer for the PostgreSQL index, made to behave like the SQLite index's
 * FTS5 tokenizer (`porter unicode61 remove_diacritics 2`), so one query finds the same
 * chunks on both stores:
 *
 * - a token is a run of letters, digits, marks and private-use characters (unicode61's
 *   token characters); everything else separates tokens (`node.js` is `node`, `js`);
 * - case and accents are folded (`Émigré` is `emigre`; NFKD also splits ligatures: `ﬁle`
 *   is `file`);
 * - English words are reduced by the Porter stemmer (`installing`, `installs` → `instal`).
 *
 * PostgreSQL's own configurations would not do: `english` drops stop words (so `"to be"`
 * or `the` find nothing), `simple` does not stem, neither folds accents without the
 * `unaccent` extension, and the snippets need the offsets of each token in the chunk's
 * text, which only a tokenizer of our own gives (ts_headline also drops anything that looks
 * like an HTML tag from its output). So the lexemes are made here, and PostgreSQL stores
 * and searches them as given (`tsvector` and `tsquery` values, no text-search configuration).
 */

const TOKEN = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/**
 * PostgreSQL refuses a lexeme of 2 KiB or more (to_tsvector skips such words with a notice);
 * an unbroken run that long (base64, minified code) is not something anyone searches for.
 */
const MAX_LEXEME_BYTES = 2046;

export interface Token {
  /** [start, end) in the text, in UTF-16 code units. */
  start: number;
  end: number;
  lexeme: string;
}

/** Words seen lately and their lexemes: prose repeats its words, and stemming is most of the cost. */
const recent = new Map<string, string>();
const MAX_RECENT = 20_000;

/** One word as the index knows it: case and accents folded, stemmed. Empty when nothing is left. */
export function lexeme(word: string): string {
  let value = recent.get(word);
  if (value === undefined) {
    const lower = word.toLowerCase();
    // Printable ASCII has nothing to decompose: skip the normalization for the common case.
    const folded = /^[ -~]*$/.test(lower) ? lower : lower.normalize('NFKD').replace(/\p{M}/gu, '');
    value = /^[a-z]{3,}$/.test(folded) ? stemmer(folded) : folded;
    if (recent.size >= MAX_RECENT) recent.clear();
    recent.set(word, value);
  }
  return value;
}

/** Every token of the text with its place, in order (tokens too long to index are left out). */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const match of text.matchAll(TOKEN)) {
    const value = lexeme(match[0]);
    // A UTF-16 unit is at most 3 UTF-8 bytes: only a long word needs counting.
    if (value === '' || (value.length * 3 > MAX_LEXEME_BYTES && Buffer.byteLength(value) > MAX_LEXEME_BYTES)) continue;
    tokens.push({ start: match.index, end: match.index + match[0].length, lexeme: value });
  }
  return tokens;
}

/** A lexeme quoted for tsvector/tsquery input: single quotes doubled, backslashes escaped. */
export const quoteLexeme = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** tsvector positions run from 1 to 16383; later ones are clamped there by PostgreSQL too. */
const MAX_POSITION = 16383;
/** Positions left empty between columns, so a phrase never runs from a title into the text. */
const COLUMN_GAP = 8;

/**
 * The tsvector (input syntax) of a chunk: its title's lexemes weighted A, its heading path's
 * B, its text's C, positions running on across the columns with a gap between them.
 */
export function chunkVector(columns: { title: string; heading: string; body: string }): string {
  const positions = new Map<string, string[]>();
  let position = 0;
  for (const [weight, text] of [
    ['A', columns.title],
    ['B', columns.heading],
    ['C', columns.body],
  ] as const) {
    for (const token of tokenize(text)) {
      position = Math.min(position + 1, MAX_POSITION);
      let list = positions.get(token.lexeme);
      if (!list) positions.set(token.lexeme, (list = []));
      // PostgreSQL keeps at most 256 positions of one lexeme; ranking needs no more.
      if (list.length < 256) list.push(`${position}${weight}`);
    }
    position = Math.min(position + COLUMN_GAP, MAX_POSITION);
  }
  return [...positions].map(([value, list]) => `${quoteLexeme(value)}:${list.join(',')}`).join(' ');
}

import { CUSTOM_NAMESPACE, EVENT_TYPE_PATTERN, isCataloguedType, matchesAny } from '../../src-shared/events.ts';

/**
 * The activity filter box: one line mixing type patterns (`chat.*`, `workflow.failed`)
 * and free text (`deploy`, `"disk full"`). A leading `-` excludes (`-system.*`,
 * `-heartbeat`). Patterns are ORed (any of them selects an event), words are ANDed
 * (every one must appear), exclusions veto.
 */
export interface LogFilter {
  /** Type patterns an event must match one of; empty means every type. */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** Lower-cased words that must all appear in what the row shows (or its data). */
  readonly words: readonly string[];
  readonly excludeWords: readonly string[];
}

export const EMPTY_FILTER: LogFilter = { include: [], exclude: [], words: [], excludeWords: [] };

const NAMESPACE_WILDCARD = /^[a-z][a-z0-9_]*\.\*$/;

/**
 * Whether a token is meant as a type pattern rather than text. Deliberately narrow:
 * `file.ts` or `chat.message` read as text (they match inside type names and summaries
 * anyway), while `*`, `ns.*`, catalogued types and `x.<name>` read as patterns.
 */
export function isTypePattern(token: string): boolean {
  if (token === '*' || NAMESPACE_WILDCARD.test(token)) return true;
  if (isCataloguedType(token)) return true;
  return token.startsWith(`${CUSTOM_NAMESPACE}.`) && EVENT_TYPE_PATTERN.test(token);
}

/** Splits on whitespace and commas, keeping "quoted phrases" together. */
function tokens(input: string): string[] {
  const out: string[] = [];
  const re = /(-?)"([^"]*)"?|[^\s,]+/g;
  for (const match of input.matchAll(re)) {
    if (match[2] !== undefined) {
      const phrase = match[2].trim();
      if (phrase !== '') out.push(`${match[1]}"${phrase}`);
    } else {
      out.push(match[0]);
    }
  }
  return out;
}

export function parseFilter(input: string): LogFilter {
  const include: string[] = [];
  const exclude: string[] = [];
  const words: string[] = [];
  const excludeWords: string[] = [];
  for (const raw of tokens(input)) {
    const negated = raw.length > 1 && raw.startsWith('-');
    const token = negated ? raw.slice(1) : raw;
    if (token.startsWith('"')) {
      (negated ? excludeWords : words).push(token.slice(1).toLowerCase());
    } else if (isTypePattern(token)) {
      (negated ? exclude : include).push(token);
    } else {
      (negated ? excludeWords : words).push(token.toLowerCase());
    }
  }
  return {
    include: [...new Set(include)],
    exclude: [...new Set(exclude)],
    words: [...new Set(words)],
    excludeWords: [...new Set(excludeWords)],
  };
}

export function isEmptyFilter(filter: LogFilter): boolean {
  return (
    filter.include.length === 0 &&
    filter.exclude.length === 0 &&
    filter.words.length === 0 &&
    filter.excludeWords.length === 0
  );
}

/** What a filter is matched against; `text()` and `data()` are only called when words are given. */
export interface Filterable {
  readonly type: string;
  /** What the row shows: type, source and summary, lower-cased. */
  text(): string;
  /** The event's data as JSON, lower-cased: words may name fields the summary leaves out. */
  data(): string;
}

function contains(row: Filterable, word: string): boolean {
  return row.text().includes(word) || row.data().includes(word);
}

export function matchesFilter(row: Filterable, filter: LogFilter): boolean {
  if (filter.include.length > 0 && !matchesAny(row.type, filter.include)) return false;
  if (filter.exclude.length > 0 && matchesAny(row.type, filter.exclude)) return false;
  for (const word of filter.words) if (!contains(row, word)) return false;
  for (const word of filter.excludeWords) if (contains(row, word)) return false;
  return true;
}

/** A short human description of a filter, for the log's status line. */
export function describeFilter(filter: LogFilter): string {
  const parts: string[] = [];
  if (filter.include.length > 0) parts.push(`types ${filter.include.join(', ')}`);
  if (filter.exclude.length > 0) parts.push(`not ${filter.exclude.join(', ')}`);
  if (filter.words.length > 0) parts.push(`text ${filter.words.map((w) => `“${w}”`).join(' and ')}`);
  if (filter.excludeWords.length > 0) parts.push(`without ${filter.excludeWords.map((w) => `“${w}”`).join(', ')}`);
  return parts.join(' · ');
}

/**
 * Highlights for text the server sent without highlight offsets (a citation's passage
 * shown next to the words that found it): `[start, end)` ranges of the query's words,
 * sorted and merged, ready for `snippetParts` (src-shared/knowledge.ts), which turns ranges
 * into text runs the page renders as text nodes and `<mark>`s, never as HTML.
 */

/** Words FTS5 reads as operators, not as something to find. */
const OPERATORS = new Set(['and', 'or', 'not', 'near']);

/** The query's words, lower-cased, operators and syntax left out. */
export function queryTerms(query: string): string[] {
  return [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].filter((t) => !OPERATORS.has(t));
}

/** Sorted ranges with overlapping or touching ones merged. */
export function mergeRanges(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = ranges.filter(([s, e]) => e > s).toSorted((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = merged.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

/** Where the query's words start a word in `text` (case-insensitive, word prefixes: "retry" marks "retrying"). */
export function termRanges(text: string, query: string): [number, number][] {
  const lower = text.toLowerCase();
  // Lower-casing can change a string's length (İ → i̇); offsets are then unreliable: mark nothing.
  if (lower.length !== text.length) return [];
  const ranges: [number, number][] = [];
  for (const term of queryTerms(query)) {
    for (let i = lower.indexOf(term); i !== -1; i = lower.indexOf(term, i + term.length)) {
      if (i === 0 || !/[\p{L}\p{N}]/u.test(lower[i - 1]!)) ranges.push([i, i + term.length]);
    }
  }
  return mergeRanges(ranges);
}

/**
 * Search snippets split into plain and highlighted runs, so the page renders each run as
 * a text node (a `<mark>` for hits) and never parses server text as HTML. Pure and tested.
 */

export interface Segment {
  text: string;
  hit: boolean;
}

/**
 * Runs of `text` with `[start, end)` ranges (UTF-16 offsets) highlighted. Ranges are
 * clamped to the text, sorted, and merged where they overlap or touch; empty or inverted
 * ones are dropped, so bad offsets can never repeat or lose a character.
 */
export function splitByRanges(text: string, ranges: readonly (readonly [number, number])[]): Segment[] {
  const clean = ranges
    .map(([s, e]) => [
      Math.max(0, Math.min(text.length, Math.trunc(s))),
      Math.max(0, Math.min(text.length, Math.trunc(e))),
    ])
    .filter(([s, e]) => Number.isFinite(s) && Number.isFinite(e) && e! > s!)
    .sort((a, b) => a[0]! - b[0]!) as [number, number][];
  const merged: [number, number][] = [];
  for (const [s, e] of clean) {
    const last = merged.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const segments: Segment[] = [];
  let at = 0;
  for (const [s, e] of merged) {
    if (s > at) segments.push({ text: text.slice(at, s), hit: false });
    segments.push({ text: text.slice(s, e), hit: true });
    at = e;
  }
  if (at < text.length || segments.length === 0) segments.push({ text: text.slice(at), hit: false });
  return segments;
}

/**
 * Runs of a snippet whose hits are wrapped in marker strings (FTS5's `snippet()` with
 * chosen open/close markers). An unmatched open marker highlights to the end; a stray close
 * marker is dropped; the markers themselves never show.
 */
export function splitByMarkers(snippet: string, open: string, close: string): Segment[] {
  const segments: Segment[] = [];
  const push = (text: string, hit: boolean) => {
    if (text === '') return;
    const last = segments.at(-1);
    if (last && last.hit === hit) last.text += text;
    else segments.push({ text, hit });
  };
  let at = 0;
  let inHit = false;
  while (at < snippet.length) {
    const marker = inHit ? close : open;
    const next = snippet.indexOf(marker, at);
    const stray = inHit ? -1 : snippet.indexOf(close, at);
    if (stray !== -1 && (next === -1 || stray < next)) {
      push(snippet.slice(at, stray), false);
      at = stray + close.length;
      continue;
    }
    if (next === -1) {
      push(snippet.slice(at), inHit);
      break;
    }
    push(snippet.slice(at, next), inHit);
    at = next + marker.length;
    inHit = !inHit;
  }
  return segments.length === 0 ? [{ text: '', hit: false }] : segments;
}

/**
 * Runs of `text` where any of the query's words occurs (case-insensitive, whole-word
 * prefixes): for text the server sent without highlight information, like a citation's
 * passage shown next to the question that found it.
 */
export function splitByTerms(text: string, query: string): Segment[] {
  const terms = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].filter(
    (t) => !['and', 'or', 'not', 'near'].includes(t),
  );
  if (terms.length === 0) return [{ text, hit: false }];
  const lower = text.toLowerCase();
  const ranges: [number, number][] = [];
  for (const term of terms) {
    for (let i = lower.indexOf(term); i !== -1; i = lower.indexOf(term, i + term.length)) {
      const before = i === 0 ? '' : lower[i - 1]!;
      if (before === '' || !/[\p{L}\p{N}]/u.test(before)) ranges.push([i, i + term.length]);
    }
  }
  return splitByRanges(text, ranges);
}

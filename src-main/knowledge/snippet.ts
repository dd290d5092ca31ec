import { tokenize } from './lexemes.ts';
import { MARK_CLOSE, MARK_OPEN } from './query.ts';

/**
 * A snippet of a chunk's text for the PostgreSQL index, made the way FTS5's snippet() makes
 * one for SQLite: the window of `size` words holding the most distinct matched words (then
 * the most matches; the earliest on a tie), moved so its matches sit in the middle, `…`
 * where text was cut, each match between MARK_OPEN and MARK_CLOSE (parseSnippet turns them
 * into plain text and offsets). The text is the chunk's own, character for character:
 * nothing is dropped or escaped, so markup in a document stays visible text.
 */
export function markedSnippet(body: string, matches: (lexeme: string) => boolean, size: number): string {
  const tokens = tokenize(body);
  const hit = tokens.map((token) => matches(token.lexeme));
  const n = tokens.length;
  let start = 0;
  if (n > size) {
    let best = { score: -1, start: 0 };
    for (let s = 0; s + size <= n; s++) {
      const distinct = new Set<string>();
      let hits = 0;
      for (let i = s; i < s + size; i++)
        if (hit[i]) {
          distinct.add(tokens[i]!.lexeme);
          hits++;
        }
      const score = distinct.size * 1000 + hits;
      if (score > best.score) best = { score, start: s };
    }
    start = best.start;
    const inWindow = hit.slice(start, start + size);
    const first = inWindow.indexOf(true);
    if (first >= 0) {
      const last = inWindow.lastIndexOf(true);
      // Center the matches: as many words of context before the first as after the last.
      const shift = Math.floor((first + (size - 1 - last)) / 2) - first;
      start = Math.max(0, Math.min(n - size, start - shift));
    }
  }
  const end = Math.min(n, start + size);
  if (n === 0) return body;
  let out = start > 0 ? '…' : '';
  let at = start > 0 ? tokens[start]!.start : 0;
  for (let i = start; i < end; i++) {
    const token = tokens[i]!;
    out += body.slice(at, token.start);
    const word = body.slice(token.start, token.end);
    out += hit[i] ? `${MARK_OPEN}${word}${MARK_CLOSE}` : word;
    at = token.end;
  }
  return end < n ? `${out}…` : out + body.slice(at);
}

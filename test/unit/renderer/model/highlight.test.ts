import { describe, expect, it } from 'vitest';
import { snippetParts } from '../../../../src-shared/knowledge.ts';
import { mergeRanges, queryTerms, termRanges } from '../../../../src-renderer/model/highlight.ts';

const render = (text: string, ranges: [number, number][]) =>
  snippetParts(text, ranges)
    .map((p) => (p.highlighted ? `[${p.text}]` : p.text))
    .join('');

describe('highlights for text without offsets', () => {
  it("marks the query's words where they start a word, case-insensitively, operators ignored", () => {
    const text = 'Retry with Back-off; retrying backs off. preretry';
    expect(render(text, termRanges(text, 'retry AND "back"'))).toBe(
      '[Retry] with [Back]-off; [retry]ing [back]s off. preretry',
    );
    expect(queryTerms('a NEAR(b c) OR title:d*')).toEqual(['a', 'b', 'c', 'title', 'd']);
    expect(termRanges('nothing here', 'NEAR(')).toEqual([]);
    expect(termRanges('İstanbul', 'istanbul')).toEqual([]); // lower-casing changed the length
  });

  it('merges overlapping and touching ranges, so no character is marked twice', () => {
    expect(
      mergeRanges([
        [5, 9],
        [0, 2],
        [1, 3],
        [3, 4],
        [7, 7],
      ]),
    ).toEqual([
      [0, 4],
      [5, 9],
    ]);
    const text = 'backoff back';
    expect(render(text, termRanges(text, 'back backoff'))).toBe('[backoff] [back]');
  });

  it('markup in server text stays text: the runs are strings, never HTML', () => {
    const text = '<img src=x onerror=alert(1)> script';
    expect(snippetParts(text, termRanges(text, 'img'))).toEqual([
      { text: '<', highlighted: false },
      { text: 'img', highlighted: true },
      { text: ' src=x onerror=alert(1)> script', highlighted: false },
    ]);
  });
});

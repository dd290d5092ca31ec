import { describe, expect, it } from 'vitest';
import { splitByMarkers, splitByRanges, splitByTerms } from '../../../../src-renderer/model/highlight.ts';

const render = (segments: { text: string; hit: boolean }[]) =>
  segments.map((s) => (s.hit ? `[${s.text}]` : s.text)).join('');

describe('snippet highlights', () => {
  it('splits by ranges: sorted, merged where they overlap or touch, clamped, never losing a character', () => {
    const text = 'the quick brown fox';
    expect(render(splitByRanges(text, [[4, 9]]))).toBe('the [quick] brown fox');
    expect(
      render(
        splitByRanges(text, [
          [10, 15],
          [4, 9],
        ]),
      ),
    ).toBe('the [quick] [brown] fox');
    expect(
      render(
        splitByRanges(text, [
          [4, 12],
          [10, 15],
          [15, 16],
        ]),
      ),
    ).toBe('the [quick brown ]fox');
    expect(
      render(
        splitByRanges(text, [
          [-5, 3],
          [16, 99],
        ]),
      ),
    ).toBe('[the] quick brown [fox]');
    // Empty, inverted and non-finite ranges are dropped.
    expect(
      render(
        splitByRanges(text, [
          [5, 5],
          [9, 4],
          [Number.NaN, 3],
        ]),
      ),
    ).toBe(text);
    for (const ranges of [
      [],
      [[0, 19]],
      [
        [3, 7],
        [1, 2],
        [6, 18],
      ],
    ] as [number, number][][])
      expect(
        splitByRanges(text, ranges)
          .map((s) => s.text)
          .join(''),
      ).toBe(text);
    expect(splitByRanges('', [[0, 3]])).toEqual([{ text: '', hit: false }]);
  });

  it('splits by markers, hiding them; a stray close is dropped, an unclosed open runs to the end', () => {
    expect(render(splitByMarkers('a \u0002hit\u0003 b \u0002two\u0003', '\u0002', '\u0003'))).toBe('a [hit] b [two]');
    expect(render(splitByMarkers('x</b> y <b>z', '<b>', '</b>'))).toBe('x y [z]');
    expect(render(splitByMarkers('plain', '<b>', '</b>'))).toBe('plain');
    expect(splitByMarkers('', '<b>', '</b>')).toEqual([{ text: '', hit: false }]);
  });

  it('markup in server text stays text: segments carry strings, never HTML', () => {
    const segments = splitByMarkers('<img src=x onerror=alert(1)> \u0002<script>\u0003', '\u0002', '\u0003');
    expect(segments).toEqual([
      { text: '<img src=x onerror=alert(1)> ', hit: false },
      { text: '<script>', hit: true },
    ]);
  });

  it('splits by query words: case-insensitive word prefixes, operators ignored', () => {
    expect(render(splitByTerms('Retry with Back-off; retrying backs off.', 'retry AND "back"'))).toBe(
      '[Retry] with [Back]-off; [retry]ing [back]s off.',
    );
    expect(render(splitByTerms('nothing here', 'NEAR(')).toString()).toBe('nothing here');
    expect(render(splitByTerms('preretry', 'retry'))).toBe('preretry');
  });
});

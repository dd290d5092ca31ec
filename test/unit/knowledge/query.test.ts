import { describe, expect, it } from 'vitest';
import {
  asWritten,
  cleanQuery,
  isPlainWords,
  isQuerySyntaxError,
  literalWords,
  MAX_TERMS,
  parseSnippet,
  withoutMarkers,
} from '../../../src-main/knowledge/query.ts';
import { snippetParts } from '../../../src-shared/knowledge.ts';
import { DatabaseSync } from 'node:sqlite';

describe('query translation', () => {
  it('turns NUL and other control characters into spaces', () => {
    expect(cleanQuery('\u0000install\u0007 linux\n')).toBe('install  linux');
    expect(cleanQuery('\u0000\u0001')).toBe('');
  });

  it('tries the text as written unless it is empty, longer than MAX_TERMS words or full of prefixes', () => {
    expect(asWritten('NEAR(a b, 2)')).toBe('NEAR(a b, 2)');
    expect(asWritten('')).toBeUndefined();
    expect(asWritten(Array.from({ length: MAX_TERMS + 1 }, (_, i) => `w${i}`).join(' '))).toBeUndefined();
    expect(asWritten('a* b* c* d*')).toBe('a* b* c* d*');
    expect(asWritten('a* b* c* d* e*')).toBeUndefined();
  });

  it('falls back to any word only for a plain list of words', () => {
    expect(isPlainWords('how do I install')).toBe(true);
    expect(isPlainWords('über straße 42')).toBe(true);
    expect(isPlainWords('"exact phrase"')).toBe(false);
    expect(isPlainWords('linux NOT windows')).toBe(false);
    expect(isPlainWords('title:install')).toBe(false);
    expect(isPlainWords('inst*')).toBe(false);
  });

  it('quotes every word as a literal, OR-joined, dropping quotes, operators and punctuation-only words', () => {
    expect(literalWords('node.js  "install" -- +')).toBe('"node.js" OR "install"');
    expect(literalWords('x"y')).toBe('"x" OR "y"');
    expect(literalWords('linux AND NOT apt')).toBe('"linux" OR "apt"');
    expect(literalWords('Install install INSTALL')).toBe('"install"');
    // Stop words are left out of the any-word query, unless they are all there is.
    expect(literalWords('how do I restore the backup')).toBe('"restore" OR "backup"');
    expect(literalWords('to be or not to be')).toBe('"to" OR "be" OR "or" OR "not"');
    expect(literalWords('( ) * ^ -')).toBeUndefined();
    const many = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    expect(literalWords(many)!.split(' OR ')).toHaveLength(MAX_TERMS);
  });

  it('makes a literal query that FTS5 always accepts', () => {
    const db = new DatabaseSync(':memory:');
    db.exec("CREATE VIRTUAL TABLE f USING fts5(body, tokenize = 'porter unicode61')");
    db.exec("INSERT INTO f VALUES ('node.js is installed on linux')");
    const search = db.prepare('SELECT rowid FROM f WHERE f MATCH ?');
    for (const text of [
      'node.js',
      '(unbalanced',
      'say "hi',
      'col:x',
      'NEAR(',
      '^x -y +z',
      'a*b*',
      '{x y}:',
      '💥 ∑ émigré',
    ]) {
      const literal = literalWords(cleanQuery(text));
      if (literal !== undefined) expect(() => search.all(literal)).not.toThrow();
    }
    expect(search.all(literalWords('NODE.JS')!)).toHaveLength(1);
    expect(search.all(literalWords('installing')!)).toHaveLength(1); // porter stems the literal too
  });

  it('tells a query SQLite cannot read from a broken store', () => {
    const db = new DatabaseSync(':memory:');
    db.exec('CREATE VIRTUAL TABLE f USING fts5(body)');
    const search = db.prepare('SELECT rowid FROM f WHERE f MATCH ?');
    for (const bad of ['(', '"', 'nocol:x', 'a AND', 'NEAR(a b, x)', '*', '('.repeat(2000) + 'a']) {
      let caught: unknown;
      try {
        search.all(bad);
      } catch (error) {
        caught = error;
      }
      expect(isQuerySyntaxError(caught), bad.slice(0, 20)).toBe(true);
    }
    expect(isQuerySyntaxError(Object.assign(new Error('disk I/O error'), { errcode: 10 }))).toBe(false);
    expect(isQuerySyntaxError(Object.assign(new Error('database or disk is full'), { errcode: 13 }))).toBe(false);
    expect(isQuerySyntaxError(new TypeError('x'))).toBe(false);
  });
});

describe('snippets', () => {
  it('turns markers into plain text and offsets, merging touching marks', () => {
    expect(parseSnippet('…run \uE000npm\uE001 \uE000install\uE001 now')).toEqual({
      snippet: '…run npm install now',
      highlights: [
        [5, 8],
        [9, 16],
      ],
    });
    expect(parseSnippet('\uE000open\uE001\uE000source\uE001')).toEqual({
      snippet: 'opensource',
      highlights: [[0, 10]],
    });
    expect(parseSnippet('<b>not html</b>')).toEqual({ snippet: '<b>not html</b>', highlights: [] });
  });

  it('keeps indexed text free of the markers', () => {
    expect(withoutMarkers('a\uE000b\uE001c')).toBe('a\uFFFDb\uFFFDc');
  });

  it('splits a snippet into parts for renderers, ignoring ranges that do not fit', () => {
    expect(
      snippetParts('run <script> now', [
        [4, 12],
        [2, 3],
        [20, 30],
      ]),
    ).toEqual([
      { text: 'run ', highlighted: false },
      { text: '<script>', highlighted: true },
      { text: ' now', highlighted: false },
    ]);
  });
});

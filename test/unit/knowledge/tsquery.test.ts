import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { chunkVector, lexeme, tokenize } from '../../../src-main/knowledge/lexemes.ts';
import { cleanQuery, literalWords, parseSnippet } from '../../../src-main/knowledge/query.ts';
import { markedSnippet } from '../../../src-main/knowledge/snippet.ts';
import { compileQuery, QuerySyntaxError } from '../../../src-main/knowledge/tsquery.ts';
import { createTestDatabase, describePostgres } from '../../helpers/postgres.ts';

/** Queries of every shape FTS5 documents, and the broken ones it refuses. */
const QUERIES = [
  'sqlite backup',
  '"sqlite backup"',
  '"unbalanced quote',
  'a"b"c',
  '"say ""hi"""',
  'NEAR(sqlite backup, 3)',
  'NEAR(sqlite backup)',
  'NEAR(sqlite backup, x)',
  'NEAR(',
  'NEAR()',
  'NEAR sqlite',
  'near(a b)',
  'Near(a b)',
  'NEAR (a b)',
  'foo(a b)',
  'a (b)',
  '(a) b',
  'x AND (b)',
  'NEAR(a b, 1,)',
  'NEAR(a, 2)',
  'NEAR(a b c d, 0)',
  'a*b',
  'a:b',
  '"..."',
  'a AND "..."',
  'title:(body:b)',
  'title:sqlite',
  'TITLE:sqlite',
  'nosuchcolumn:sqlite',
  '{title heading}: backup',
  '{title nosuch}: backup',
  '{}: backup',
  '- title : backup',
  '-{title body}: backup',
  'title:(a OR b) c',
  'back*',
  '"back up"*',
  '*backup',
  'a + b',
  'a +',
  'sqlite AND backup',
  'sqlite OR cooking',
  'backup NOT sqlite',
  'AND',
  'a AND',
  'OR OR OR backup',
  'sqlite AND NOT backup',
  '(sqlite OR backup',
  'sqlite OR backup)',
  ')(',
  '()',
  '(a) (b)',
  `${'('.repeat(30)}backup${')'.repeat(30)}`,
  `${'('.repeat(4000)}backup`,
  '^copy',
  '^',
  'backup ^',
  '- backup',
  '+ backup',
  'sqlite -backup',
  'node.js',
  'C++ & <script>',
  "'; DROP TABLE x; --",
  'ﬁle émigré 😀 backup',
  'über straße',
  'a,b',
  'a:b:c',
  'title:',
];

/** Pieces of query text: words, FTS5's syntax, tsquery's, and what neither has. */
const PIECE = fc.constantFrom(
  ...['a', 'Ünï', '"', "'", '\\', '(', ')', '{', '}', ':', '*', '^', '+', ',', '-', ' ', 'AND', 'OR', 'NOT'],
  ...['NEAR', 'title', 'body', '<->', '!', '&', '|', '😀', '1', '.', ' '],
);

function fts5Accepts(db: DatabaseSync, query: string): boolean {
  try {
    db.prepare('SELECT rowid FROM f WHERE f MATCH ?').all(query);
    return true;
  } catch {
    return false;
  }
}

const accepts = (query: string): boolean => {
  try {
    compileQuery(query);
    return true;
  } catch (error) {
    if (!(error instanceof QuerySyntaxError)) throw error;
    return false;
  }
};

describe('FTS5 syntax read for PostgreSQL', () => {
  it('refuses exactly the queries FTS5 refuses, so the literal-words fallback applies alike', () => {
    const db = new DatabaseSync(':memory:');
    db.exec(
      "CREATE VIRTUAL TABLE f USING fts5(title, heading, body, tokenize = 'porter unicode61 remove_diacritics 2')",
    );
    db.exec("INSERT INTO f VALUES ('SQLite backup', 'Ops', 'copy the file')");
    for (const query of QUERIES) expect(accepts(cleanQuery(query)), query.slice(0, 40)).toBe(fts5Accepts(db, query));
    // And on text made of syntax at random.
    fc.assert(
      fc.property(fc.array(PIECE, { maxLength: 16 }), (parts) => {
        const query = parts.join('');
        expect(accepts(query), query).toBe(fts5Accepts(db, query));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes each construct as tsquery, every lexeme quoted', () => {
    const tsq = (q: string) => compileQuery(q).tsquery;
    expect(tsq('installs Linux')).toBe("('instal' & 'linux')");
    expect(tsq('a OR b NOT c')).toBe("('a' | ('b' & !'c'))");
    expect(tsq('"sqlite backups"')).toBe("('sqlite' <-> 'backup')");
    expect(tsq('inst*')).toBe("'inst':*");
    expect(tsq('title:backup')).toBe("'backup':A");
    expect(tsq('{title heading}: x*')).toBe("'x':*AB");
    expect(tsq('- body: x')).toBe("'x':AB");
    // A phrase kept to no column, or with no word, matches nothing, as in FTS5.
    expect(tsq('title:(a OR body:b)')).toBe("'a':A");
    expect(tsq('a AND title:(body:b)')).toBeUndefined();
    expect(tsq('NEAR(a b, 1)')).toBe("('a' <1> 'b' | 'b' <1> 'a' | 'a' <2> 'b' | 'b' <2> 'a')");
    expect(tsq('NEAR(a b, 99)')).toBe("('a' & 'b')");
    expect(tsq('^copy')).toBe("'copi'");
    expect(tsq('"node.js"')).toBe("('node' <-> 'js')");
    expect(tsq('"it\'s"')).toBe("('it' <-> 's')");
    expect(tsq('"..."')).toBeUndefined();
    expect(tsq('a NOT "..."')).toBe("'a'");
    expect(tsq('a AND "..."')).toBeUndefined();
    expect(tsq('a OR "..."')).toBe("'a'");
  });

  it('highlights the words a query looks for in the text, not those it excludes or keeps to other columns', () => {
    const { highlights } = compileQuery('install* linux NOT windows title:guide');
    expect(['installing', 'linux', 'install'].map(lexeme).every(highlights)).toBe(true);
    expect(highlights(lexeme('windows'))).toBe(false);
    expect(highlights(lexeme('guide'))).toBe(false);
  });
});

describe('lexemes', () => {
  it('folds case and accents, splits at punctuation, stems English, and keeps offsets', () => {
    const text = 'Émigré ﬁles: node.js installing';
    expect(tokenize(text).map((t) => [t.lexeme, text.slice(t.start, t.end)])).toEqual([
      ['emigr', 'Émigré'],
      ['file', 'ﬁles'],
      ['node', 'node'],
      ['js', 'js'],
      ['instal', 'installing'],
    ]);
    expect(tokenize(`${'x'.repeat(3000)} ok`).map((t) => t.lexeme)).toEqual(['ok']);
  });

  it('weights title A, heading B, text C, with positions that never join two columns into a phrase', () => {
    expect(chunkVector({ title: 'Backup', heading: 'Ops', body: 'backup now' })).toBe(
      "'backup':1A,19C 'op':10B 'now':20C",
    );
  });
});

describe('snippets cut in JavaScript', () => {
  const snippet = (body: string, q: string, size = 5) =>
    parseSnippet(markedSnippet(body, compileQuery(q).highlights, size));

  it('keeps the text as it is, markup included, with the matches as offsets', () => {
    expect(snippet('a <script>alert(1)</script> tag', 'script', 10)).toEqual({
      snippet: 'a <script>alert(1)</script> tag',
      highlights: [
        [3, 9],
        [20, 26],
      ],
    });
  });

  it('picks the window with the most distinct matches, centred, with … where it cut', () => {
    const body = 'one two three four five six seven alpha eight beta nine ten eleven twelve';
    const { snippet: text, highlights } = snippet(body, 'alpha beta');
    expect(text).toBe('…seven alpha eight beta nine…');
    expect(highlights.map(([s, e]) => text.slice(s, e))).toEqual(['alpha', 'beta']);
  });

  it('never mistakes a marker character in a document for a match (they are replaced before indexing)', () => {
    // withoutMarkers ran on the stored text, so only U+FFFD can be there.
    const { snippet: text, highlights } = snippet('a \uFFFDb\uFFFD c', 'c', 10);
    expect(text).toBe('a \uFFFDb\uFFFD c');
    expect(highlights).toEqual([[6, 7]]);
  });
});

describePostgres('tsquery text as PostgreSQL reads it', () => {
  it('is accepted by PostgreSQL for any query text that parses, and any literal-words fallback', async () => {
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const check = async (text: string) => {
        let tsquery: string | undefined;
        try {
          tsquery = compileQuery(text).tsquery;
        } catch (error) {
          if (!(error instanceof QuerySyntaxError)) throw error;
          const literal = literalWords(text);
          if (literal !== undefined) tsquery = compileQuery(literal).tsquery;
        }
        if (tsquery !== undefined) await client.query('SELECT CAST($1 AS tsquery)', [tsquery]);
      };
      for (const query of QUERIES) await check(cleanQuery(query));
      await fc.assert(
        fc.asyncProperty(fc.array(PIECE, { maxLength: 24 }), async (parts) => {
          await check(cleanQuery(parts.join('')));
        }),
        { numRuns: 300 },
      );
    } finally {
      await client.end();
    }
  });
});

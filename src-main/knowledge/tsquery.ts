import { quoteLexeme, tokenize } from './lexemes.ts';

/**
 * FTS5 query syntax read in JavaScript and written as a PostgreSQL `tsquery`, so team mode
 * takes the same queries as a single user's SQLite index (docs/knowledge.md, "Query
 * syntax"). The grammar is SQLite's (https://sqlite.org/fts5.html#full_text_query_syntax):
 *
 *   query   := or
 *   or      := and ("OR" and)*
 *   and     := not ("AND" not)*
 *   not     := seq ("NOT" seq)*
 *   seq     := primary primary*                (implicit AND, binds tightest)
 *   primary := [["-"] colspec ":"] ( "(" query ")" | NEAR "(" phrase+ ["," N] ")" | ["^"] phrase )
 *   colspec := column | "{" column+ "}"
 *   phrase  := string ["*"] ("+" string ["*"])*
 *   string  := "quoted ""with"" doubled quotes" | bareword (letters, digits, _, non-ASCII)
 *
 * Text outside this grammar — an unbalanced quote or parenthesis, an unknown column, a
 * lone `-`, `node.js` — is a QuerySyntaxError, exactly where FTS5 raises its own; the
 * service then falls back to literal words (query.ts). How each construct maps:
 *
 * | FTS5                     | tsquery                                                           |
 * | ------------------------ | ----------------------------------------------------------------- |
 * | `a b`, `a AND b`         | `'a' & 'b'`                                                       |
 * | `a OR b`, `a NOT b`      | `'a' \| 'b'`, `'a' & !'b'`                                        |
 * | `"a b"`, `a + b`         | `'a' <-> 'b'`                                                     |
 * | `ab*`                    | `'ab':*`                                                          |
 * | `title:a`, `{title heading}: a`, `- body: a` | weights: title A, heading B, body C: `'a':A`, `'a':AB` |
 * | `NEAR(a b, N)`           | `a` then `b`, or `b` then `a`, 1 to N + 1 positions apart (N ≤ 20; larger N, or more than three phrases: all of them anywhere) |
 * | `^a`                     | `'a'` (tsquery cannot anchor to a column's first word)            |
 *
 * Words are made lexemes by the same tokenizer as the index (lexemes.ts), and every lexeme
 * is quoted, so nothing a person types is ever read as tsquery syntax by PostgreSQL.
 */

export class QuerySyntaxError extends Error {}

const COLUMNS = { title: 'A', heading: 'B', body: 'C' } as const;
type Weight = (typeof COLUMNS)[keyof typeof COLUMNS];
const ALL_WEIGHTS: readonly Weight[] = ['A', 'B', 'C'];

/** Deeper nesting than this is refused (SQLite's parser overflows on thousands of parentheses). */
const MAX_DEPTH = 64;
/** NEAR distances up to this are written exactly; beyond, the phrases need only all be there. */
const MAX_NEAR_DISTANCE = 20;
const MAX_NEAR_PHRASES = 3;
const DEFAULT_NEAR_DISTANCE = 10;

interface Term {
  lexeme: string;
  prefix: boolean;
}

type Node =
  | { kind: 'phrase'; terms: Term[]; weights: readonly Weight[] }
  | { kind: 'near'; phrases: Term[][]; distance: number; weights: readonly Weight[] }
  | { kind: 'and' | 'or'; children: Node[] }
  | { kind: 'not'; left: Node; right: Node };

type Lexed =
  | { type: 'string'; value: string; quoted: boolean }
  | { type: '(' | ')' | '{' | '}' | ':' | '*' | '^' | '+' | ',' | '-' };

const OPERATORS = new Set(['AND', 'OR', 'NOT']);
const PUNCTUATION = new Set(['(', ')', '{', '}', ':', '*', '^', '+', ',', '-']);
/** FTS5 barewords: ASCII letters, digits and `_`, and anything beyond ASCII (control characters are gone already: cleanQuery). */
const BAREWORD = /^[A-Za-z0-9_\u0080-\u{10ffff}]$/u;

function lex(text: string): Lexed[] {
  const out: Lexed[] = [];
  const chars = [...text];
  for (let i = 0; i < chars.length;) {
    const c = chars[i]!;
    if (/\s/.test(c)) i++;
    else if (PUNCTUATION.has(c)) {
      out.push({ type: c as '(' });
      i++;
    } else if (c === '"') {
      let value = '';
      for (i++; ; i++) {
        if (i >= chars.length) throw new QuerySyntaxError('unterminated string');
        if (chars[i] === '"') {
          if (chars[i + 1] !== '"') break;
          i++;
        }
        value += chars[i];
      }
      i++;
      out.push({ type: 'string', value, quoted: true });
    } else if (BAREWORD.test(c)) {
      let value = '';
      while (i < chars.length && BAREWORD.test(chars[i]!)) value += chars[i++];
      out.push({ type: 'string', value, quoted: false });
    } else throw new QuerySyntaxError(`unexpected ${c}`);
  }
  return out;
}

class Parser {
  #tokens: Lexed[];
  #at = 0;
  #depth = 0;

  constructor(tokens: Lexed[]) {
    this.#tokens = tokens;
  }

  parse(): Node {
    const node = this.#or();
    if (this.#at < this.#tokens.length) throw new QuerySyntaxError('unexpected text after the query');
    return node;
  }

  #peek(offset = 0): Lexed | undefined {
    return this.#tokens[this.#at + offset];
  }

  #isWord(word: string, offset = 0): boolean {
    const token = this.#peek(offset);
    return token?.type === 'string' && !token.quoted && token.value === word;
  }

  #expect(type: Lexed['type']): void {
    if (this.#peek()?.type !== type) throw new QuerySyntaxError(`expected ${type}`);
    this.#at++;
  }

  #or(): Node {
    const children = [this.#and()];
    while (this.#isWord('OR')) {
      this.#at++;
      children.push(this.#and());
    }
    return children.length === 1 ? children[0]! : { kind: 'or', children };
  }

  #and(): Node {
    const children = [this.#not()];
    while (this.#isWord('AND')) {
      this.#at++;
      children.push(this.#not());
    }
    return children.length === 1 ? children[0]! : { kind: 'and', children };
  }

  #not(): Node {
    let node = this.#sequence();
    while (this.#isWord('NOT')) {
      this.#at++;
      node = { kind: 'not', left: node, right: this.#sequence() };
    }
    return node;
  }

  /** Phrases and NEAR groups side by side (FTS5 joins only those implicitly, never a parenthesized group). */
  #sequence(): Node {
    const first = this.#primary(true);
    if (first.group) return first.node;
    const children = [first.node];
    while (this.#startsPrimary()) children.push(this.#primary(false).node);
    return children.length === 1 ? children[0]! : { kind: 'and', children };
  }

  #startsPrimary(): boolean {
    const token = this.#peek();
    if (token === undefined) return false;
    if (token.type === 'string') return token.quoted || !OPERATORS.has(token.value);
    return token.type === '(' || token.type === '{' || token.type === '-' || token.type === '^';
  }

  #primary(groupAllowed: boolean): { node: Node; group: boolean } {
    if (++this.#depth > MAX_DEPTH) throw new QuerySyntaxError('nested too deeply');
    try {
      const weights = this.#columnFilter() ?? ALL_WEIGHTS;
      const token = this.#peek();
      if (token?.type === '(') {
        if (!groupAllowed) throw new QuerySyntaxError('a parenthesized group needs an operator before it');
        this.#at++;
        const node = restrict(this.#or(), weights);
        this.#expect(')');
        return { node, group: true };
      }
      // A word before `(` can only be NEAR (FTS5 refuses `near(…)`, `a (b)`).
      if (token?.type === 'string' && this.#peek(1)?.type === '(') {
        if (!this.#isWord('NEAR')) throw new QuerySyntaxError(`unexpected ( after ${token.value}`);
        return { node: this.#near(weights), group: false };
      }
      if (token?.type === '^') this.#at++; // a column's first word: not expressible, searched anywhere
      return { node: { kind: 'phrase', terms: this.#phrase(), weights }, group: false };
    } finally {
      this.#depth--;
    }
  }

  /** `title:`, `{title heading}:`, `- body:` → the weights they allow; undefined when there is none. */
  #columnFilter(): readonly Weight[] | undefined {
    const negated = this.#peek()?.type === '-';
    const start = this.#at;
    if (negated) this.#at++;
    const names: string[] = [];
    const token = this.#peek();
    if (token?.type === '{') {
      this.#at++;
      for (let next = this.#peek(); next?.type === 'string' && !next.quoted; next = this.#peek()) {
        names.push(next.value);
        this.#at++;
      }
      this.#expect('}');
      if (names.length === 0) throw new QuerySyntaxError('empty column list');
    } else if (token?.type === 'string' && this.#peek(1)?.type === ':') {
      names.push(token.value);
      this.#at++;
    } else if (negated) {
      throw new QuerySyntaxError('a - must be followed by a column filter');
    } else {
      this.#at = start;
      return undefined;
    }
    this.#expect(':');
    const chosen = names.map((name) => {
      const weight = COLUMNS[name.toLowerCase() as keyof typeof COLUMNS] as Weight | undefined;
      if (weight === undefined) throw new QuerySyntaxError(`no such column: ${name}`);
      return weight;
    });
    return negated ? ALL_WEIGHTS.filter((w) => !chosen.includes(w)) : ALL_WEIGHTS.filter((w) => chosen.includes(w));
  }

  #phrase(): Term[] {
    const terms: Term[] = [];
    for (;;) {
      const token = this.#peek();
      if (token?.type !== 'string' || (!token.quoted && OPERATORS.has(token.value)))
        throw new QuerySyntaxError('expected a word or a "phrase"');
      this.#at++;
      const words = tokenize(token.value).map((t) => ({ lexeme: t.lexeme, prefix: false }));
      if (this.#peek()?.type === '*') {
        this.#at++;
        // Stemmed like any word, as FTS5's porter tokenizer does (`installing*` finds `install`).
        const last = words.at(-1);
        if (last) last.prefix = true;
      }
      terms.push(...words);
      if (this.#peek()?.type !== '+') return terms;
      this.#at++;
    }
  }

  #near(weights: readonly Weight[]): Node {
    this.#at += 2; // NEAR (
    const phrases: Term[][] = [];
    while (this.#peek()?.type === 'string') phrases.push(this.#phrase());
    let distance = DEFAULT_NEAR_DISTANCE;
    if (this.#peek()?.type === ',') {
      this.#at++;
      const token = this.#peek();
      if (token?.type !== 'string' || token.quoted || !/^\d+$/.test(token.value))
        throw new QuerySyntaxError('NEAR distance must be a number');
      distance = Number(token.value);
      this.#at++;
    }
    this.#expect(')');
    if (phrases.length === 0) throw new QuerySyntaxError('NEAR needs phrases');
    return { kind: 'near', phrases, distance, weights };
  }
}

/** A column filter on a parenthesized query applies to every phrase inside, within what they allow. */
function restrict(node: Node, weights: readonly Weight[]): Node {
  switch (node.kind) {
    case 'phrase':
    case 'near':
      return { ...node, weights: node.weights.filter((w) => weights.includes(w)) };
    case 'and':
    case 'or':
      return { ...node, children: node.children.map((child) => restrict(child, weights)) };
    case 'not':
      return { ...node, left: restrict(node.left, weights), right: restrict(node.right, weights) };
  }
}

export interface CompiledQuery {
  /** tsquery input text, or undefined when nothing searchable is left (it finds nothing). */
  tsquery: string | undefined;
  /** Does a body word (as a lexeme) match a term the query looks for in the text? For highlights. */
  highlights(lexeme: string): boolean;
}

/** Reads FTS5 syntax; throws QuerySyntaxError where FTS5 would refuse the text. */
export function compileQuery(text: string): CompiledQuery {
  const root = new Parser(lex(text)).parse();
  const exact = new Set<string>();
  const prefixes: string[] = [];
  collectHighlights(root, exact, prefixes);
  return {
    tsquery: write(root),
    highlights: (value) => exact.has(value) || prefixes.some((prefix) => value.startsWith(prefix)),
  };
}

function collectHighlights(node: Node, exact: Set<string>, prefixes: string[]): void {
  switch (node.kind) {
    case 'phrase':
    case 'near':
      if (!node.weights.includes('C')) return;
      for (const term of node.kind === 'phrase' ? node.terms : node.phrases.flat())
        if (term.prefix) prefixes.push(term.lexeme);
        else exact.add(term.lexeme);
      return;
    case 'and':
    case 'or':
      for (const child of node.children) collectHighlights(child, exact, prefixes);
      return;
    case 'not':
      collectHighlights(node.left, exact, prefixes); // what is excluded is never in a result
      return;
  }
}

const term = (t: Term, weights: readonly Weight[]): string => {
  const suffix = `${t.prefix ? '*' : ''}${weights.length === ALL_WEIGHTS.length ? '' : weights.join('')}`;
  return `${quoteLexeme(t.lexeme)}${suffix === '' ? '' : `:${suffix}`}`;
};

/**
 * undefined stands for "matches nothing": a phrase with no word in it (`"..."`), or one kept
 * to no column (`title:(body:x)`), as in FTS5. It is simplified away: nothing AND x is
 * nothing, nothing OR x is x, x NOT nothing is x; a query that is nothing finds nothing.
 */
function phrase(terms: readonly Term[], weights: readonly Weight[]): string | undefined {
  if (terms.length === 0 || weights.length === 0) return undefined;
  const written = terms.map((t) => term(t, weights)).join(' <-> ');
  return terms.length === 1 ? written : `(${written})`;
}

/** The tsquery text of a node; undefined when it matches nothing. */
function write(node: Node): string | undefined {
  switch (node.kind) {
    case 'phrase':
      return phrase(node.terms, node.weights);
    case 'near': {
      const phrases = node.phrases.map((p) => phrase(p, node.weights));
      if (phrases.some((p) => p === undefined)) return undefined;
      const parts = phrases as string[];
      if (parts.length === 1) return parts[0];
      if (parts.length > MAX_NEAR_PHRASES || node.distance > MAX_NEAR_DISTANCE) return `(${parts.join(' & ')})`;
      // Every pair within the distance, in either order: FTS5 counts the words between
      // them (at most N), tsquery the positions from one to the other (exactly k).
      const pairs: string[] = [];
      for (let i = 0; i < parts.length; i++)
        for (let j = i + 1; j < parts.length; j++) {
          const either: string[] = [];
          for (let k = 1; k <= node.distance + 1; k++)
            either.push(`${parts[i]} <${k}> ${parts[j]}`, `${parts[j]} <${k}> ${parts[i]}`);
          pairs.push(`(${either.join(' | ')})`);
        }
      return pairs.length === 1 ? pairs[0] : `(${pairs.join(' & ')})`;
    }
    case 'and':
    case 'or': {
      const written = node.children.map(write);
      if (node.kind === 'and' && written.includes(undefined)) return undefined;
      const parts = written.filter((p): p is string => p !== undefined);
      if (parts.length <= 1) return parts[0];
      return `(${parts.join(node.kind === 'and' ? ' & ' : ' | ')})`;
    }
    case 'not': {
      const left = write(node.left);
      const right = write(node.right);
      return left === undefined || right === undefined ? left : `(${left} & !${right})`;
    }
  }
}

/**
 * bench/knowledge-search: search over 10,000 chunks (issue 14 aims at p50 < 10 ms).
 *
 *   1. indexing: documents added through KnowledgeService (chunker + FTS5 triggers, one
 *      transaction each) — chunks/s and the database size;
 *   2. search in process: KnowledgeService.search (BM25, snippets, highlight offsets) for a
 *      mix of queries (one word, two words, a phrase, a prefix, a question that falls back
 *      to any word), p50/p99, beside the peer measured on the same chunks in the same run:
 *      a naive scan, `body LIKE '%word%'` for every word (what ranking would need: every match);
 *   3. search over HTTP: GET /api/v1/knowledge/search, whole requests, p50/p99.
 *
 *   node bench/knowledge-search.ts [--chunks 10000] [--searches 500]
 *
 * The text is synthetic but shaped like prose: words drawn from a 5,000-word vocabulary with
 * a Zipf distribution (a few very common words, a long tail), from a fixed seed.
 * Prints one JSON object, then a table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRuntime } from '../src-main/runtime.ts';

const { values } = parseArgs({
  options: {
    chunks: { type: 'string', default: '10000' },
    searches: { type: 'string', default: '500' },
  },
});
const count = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench/knowledge-search: --${name} must be a positive integer`);
    process.exit(1);
  }
  return n;
};
const CHUNKS = count('chunks');
const SEARCHES = count('searches');
/** Sections per document: each becomes one chunk (kept under the chunker's target size). */
const SECTIONS = 20;

// A small deterministic PRNG (mulberry32), so every run indexes the same text.
let seed = 20261130;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'no', 'qui', 'dra', 'pe', 'zor', 'an', 'bi', 'ct'];
const VOCABULARY = Array.from({ length: 5000 }, (_, i) => {
  let word = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) word += SYLLABLES[n % SYLLABLES.length];
  return word;
});
// Zipf (s = 1): P(rank k) ∝ 1/k, sampled through the cumulative weights.
const cumulative: number[] = [];
VOCABULARY.reduce((sum, _, k) => (cumulative[k] = sum + 1 / (k + 1)), 0);
const total = cumulative.at(-1)!;
const word = (): string => {
  const target = random() * total;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo]!;
};
const sentence = () => {
  const words = Array.from({ length: 8 + Math.floor(random() * 10) }, word);
  return `${words[0]![0]!.toUpperCase()}${words.join(' ').slice(1)}.`;
};
const section = (i: number) =>
  `## Section ${i} ${word()}\n\n${Array.from({ length: 6 }, sentence).join(' ')}\n\n${Array.from({ length: 5 }, sentence).join(' ')}`;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 0.5), 3), p99: round(percentile(sorted, 0.99), 3) };
};
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

// Queries: mid-frequency words (ranks 50–2000), so they match some chunks but not all.
const midWord = () => VOCABULARY[50 + Math.floor(random() * 1950)]!;
const QUERY_KINDS: Record<string, () => string> = {
  one_word: () => midWord(),
  two_words: () => `${midWord()} ${midWord()}`,
  phrase: () => `"${VOCABULARY[Math.floor(random() * 30)]} ${VOCABULARY[Math.floor(random() * 30)]}"`,
  prefix: () => `${midWord().slice(0, 4)}*`,
  question: () => `how does ${midWord()} relate to ${midWord()} and ${midWord()}`,
};
/** The words a LIKE scan looks for: the query's letters-only words. */
const likeWords = (q: string) => q.match(/[a-z]+/g)!.filter((w) => !['how', 'does', 'relate', 'to', 'and'].includes(w));

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-knowledge-'));
const runtime = await createRuntime({
  workspace,
  port: 0,
  logLevel: 'warn',
  apiRateBurst: 1_000_000,
  apiRatePerSecond: 1_000_000,
});
try {
  // 1. indexing
  const documents = Math.ceil(CHUNKS / SECTIONS);
  let indexed = 0;
  const addStarted = performance.now();
  for (let d = 0; d < documents; d++) {
    const sections = Math.min(SECTIONS, CHUNKS - d * SECTIONS);
    const text = Array.from({ length: sections }, (_, i) => section(i)).join('\n\n');
    indexed += runtime.knowledge.add({ title: `Document ${d} ${word()} ${word()}`, text }).document.chunk_count;
  }
  const addMs = performance.now() - addStarted;
  runtime.database.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  const dbBytes = fs.statSync(runtime.database.file).size;

  // 2. in process, FTS5 vs a LIKE scan over the same chunks
  const queries = Array.from({ length: SEARCHES }, (_, i) => {
    const kinds = Object.keys(QUERY_KINDS);
    const kind = kinds[i % kinds.length]!;
    return { kind, q: QUERY_KINDS[kind]!() };
  });
  for (const { q } of queries.slice(0, 50)) runtime.knowledge.search(q, { limit: 10 }); // warm up
  const byKind: Record<string, number[]> = {};
  const all: number[] = [];
  let hits = 0;
  for (const { kind, q } of queries) {
    const t = performance.now();
    hits += runtime.knowledge.search(q, { limit: 10 }).results.length;
    const ms = performance.now() - t;
    all.push(ms);
    (byKind[kind] ??= []).push(ms);
  }
  const likeStatements = new Map<number, ReturnType<typeof runtime.database.db.prepare>>();
  const like = (words: string[]) => {
    let statement = likeStatements.get(words.length);
    if (!statement) {
      statement = runtime.database.db.prepare(
        `SELECT id, document_id FROM knowledge_chunks WHERE ${words.map(() => 'body LIKE ?').join(' OR ')}`,
      );
      likeStatements.set(words.length, statement);
    }
    return statement.all(...words.map((w) => `%${w}%`));
  };
  const likeSamples: number[] = [];
  for (const { q } of queries.slice(0, Math.min(SEARCHES, 200))) {
    const t = performance.now();
    like(likeWords(q));
    likeSamples.push(performance.now() - t);
  }

  // 3. over HTTP
  const httpSamples: number[] = [];
  for (const { q } of queries.slice(0, Math.min(SEARCHES, 300))) {
    const t = performance.now();
    const response = await fetch(`${runtime.url}/api/v1/knowledge/search?${new URLSearchParams({ q })}`, {
      headers: { 'x-session-token': runtime.token },
    });
    if (response.status !== 200) throw new Error(`search answered ${response.status}`);
    await response.arrayBuffer();
    httpSamples.push(performance.now() - t);
  }

  const fts = stats(all);
  const likeStats = stats(likeSamples);
  const result = {
    chunks: indexed,
    documents,
    index: { chunks_per_s: Math.round(indexed / (addMs / 1000)), database_mib: round(dbBytes / 1024 / 1024, 1) },
    search_ms: { ...fts, samples: all.length, mean_results: round(hits / all.length, 1) },
    search_ms_by_kind: Object.fromEntries(Object.entries(byKind).map(([kind, samples]) => [kind, stats(samples)])),
    peer_like_scan_ms: { ...likeStats, samples: likeSamples.length },
    ratio_p50: round(likeStats.p50 / fts.p50, 1),
    http_search_ms: { ...stats(httpSamples), samples: httpSamples.length },
    node: process.version,
    cpus: os.cpus().length,
  };
  console.log(JSON.stringify(result));
  console.log('');
  console.log(`| measure (${indexed} chunks in ${documents} documents) | p50 | p99 |`);
  console.log('|---|---|---|');
  console.log(`| search, in process (BM25 + snippet), all kinds | ${fts.p50} ms | ${fts.p99} ms |`);
  for (const [kind, s] of Object.entries(result.search_ms_by_kind))
    console.log(`| … ${kind.replace('_', ' ')} | ${s.p50} ms | ${s.p99} ms |`);
  console.log(`| peer: LIKE '%word%' scan of the same chunks | ${likeStats.p50} ms | ${likeStats.p99} ms |`);
  console.log(`| FTS5 faster than the scan (p50) | ×${result.ratio_p50} | |`);
  console.log(
    `| GET /api/v1/knowledge/search (whole request) | ${result.http_search_ms.p50} ms | ${result.http_search_ms.p99} ms |`,
  );
  console.log(`| indexing | ${result.index.chunks_per_s} chunks/s | database ${result.index.database_mib} MiB |`);
} finally {
  await runtime.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
}

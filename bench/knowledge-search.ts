/**
 * bench/knowledge-search: search over 10,000 chunks (issue 14 aims at p50 < 10 ms), on
 * SQLite (FTS5, BM25) and on PostgreSQL (team mode: tsvector, GIN, ts_rank_cd) in the same
 * run, with the same text and the same queries:
 *
 *   1. indexing: documents added through KnowledgeService (chunker + index, one
 *      transaction each) — chunks/s and the size on disk;
 *   2. search in process: KnowledgeService.search (ranking, snippets, highlight offsets) for a
 *      mix of queries (one word, two words, a phrase, a prefix, a question that falls back
 *      to any word), p50/p99, beside the peer measured on the same chunks in the same run:
 *      a naive scan, `body LIKE '%word%'` for every word (what ranking would need: every match);
 *   3. search over HTTP: GET /api/v1/knowledge/search, whole requests, p50/p99.
 *
 *   node bench/knowledge-search.ts [--chunks 10000] [--searches 500] [--database-url URL | --no-postgres]
 *
 * Without --database-url (a superuser URL: a database is created on it) a throwaway
 * PostgreSQL is started from the machine's binaries with its default durability, as
 * bench/events-postgres.ts does.
 *
 * The text is synthetic but shaped like prose: words drawn from a 5,000-word vocabulary with
 * a Zipf distribution (a few very common words, a long tail), from a fixed seed.
 * Prints one JSON object, then a table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createRuntime, type Runtime } from '../src-main/runtime.ts';
import { initPostgresServer, removePostgresServer } from '../test/helpers/postgres-server.ts';

const { values } = parseArgs({
  options: {
    chunks: { type: 'string', default: '10000' },
    searches: { type: 'string', default: '500' },
    'database-url': { type: 'string' },
    'no-postgres': { type: 'boolean', default: false },
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

// A small deterministic PRNG (mulberry32), so every run (and both stores) index the same text.
const SEED = 20261130;
let seed = SEED;
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

interface Measured {
  chunks: number;
  documents: number;
  index: { chunks_per_s: number; size_mib: number };
  search_ms: { p50: number; p99: number; samples: number; mean_results: number };
  search_ms_by_kind: Record<string, { p50: number; p99: number }>;
  peer_like_scan_ms: { p50: number; p99: number; samples: number };
  ratio_p50: number;
  http_search_ms: { p50: number; p99: number; samples: number };
}

/** The same queries for both stores, drawn once. */
seed = SEED + 1;
const QUERIES = Array.from({ length: SEARCHES }, (_, i) => {
  const kinds = Object.keys(QUERY_KINDS);
  const kind = kinds[i % kinds.length]!;
  return { kind, q: QUERY_KINDS[kind]!() };
});

async function sizeMib(runtime: Runtime): Promise<number> {
  if (runtime.store.dialect === 'sqlite') {
    runtime.database.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return round(fs.statSync(runtime.database.file).size / 1024 / 1024, 1);
  }
  const row = await runtime.store.get<{ bytes: number }>(
    "SELECT pg_total_relation_size('knowledge_chunks') + pg_total_relation_size('knowledge_documents') AS bytes",
  );
  return round(row!.bytes / 1024 / 1024, 1);
}

async function measure(runtime: Runtime): Promise<Measured> {
  // 1. indexing: the same text on every store
  seed = SEED;
  const documents = Math.ceil(CHUNKS / SECTIONS);
  let indexed = 0;
  const addStarted = performance.now();
  for (let d = 0; d < documents; d++) {
    const sections = Math.min(SECTIONS, CHUNKS - d * SECTIONS);
    const text = Array.from({ length: sections }, (_, i) => section(i)).join('\n\n');
    indexed += (await runtime.knowledge.add({ title: `Document ${d} ${word()} ${word()}`, text })).document.chunk_count;
  }
  const addMs = performance.now() - addStarted;
  if (runtime.store.dialect === 'postgres') await runtime.store.run('ANALYZE knowledge_chunks');
  const size = await sizeMib(runtime);

  // 2. in process, the index vs a LIKE scan over the same chunks
  for (const { q } of QUERIES.slice(0, 50)) await runtime.knowledge.search(q, { limit: 10 }); // warm up
  const byKind: Record<string, number[]> = {};
  const all: number[] = [];
  let hits = 0;
  for (const { kind, q } of QUERIES) {
    const t = performance.now();
    hits += (await runtime.knowledge.search(q, { limit: 10 })).results.length;
    const ms = performance.now() - t;
    all.push(ms);
    (byKind[kind] ??= []).push(ms);
  }
  // SQLite's LIKE ignores ASCII case; ILIKE does the same work on PostgreSQL.
  const like = runtime.store.dialect === 'sqlite' ? 'LIKE' : 'ILIKE';
  const likeSamples: number[] = [];
  for (const { q } of QUERIES.slice(0, Math.min(SEARCHES, 200))) {
    const words = likeWords(q);
    const t = performance.now();
    await runtime.store.all(
      `SELECT id, document_id FROM knowledge_chunks WHERE ${words.map(() => `body ${like} ?`).join(' OR ')}`,
      words.map((w) => `%${w}%`),
    );
    likeSamples.push(performance.now() - t);
  }

  // 3. over HTTP
  const httpSamples: number[] = [];
  for (const { q } of QUERIES.slice(0, Math.min(SEARCHES, 300))) {
    const t = performance.now();
    const response = await fetch(`${runtime.url}/api/v1/knowledge/search?${new URLSearchParams({ q })}`, {
      headers: { 'x-session-token': runtime.token },
    });
    if (response.status !== 200) throw new Error(`search answered ${response.status}`);
    await response.arrayBuffer();
    httpSamples.push(performance.now() - t);
  }

  const search = stats(all);
  const likeStats = stats(likeSamples);
  return {
    chunks: indexed,
    documents,
    index: { chunks_per_s: Math.round(indexed / (addMs / 1000)), size_mib: size },
    search_ms: { ...search, samples: all.length, mean_results: round(hits / all.length, 1) },
    search_ms_by_kind: Object.fromEntries(Object.entries(byKind).map(([kind, samples]) => [kind, stats(samples)])),
    peer_like_scan_ms: { ...likeStats, samples: likeSamples.length },
    ratio_p50: round(likeStats.p50 / search.p50, 1),
    http_search_ms: { ...stats(httpSamples), samples: httpSamples.length },
  };
}

async function run(databaseUrl?: string): Promise<Measured> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-knowledge-'));
  const runtime = await createRuntime({
    workspace,
    port: 0,
    logLevel: 'warn',
    apiRateBurst: 1_000_000,
    apiRatePerSecond: 1_000_000,
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
  });
  try {
    return await measure(runtime);
  } finally {
    await runtime.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

/** A fresh database on the server at `adminUrl`. */
async function createDatabase(adminUrl: string): Promise<string> {
  const name = `lookout_bench_knowledge_${process.pid}_${Date.now()}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const results: { sqlite: Measured; postgres?: Measured | { error: string } } = { sqlite: await run() };
if (!values['no-postgres']) {
  let throwaway: string | undefined;
  try {
    let adminUrl = values['database-url'];
    if (adminUrl === undefined) {
      const server = await initPostgresServer({ durable: true });
      throwaway = server.dir;
      adminUrl = server.url;
    }
    results.postgres = await run(await createDatabase(adminUrl));
  } catch (error) {
    results.postgres = { error: (error as Error).message };
  } finally {
    if (throwaway) await removePostgresServer(throwaway);
  }
}

console.log(JSON.stringify({ ...results, node: process.version, cpus: os.cpus().length, load: os.loadavg() }));
console.log('');
const { sqlite } = results;
const postgres = results.postgres && 'chunks' in results.postgres ? results.postgres : undefined;
const cell = (m: Measured | undefined, pick: (m: Measured) => { p50: number; p99: number }) =>
  m ? `${pick(m).p50} ms | ${pick(m).p99} ms` : 'n/a | n/a';
console.log(
  `| measure (${sqlite.chunks} chunks in ${sqlite.documents} documents) | SQLite p50 | p99 | PostgreSQL p50 | p99 |`,
);
console.log('|---|---|---|---|---|');
const row = (label: string, pick: (m: Measured) => { p50: number; p99: number }) =>
  console.log(`| ${label} | ${cell(sqlite, pick)} | ${cell(postgres, pick)} |`);
row('search, in process (ranking + snippet), all kinds', (m) => m.search_ms);
for (const kind of Object.keys(sqlite.search_ms_by_kind))
  row(`… ${kind.replace('_', ' ')}`, (m) => m.search_ms_by_kind[kind]!);
row("peer: LIKE '%word%' scan of the same chunks", (m) => m.peer_like_scan_ms);
row('GET /api/v1/knowledge/search (whole request)', (m) => m.http_search_ms);
console.log(
  `| index faster than the scan (p50) | ×${sqlite.ratio_p50} | | ${postgres ? `×${postgres.ratio_p50}` : 'n/a'} | |`,
);
console.log(
  `| indexing | ${sqlite.index.chunks_per_s} chunks/s | ${sqlite.index.size_mib} MiB | ${postgres ? `${postgres.index.chunks_per_s} chunks/s | ${postgres.index.size_mib} MiB` : 'n/a | n/a'} |`,
);
if (results.postgres && !postgres)
  console.log(`PostgreSQL not measured: ${(results.postgres as { error: string }).error}`);

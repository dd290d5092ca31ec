/**
 * bench/events-postgres: events/s and delivery latency through the real `lookout serve`,
 * on SQLite (the default) beside PostgreSQL (team mode), in ONE run with one load generator:
 *   - sqlite:        one server, the workspace's .lookout/lookout.db;
 *   - postgres:      one server on a PostgreSQL database;
 *   - postgres ×2:   two servers on one database, events published to A, every subscriber on
 *                    B: the cross-server path (commit, NOTIFY, B reads from its last number).
 *
 *   node bench/events-postgres.ts [--subscribers 4] [--events 5000] [--batch 100] [--rounds 3]
 *                                 [--rate 500] [--seconds 5] [--database-url URL] [--timeout 300]
 *
 * Without --database-url (or LOOKOUT_BENCH_DATABASE_URL) a throwaway PostgreSQL is started from
 * the machine's binaries (Debian: /usr/lib/postgresql/N/bin) with PostgreSQL's default
 * durability (fsync on, synchronous_commit on), as a deployment runs it; each scenario gets a
 * fresh database. SQLite runs as Lookout always does (WAL, synchronous=NORMAL).
 *
 * Per scenario: throughput (EVENTS events in batches, one POST at a time, timed until every
 * subscriber has all of them; median of --rounds), then latency at a steady rate (a batch
 * every 10 ms for --seconds; p50/p99/max from the publisher's send time to each receipt,
 * one clock: this process publishes and subscribes). Every subscriber must get every event
 * exactly once and in sequence order; loss, duplicates and disorder are reported, not hidden.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { WebSocket } from 'ws';
import { cleanupServersSync, type LookoutServer, startLookout } from './lookout-server.ts';
import { initPostgresServer, removePostgresServer, removePostgresServerSync } from '../test/helpers/postgres-server.ts';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '4' },
    events: { type: 'string', default: '5000' },
    batch: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
    'database-url': { type: 'string' },
    timeout: { type: 'string', default: '300' },
  },
});

/** Each numeric option's upper bound; every one is an integer from 1 up to it. */
const MAXIMA = {
  subscribers: 500,
  events: 1_000_000,
  batch: 1000,
  rounds: 20,
  rate: 50_000,
  seconds: 120,
  timeout: 3600,
};
const option = Object.fromEntries(
  Object.entries(MAXIMA).map(([name, max]) => {
    const raw = values[name as keyof typeof MAXIMA];
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= max) return [name, n];
    console.error(`bench/events-postgres: --${name} must be an integer from 1 to ${max} (got ${JSON.stringify(raw)})`);
    return process.exit(1);
  }),
) as Record<keyof typeof MAXIMA, number>;
const { subscribers: SUBSCRIBERS, events: EVENTS, batch: BATCH, rounds: ROUNDS, rate: RATE, seconds: SECONDS } = option;
const WARMUP = 1000;
const TICK_MS = 10;
/** A phase is over when nothing new arrived for this long. */
const STALL_MS = 10_000;

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/lookout.js');

// ---------------------------------------------------------------------------------------
// Everything started here is torn down on every exit.

let postgresDir: string | undefined;

function cleanupSync(): void {
  cleanupServersSync();
  if (postgresDir) removePostgresServerSync(postgresDir);
  postgresDir = undefined;
}
process.on('exit', cleanupSync);
process.on('SIGINT', () => process.exit(130));
setTimeout(() => {
  console.error(`bench/events-postgres: gave up after ${option.timeout} s`);
  process.exit(2);
}, option.timeout * 1000).unref();

type Server = LookoutServer;

function startServer(databaseUrl?: string): Promise<Server> {
  const args = ['--max-clients', String(Math.max(10, SUBSCRIBERS + 2))];
  if (databaseUrl) args.push('--database-url', databaseUrl);
  return startLookout({ args });
}

const stopServer = (server: Server): Promise<void> => server.stop();

// ---------------------------------------------------------------------------------------
// Subscribers record each event by index: loss, duplicates and disorder show.

interface Subscriber {
  seen: Uint8Array;
  received: number;
  duplicates: number;
  outOfOrder: number;
  gaps: { from: number; to: number; reason: string }[];
  lastSeq: number;
  ws: WebSocket;
}

interface Tally {
  subscribers: Subscriber[];
  latencies: number[];
  /** Event indexes whose latency is recorded. */
  latencyFrom: number;
  lastProgressAt: number;
}

function subscribe(server: Server, total: number, tally: Tally): Promise<Subscriber> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?types=x.bench`, {
    headers: { 'x-session-token': server.token },
    perMessageDeflate: false,
  });
  const sub: Subscriber = {
    seen: new Uint8Array(total),
    received: 0,
    duplicates: 0,
    outOfOrder: 0,
    gaps: [],
    lastSeq: 0,
    ws,
  };
  return new Promise((resolve, reject) => {
    ws.on('message', (raw) => {
      const at = performance.now();
      const m = JSON.parse(raw.toString()) as {
        type: string;
        sequence_number?: number;
        data?: { i: number; t: number };
        from?: number;
        to?: number;
        reason?: string;
      };
      if (typeof m.sequence_number !== 'number') {
        if (m.type === 'connected') resolve(sub);
        else if (m.type === 'gap') sub.gaps.push({ from: m.from ?? -1, to: m.to ?? -1, reason: m.reason ?? '?' });
        return;
      }
      if (m.sequence_number <= sub.lastSeq) sub.outOfOrder++;
      sub.lastSeq = m.sequence_number;
      const i = m.data!.i;
      if (sub.seen[i]) {
        sub.duplicates++;
        return;
      }
      sub.seen[i] = 1;
      sub.received++;
      tally.lastProgressAt = at;
      if (i >= tally.latencyFrom) tally.latencies.push(at - m.data!.t);
    });
    ws.once('error', reject);
  });
}

/** Until every subscriber has every event below `to`, or nothing arrives for STALL_MS. */
async function delivered(tally: Tally, from: number, to: number): Promise<boolean> {
  for (;;) {
    const done = tally.subscribers.every((s) => {
      for (let i = from; i < to; i++) if (!s.seen[i]) return false;
      return true;
    });
    if (done) return true;
    if (performance.now() - tally.lastProgressAt > STALL_MS) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let failedPosts = 0;
let firstPostError: string | undefined;

async function publish(server: Server, from: number, count: number): Promise<void> {
  const t = performance.now();
  const events = Array.from({ length: count }, (_, k) => ({ type: 'x.bench', data: { i: from + k, t } }));
  try {
    const res = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'x-session-token': server.token, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  } catch (error) {
    failedPosts++;
    firstPostError ??= (error as Error).message;
  }
}

// ---------------------------------------------------------------------------------------

interface Result {
  throughput_eps: number | null;
  throughput_rounds_eps: (number | null)[];
  publish_eps: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
  latency_samples: number;
  delivered_exactly_once_in_order: boolean;
  missing: number;
  duplicates: number;
  out_of_order: number;
  gap_messages: number;
  gaps_sample: { from: number; to: number; reason: string }[];
  failed_posts: number;
  first_post_error?: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** One scenario: publish to `publisher`, subscribe on `subscribed`. */
async function measure(publisher: Server, subscribed: Server): Promise<Result> {
  failedPosts = 0;
  firstPostError = undefined;
  const latencyCount = RATE * SECONDS;
  const total = WARMUP + ROUNDS * EVENTS + latencyCount;
  const tally: Tally = { subscribers: [], latencies: [], latencyFrom: total, lastProgressAt: performance.now() };
  for (let s = 0; s < SUBSCRIBERS; s++) tally.subscribers.push(await subscribe(subscribed, total, tally));
  try {
    for (let i = 0; i < WARMUP; i += BATCH) await publish(publisher, i, Math.min(BATCH, WARMUP - i));
    await delivered(tally, 0, WARMUP);

    const rounds: { eps: number | null; publishEps: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const from = WARMUP + r * EVENTS;
      const started = performance.now();
      tally.lastProgressAt = started;
      for (let i = from; i < from + EVENTS; i += BATCH) await publish(publisher, i, Math.min(BATCH, from + EVENTS - i));
      const published = performance.now();
      const complete = await delivered(tally, from, from + EVENTS);
      const seconds = (tally.lastProgressAt - started) / 1000;
      rounds.push({ eps: complete ? EVENTS / seconds : null, publishEps: EVENTS / ((published - started) / 1000) });
    }

    const from = WARMUP + ROUNDS * EVENTS;
    tally.latencyFrom = from;
    const inflight = new Set<Promise<void>>();
    const t0 = performance.now();
    let next = from;
    for (let tick = 1; next < total; tick++) {
      const due = Math.min(total, from + Math.floor(((performance.now() - t0) * RATE) / 1000));
      if (due > next) {
        const p: Promise<void> = publish(publisher, next, due - next).finally(() => inflight.delete(p));
        inflight.add(p);
        next = due;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + tick * TICK_MS - performance.now())));
    }
    await Promise.all(inflight);
    tally.lastProgressAt = performance.now();
    await delivered(tally, from, total);

    const subs = tally.subscribers;
    const sum = (f: (s: Subscriber) => number) => subs.reduce((n, s) => n + f(s), 0);
    const sorted = [...tally.latencies].sort((a, b) => a - b);
    const missing = total * subs.length - sum((s) => s.received);
    const complete = rounds.every((r) => r.eps !== null);
    return {
      throughput_eps: complete ? Math.round(median(rounds.map((r) => r.eps!))) : null,
      throughput_rounds_eps: rounds.map((r) => (r.eps === null ? null : Math.round(r.eps))),
      publish_eps: Math.round(median(rounds.map((r) => r.publishEps))),
      latency_p50_ms: round2(percentile(sorted, 50)),
      latency_p99_ms: round2(percentile(sorted, 99)),
      latency_max_ms: round2(sorted.at(-1) ?? Number.NaN),
      latency_samples: sorted.length,
      delivered_exactly_once_in_order: missing === 0 && sum((s) => s.duplicates + s.outOfOrder) === 0,
      missing,
      duplicates: sum((s) => s.duplicates),
      out_of_order: sum((s) => s.outOfOrder),
      gap_messages: sum((s) => s.gaps.length),
      gaps_sample: subs.flatMap((s) => s.gaps).slice(0, 5),
      failed_posts: failedPosts,
      ...(firstPostError ? { first_post_error: firstPostError } : {}),
    };
  } finally {
    for (const sub of tally.subscribers) sub.ws.terminate();
  }
}

/** A fresh database on the server at `adminUrl`. */
async function createDatabase(adminUrl: string, name: string): Promise<string> {
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

function supportsDatabaseUrl(): boolean {
  const help = execFileSync(process.execPath, [bin, 'serve', '--help'], { cwd: root, encoding: 'utf8' });
  return help.includes('--database-url');
}

// ---------------------------------------------------------------------------------------

type Scenario = 'sqlite' | 'postgres' | 'postgres_two_servers';
const results: Partial<Record<Scenario, Result | { error: string }>> = {};
const startedAt = new Date().toISOString();
const loadAtStart = os.loadavg().map(round2);
let postgresInfo: { source: string; version?: string; settings?: Record<string, string> } | undefined;

try {
  {
    const server = await startServer();
    try {
      results.sqlite = await measure(server, server);
    } finally {
      await stopServer(server);
    }
  }

  if (!supportsDatabaseUrl()) {
    const error = 'this build of lookout has no --database-url (the PostgreSQL store is not merged yet)';
    results.postgres = { error };
    results.postgres_two_servers = { error };
  } else {
    let adminUrl = values['database-url'] ?? process.env.LOOKOUT_BENCH_DATABASE_URL;
    if (adminUrl) postgresInfo = { source: 'given' };
    else {
      const server = await initPostgresServer({ durable: true });
      postgresDir = server.dir;
      adminUrl = server.url;
      postgresInfo = { source: 'throwaway server from the machine binaries, default durability' };
    }
    {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      const settings = await client.query<{ name: string; setting: string }>(
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version', 'shared_buffers')",
      );
      await client.end();
      postgresInfo.settings = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
    }
    const suffix = `${process.pid}_${Date.now()}`;

    const one = await startServer(await createDatabase(adminUrl, `lookout_bench_one_${suffix}`));
    try {
      results.postgres = await measure(one, one);
    } finally {
      await stopServer(one);
    }

    const shared = await createDatabase(adminUrl, `lookout_bench_two_${suffix}`);
    const a = await startServer(shared);
    const b = await startServer(shared);
    try {
      results.postgres_two_servers = await measure(a, b);
    } finally {
      await Promise.all([stopServer(a), stopServer(b)]);
    }
  }
} catch (error) {
  console.error(`bench/events-postgres: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  if (postgresDir) await removePostgresServer(postgresDir);
  postgresDir = undefined;
}

const sqlite = results.sqlite && 'throughput_eps' in results.sqlite ? results.sqlite : undefined;
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || b === 0 || !Number.isFinite(a) || !Number.isFinite(b) ? null : round2(a / b);
const ratiosVsSqlite = Object.fromEntries(
  (['postgres', 'postgres_two_servers'] as const).map((name) => {
    const r = results[name];
    if (!r || !('throughput_eps' in r) || !sqlite) return [name, null];
    return [
      name,
      {
        throughput: ratio(r.throughput_eps, sqlite.throughput_eps),
        latency_p50: ratio(r.latency_p50_ms, sqlite.latency_p50_ms),
        latency_p99: ratio(r.latency_p99_ms, sqlite.latency_p99_ms),
      },
    ];
  }),
);

const output = {
  benchmark: 'events-postgres',
  node: process.version,
  started_at: startedAt,
  load_at_start: loadAtStart,
  cpus: os.cpus().length,
  config: { subscribers: SUBSCRIBERS, events: EVENTS, batch: BATCH, rounds: ROUNDS, rate_eps: RATE, seconds: SECONDS },
  postgres: postgresInfo ?? null,
  results,
  ratio_vs_sqlite: ratiosVsSqlite,
};
console.log(JSON.stringify(output, null, 2));

const row = (r: Result | { error: string } | undefined) =>
  !r
    ? { 'throughput ev/s': 'not run' }
    : 'error' in r
      ? { 'throughput ev/s': r.error }
      : {
          'throughput ev/s': r.throughput_eps ?? 'incomplete',
          'publish ev/s': r.publish_eps,
          'p50 ms': r.latency_p50_ms,
          'p99 ms': r.latency_p99_ms,
          'max ms': r.latency_max_ms,
          'once, in order': r.delivered_exactly_once_in_order ? 'yes' : `no (${r.missing} missing)`,
        };
console.table({
  sqlite: row(results.sqlite),
  postgres: row(results.postgres),
  'postgres, publish on A, subscribe on B': row(results.postgres_two_servers),
});
const all = Object.values(results);
const clean = all.every((r) => r && 'throughput_eps' in r && r.delivered_exactly_once_in_order);
if (process.exitCode === undefined && !clean) process.exitCode = all.some((r) => r && 'error' in r) ? 4 : 3;

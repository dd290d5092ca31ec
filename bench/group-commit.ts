/**
 * bench/group-commit: what committing several publishers' events in one SQLite transaction
 * (group commit, src-main/events/sqlite-event-log.ts) does here. Two parts:
 *
 * 1. `log`: the real event log (schema, WAL, synchronous=NORMAL, the checkpointer) appending
 *    the same events with N events per transaction, for several N: N = 1 is a server whose
 *    concurrent publishers each get their own COMMIT; N > 1 what group commit makes of N of
 *    them in one tick.
 * 2. `http`: the real `lookout serve`, P concurrent publishers each POSTing one event at a
 *    time (hooks, SDKs, many agents), 10 WebSocket subscribers, with group commit on (the
 *    default) and off (LOOKOUT_GROUP_COMMIT_MAX=1), the two alternated in the same run.
 * 3. `postgres`: the same as `http` with the server in team mode on a throwaway PostgreSQL
 *    (or --database-url, on which a database per server is created), group commit on and
 *    off alternated, each server on a fresh database.
 *
 *   node bench/group-commit.ts [--parts log,http] [--events 20000] [--rounds 5] [--sizes 1,2,5,10,50,100]
 *                              [--publishers 1,10,50] [--http-events 3000] [--http-rounds 3]
 *                              [--subscribers 10] [--database-url URL]
 *
 * Prints JSON and tables: per N the median CPU µs per event (user + system: steady on a
 * shared machine) and wall µs per event; per P and mode the medians of publish rate,
 * delivered-to-all rate, the server's CPU µs per event and the POST round trip p50/p99.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { WebSocket } from 'ws';
import type { NewEvent } from '../src-main/events/event-log.ts';
import { SqliteEventLog } from '../src-main/events/sqlite-event-log.ts';
import { openDatabase } from '../src-main/store/database.ts';
import { initPostgresServer, removePostgresServer, removePostgresServerSync } from '../test/helpers/postgres-server.ts';
import { cleanupServersSync, type LookoutServer, startLookout } from './lookout-server.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '1,2,5,10,50,100' },
    parts: { type: 'string', default: 'log,http' },
    publishers: { type: 'string', default: '1,10,50' },
    'http-events': { type: 'string', default: '3000' },
    'http-rounds': { type: 'string', default: '3' },
    subscribers: { type: 'string', default: '10' },
    'database-url': { type: 'string' },
  },
});
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const SIZES = values.sizes.split(',').map(Number);
const PARTS = new Set(values.parts.split(',').map((part) => part.trim()));
const PUBLISHERS = values.publishers.split(',').map(Number);
const HTTP_EVENTS = Number(values['http-events']);
const HTTP_ROUNDS = Number(values['http-rounds']);
const SUBSCRIBERS = Number(values.subscribers);
const positive = (n: number) => Number.isInteger(n) && n >= 1;
if (
  ![EVENTS, ROUNDS, HTTP_EVENTS, HTTP_ROUNDS, SUBSCRIBERS].every(positive) ||
  !SIZES.every(positive) ||
  !PUBLISHERS.every(positive) ||
  [...PARTS].some((part) => !['log', 'http', 'postgres'].includes(part))
) {
  console.error(
    'bench/group-commit: --events, --rounds, --http-events, --http-rounds and --subscribers take positive integers, ' +
      '--sizes and --publishers lists of them, --parts a list of log, http, postgres',
  );
  process.exit(1);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 100) / 100;
const event = (i: number): NewEvent => ({
  type: 'x.bench',
  data: { i, t: 123.456, text: 'an event of a typical size '.repeat(6) },
});

// ---------------------------------------------------------------------------------------
// Part 1: the event log alone, N events per transaction.

const results: { per_transaction: number; cpu_us_per_event: number; wall_us_per_event: number }[] = [];
for (const size of PARTS.has('log') ? SIZES : []) {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // A fresh store per round, so every size starts from the same file sizes.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-group-commit-'));
    const file = path.join(dir, 'lookout.db');
    const db = openDatabase(file);
    // Each append commits alone (maxGroup 1): the N events of one append are the transaction.
    const log = new SqliteEventLog(db, { maxGroup: 1 });
    try {
      for (let i = 0; i < 2000; i += size) await log.append(Array.from({ length: size }, (_, k) => event(i + k))); // warm-up
      const batches: NewEvent[][] = [];
      for (let i = 0; i < EVENTS; i += size)
        batches.push(Array.from({ length: Math.min(size, EVENTS - i) }, (_, k) => event(i + k)));
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      for (const batch of batches) await log.append(batch);
      const elapsed = performance.now() - started;
      const used = process.cpuUsage(cpuBefore);
      cpu.push((used.user + used.system) / EVENTS);
      wall.push((elapsed * 1000) / EVENTS);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  results.push({
    per_transaction: size,
    cpu_us_per_event: round(median(cpu)),
    wall_us_per_event: round(median(wall)),
  });
}

// ---------------------------------------------------------------------------------------
// Part 2: the real server, P concurrent one-event publishers.

type Mode = 'group commit' | 'one commit per publish' | 'postgres, group commit' | 'postgres, one commit per publish';
const MODE_ENV: Record<Mode, Record<string, string>> = {
  'group commit': {},
  'one commit per publish': { LOOKOUT_GROUP_COMMIT_MAX: '1' },
  'postgres, group commit': {},
  'postgres, one commit per publish': { LOOKOUT_GROUP_COMMIT_MAX: '1' },
};
/** The mode each mode is compared with (its "off"). */
const BASELINE: Partial<Record<Mode, Mode>> = {
  'group commit': 'one commit per publish',
  'postgres, group commit': 'postgres, one commit per publish',
};

interface HttpRound {
  publish_eps: number;
  delivered_eps: number | null;
  cpu_us_per_event: number;
  post_p50_ms: number;
  post_p99_ms: number;
  failed_posts: number;
  /** Deliveries missing, duplicated or out of order over all subscribers (must be 0). */
  delivery_errors: number;
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** WebSocket subscribers counting x.gc events, checking each arrives once and in order. */
async function subscribe(server: LookoutServer) {
  const subscribers = await Promise.all(
    Array.from(
      { length: SUBSCRIBERS },
      () =>
        new Promise<{ ws: WebSocket; received: () => number; errors: () => number; lastAt: () => number }>(
          (resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?types=x.gc`, {
              headers: { 'X-Session-Token': server.token },
              perMessageDeflate: false,
            });
            let received = 0;
            let errors = 0;
            let lastSeq = 0;
            let lastAt = 0;
            ws.on('message', (raw) => {
              const message = JSON.parse(raw.toString()) as { type: string; sequence_number?: number };
              if (message.type === 'connected')
                resolve({ ws, received: () => received, errors: () => errors, lastAt: () => lastAt });
              if (typeof message.sequence_number !== 'number') return;
              if (message.sequence_number <= lastSeq) errors++;
              lastSeq = message.sequence_number;
              received++;
              lastAt = performance.now();
            });
            ws.once('error', reject);
          },
        ),
    ),
  );
  return {
    received: () => Math.min(...subscribers.map((s) => s.received())),
    errors: () => subscribers.reduce((n, s) => n + s.errors(), 0),
    lastAt: () => Math.max(...subscribers.map((s) => s.lastAt())),
    close: () => subscribers.forEach((s) => s.ws.terminate()),
  };
}

async function publishConcurrently(server: LookoutServer, publishers: number, count: number, latencies: number[]) {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      const res = await fetch(`${server.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'X-Session-Token': server.token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'x.gc', data: { i, text: 'an event of a typical size '.repeat(6) } }),
      });
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      if (res.status !== 201) failed++;
    }
  };
  await Promise.all(Array.from({ length: publishers }, worker));
  return failed;
}

async function measureHttp(server: LookoutServer, publishers: number): Promise<HttpRound> {
  const subs = await subscribe(server);
  try {
    const base = subs.received();
    const warmup = Math.min(1000, HTTP_EVENTS);
    await publishConcurrently(server, publishers, warmup, []);
    const latencies: number[] = [];
    const cpuBefore = server.cpuMs();
    const started = performance.now();
    const failed = await publishConcurrently(server, publishers, HTTP_EVENTS, latencies);
    const published = performance.now();
    const cpuUsed = server.cpuMs() - cpuBefore;
    const want = base + warmup + HTTP_EVENTS - failed;
    const deadline = performance.now() + 60_000;
    while (subs.received() < want && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const complete = subs.received() >= want;
    const sorted = Float64Array.from(latencies).sort();
    return {
      publish_eps: Math.round(HTTP_EVENTS / ((published - started) / 1000)),
      delivered_eps: complete ? Math.round(HTTP_EVENTS / ((subs.lastAt() - started) / 1000)) : null,
      cpu_us_per_event: round((cpuUsed * 1000) / HTTP_EVENTS),
      post_p50_ms: round(percentile(sorted, 50)),
      post_p99_ms: round(percentile(sorted, 99)),
      failed_posts: failed,
      delivery_errors: subs.errors() + (complete ? 0 : want - subs.received()),
    };
  } finally {
    subs.close();
  }
}

const httpRounds = new Map<string, HttpRound[]>();
const key = (mode: Mode, publishers: number) => `${mode}|${publishers}`;
async function runMode(mode: Mode, env: Record<string, string>, args: string[] = []): Promise<void> {
  const server = await startLookout({ env, args: ['--max-clients', String(SUBSCRIBERS + 2), ...args] });
  try {
    for (const publishers of PUBLISHERS) {
      const rounds = httpRounds.get(key(mode, publishers)) ?? [];
      rounds.push(await measureHttp(server, publishers));
      httpRounds.set(key(mode, publishers), rounds);
    }
  } finally {
    await server.stop();
  }
}

let postgresDir: string | undefined;
process.on('exit', () => {
  if (postgresDir) removePostgresServerSync(postgresDir);
});
const modes: Mode[] = [];
try {
  if (PARTS.has('http')) {
    modes.push('group commit', 'one commit per publish');
    for (let r = 0; r < HTTP_ROUNDS; r++) {
      // Alternated (A B, B A, …) so a neighbour's load falls on both alike.
      const order: Mode[] =
        r % 2 === 0 ? ['group commit', 'one commit per publish'] : ['one commit per publish', 'group commit'];
      for (const mode of order) await runMode(mode, MODE_ENV[mode]);
    }
  }
  if (PARTS.has('postgres')) {
    modes.push('postgres, group commit', 'postgres, one commit per publish');
    let adminUrl = values['database-url'];
    if (!adminUrl) {
      const info = await initPostgresServer({ durable: true });
      postgresDir = info.dir;
      adminUrl = info.url;
    }
    let databases = 0;
    for (let r = 0; r < HTTP_ROUNDS; r++) {
      const order: Mode[] =
        r % 2 === 0
          ? ['postgres, group commit', 'postgres, one commit per publish']
          : ['postgres, one commit per publish', 'postgres, group commit'];
      for (const mode of order) {
        // A fresh database per server, so each starts from the same table sizes.
        const name = `lookout_bench_gc_${process.pid}_${databases++}`;
        const admin = new pg.Client({ connectionString: adminUrl });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
        await admin.end();
        const url = new URL(adminUrl);
        url.pathname = `/${name}`;
        await runMode(mode, MODE_ENV[mode], ['--database-url', url.toString()]);
      }
    }
  }
} catch (error) {
  console.error(`bench/group-commit: ${(error as Error).stack ?? String(error)}`);
  cleanupServersSync();
  process.exitCode = 1;
} finally {
  if (postgresDir) await removePostgresServer(postgresDir);
  postgresDir = undefined;
}

const http = modes.flatMap((mode) =>
  PUBLISHERS.filter((p) => httpRounds.has(key(mode, p))).map((publishers) => {
    const rounds = httpRounds.get(key(mode, publishers))!;
    const med = (f: (r: HttpRound) => number | null) => {
      const xs = rounds.map(f).filter((x): x is number => x !== null);
      return xs.length === rounds.length ? median(xs) : null;
    };
    return {
      mode,
      publishers,
      publish_eps: med((r) => r.publish_eps),
      delivered_eps: med((r) => r.delivered_eps),
      cpu_us_per_event: med((r) => r.cpu_us_per_event),
      post_p50_ms: med((r) => r.post_p50_ms),
      post_p99_ms: med((r) => r.post_p99_ms),
      failed_posts: rounds.reduce((n, r) => n + r.failed_posts, 0),
      delivery_errors: rounds.reduce((n, r) => n + r.delivery_errors, 0),
      rounds,
    };
  }),
);

console.log(
  JSON.stringify(
    {
      benchmark: 'group-commit',
      node: process.version,
      load_average_at_end: os.loadavg().map(round),
      log: { events_per_round: EVENTS, rounds: ROUNDS, results },
      http: { events_per_round: HTTP_EVENTS, rounds: HTTP_ROUNDS, subscribers: SUBSCRIBERS, results: http },
    },
    null,
    2,
  ),
);
if (results.length > 0) {
  console.table(
    Object.fromEntries(
      results.map((r) => [
        `${r.per_transaction} per transaction`,
        {
          'cpu µs/ev': r.cpu_us_per_event,
          'wall µs/ev': r.wall_us_per_event,
          'cpu vs 1': round(results[0]!.cpu_us_per_event / r.cpu_us_per_event),
        },
      ]),
    ),
  );
}
if (http.length > 0) {
  const baseline = (mode: Mode, p: number) => http.find((h) => h.mode === BASELINE[mode] && h.publishers === p);
  console.table(
    Object.fromEntries(
      http.map((h) => [
        `${h.mode}, ${h.publishers} publisher${h.publishers === 1 ? '' : 's'}`,
        {
          'publish ev/s': h.publish_eps,
          'delivered ev/s': h.delivered_eps ?? 'incomplete',
          'server cpu µs/ev': h.cpu_us_per_event,
          'POST p50 ms': h.post_p50_ms,
          'POST p99 ms': h.post_p99_ms,
          'delivered vs one commit per publish':
            h.delivered_eps && baseline(h.mode, h.publishers)?.delivered_eps
              ? round(h.delivered_eps / baseline(h.mode, h.publishers)!.delivered_eps!)
              : '',
          errors: h.failed_posts + h.delivery_errors,
        },
      ]),
    ),
  );
}
if (http.some((h) => h.failed_posts > 0 || h.delivery_errors > 0)) process.exitCode = 3;

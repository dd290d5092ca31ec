/**
 * bench/events: event fan-out through the real `lookout serve` (HTTP publish → store →
 * WebSocket /ws), beside two peers doing the same job in the same run:
 *   - bare-ws:   node:http + `ws`, broadcast each event, no auth, no storage (the practical floor);
 *   - bare-ws-corked: the same, with each client's socket corked while a tick's frames are
 *                written and uncorked on the next tick (as uWebSockets does): one writev per
 *                client per tick. No storage, no auth: the practical ceiling on this machine;
 *   - socket.io: Socket.IO with connection state recovery (its replay buffer is the closest
 *                analogue of Lookout's stored, resumable stream).
 *
 *   node bench/events.ts [--subscribers 10] [--events 20000] [--batch 100] [--inflight 1] [--rounds 3]
 *                        [--rate 1000] [--seconds 5] [--warmup 2000] [--settle 16] [--timeout 180] [--write-doc FILE]
 *                        [--servers lookout,bare-ws,bare-ws-corked,socket.io]
 *
 * `npm run bench` builds, runs this with --write-doc docs/benchmarks.md, and so rewrites that page.
 *
 * Every server runs in its own child process (its RSS is read from /proc). This process is
 * both the publisher (HTTP POST, the same bodies for all three) and every subscriber, so
 * the send time carried in each event and the receive time share one clock.
 *   1. throughput: N events in batches (--inflight POSTs at a time), timed until every subscriber
 *      has all N; repeated --rounds times, the median reported (one round is ~1-2 s and noisy);
 *   2. latency: a steady rate for a few seconds (a batch every 10 ms), p50/p99 per delivery;
 *   3. server RSS after both, and again once the server has been idle for --settle seconds
 *      (subscribers still connected): what it gives back after a flood (0 skips the wait).
 * Before those, per server: start-up (spawn → listening), idle RSS (one second after listening,
 * nobody connected) and connect time (open → subscribed: Lookout's `connected`, the peers' open),
 * the median over the subscribers.
 * The servers are all started first and stay up; their throughput rounds take turns (round r
 * starts with server r), so a neighbour's burst of load falls on one round of each rather
 * than on one server's whole run. Then each server's latency phase, then one common --settle wait.
 * Each subscriber must get each event exactly once; loss and duplicates are reported, not hidden.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { type EventsBenchOutput, writeBenchmarksDoc } from './benchmarks-doc.ts';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '10' },
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '100' },
    inflight: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2000' },
    settle: { type: 'string', default: '16' },
    timeout: { type: 'string', default: '180' },
    'write-doc': { type: 'string' },
    servers: { type: 'string', default: 'lookout,bare-ws,bare-ws-corked,socket.io' },
  },
});

function positiveInt(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`bench/events: --${name} must be an integer from 1 to ${max} (got ${JSON.stringify(raw)})`);
    process.exit(1);
  }
  return n;
}

const SUBSCRIBERS = positiveInt('subscribers', values.subscribers, 1000);
const EVENTS = positiveInt('events', values.events, 10_000_000);
const BATCH = positiveInt('batch', values.batch, 1000);
const INFLIGHT = positiveInt('inflight', values.inflight, 64);
const ROUNDS = positiveInt('rounds', values.rounds, 20);
const RATE = positiveInt('rate', values.rate, 100_000);
const SECONDS = positiveInt('seconds', values.seconds, 60);
const WARMUP = positiveInt('warmup', values.warmup, 1_000_000);
/** Lookout ends its checkpoint worker after 10 s without writes and trims its heap on its 5 s idle look. */
const SETTLE_S = values.settle === '0' ? 0 : positiveInt('settle', values.settle, 600);
const TIMEOUT_S = positiveInt('timeout', values.timeout, 3600);

/** Latency phase: one batch per tick, sized so the rate holds on average. */
const TICK_MS = 10;
/** A phase ends when nothing new has arrived for this long after the last publish. */
const STALL_MS = 5_000;
/** Most in-flight POSTs during the paced phase (a slow server backs up here, not in memory). */
const MAX_INFLIGHT = 64;

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/lookout.js');
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:(\d+))/;

/**
 * The two peers, run with `node -e` from the project root (so `require` finds the
 * project's node_modules). Same contract as Lookout: POST /api/v1/events takes one event
 * or {"events": [...]}, stamps an envelope, answers 201; every envelope goes to every client.
 */
const PEER_COMMON = `
const http = require('node:http');
let seq = 0;
function ingest(req, res, broadcast) {
  if (req.method !== 'POST' || req.url !== '/api/v1/events') { res.writeHead(404).end(); return; }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try { body = JSON.parse(Buffer.concat(chunks).toString()); } catch { res.writeHead(400).end(); return; }
    const inputs = Array.isArray(body.events) ? body.events : [body];
    const out = [];
    for (const input of inputs) {
      const envelope = { type: input.type, timestamp: new Date().toISOString(), sequence_number: ++seq, data: input.data ?? {}, metadata: input.metadata ?? {} };
      broadcast(envelope);
      out.push({ sequence_number: envelope.sequence_number, timestamp: envelope.timestamp });
    }
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ events: out }));
  });
}
const announce = (server) => console.log('listening on http://127.0.0.1:' + server.address().port);
`;

const BARE_WS = `${PEER_COMMON}
const { WebSocketServer, WebSocket } = require('ws');
const server = http.createServer((req, res) => ingest(req, res, (envelope) => {
  const frame = JSON.stringify(envelope);
  for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(frame);
}));
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
server.listen(0, '127.0.0.1', () => announce(server));
`;

/** bare ws, with every client's socket corked for the rest of the tick once a frame is written to it. */
const BARE_WS_CORKED = `${PEER_COMMON}
const { WebSocketServer, WebSocket } = require('ws');
const corked = new Set();
const uncorkAll = () => { for (const socket of corked) socket.uncork(); corked.clear(); };
const server = http.createServer((req, res) => ingest(req, res, (envelope) => {
  const frame = JSON.stringify(envelope);
  for (const client of wss.clients) {
    if (client.readyState !== WebSocket.OPEN) continue;
    if (!corked.has(client._socket)) {
      if (corked.size === 0) process.nextTick(uncorkAll);
      corked.add(client._socket);
      client._socket.cork();
    }
    client.send(frame);
  }
}));
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
server.listen(0, '127.0.0.1', () => announce(server));
`;

const SOCKET_IO = `${PEER_COMMON}
const { Server } = require('socket.io');
const server = http.createServer((req, res) => ingest(req, res, (envelope) => io.emit('event', envelope)));
const io = new Server(server, { serveClient: false, connectionStateRecovery: { maxDisconnectionDuration: 120000 } });
server.listen(0, '127.0.0.1', () => announce(server));
`;

const KINDS = ['lookout', 'bare-ws', 'bare-ws-corked', 'socket.io'] as const;
type Kind = (typeof KINDS)[number];
const PEER_SOURCES: Record<Exclude<Kind, 'lookout'>, string> = {
  'bare-ws': BARE_WS,
  'bare-ws-corked': BARE_WS_CORKED,
  'socket.io': SOCKET_IO,
};

const SERVERS = values.servers.split(',').map((name) => name.trim());
for (const name of SERVERS) {
  if (!(KINDS as readonly string[]).includes(name)) {
    console.error(
      `bench/events: --servers takes a comma-separated list of ${KINDS.join(', ')} (got ${JSON.stringify(name)})`,
    );
    process.exit(1);
  }
}
if (values['write-doc'] && SERVERS.length !== KINDS.length) {
  console.error('bench/events: --write-doc needs every server in the run (leave out --servers)');
  process.exit(1);
}

interface EventData {
  i: number;
  t: number;
}

// ---------------------------------------------------------------------------------------
// Processes and temp dirs: everything started here is tracked and torn down on every exit.

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function killAllSync(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', killAllSync);
process.on('SIGINT', () => {
  killAllSync();
  process.exit(130);
});
const watchdog = setTimeout(() => {
  console.error(`bench/events: gave up after ${TIMEOUT_S} s`);
  killAllSync();
  process.exit(2);
}, TIMEOUT_S * 1000);
watchdog.unref();

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  children.delete(child);
}

/** CPU time (user + system, all threads) a process has used so far, in ms (/proc, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

/**
 * A process's memory from /proc: resident (RSS), its peak, and RSS split into anonymous
 * memory (heaps, malloc, stacks) and file-backed pages (mostly the Node binary's own code and
 * data, shared with every other Node process), plus its thread count.
 */
function memoryMb(pid: number): { rss: number; peak: number; anon: number; file: number; threads: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return {
    rss: field('VmRSS') / 1024,
    peak: field('VmHWM') / 1024,
    anon: field('RssAnon') / 1024,
    file: field('RssFile') / 1024,
    threads: field('Threads'),
  };
}
const memoryBreakdown = (m: ReturnType<typeof memoryMb>) => ({
  rss_mb: round(m.rss),
  anon_mb: round(m.anon),
  file_mb: round(m.file),
  threads: m.threads,
});

interface Server {
  kind: Kind;
  child: ChildProcess;
  url: string;
  port: number;
  /** Headers for publishing and subscribing (the token, for Lookout). */
  headers: Record<string, string>;
  stderr: () => string;
  /** Spawn → the line saying where it listens. */
  startupMs: number;
}

async function startServer(kind: Kind): Promise<Server> {
  let args: string[];
  let workspace: string | undefined;
  if (kind === 'lookout') {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-events-'));
    tempDirs.add(workspace);
    args = [bin, 'serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn'];
    // The default client limit is 10; more subscribers need a higher one.
    if (SUBSCRIBERS > 10) args.push('--max-clients', String(SUBSCRIBERS));
  } else {
    args = ['-e', PEER_SOURCES[kind]];
  }
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let startupMs = 0;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${kind} did not say where it listens within 20 s\n${stderr}`)),
      20_000,
    );
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = LISTENING.exec(stdout);
      if (match) {
        clearTimeout(timer);
        startupMs = performance.now() - spawnedAt;
        resolve(match[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited (${code ?? signal}) before listening\n${stdout}${stderr}`));
    });
  });
  const headers: Record<string, string> = {};
  if (workspace !== undefined) {
    const infoPath = path.join(workspace, '.lookout', 'server.json');
    for (let attempt = 0; !fs.existsSync(infoPath); attempt++) {
      if (attempt > 200) throw new Error(`lookout printed its URL but wrote no ${infoPath}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const info = JSON.parse(fs.readFileSync(infoPath, 'utf8')) as { token: string };
    headers['X-Session-Token'] = info.token;
  }
  return { kind, child, url, port: Number(new URL(url).port), headers, stderr: () => stderr, startupMs };
}

// ---------------------------------------------------------------------------------------
// Subscribers: each records what it got, per event index, so loss and duplicates show.

interface Subscriber {
  /** 1 once event i has arrived. */
  seen: Uint8Array;
  received: number;
  duplicates: number;
  /** Events whose sequence_number was not above the previous one on this connection. */
  outOfOrder: number;
  lastSeq: number;
  /** Anything with a sequence_number that is not one of ours, or malformed. */
  foreign: number;
  /** Lookout `gap` control messages (overflow: the server dropped events for this client). */
  /** Open → subscribed (Lookout's `connected`, the peers' open or connect). */
  connectMs: number;
  gaps: {
    from: number;
    to: number;
    reason: string;
  }[];
  close: () => void;
}

interface Recorder {
  subscribers: Subscriber[];
  /** Deliveries per event index range, for completion checks. */
  deliveredIn: (from: number, to: number) => number;
  lastProgressAt: number;
  /** Latest receive time of an event with index in [latFrom, latTo), and their latencies. */
  latFrom: number;
  latTo: number;
  latencies: number[];
  /** Latest receive time of any event, per range start (phase start index). */
  lastReceiveAt: number;
}

function createRecorder(total: number): Recorder {
  const recorder: Recorder = {
    subscribers: [],
    deliveredIn: (from, to) => {
      let n = 0;
      for (const s of recorder.subscribers) for (let i = from; i < to; i++) n += s.seen[i]!;
      return n;
    },
    lastProgressAt: performance.now(),
    latFrom: total,
    latTo: total,
    latencies: [],
    lastReceiveAt: 0,
  };
  return recorder;
}

function newSubscriber(total: number): Subscriber {
  return {
    seen: new Uint8Array(total),
    received: 0,
    duplicates: 0,
    outOfOrder: 0,
    lastSeq: 0,
    foreign: 0,
    gaps: [],
    connectMs: Number.NaN,
    close: () => undefined,
  };
}

/** Called for every event a subscriber receives, first thing (the receive time). */
function record(
  recorder: Recorder,
  sub: Subscriber,
  at: number,
  envelope: { sequence_number?: unknown; data?: unknown },
): void {
  const data = envelope.data as Partial<EventData> | undefined;
  const i = data?.i;
  const seq = envelope.sequence_number;
  if (typeof seq === 'number') {
    if (seq <= sub.lastSeq) sub.outOfOrder++;
    sub.lastSeq = seq;
  }
  if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= sub.seen.length) {
    sub.foreign++;
    return;
  }
  if (sub.seen[i]) {
    sub.duplicates++;
    return;
  }
  sub.seen[i] = 1;
  sub.received++;
  recorder.lastProgressAt = at;
  recorder.lastReceiveAt = at;
  if (i >= recorder.latFrom && i < recorder.latTo && typeof data!.t === 'number') recorder.latencies.push(at - data!.t);
}

async function connectWs(server: Server, recorder: Recorder, total: number): Promise<Subscriber> {
  const sub = newSubscriber(total);
  const openedAt = performance.now();
  const query = server.kind === 'lookout' ? '?types=x.bench' : '';
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, {
    headers: server.headers,
    perMessageDeflate: false,
  });
  sub.close = () => ws.terminate();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server.kind}: WebSocket not ready within 10 s`)), 10_000);
    const ready = () => {
      clearTimeout(timer);
      sub.connectMs = performance.now() - openedAt;
      resolve();
    };
    ws.on('message', (raw) => {
      const at = performance.now();
      const message = JSON.parse(raw.toString()) as {
        type?: string;
        sequence_number?: unknown;
        data?: unknown;
        from?: number;
        to?: number;
        reason?: string;
      };
      if (typeof message.sequence_number === 'number') return record(recorder, sub, at, message);
      // Control message (Lookout): `connected` means the server-side subscription exists.
      if (message.type === 'connected') ready();
      else if (message.type === 'gap')
        sub.gaps.push({ from: message.from ?? -1, to: message.to ?? -1, reason: message.reason ?? '?' });
    });
    // The peers send no control message; once open, the server has registered the client.
    if (server.kind !== 'lookout') ws.once('open', ready);
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${server.kind}: WebSocket failed: ${error.message}`));
    });
  });
  return sub;
}

async function connectIo(server: Server, recorder: Recorder, total: number): Promise<Subscriber> {
  const sub = newSubscriber(total);
  const openedAt = performance.now();
  // forceNew: one connection per subscriber (the client would otherwise multiplex them).
  const socket: IoSocket = ioClient(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  sub.close = () => socket.disconnect();
  socket.on('event', (envelope: { sequence_number?: unknown; data?: unknown }) =>
    record(recorder, sub, performance.now(), envelope),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket.io: not connected within 10 s')), 10_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      sub.connectMs = performance.now() - openedAt;
      resolve();
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      reject(new Error(`socket.io: connect failed: ${error.message}`));
    });
  });
  return sub;
}

// ---------------------------------------------------------------------------------------
// Publishing.

interface PublishStats {
  posts: number;
  failedPosts: number;
  failedEvents: number;
  firstError: string | undefined;
}

async function post(server: Server, from: number, count: number, stats: PublishStats): Promise<void> {
  const t = performance.now();
  const events = [];
  for (let i = from; i < from + count; i++) events.push({ type: 'x.bench', data: { i, t } });
  const body = count === 1 ? JSON.stringify(events[0]) : JSON.stringify({ events });
  stats.posts++;
  try {
    const res = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { ...server.headers, 'Content-Type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  } catch (error) {
    stats.failedPosts++;
    stats.failedEvents += count;
    stats.firstError ??= (error as Error).message;
  }
}

/** Waits until every subscriber has every event in [from, to), or nothing arrives for STALL_MS. */
async function waitDelivered(recorder: Recorder, from: number, to: number, deadline: number): Promise<boolean> {
  const want = (to - from) * recorder.subscribers.length;
  for (;;) {
    if (recorder.deliveredIn(from, to) >= want) return true;
    const now = performance.now();
    if (now - recorder.lastProgressAt > STALL_MS || now > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// ---------------------------------------------------------------------------------------
// One server, all phases.

interface Result {
  startup_ms: number;
  idle_rss_mb: number;
  connect_p50_ms: number;
  throughput_eps: number | null;
  publish_eps: number;
  /**
   * The server's CPU time per event in the throughput rounds (µs, all its threads): far
   * steadier than wall-clock rates on a shared machine, since a neighbour's load delays the
   * server without making it burn more CPU per event.
   */
  cpu_us_per_event: number;
  /**
   * This process's CPU per event in the same rounds: the publisher and every subscriber
   * (parse, order and exactly-once checks). On two cores it competes with the server.
   */
  client_cpu_us_per_event: number;
  throughput_rounds_eps: (number | null)[];
  latency_p50_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
  latency_samples: number;
  rss_mb: number;
  peak_rss_mb: number;
  /** RSS after --settle seconds without traffic following the flood (null: --settle 0). */
  settled_rss_mb: number | null;
  /** /proc's split of RSS: idle, right after the flood, and settled. */
  memory: {
    idle: ReturnType<typeof memoryBreakdown>;
    after: ReturnType<typeof memoryBreakdown>;
    settled: ReturnType<typeof memoryBreakdown> | null;
  };
  delivery: {
    subscribers: number;
    expected_per_subscriber: number;
    complete: boolean;
    missing: number;
    duplicates: number;
    out_of_order: number;
    foreign: number;
    gap_messages: number;
    gaps_sample: { from: number; to: number; reason: string }[];
    failed_posts: number;
    failed_events: number;
    first_post_error: string | undefined;
  };
}

interface Round {
  complete: boolean;
  eps: number;
  publishEps: number;
  ms: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (x: number) => Math.round(x * 100) / 100;

/** One server under test, from start to its result. */
interface Session {
  kind: Kind;
  server: Server;
  idle: ReturnType<typeof memoryMb>;
  recorder: Recorder;
  stats: PublishStats;
  total: number;
  rounds: Round[];
  /** Server and load-generator CPU over the throughput rounds (ms, µs). */
  serverCpuMs: number;
  clientCpuUs: number;
  /** After the latency phase, and once idle for --settle seconds. */
  after?: ReturnType<typeof memoryMb>;
  settled?: ReturnType<typeof memoryMb>;
}

const LATENCY_COUNT = RATE * SECONDS;

/** Starts the server, reads its idle memory, connects the subscribers, warms up. */
async function open(kind: Kind): Promise<Session> {
  const total = WARMUP + ROUNDS * EVENTS + LATENCY_COUNT;
  const server = await startServer(kind);
  // Idle: a second after listening, before anyone connects.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idle = memoryMb(server.child.pid!);
  const recorder = createRecorder(total);
  const stats: PublishStats = { posts: 0, failedPosts: 0, failedEvents: 0, firstError: undefined };
  const session: Session = { kind, server, idle, recorder, stats, total, rounds: [], serverCpuMs: 0, clientCpuUs: 0 };
  for (let s = 0; s < SUBSCRIBERS; s++) {
    recorder.subscribers.push(
      kind === 'socket.io' ? await connectIo(server, recorder, total) : await connectWs(server, recorder, total),
    );
  }
  // Warm-up (JIT, connection pools); delivered and verified like the rest, not timed.
  for (let i = 0; i < WARMUP; i += BATCH) await post(server, i, Math.min(BATCH, WARMUP - i), stats);
  await waitDelivered(recorder, 0, WARMUP, performance.now() + 30_000);
  return session;
}

/** Throughput round r: batches as fast as the server answers, INFLIGHT POSTs at a time. */
async function throughputRound(session: Session, r: number): Promise<void> {
  const { server, recorder, stats } = session;
  const cpuBefore = cpuMs(server.child.pid!);
  const clientCpuBefore = process.cpuUsage();
  const tFrom = WARMUP + r * EVENTS;
  const tTo = tFrom + EVENTS;
  const started = performance.now();
  recorder.lastProgressAt = started;
  let cursor = tFrom;
  const worker = async () => {
    while (cursor < tTo) {
      const from = cursor;
      cursor = Math.min(tTo, cursor + BATCH);
      await post(server, from, cursor - from, stats);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const published = performance.now();
  recorder.lastProgressAt = Math.max(recorder.lastProgressAt, published);
  const complete = await waitDelivered(recorder, tFrom, tTo, performance.now() + 60_000);
  const ms = recorder.lastReceiveAt - started;
  session.rounds.push({ complete, eps: EVENTS / (ms / 1000), publishEps: EVENTS / ((published - started) / 1000), ms });
  session.serverCpuMs += cpuMs(server.child.pid!) - cpuBefore;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  session.clientCpuUs += clientCpu.user + clientCpu.system;
}

/** Latency at a steady rate: a batch every TICK_MS, sized to what is due by now; then memory. */
async function latencyPhase(session: Session): Promise<void> {
  const { server, recorder, stats } = session;
  const lFrom = WARMUP + ROUNDS * EVENTS;
  const lTo = lFrom + LATENCY_COUNT;
  recorder.latFrom = lFrom;
  recorder.latTo = lTo;
  const inflight = new Set<Promise<void>>();
  const t0 = performance.now();
  let next = lFrom;
  for (let tick = 1; next < lTo; tick++) {
    const due = Math.min(lTo, lFrom + Math.floor(((performance.now() - t0) * RATE) / 1000));
    if (due > next) {
      if (inflight.size >= MAX_INFLIGHT) await Promise.race(inflight);
      // Split a large backlog (timer hiccup) into batches the servers all accept.
      for (let i = next; i < due; i += 1000) {
        const p: Promise<void> = post(server, i, Math.min(1000, due - i), stats).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      next = due;
    }
    const wait = t0 + tick * TICK_MS - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
  }
  await Promise.all(inflight);
  recorder.lastProgressAt = Math.max(recorder.lastProgressAt, performance.now());
  await waitDelivered(recorder, lFrom, lTo, performance.now() + 30_000);
  // With every subscriber still connected.
  session.after = memoryMb(server.child.pid!);
}

function result(session: Session): Result {
  const { server, idle, recorder, stats, total, rounds } = session;
  const memory = session.after!;
  const settled = session.settled ?? null;
  const subs = recorder.subscribers;
  const sum = (f: (s: Subscriber) => number) => subs.reduce((n, s) => n + f(s), 0);
  const sorted = Float64Array.from(recorder.latencies).sort();
  const missing = total * subs.length - sum((s) => s.received);
  return {
    startup_ms: round(server.startupMs),
    idle_rss_mb: round(idle.rss),
    connect_p50_ms: round(median(subs.map((s) => s.connectMs))),
    // A round in which some subscriber never got everything has no fully-delivered rate.
    throughput_eps: rounds.every((r) => r.complete) ? Math.round(median(rounds.map((r) => r.eps))) : null,
    publish_eps: Math.round(median(rounds.map((r) => r.publishEps))),
    cpu_us_per_event: round((session.serverCpuMs * 1000) / (ROUNDS * EVENTS)),
    client_cpu_us_per_event: round(session.clientCpuUs / (ROUNDS * EVENTS)),
    throughput_rounds_eps: rounds.map((r) => (r.complete ? Math.round(r.eps) : null)),
    latency_p50_ms: round(percentile(sorted, 50)),
    latency_p99_ms: round(percentile(sorted, 99)),
    latency_max_ms: round(sorted.at(-1) ?? Number.NaN),
    latency_samples: sorted.length,
    rss_mb: round(memory.rss),
    peak_rss_mb: round(memory.peak),
    settled_rss_mb: settled ? round(settled.rss) : null,
    memory: {
      idle: memoryBreakdown(idle),
      after: memoryBreakdown(memory),
      settled: settled ? memoryBreakdown(settled) : null,
    },
    delivery: {
      subscribers: subs.length,
      expected_per_subscriber: total,
      complete: missing === 0 && sum((s) => s.duplicates) === 0,
      missing,
      duplicates: sum((s) => s.duplicates),
      out_of_order: sum((s) => s.outOfOrder),
      foreign: sum((s) => s.foreign),
      gap_messages: sum((s) => s.gaps.length),
      gaps_sample: subs.flatMap((s) => s.gaps).slice(0, 5),
      failed_posts: stats.failedPosts,
      failed_events: stats.failedEvents,
      first_post_error: stats.firstError,
    },
  };
}

// ---------------------------------------------------------------------------------------

const results: Partial<Record<Kind, Result>> = {};
const startedAt = new Date();
const loadAtStart = os.loadavg();
const sessions: Session[] = [];
try {
  // Every server is started (and its idle memory read) one after the other, and all stay
  // up with their subscribers connected. The throughput rounds then take turns, round r
  // starting with server r (mod n): a burst of load from a neighbour lands on one round of
  // each server rather than on one server's whole measurement, so the ratios of the
  // medians hold far better on a shared machine than sequential runs did.
  for (const kind of KINDS) if (SERVERS.includes(kind)) sessions.push(await open(kind));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < sessions.length; i++) await throughputRound(sessions[(r + i) % sessions.length]!, r);
  }
  for (const session of sessions) await latencyPhase(session);
  if (SETTLE_S > 0) {
    // What each server gives back after the flood: every one has been idle at least this long.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
    for (const session of sessions) session.settled = memoryMb(session.server.child.pid!);
  }
  for (const session of sessions) results[session.kind] = result(session);
} catch (error) {
  console.error(`bench/events: ${(error as Error).message}`);
  killAllSync();
  process.exit(1);
} finally {
  for (const session of sessions) {
    for (const sub of session.recorder.subscribers) sub.close();
  }
  await Promise.all(sessions.map((session) => stopChild(session.server.child)));
}

const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null ||
  a === undefined ||
  b === null ||
  b === undefined ||
  !Number.isFinite(a) ||
  !Number.isFinite(b) ||
  b === 0
    ? null
    : round(a / b);
const ratios = (peer: Result | undefined) => {
  const l = results.lookout;
  if (!l || !peer) return undefined;
  return {
    startup: ratio(l.startup_ms, peer.startup_ms),
    idle_rss: ratio(l.idle_rss_mb, peer.idle_rss_mb),
    connect: ratio(l.connect_p50_ms, peer.connect_p50_ms),
    throughput: ratio(l.throughput_eps, peer.throughput_eps),
    publish: ratio(l.publish_eps, peer.publish_eps),
    cpu_per_event: ratio(l.cpu_us_per_event, peer.cpu_us_per_event),
    latency_p50: ratio(l.latency_p50_ms, peer.latency_p50_ms),
    latency_p99: ratio(l.latency_p99_ms, peer.latency_p99_ms),
    rss: ratio(l.rss_mb, peer.rss_mb),
    settled_rss: ratio(l.settled_rss_mb, peer.settled_rss_mb),
  };
};

const output = {
  benchmark: 'events',
  node: process.version,
  config: {
    subscribers: SUBSCRIBERS,
    events: EVENTS,
    batch: BATCH,
    inflight_posts: INFLIGHT,
    throughput_rounds: ROUNDS,
    rate_eps: RATE,
    seconds: SECONDS,
    warmup: WARMUP,
    settle_s: SETTLE_S,
    latency_batch_every_ms: TICK_MS,
  },
  lookout: results.lookout,
  peer_bare_ws: results['bare-ws'],
  peer_bare_ws_corked: results['bare-ws-corked'],
  peer_socket_io: results['socket.io'],
  ratio_lookout_vs_bare_ws: ratios(results['bare-ws']),
  /** The fraction of the ceiling Lookout reaches (the "as close to it as persisting allows"). */
  ratio_lookout_vs_bare_ws_corked: ratios(results['bare-ws-corked']),
  ratio_lookout_vs_socket_io: ratios(results['socket.io']),
  all_delivered_exactly_once: Object.values(results).every((r) => r.delivery.complete),
};
console.log(JSON.stringify(output, null, 2));

const row = (r: Result) => ({
  'start ms': r.startup_ms,
  'idle MB': r.idle_rss_mb,
  'connect ms': r.connect_p50_ms,
  'throughput ev/s': r.throughput_eps ?? 'incomplete',
  'publish ev/s': r.publish_eps,
  'cpu µs/ev': r.cpu_us_per_event,
  'client µs/ev': r.client_cpu_us_per_event,
  'p50 ms': r.latency_p50_ms,
  'p99 ms': r.latency_p99_ms,
  'rss MB': r.rss_mb,
  'settled MB': r.settled_rss_mb ?? '',
  missing: r.delivery.missing,
  dups: r.delivery.duplicates,
});
const ratioRow = (x: NonNullable<ReturnType<typeof ratios>>) => ({
  'start ms': x.startup ?? '',
  'idle MB': x.idle_rss ?? '',
  'connect ms': x.connect ?? '',
  'throughput ev/s': x.throughput ?? '',
  'publish ev/s': x.publish ?? '',
  'cpu µs/ev': x.cpu_per_event ?? '',
  'client µs/ev': '',
  'p50 ms': x.latency_p50 ?? '',
  'p99 ms': x.latency_p99 ?? '',
  'rss MB': x.rss ?? '',
  'settled MB': x.settled_rss ?? '',
  missing: '',
  dups: '',
});
const LABELS: Record<Kind, string> = {
  lookout: 'lookout',
  'bare-ws': 'bare ws',
  'bare-ws-corked': 'bare ws corked (ceiling)',
  'socket.io': 'socket.io (recovery)',
};
const table: Record<string, ReturnType<typeof row> | ReturnType<typeof ratioRow>> = {};
for (const kind of KINDS) {
  const r = results[kind];
  if (r) table[LABELS[kind]] = row(r);
}
for (const kind of KINDS) {
  const x = kind === 'lookout' ? undefined : ratios(results[kind]);
  if (x) table[`ratio lookout / ${LABELS[kind]}`] = ratioRow(x);
}
console.table(table);
if (values['write-doc']) {
  writeBenchmarksDoc(values['write-doc'], output as EventsBenchOutput, {
    startedAt,
    loadAtStart,
    argv: process.argv.slice(2),
  });
  console.error(`bench/events: wrote ${values['write-doc']}`);
}
killAllSync();
process.exit(output.all_delivered_exactly_once ? 0 : 3);

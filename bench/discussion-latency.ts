/**
 * bench/discussion-latency: how long a discussion reply's chunk takes from the agent's
 * stdout to a WebSocket subscriber (what the dashboard uses), through the real
 * `lookout serve`.
 *
 *   npm run build && node bench/discussion-latency.ts [--chunks 400] [--parallel 4]
 *
 * A command agent (test/fixtures/discussion-agent.mjs, mode `stamp`) writes chunks 5 ms
 * apart, each carrying the wall-clock time it was written (performance.timeOrigin +
 * performance.now(), the same clock in every process on this machine). The subscriber
 * reads every `discussion.message_delta` and takes, for each stamp in it, now − stamp.
 *   1. one discussion alone;
 *   2. --parallel discussions replying at once (each its own agent process);
 *   peer: the same program spawned by this process and read straight from its pipe —
 *   the floor (spawn, pipe, event loop) every number above includes.
 * Target (issue 14): provider chunk → dashboard p99 < 20 ms.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: { chunks: { type: 'string', default: '400' }, parallel: { type: 'string', default: '4' } },
});
const CHUNKS = Number(values.chunks);
const PARALLEL = Number(values.parallel);
const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/lookout.js');
const AGENT = path.join(root, 'test/fixtures/discussion-agent.mjs');
if (!fs.existsSync(path.join(root, 'dist/server/lookout.js'))) {
  console.error('bench/discussion-latency: run `npm run build` first (the benchmark measures the built server)');
  process.exit(1);
}

const nowMs = (): number => performance.timeOrigin + performance.now();
const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
const stampsIn = (text: string): number[] =>
  text
    .split(';')
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isFinite(n));

interface Summary {
  samples: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  events: number;
}
const summary = (latencies: number[], events: number): Summary => ({
  samples: latencies.length,
  p50_ms: round(quantile(latencies, 0.5)),
  p90_ms: round(quantile(latencies, 0.9)),
  p99_ms: round(quantile(latencies, 0.99)),
  max_ms: round(Math.max(...latencies)),
  events,
});

/** The peer: this process reads the same program's stdout directly. */
async function pipeFloor(): Promise<Summary> {
  const latencies: number[] = [];
  let reads = 0;
  const child = spawn(process.execPath, [AGENT, 'stamp', String(CHUNKS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify({ discussion: {}, messages: [], you: {}, knowledge: [] }));
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const at = nowMs();
    reads++;
    const whole = rest + text;
    const cut = whole.lastIndexOf(';') + 1;
    rest = whole.slice(cut);
    for (const stamp of stampsIn(whole.slice(0, cut))) latencies.push(at - stamp);
  });
  await new Promise((resolve) => child.on('close', resolve));
  return summary(latencies, reads);
}

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-discussion-'));
const server = spawn(process.execPath, [bin, 'serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const match = /listening on (http:\/\/\S+)/.exec(out);
    if (match) resolve(match[1]!);
  });
  server.on('exit', () => reject(new Error(`the server exited: ${out}`)));
});
const token = (JSON.parse(fs.readFileSync(path.join(workspace, '.lookout/server.json'), 'utf8')) as { token: string })
  .token;
const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
  const res = await fetch(`${url}/api/v1${p}`, {
    method,
    headers: { 'x-session-token': token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

/** Starts `count` one-turn discussions at once and measures every stamp their deltas carry. */
async function throughLookout(count: number): Promise<Summary> {
  const ws = new WebSocket(
    `${url.replace(/^http/, 'ws')}/ws?types=discussion.message_delta,discussion.message_created`,
    {
      headers: { 'x-session-token': token },
    },
  );
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const latencies: number[] = [];
  let deltas = 0;
  let finished = 0;
  const ids = new Set<string>();
  const done = new Promise<void>((resolve) => {
    ws.on('message', (raw) => {
      const at = nowMs();
      const message = JSON.parse(raw.toString()) as { type: string; data?: Record<string, unknown> };
      if (!message.data || !ids.has(String(message.data.discussion_id))) return;
      if (message.type === 'discussion.message_delta') {
        deltas++;
        for (const stamp of stampsIn(String(message.data.text))) latencies.push(at - stamp);
      } else if (message.type === 'discussion.message_created') {
        const stored = message.data.message as { author_kind: string; status: string; error: string | null };
        if (stored.author_kind !== 'agent') return;
        if (stored.status !== 'complete') console.error(`a reply failed: ${stored.error}`);
        if (++finished === count) resolve();
      }
    });
  });
  const agents = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      api<{ id: string }>('POST', '/agents', {
        name: `stamp-${count}-${i}`,
        command: [process.execPath, AGENT, 'stamp', String(CHUNKS)],
      }),
    ),
  );
  await Promise.all(
    agents.map(async (agent) => {
      const d = await api<{ id: string }>('POST', '/discussions', {
        topic: 'latency',
        participants: [agent.id],
        max_turns: 2, // the person's message, then the agent's reply
        start: false,
      });
      ids.add(d.id);
      // The person's first message starts the agent's turn.
      await api('POST', `/discussions/${d.id}/messages`, { content: 'go' });
    }),
  );
  await done;
  ws.close();
  return summary(latencies, deltas);
}

try {
  const peer = await pipeFloor();
  const alone = await throughLookout(1);
  const parallel = await throughLookout(PARALLEL);
  const result = {
    node: process.version,
    config: { chunks: CHUNKS, chunk_interval_ms: 5, parallel: PARALLEL, cpus: os.cpus().length },
    peer_direct_pipe: peer,
    lookout_one_discussion: alone,
    lookout_parallel_discussions: parallel,
    ratio_p99_one_vs_pipe: round(alone.p99_ms / peer.p99_ms),
    target_p99_ms: 20,
    meets_target: alone.p99_ms < 20 && parallel.p99_ms < 20,
  };
  console.log(JSON.stringify(result, null, 2));
  const rows: [string, Summary][] = [
    ['direct pipe (peer floor)', peer],
    ['lookout, 1 discussion', alone],
    [`lookout, ${PARALLEL} discussions at once`, parallel],
  ];
  console.log('\n| path | samples | events | p50 ms | p90 ms | p99 ms | max ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, s] of rows)
    console.log(`| ${name} | ${s.samples} | ${s.events} | ${s.p50_ms} | ${s.p90_ms} | ${s.p99_ms} | ${s.max_ms} |`);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.on('exit', resolve));
  fs.rmSync(workspace, { recursive: true, force: true });
}

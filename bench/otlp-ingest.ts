/**
 * bench/otlp-ingest: spans per second through the real `lookout serve` with N WebSocket
 * subscribers attached (default 10, the default client limit), beside a peer measured in
 * the same run: the same spans, already mapped, published as otel.span events through
 * POST /api/v1/events (so the ratio is the cost of OTLP decoding and mapping).
 *
 *   node bench/otlp-ingest.ts [--spans 20000] [--batch 512] [--subscribers 10] [--rounds 3]
 *
 * Bodies are OTLP/JSON as the specification writes it and the same request encoded with
 * the official .proto definitions (512 spans per export, the SDK BatchSpanProcessor's
 * default); test/integration/otlp-ingest.test.ts covers the real SDK exporters. A round is timed from the first POST until
 * every subscriber has received every span; the median of the rounds is reported.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { encodeProtobufRequest } from '../src-main/ingest/otlp-codec.ts';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '512' },
    subscribers: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
  },
});
const SPANS = Number(values.spans);
const BATCH = Number(values.batch);
const SUBSCRIBERS = Number(values.subscribers);
const ROUNDS = Number(values.rounds);
for (const [name, n] of Object.entries({ SPANS, BATCH, SUBSCRIBERS, ROUNDS })) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench/otlp-ingest: ${name.toLowerCase()} must be a positive integer`);
    process.exit(1);
  }
}

const root = path.resolve(import.meta.dirname, '..');
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-otlp-'));
let server: ChildProcess | undefined;
process.on('exit', () => {
  server?.kill('SIGKILL');
  fs.rmSync(workspace, { recursive: true, force: true });
});

/** One export's worth of spans in the OTLP/JSON form, with GenAI attributes. */
function exportRequest(count: number): Record<string, unknown> {
  const hex = (bytes: number) => randomBytes(bytes).toString('hex');
  const traceId = hex(16);
  const now = BigInt(Date.now()) * 1_000_000n;
  const attribute = (key: string, value: Record<string, unknown>) => ({ key, value });
  const spans = Array.from({ length: count }, (_, i) => ({
    traceId,
    spanId: hex(8),
    name: `chat ${i}`,
    kind: 3,
    startTimeUnixNano: String(now + BigInt(i) * 1_000_000n),
    endTimeUnixNano: String(now + BigInt(i) * 1_000_000n + 250_000_000n),
    attributes: [
      attribute('gen_ai.system', { stringValue: 'anthropic' }),
      attribute('gen_ai.operation.name', { stringValue: 'chat' }),
      attribute('gen_ai.request.model', { stringValue: 'claude-sonnet-4' }),
      attribute('gen_ai.usage.input_tokens', { intValue: String(1000 + i) }),
      attribute('gen_ai.usage.output_tokens', { intValue: '200' }),
    ],
    status: {},
  }));
  return {
    resourceSpans: [
      {
        resource: { attributes: [attribute('service.name', { stringValue: 'bench-agent' })] },
        scopeSpans: [{ scope: { name: 'bench', version: '1.0.0' }, spans }],
      },
    ],
  };
}

async function startServer(): Promise<{ url: string; token: string }> {
  const bin = path.join(root, 'bin/lookout.js');
  server = spawn(
    process.execPath,
    [
      bin,
      'serve',
      '--workspace',
      workspace,
      '--port',
      '0',
      '--log-level',
      'warn',
      '--max-clients',
      String(SUBSCRIBERS + 1),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    server!.once('exit', (code) => reject(new Error(`lookout serve exited (${code})`)));
  });
  const info = JSON.parse(fs.readFileSync(path.join(workspace, '.lookout', 'server.json'), 'utf8')) as {
    token: string;
  };
  return { url, token: info.token };
}

async function subscribe(
  url: string,
  token: string,
  count: number,
): Promise<{ arrived: () => number[]; close: () => void }> {
  const counts = new Array<number>(count).fill(0);
  const sockets = await Promise.all(
    counts.map(
      (_, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?types=otel.span`, {
            headers: { 'x-session-token': token },
          });
          ws.on('message', (raw) => {
            const text = raw.toString();
            if (text.includes('"sequence_number"')) counts[i]! += 1;
            else if (text.includes('"connected"')) resolve(ws);
          });
          ws.once('error', reject);
        }),
    ),
  );
  return { arrived: () => [...counts], close: () => sockets.forEach((ws) => ws.close()) };
}

interface Variant {
  name: string;
  path: string;
  contentType: string;
  encoding?: string;
  body: Uint8Array | string;
}

type Subscribers = Awaited<ReturnType<typeof subscribe>>;

/** The same subscribers stay attached for every round (counts are cumulative). */
async function round(
  url: string,
  token: string,
  variant: Variant,
  exports: number,
  subscribers: Subscribers,
): Promise<number> {
  const expected = Math.min(...subscribers.arrived()) + exports * BATCH;
  const started = performance.now();
  for (let i = 0; i < exports; i++) {
    const response = await fetch(`${url}${variant.path}`, {
      method: 'POST',
      headers: {
        'x-session-token': token,
        'content-type': variant.contentType,
        ...(variant.encoding ? { 'content-encoding': variant.encoding } : {}),
      },
      body: variant.body,
    });
    if (!response.ok) throw new Error(`${variant.name}: HTTP ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }
  const deadline = Date.now() + 120_000;
  while (Math.min(...subscribers.arrived()) < expected) {
    if (Date.now() > deadline) {
      throw new Error(`${variant.name}: subscribers got ${subscribers.arrived().join(', ')} of ${expected} in 120 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  return (exports * BATCH) / seconds;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const request = exportRequest(BATCH);
  const { url, token } = await startServer();
  const json = JSON.stringify(request);
  const protobuf = encodeProtobufRequest('traces', request);

  // The peer's body: what the receiver stores for the same spans, via the plain events API.
  const mapped = await (
    await fetch(`${url}/v1/traces`, {
      method: 'POST',
      headers: { 'x-session-token': token, 'content-type': 'application/json' },
      body: json,
    })
  ).text();
  void mapped;
  const page = (await (
    await fetch(`${url}/api/v1/events?types=otel.span&limit=1000`, { headers: { 'x-session-token': token } })
  ).json()) as {
    events: { type: string; data: unknown }[];
  };
  const peerBody = JSON.stringify({ events: page.events.slice(0, BATCH).map((e) => ({ type: e.type, data: e.data })) });

  const variants: Variant[] = [
    {
      name: 'OTLP protobuf + gzip',
      path: '/v1/traces',
      contentType: 'application/x-protobuf',
      encoding: 'gzip',
      body: gzipSync(protobuf),
    },
    { name: 'OTLP protobuf', path: '/v1/traces', contentType: 'application/x-protobuf', body: protobuf },
    { name: 'OTLP JSON', path: '/v1/traces', contentType: 'application/json', body: json },
    {
      name: 'peer: POST /api/v1/events (otel.span)',
      path: '/api/v1/events',
      contentType: 'application/json',
      body: peerBody,
    },
  ];
  const exports = Math.max(1, Math.round(SPANS / BATCH));
  const subscribers = await subscribe(url, token, SUBSCRIBERS);
  const results: { variant: string; spans_per_s: number; rounds: number[] }[] = [];
  for (const variant of variants) {
    const rounds: number[] = [];
    for (let i = 0; i < ROUNDS; i++) rounds.push(await round(url, token, variant, exports, subscribers));
    results.push({ variant: variant.name, spans_per_s: Math.round(median(rounds)), rounds: rounds.map(Math.round) });
  }
  subscribers.close();
  const peer = results.at(-1)!.spans_per_s;
  const report = {
    bench: 'otlp-ingest',
    spans_per_round: exports * BATCH,
    batch: BATCH,
    subscribers: SUBSCRIBERS,
    cpus: os.cpus().length,
    load_average: os.loadavg().map((n) => Math.round(n * 10) / 10),
    results: results.map((r) => ({ ...r, vs_peer: Math.round((r.spans_per_s / peer) * 100) / 100 })),
  };
  console.log(JSON.stringify(report, null, 2));
  console.table(report.results.map(({ variant, spans_per_s, vs_peer }) => ({ variant, spans_per_s, vs_peer })));
  server?.kill('SIGTERM');
}

await main();

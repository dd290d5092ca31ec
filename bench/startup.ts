/**
 * bench/startup: how fast `lookout serve` answers /health after spawn, and its idle RSS,
 * beside a bare Node http server (the floor any Node server pays) measured in the same run.
 *
 *   npm run build && node bench/startup.ts [--runs 10]
 *
 * Targets (issue 2): ready < 300 ms (median), idle RSS < 80 MB.
 *
 * With util-linux `script` present it also starts lookout on a pseudo-terminal at the
 * default log level, the way a person runs it: readable log lines (pino-pretty, loaded
 * only for a terminal) must not slow the start.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(values.runs);
const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/lookout.js');
if (!fs.existsSync(path.join(root, 'dist/server/lookout.js'))) {
  console.error('bench/startup: run `npm run build` first (the benchmark measures the built server)');
  process.exit(1);
}

const PEER = `require('node:http').createServer((q, s) => s.end('{"status":"ok"}')).listen(Number(process.env.PORT), '127.0.0.1')`;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

type Kind = 'lookout' | 'lookout-terminal' | 'bare-node';
const SCRIPT = '/usr/bin/script';
const KINDS: Kind[] = fs.existsSync(SCRIPT) ? ['lookout', 'lookout-terminal', 'bare-node'] : ['lookout', 'bare-node'];

async function measure(kind: Kind): Promise<{ readyMs: number; idleRssMb: number }> {
  const port = await freePort();
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-'));
  const args = kind === 'lookout' ? [bin, 'serve', '--port', String(port), '--log-level', 'warn'] : ['-e', PEER];
  const started = performance.now();
  const child =
    kind === 'lookout-terminal'
      ? spawn(SCRIPT, ['-qfec', `${process.execPath} ${bin} serve --port ${port}`, '/dev/null'], {
          cwd: workspace,
          stdio: 'ignore',
        })
      : spawn(process.execPath, args, {
          cwd: workspace,
          env: { ...process.env, PORT: String(port) },
          stdio: 'ignore',
        });
  let readyMs: number;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // Not listening yet.
    }
    if (performance.now() - started > 10_000) throw new Error(`${kind} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  // On a terminal the server is script's child: measure and stop the server itself.
  const pid =
    kind === 'lookout-terminal'
      ? (JSON.parse(fs.readFileSync(path.join(workspace, '.lookout/server.json'), 'utf8')) as { pid: number }).pid
      : child.pid!;
  const idleRssMb = rssMb(pid);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(pid, 'SIGTERM');
  await exited;
  fs.rmSync(workspace, { recursive: true, force: true });
  return { readyMs, idleRssMb };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;

const samples = Object.fromEntries(KINDS.map((kind) => [kind, []])) as unknown as Record<
  Kind,
  { readyMs: number; idleRssMb: number }[]
>;
for (let i = 0; i < RUNS; i++) {
  // Interleave so machine noise hits all alike.
  for (const kind of KINDS) samples[kind].push(await measure(kind));
}

const summary = Object.fromEntries(
  Object.entries(samples).map(([kind, runs]) => [
    kind,
    {
      ready_ms_median: round(median(runs.map((r) => r.readyMs))),
      ready_ms_max: round(Math.max(...runs.map((r) => r.readyMs))),
      idle_rss_mb_median: round(median(runs.map((r) => r.idleRssMb))),
    },
  ]),
) as Record<Kind, { ready_ms_median: number; ready_ms_max: number; idle_rss_mb_median: number }>;

const result = {
  benchmark: 'startup',
  node: process.version,
  runs: RUNS,
  lookout: summary.lookout,
  ...(summary['lookout-terminal'] ? { lookout_on_terminal_readable_logs: summary['lookout-terminal'] } : {}),
  peer_bare_node: summary['bare-node'],
  ratio_ready_vs_peer: round(summary.lookout.ready_ms_median / summary['bare-node'].ready_ms_median),
  ratio_rss_vs_peer: round(summary.lookout.idle_rss_mb_median / summary['bare-node'].idle_rss_mb_median),
  targets: { ready_ms: 300, idle_rss_mb: 80 },
  met: summary.lookout.ready_ms_median < 300 && summary.lookout.idle_rss_mb_median < 80,
};
console.log(JSON.stringify(result, null, 2));
console.table({
  lookout: summary.lookout,
  ...(summary['lookout-terminal'] ? { 'lookout on a terminal (readable logs)': summary['lookout-terminal'] } : {}),
  'bare node http': summary['bare-node'],
  'ratio (lookout / bare)': {
    ready_ms_median: result.ratio_ready_vs_peer,
    ready_ms_max: '',
    idle_rss_mb_median: result.ratio_rss_vs_peer,
  },
});

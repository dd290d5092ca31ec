/**
 * bench/tasks: running agents through the real `lookout serve` in a temporary git repository.
 *
 *   npm run build && node bench/tasks.ts [--runs 15] [--lines 200000] [--tasks 8]
 *
 *   1. start → first line: POST /agents/{id}/start-task until the first `task.output` event
 *      reaches a WebSocket subscriber (worktree add + spawn + pipe + 50 ms batch + fan-out),
 *      for a Node one-liner and for /bin/echo, beside the floor measured in the same run:
 *      this process spawning the same Node one-liner directly and reading its first line.
 *   2. output throughput: an agent prints --lines lines of 80 characters; one WebSocket
 *      subscriber receives them all as events (the event budget raised to fit); a second
 *      subscriber, filtered to x.*, gets an event published every 20 ms, and its latency
 *      during the flood is compared with the same measurement before it.
 *   3. memory per running task: the server's RSS with --tasks agents hanging, minus idle.
 * Targets (issue 13): start → first line < 150 ms with the worktree provider.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    lines: { type: 'string', default: '200000' },
    tasks: { type: 'string', default: '8' },
  },
});
const RUNS = Number(values.runs);
const LINES = Number(values.lines);
const TASKS = Number(values.tasks);
const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/lookout.js');
if (!fs.existsSync(path.join(root, 'dist/server/lookout.js'))) {
  console.error('bench/tasks: run `npm run build` first (the benchmark measures the built server)');
  process.exit(1);
}

const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

// A workspace that is a git repository with one commit.
const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-tasks-'));
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
};
execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
fs.writeFileSync(path.join(repo, 'README.md'), 'bench\n');
execFileSync('git', ['add', '.'], { cwd: repo });
execFileSync('git', ['commit', '-qm', 'init'], { cwd: repo, env: gitEnv });

const server = spawn(
  process.execPath,
  [
    bin,
    'serve',
    '--workspace',
    repo,
    '--port',
    '0',
    '--log-level',
    'warn',
    '--task-output-event-bytes',
    String(64 * 1024 * 1024),
    '--max-running-tasks',
    String(Math.max(TASKS, 4)),
    '--max-clients',
    '50',
    '--queue-size',
    '100000',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const url = await new Promise<string>((resolve) => {
  let out = '';
  server.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const match = /listening on (http:\/\/\S+)/.exec(out);
    if (match) resolve(match[1]!);
  });
});
const info = JSON.parse(fs.readFileSync(path.join(repo, '.lookout/server.json'), 'utf8')) as {
  token: string;
  port: number;
};
const headers = { 'x-session-token': info.token, 'content-type': 'application/json' };
async function api<T>(method: string, url_: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}/api/v1${url_}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url_}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

interface Sub {
  ws: WebSocket;
  on: (fn: (event: { type: string; data: Record<string, unknown> }) => void) => void;
}
function subscribe(types: string): Promise<Sub> {
  const ws = new WebSocket(`ws://127.0.0.1:${info.port}/ws?types=${types}`, {
    headers: { 'x-session-token': info.token },
  });
  const listeners = new Set<(event: { type: string; data: Record<string, unknown> }) => void>();
  ws.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as {
      type: string;
      sequence_number?: number;
      data: Record<string, unknown>;
    };
    if (message.sequence_number !== undefined) for (const fn of listeners) fn(message);
  });
  return new Promise((resolve) => ws.once('open', () => resolve({ ws, on: (fn) => listeners.add(fn) })));
}
const waitTask = async (id: string) => {
  for (;;) {
    const task = await api<{ status: string }>('GET', `/tasks/${id}`);
    if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(task.status)) return task;
    await new Promise((r) => setTimeout(r, 20));
  }
};

// 1. start → first line
const outputSub = await subscribe('task.output');
let firstLine: ((taskId: string) => void) | undefined;
outputSub.on((event) => firstLine?.(event.data.task_id as string));
async function startToFirstLine(agentId: string): Promise<number> {
  const task = await api<{ id: string }>('POST', '/tasks', { title: 'bench' });
  const seen = new Promise<number>((resolve) => {
    firstLine = (id) => {
      if (id === task.id) resolve(performance.now());
    };
  });
  const started = performance.now();
  await api('POST', `/agents/${agentId}/start-task`, { task_id: task.id });
  const ms = (await seen) - started;
  await waitTask(task.id);
  return ms;
}
const nodeAgent = await api<{ id: string }>('POST', '/agents', {
  name: 'node-hello',
  command: [process.execPath, '-e', "console.log('hello')"],
});
const echoAgent = await api<{ id: string }>('POST', '/agents', { name: 'echo-hello', command: ['/bin/echo', 'hello'] });
const viaNode: number[] = [];
const viaEcho: number[] = [];
const direct: number[] = [];
for (let i = 0; i < RUNS; i++) {
  viaNode.push(await startToFirstLine(nodeAgent.id));
  viaEcho.push(await startToFirstLine(echoAgent.id));
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, ['-e', "console.log('hello')"], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.once('data', () => resolve());
  });
  direct.push(performance.now() - started);
}

const worktreeAdds = (
  await api<{ git_operations: { operation_type: string; duration_ms: number }[] }>('GET', '/git-operations?limit=1000')
).git_operations
  .filter((op) => op.operation_type === 'worktree_add')
  .map((op) => op.duration_ms);

// 2. throughput to one subscriber; latency of another
const ticks = await subscribe('x.*');
const latencies: { during: boolean; ms: number }[] = [];
let flooding = false;
ticks.on((event) => latencies.push({ during: flooding, ms: performance.now() - (event.data.at as number) }));
let ticking = true;
const tick = (async () => {
  while (ticking) {
    await api('POST', '/events', { type: 'x.bench.tick', data: { at: performance.now() } });
    await new Promise((r) => setTimeout(r, 20));
  }
})();
await new Promise((r) => setTimeout(r, 1500)); // baseline ticks
const spewScript = `const line = 'y'.repeat(79) + '\\n'; const block = line.repeat(1000); let left = ${Math.ceil(LINES / 1000)}; const go = () => { while (left-- > 0) if (!process.stdout.write(block)) return process.stdout.once('drain', go); }; go();`;
const spew = await api<{ id: string }>('POST', '/agents', {
  name: 'spew',
  command: [process.execPath, '-e', spewScript],
});
const spewTask = await api<{ id: string }>('POST', '/tasks', { title: 'spew' });
let received = 0;
let lastAt = 0;
const allIn = new Promise<void>((resolve) => {
  outputSub.on((event) => {
    if (event.data.task_id !== spewTask.id) return;
    received += (event.data.lines as string[]).length;
    lastAt = performance.now();
    if (received >= Math.ceil(LINES / 1000) * 1000) resolve();
  });
});
flooding = true;
const floodStart = performance.now();
await api('POST', `/agents/${spew.id}/start-task`, { task_id: spewTask.id });
await allIn;
flooding = false;
const floodMs = lastAt - floodStart;
ticking = false;
await tick;

// 3. memory per running task
await new Promise((r) => setTimeout(r, 300));
const idleRss = rssMb(server.pid!);
const hangIds: string[] = [];
for (let i = 0; i < TASKS; i++) {
  const agent = await api<{ id: string }>('POST', '/agents', {
    name: `hang-${i}`,
    command: [process.execPath, '-e', "console.log('up'); setInterval(() => {}, 1e9)"],
  });
  const task = await api<{ id: string }>('POST', '/tasks', { title: `hang ${i}` });
  await api('POST', `/agents/${agent.id}/start-task`, { task_id: task.id });
  hangIds.push(task.id);
}
for (const id of hangIds) {
  for (;;) {
    const text = await (await fetch(`${url}/api/v1/tasks/${id}/output`, { headers })).text();
    if (text.includes('up')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
}
const busyRss = rssMb(server.pid!);
for (const id of hangIds) await api('POST', `/tasks/${id}/cancel`);
for (const id of hangIds) await waitTask(id);

outputSub.ws.close();
ticks.ws.close();
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
fs.rmSync(repo, { recursive: true, force: true });

const before = latencies.filter((l) => !l.during).map((l) => l.ms);
const during = latencies.filter((l) => l.during).map((l) => l.ms);
const result = {
  start_to_first_line_ms: {
    node_agent: { p50: round(quantile(viaNode, 0.5)), p95: round(quantile(viaNode, 0.95)) },
    echo_agent: { p50: round(quantile(viaEcho, 0.5)), p95: round(quantile(viaEcho, 0.95)) },
    peer_direct_spawn_node: { p50: round(quantile(direct, 0.5)), p95: round(quantile(direct, 0.95)) },
    of_which_git_worktree_add: { p50: round(quantile(worktreeAdds, 0.5)), p95: round(quantile(worktreeAdds, 0.95)) },
    overhead_vs_peer_p50: round(quantile(viaNode, 0.5) - quantile(direct, 0.5)),
  },
  output: {
    lines: received,
    seconds: round(floodMs / 1000, 2),
    lines_per_s: Math.round(received / (floodMs / 1000)),
    other_subscriber_latency_ms: {
      before: { n: before.length, p50: round(quantile(before, 0.5)), p99: round(quantile(before, 0.99)) },
      during: { n: during.length, p50: round(quantile(during, 0.5)), p99: round(quantile(during, 0.99)) },
    },
  },
  memory: {
    idle_rss_mb: round(idleRss),
    rss_with_running_tasks_mb: round(busyRss),
    tasks: TASKS,
    per_task_mb: round((busyRss - idleRss) / TASKS, 2),
  },
};
console.log(JSON.stringify(result, null, 2));
console.table({
  'start→first line, node agent (p50 ms)': result.start_to_first_line_ms.node_agent.p50,
  'start→first line, /bin/echo (p50 ms)': result.start_to_first_line_ms.echo_agent.p50,
  'peer: spawn node directly (p50 ms)': result.start_to_first_line_ms.peer_direct_spawn_node.p50,
  'of which git worktree add (p50 ms)': result.start_to_first_line_ms.of_which_git_worktree_add.p50,
  'output lines/s to a WS subscriber': result.output.lines_per_s,
  'other subscriber p50 before / during (ms)': `${result.output.other_subscriber_latency_ms.before.p50} / ${result.output.other_subscriber_latency_ms.during.p50}`,
  'other subscriber p99 before / during (ms)': `${result.output.other_subscriber_latency_ms.before.p99} / ${result.output.other_subscriber_latency_ms.during.p99}`,
  'server RSS per running task (MB)': result.memory.per_task_mb,
});

/**
 * bench/discussion-render: how long a streamed reply's chunk takes from the agent's stdout
 * to the open Discussions view in Debian's Chromium, against a peer measured in the same
 * run: the same chunk reaching an in-process bus subscriber (what the server adds before
 * any client sees it).
 *
 *   node bench/discussion-render.ts [--replies 5] [--chunks 200] [--json]
 *
 * A `command` agent (test/fixtures/discussion-agent.mjs, mode `stamp`) writes chunks 5 ms
 * apart, each the wall-clock time it was written ("<ms>;"). For every stamp the bench
 * records when it reached (1) the bus subscriber, (2) the page's DOM (a MutationObserver
 * on the transcript: after the frame-batched render committed it) and (3) the next
 * animation frame after that (when it can be painted). Latency = arrival − stamp, both read
 * from the same machine's clock (performance.timeOrigin + now() in every process).
 *
 * Target (issue 14): provider chunk → dashboard p99 < 20 ms on this machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Discussion } from '../src-shared/discussions.ts';
import { createRuntime } from '../src-main/runtime.ts';
import { ensureRendererBuilt, launchChromium, openDashboard } from '../test/e2e/chromium.ts';

const { values } = parseArgs({
  options: {
    replies: { type: 'string', default: '5' },
    chunks: { type: 'string', default: '200' },
    json: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > max) {
    console.error(
      `bench/discussion-render: --${name} must be a whole number from 1 to ${max} (got ${JSON.stringify(raw)})`,
    );
    process.exit(1);
  }
  return n;
}

const REPLIES = positive('replies', values.replies, 100);
const CHUNKS = positive('chunks', values.chunks, 5000);
const AGENT = path.resolve(import.meta.dirname, '../test/fixtures/discussion-agent.mjs');
const now = () => performance.timeOrigin + performance.now();
const STAMP = /(\d+\.\d+);/g;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return { n: 0, p50: null, p99: null, max: null };
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.at(-1)!),
  };
}

/**
 * Installed in the page once the discussion is open: every stamp that appears in the
 * transcript is timed when the DOM has it and again at the next animation frame.
 * (A string: this file is type-checked without the DOM library.)
 */
const PROBE = `(() => {
  const seen = new Set();
  window.__render = { dom: [], frame: [] };
  const now = () => performance.timeOrigin + performance.now();
  const log = document.querySelector('[role=log][aria-label=Transcript]');
  const scan = () => {
    const at = now();
    const fresh = [];
    const last = log.querySelector('[data-message]:last-child .message-text');
    for (const m of (last?.textContent ?? '').matchAll(/(\\d+\\.\\d+);/g)) {
      if (seen.has(m[1])) continue;
      seen.add(m[1]);
      fresh.push(Number(m[1]));
    }
    for (const stamp of fresh) window.__render.dom.push(at - stamp);
    if (fresh.length) requestAnimationFrame(() => {
      const painted = now();
      for (const stamp of fresh) window.__render.frame.push(painted - stamp);
    });
  };
  new MutationObserver(scan).observe(log, { childList: true, subtree: true, characterData: true });
})()`;

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-render-'));
await ensureRendererBuilt();
const runtime = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
const browser = await launchChromium();
try {
  const headers = { 'x-session-token': runtime.token, 'content-type': 'application/json' };
  const post = async <T>(url: string, body: unknown): Promise<T> => {
    const response = await fetch(`${runtime.url}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  };
  const agent = await post<{ id: string }>('/api/v1/agents', {
    name: 'stamper',
    command: [process.execPath, AGENT, 'stamp', String(CHUNKS)],
  });
  // The person opens (turn 1); the one participant then speaks REPLIES times in a row.
  const discussion = await post<Discussion>('/api/v1/discussions', {
    topic: 'Latency',
    participants: [agent.id],
    max_turns: REPLIES + 1,
    start: false,
  });

  const bus: number[] = [];
  runtime.bus.listen(['discussion.message_delta'], (event) => {
    const at = now();
    for (const m of String(event.data.text).matchAll(STAMP)) bus.push(at - Number(m[1]));
  });

  const { page } = await openDashboard(browser, runtime, { viewport: { width: 1280, height: 900 } });
  await page.getByRole('button', { name: 'Discussions', exact: true }).click();
  await page.getByRole('button', { name: 'Latency' }).click();
  await page.getByRole('log', { name: 'Transcript' }).waitFor();
  await page.evaluate(PROBE);

  const started = performance.now();
  await post(`/api/v1/discussions/${discussion.id}/messages`, { content: 'Go.' });
  await page
    .getByTestId('discussion-status')
    .filter({ hasText: 'completed' })
    .waitFor({ timeout: 60_000 + REPLIES * CHUNKS * 20 });
  // The last frame callbacks.
  await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
  const elapsedS = (performance.now() - started) / 1000;
  const rendered = (await page.evaluate('window.__render')) as { dom: number[]; frame: number[] };

  const peer = stats(bus);
  const dom = stats(rendered.dom);
  const frame = stats(rendered.frame);
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round(a / b));
  const result = {
    bench: 'discussion-render',
    chromium: browser.version(),
    cpus: os.cpus().length,
    // Other work on the machine moves these figures: read them with the load beside them.
    load_average_1m: round(os.loadavg()[0]!),
    replies: REPLIES,
    chunks_per_reply: CHUNKS,
    chunks_written: REPLIES * CHUNKS,
    elapsed_s: round(elapsedS),
    bus_subscriber_ms: peer,
    page_dom_ms: dom,
    page_next_frame_ms: frame,
    ratio_p99_page_dom_vs_bus: ratio(dom.p99, peer.p99),
    targets: { page_p99_under_20ms: dom.p99 !== null && dom.p99 < 20 },
  };
  console.log(JSON.stringify(result, null, values.json ? 0 : 2));
  if (!values.json) {
    console.log('\n  chunk → …                          |     n |  p50 ms |  p99 ms |  max ms');
    console.log('  -----------------------------------+-------+---------+---------+--------');
    for (const [label, s] of [
      ['bus subscriber (in-process peer)', peer],
      ['dashboard DOM (Chromium)', dom],
      ['dashboard next frame (paintable)', frame],
    ] as const)
      console.log(
        `  ${label.padEnd(34)} | ${String(s.n).padStart(5)} | ${String(s.p50).padStart(7)} | ${String(s.p99).padStart(7)} | ${String(s.max).padStart(6)}`,
      );
  }
} finally {
  await browser.close();
  await runtime.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
}

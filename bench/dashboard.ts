/**
 * bench/dashboard: the dashboard in Debian's Chromium while a real server publishes
 * events at a steady rate (HTTP POST → store → WebSocket → page).
 *
 *   node bench/dashboard.ts [--seconds 60] [--rate 1000] [--interval 10] [--json]
 *
 * Every interval it samples, in the page: frames per second (requestAnimationFrame
 * callbacks), long-task time per second (PerformanceObserver 'longtask'), DOM nodes in
 * the document, and the JS heap (CDP Performance.getMetrics) as found and after a forced
 * garbage collection (what is retained; the GC's own pause is kept out of the next
 * interval's figures). At the end it checks that every stored event is reachable in the
 * page: held (virtualized, not dropped), or — past the page's 60,000-event window —
 * behind a notice that loads it.
 *
 * Targets (issue 6): > 50 fps, long tasks < 100 ms per second, < 3,000 DOM nodes,
 * JS heap < 100 MB and flat after the first minute, every event reachable.
 *
 * The page is the built dashboard (dist/renderer; built first when missing or stale).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRuntime } from '../src-main/runtime.ts';
import { ensureRendererBuilt, launchChromium, openDashboard } from '../test/e2e/chromium.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    console.error(`bench/dashboard: --${name} must be a number from 1 to ${max} (got ${JSON.stringify(raw)})`);
    process.exit(1);
  }
  return n;
}

const SECONDS = positive('seconds', values.seconds, 3600);
const RATE = positive('rate', values.rate, 20_000);
const INTERVAL = Math.min(positive('interval', values.interval, 600), SECONDS);
const TICK_MS = 10;

/** Installed before the page's own scripts: counts frames and long tasks from the start. */
const PROBE = `
window.__bench = { frames: 0, longTasks: 0, longTaskMs: 0, maxLongTaskMs: 0 };
(function tick() { window.__bench.frames++; requestAnimationFrame(tick); })();
try {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      window.__bench.longTasks++;
      window.__bench.longTaskMs += entry.duration;
      window.__bench.maxLongTaskMs = Math.max(window.__bench.maxLongTaskMs, entry.duration);
    }
  }).observe({ type: 'longtask', buffered: true });
} catch (e) { window.__bench.noLongTask = String(e); }
`;

/** Evaluated in the page (a string: this file is type-checked without the DOM library). */
const READ_PAGE = `(() => {
  const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  let nodes = 0;
  while (walker.nextNode()) nodes++;
  const log = document.querySelector('[role=log]');
  return {
    ...window.__bench,
    nodes,
    elements: document.getElementsByTagName('*').length,
    held: Number(log?.getAttribute('data-event-count') ?? -1),
    unloaded: Number(log?.getAttribute('data-unloaded-count') ?? 0),
    visible: Number(log?.getAttribute('data-visible-count') ?? -1),
    connection: document.querySelector('[data-testid=connection-state]')?.textContent ?? '',
  };
})()`;

interface PageReading {
  frames: number;
  longTasks: number;
  longTaskMs: number;
  maxLongTaskMs: number;
  nodes: number;
  elements: number;
  held: number;
  unloaded: number;
  visible: number;
  connection: string;
}

const TYPES: { type: string; data: (i: number) => Record<string, unknown> }[] = [
  {
    type: 'chat.message_sent',
    data: (i) => ({
      agent: 'claude',
      conversation_id: 'c1',
      text: `Refactoring module ${i % 97}: extracting the parser and adding tests for edge cases`,
    }),
  },
  {
    type: 'chat.message_received',
    data: (i) => ({ agent: 'claude', conversation_id: 'c1', text: `Looks good, continue with step ${i % 13}` }),
  },
  {
    type: 'workflow.step_completed',
    data: (i) => ({
      workflow_id: `wf-${i % 7}`,
      name: 'release',
      step: `step-${i % 11}`,
      duration_ms: (i * 37) % 5000,
    }),
  },
  { type: 'file.modified', data: (i) => ({ path: `src/module-${i % 97}/index.ts` }) },
  {
    type: 'git.commit_created',
    data: (i) => ({
      sha: (0xabc0000 + i).toString(16).padEnd(12, '0'),
      message: `Fix ${i % 50}: handle empty input`,
      author: 'agent',
    }),
  },
  { type: 'x.bench.tick', data: (i) => ({ i, payload: 'x'.repeat(40) }) },
];

function makeEvent(i: number) {
  const kind = TYPES[i % TYPES.length]!;
  return {
    type: kind.type,
    data: kind.data(i),
    metadata: { agent: i % 3 === 0 ? 'planner' : 'coder', run_id: 'bench' },
  };
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

await ensureRendererBuilt();
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-dashboard-'));
const runtime = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
const browser = await launchChromium();
let exitCode = 0;
try {
  const { page, context } = await openDashboard(browser, runtime, {
    initScript: PROBE,
    viewport: { width: 1280, height: 800 },
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await cdp.send('HeapProfiler.enable');
  const heapMb = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const used = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
    return used / 1024 / 1024;
  };
  const read = async () => (await page.evaluate(READ_PAGE)) as PageReading;

  // Publisher: a batch every tick, sized so the rate holds on average however late a tick runs.
  let published = 0;
  let publishing = true;
  let postErrors = 0;
  const started = performance.now();
  const publisher = (async () => {
    const endAt = started + SECONDS * 1000;
    while (publishing && performance.now() < endAt) {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE) - published;
      if (due > 0) {
        const count = Math.min(due, 1000);
        const events = Array.from({ length: count }, (_, k) => makeEvent(published + k));
        const response = await fetch(`${runtime.url}/api/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-session-token': runtime.token },
          body: JSON.stringify({ events }),
        });
        if (response.status === 201) published += count;
        else postErrors++;
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  })();

  const samples: Record<string, number>[] = [];
  let previous = await read();
  let previousAt = performance.now();
  for (let elapsed = INTERVAL; elapsed <= SECONDS + 1e-9; elapsed += INTERVAL) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + elapsed * 1000 - performance.now())));
    const now = performance.now();
    const reading = await read();
    const dt = (now - previousAt) / 1000;
    const heapFound = round(await heapMb());
    await cdp.send('HeapProfiler.collectGarbage');
    const heapRetained = round(await heapMb());
    samples.push({
      t_s: round((now - started) / 1000, 0),
      fps: round((reading.frames - previous.frames) / dt),
      long_task_ms_per_s: round((reading.longTaskMs - previous.longTaskMs) / dt),
      long_tasks: reading.longTasks - previous.longTasks,
      dom_nodes: reading.nodes,
      dom_elements: reading.elements,
      heap_mb: heapFound,
      heap_retained_mb: heapRetained,
      published,
      held: reading.held,
      behind_notice: reading.unloaded,
    });
    if (!values.json) {
      const s = samples[samples.length - 1]!;
      console.error(
        `t=${s.t_s}s fps=${s.fps} longtask=${s.long_task_ms_per_s}ms/s dom=${s.dom_nodes} heap=${s.heap_mb}MB retained=${s.heap_retained_mb}MB held=${s.held}+${s.behind_notice}/${published}`,
      );
    }
    // The next interval starts after the forced GC, so its pause is not counted against the page.
    previous = await read();
    previousAt = performance.now();
  }
  publishing = false;
  await publisher;

  // Every stored event must reach the page: wait for the stream to drain.
  const stored = runtime.bus.log.lastSequenceNumber;
  const drainStarted = performance.now();
  let final = await read();
  while (final.held + final.unloaded < stored && performance.now() - drainStarted < 15_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    final = await read();
  }
  await cdp.send('HeapProfiler.collectGarbage');
  const heapAfterGc = round(await heapMb());

  const fpsMin = Math.min(...samples.map((s) => s.fps!));
  const fpsMean = round(samples.reduce((a, s) => a + s.fps!, 0) / samples.length);
  const longTaskMax = Math.max(...samples.map((s) => s.long_task_ms_per_s!));
  const domMax = Math.max(...samples.map((s) => s.dom_nodes!));
  const heapMax = Math.max(...samples.map((s) => s.heap_mb!));
  const retainedMax = Math.max(...samples.map((s) => s.heap_retained_mb!));
  const afterMinute = samples.filter((s) => s.t_s! >= 60);
  // Flat: what is retained stops growing once the page holds its window of events.
  const heapGrowthAfterMinute =
    afterMinute.length >= 2
      ? round(afterMinute[afterMinute.length - 1]!.heap_retained_mb! - afterMinute[0]!.heap_retained_mb!)
      : null;

  const result = {
    bench: 'dashboard',
    chromium: browser.version(),
    rate_per_s: RATE,
    seconds: SECONDS,
    published,
    post_errors: postErrors,
    stored_events: stored,
    held_by_page: final.held,
    behind_load_notice: final.unloaded,
    drain_ms: Math.round(performance.now() - drainStarted),
    connection: final.connection,
    samples,
    summary: {
      fps_min: fpsMin,
      fps_mean: fpsMean,
      long_task_ms_per_s_max: longTaskMax,
      max_long_task_ms: round(final.maxLongTaskMs),
      dom_nodes_max: domMax,
      heap_mb_max: heapMax,
      heap_retained_mb_max: retainedMax,
      heap_mb_after_gc: heapAfterGc,
      heap_retained_growth_after_first_minute_mb: heapGrowthAfterMinute,
    },
    targets: {
      fps_over_50: fpsMin > 50,
      long_tasks_under_100ms_per_s: longTaskMax < 100,
      dom_under_3000: domMax < 3000,
      heap_under_100mb: heapMax < 100,
      every_event_reachable: final.held + final.unloaded === stored,
    },
  };

  console.log(JSON.stringify(result, null, values.json ? 0 : 2));
  if (!values.json) {
    console.log(
      '\n  t (s) |   fps | long tasks ms/s | DOM nodes | heap MB | retained MB |  held + behind notice / published',
    );
    console.log(
      '  ------+-------+-----------------+-----------+---------+-------------+-----------------------------------',
    );
    for (const s of samples) {
      console.log(
        `  ${String(s.t_s).padStart(5)} | ${String(s.fps).padStart(5)} | ${String(s.long_task_ms_per_s).padStart(15)} | ${String(s.dom_nodes).padStart(9)} | ${String(s.heap_mb).padStart(7)} | ${String(s.heap_retained_mb).padStart(11)} | ${`${s.held} + ${s.behind_notice} / ${s.published}`.padStart(33)}`,
      );
    }
    console.log(
      `\n  targets: ${Object.entries(result.targets)
        .map(([k, v]) => `${k} ${v ? 'ok' : 'MISSED'}`)
        .join(', ')}`,
    );
  }
  if (Object.values(result.targets).some((ok) => !ok)) exitCode = 1;
} finally {
  await browser.close();
  await runtime.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
}
process.exit(exitCode);

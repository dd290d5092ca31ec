/**
 * Regenerates the dashboard pictures in docs/screenshots/ (linked from the README):
 * the main view, read-only mode and the detail drawer, in the light and dark themes,
 * against a real server filled with a realistic session of agent activity.
 *
 *   node scripts/screenshots.ts [--out docs/screenshots] [--warmup 20]
 *
 * Uses Debian's Chromium (/usr/bin/chromium, or LOOKOUT_CHROMIUM) and the built dashboard
 * (built first when missing or stale). Takes about half a minute: the activity is
 * published live so the sparkline has a history to draw.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { createRuntime, type Runtime } from '../src-main/runtime.ts';
import { ensureRendererBuilt, launchChromium, openDashboard, ROOT } from '../test/e2e/chromium.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(ROOT, 'docs/screenshots') },
    warmup: { type: 'string', default: '20' },
  },
});
const OUT = path.resolve(values.out);
const WARMUP_S = Math.max(0, Number(values.warmup));

type EventInput = { type: string; data: Record<string, unknown>; metadata?: Record<string, unknown> };

async function call(runtime: Runtime, method: string, route: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${runtime.url}${route}`, {
    method,
    headers: { 'x-session-token': runtime.token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

/** Whole hours from now (plus minutes), on the minute. */
const at = (hours: number, minutes = 0): string => {
  const d = new Date(Date.now() + (hours * 60 + minutes) * 60_000);
  d.setSeconds(0, 0);
  return d.toISOString();
};
const day = (days: number): string => {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return d.toISOString().slice(0, 10);
};

async function seedState(runtime: Runtime): Promise<void> {
  await call(runtime, 'PUT', '/api/v1/state/priorities', [
    { id: 'P1', title: 'Ship the activity dashboard', status: 'approved', rank: 1, owner: 'coder' },
    { id: 'P2', title: 'Cut release 0.4 once CI is green', status: 'open', rank: 2, owner: 'release-bot' },
    { id: 'P3', title: 'Review the planner’s migration plan', status: 'open', rank: 3, owner: 'you' },
    { id: 'P4', title: 'Flaky e2e test in checkout flow', status: 'open', rank: 4 },
    { id: 'P5', title: 'Rotate the staging API keys', status: 'done', rank: 5 },
  ]);
  await call(runtime, 'PUT', '/api/v1/state/commitments', {
    owe: [
      { id: 'C1', text: 'Send the architecture notes', counterparty: 'Dana', due: day(-1) },
      { id: 'C2', text: 'Pair on the flaky test', counterparty: 'Sam', due: day(1) },
    ],
    owed: [{ id: 'C3', text: 'Security review of the lock handover', counterparty: 'Priya', due: day(3) }],
  });
  await call(runtime, 'PUT', '/api/v1/state/calendar', [
    { id: 'standup', title: 'Agent stand-up', start: at(0, -10), end: at(0, 20), kind: 'ceremony' },
    { id: 'review', title: 'Sprint review', start: at(3), end: at(4), kind: 'meeting' },
    { id: 'release', title: 'Release 0.4 freeze', start: at(26), kind: 'deadline' },
    { id: 'retro', title: 'Retrospective', start: at(50), end: at(51), kind: 'ceremony' },
  ]);
  await call(runtime, 'POST', '/api/v1/commands', { command: 'brief P2' });
  await call(runtime, 'POST', '/api/v1/system/status', {
    status: 'COLLECTING',
    progress: 64,
    message: 'git: scanning 3 branches',
  });
}

const AGENTS = ['planner', 'coder', 'reviewer', 'release-bot'];
const FILES = [
  'src/checkout/cart.ts',
  'src/checkout/payment.ts',
  'src/api/orders.ts',
  'test/e2e/checkout.test.ts',
  'docs/architecture.md',
];
const SAYINGS = [
  'Splitting the payment step so the retry logic can be tested on its own.',
  'The flaky test waits on a timer; switching it to an explicit event.',
  'CI is green on main; preparing the 0.4 changelog.',
  'Found two call sites that still use the old orders API.',
  'Plan: migrate the cart first, then payments, then remove the shim.',
  'Review: the lock handover looks right; one naming nit in session.ts.',
];

/** One plausible event for step i of the story. */
function storyEvent(i: number): EventInput {
  const agent = AGENTS[i % AGENTS.length]!;
  const metadata = { agent, run_id: 'demo' };
  switch (i % 12) {
    case 0:
      return {
        type: 'workflow.started',
        data: { workflow_id: `wf-${100 + (i % 9)}`, name: 'checkout refactor' },
        metadata,
      };
    case 1:
    case 7:
      return {
        type: 'chat.message_sent',
        data: { agent, conversation_id: 'c-42', text: SAYINGS[i % SAYINGS.length]! },
        metadata,
      };
    case 2:
      return { type: 'chat.thinking_started', data: { agent }, metadata };
    case 3:
    case 9:
      return { type: 'file.modified', data: { path: FILES[i % FILES.length]! }, metadata };
    case 4:
      return {
        type: 'workflow.step_completed',
        data: {
          workflow_id: `wf-${100 + (i % 9)}`,
          name: 'checkout refactor',
          step: ['lint', 'unit tests', 'build', 'e2e'][i % 4]!,
          duration_ms: 800 + ((i * 377) % 9000),
        },
        metadata,
      };
    case 5:
      return {
        type: 'git.commit_created',
        data: {
          sha: (0x3fa9c10 + i * 7919).toString(16).padEnd(40, '0').slice(0, 40),
          message: `checkout: ${['extract payment step', 'retry declined cards once', 'remove the orders shim', 'fix timer in e2e'][i % 4]}`,
          author: agent,
          branch: 'refactor/checkout',
        },
        metadata,
      };
    case 6:
      return {
        type: 'chat.message_received',
        data: { agent: 'you', conversation_id: 'c-42', text: 'Sounds good, keep the old endpoint until Friday.' },
        metadata: { agent: 'you' },
      };
    case 8:
      return {
        type: 'kanban.card_moved',
        data: {
          card_id: `K-${20 + (i % 5)}`,
          title: ['Payment retries', 'Orders API v2', 'Flaky e2e'][i % 3]!,
          from: 'In progress',
          to: 'Review',
        },
        metadata,
      };
    case 10:
      return {
        type: 'state.story_transitioned',
        data: { story_id: `S-${310 + (i % 6)}`, from: 'in_progress', to: 'done' },
        metadata,
      };
    default:
      return i % 23 === 11
        ? {
            type: 'workflow.failed',
            data: {
              workflow_id: 'wf-104',
              name: 'e2e',
              step: 'checkout.test.ts',
              error: 'timed out after 30000 ms waiting for #pay',
            },
            metadata,
          }
        : { type: 'x.sandbox.heartbeat', data: { sandbox: `sbx-${i % 3}`, cpu: (i * 13) % 100 }, metadata };
  }
}

/** Publishes the story at a rate that rises and falls, until stopped. */
function startStory(runtime: Runtime): { stop: () => Promise<void> } {
  let running = true;
  let i = 0;
  const started = Date.now();
  const done = (async () => {
    while (running) {
      const t = (Date.now() - started) / 1000;
      const perSecond = Math.round(18 + 14 * Math.sin(t / 2.2) + 10 * Math.sin(t / 0.9) ** 2);
      const batch = Array.from({ length: Math.max(1, Math.round(perSecond / 4)) }, () => storyEvent(i++));
      await call(runtime, 'POST', '/api/v1/events', { events: batch });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function settle(page: Page): Promise<void> {
  // Let a frame or two land and the per-second figures tick over.
  await page.waitForTimeout(1200);
}

await ensureRendererBuilt();
fs.mkdirSync(OUT, { recursive: true });
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-screenshots-'));
fs.mkdirSync(path.join(workspace, 'checkout-service'));
const runtime = await createRuntime({ workspace: path.join(workspace, 'checkout-service'), port: 0, logLevel: 'warn' });
const browser = await launchChromium();
const written: string[] = [];
try {
  await seedState(runtime);
  const story = startStory(runtime);
  console.error(`publishing for ${WARMUP_S} s so the sparkline has a history…`);
  await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000));

  for (const scheme of ['light', 'dark'] as const) {
    const shoot = async (page: Page, name: string) => {
      const file = path.join(OUT, `${name}-${scheme}.png`);
      await page.screenshot({ path: file });
      written.push(path.relative(ROOT, file));
    };

    const { page, context } = await openDashboard(browser, runtime, {
      colorScheme: scheme,
      viewport: { width: 1280, height: 800 },
    });
    await page.locator('.side .item-title').getByText('Cut release 0.4').waitFor();
    await settle(page);
    await shoot(page, 'dashboard');

    // The detail drawer, on a row well inside the viewport: the last rendered rows are
    // overscan below the fold, and clicking one would scroll the log off the live tail.
    const rows = page.getByRole('log').locator('.row.event');
    await rows.nth(Math.max(0, (await rows.count()) - 12)).click();
    await page.getByRole('dialog').waitFor();
    await page.waitForTimeout(300);
    await shoot(page, 'detail');
    await page.keyboard.press('Escape');

    // Read-only: the real CLI holds the workspace.
    const holder = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin/lookout.js'),
        'run',
        '--workspace',
        runtime.config.workspace,
        '--',
        process.execPath,
        '-e',
        'process.stdin.resume()',
      ],
      { stdio: ['pipe', 'ignore', 'inherit'] },
    );
    await page
      .getByRole('status')
      .filter({ hasText: /^Read-only — CLI pid/ })
      .waitFor({ timeout: 15_000 });
    await page.getByRole('combobox', { name: /Command/ }).hover();
    await settle(page);
    await shoot(page, 'read-only');
    holder.stdin.end();
    await new Promise((resolve) => holder.once('exit', resolve));
    await page
      .getByRole('status')
      .filter({ hasText: /^Read-only/ })
      .waitFor({ state: 'detached', timeout: 15_000 });
    await context.close();

    const wide = await openDashboard(browser, runtime, {
      colorScheme: scheme,
      viewport: { width: 1920, height: 1080 },
    });
    await wide.page.locator('.side .item-title').getByText('Cut release 0.4').waitFor();
    const command = wide.page.getByRole('combobox', { name: /Command/ });
    await command.click();
    await command.pressSequentially('approve ');
    await settle(wide.page);
    await shoot(wide.page, 'dashboard-1080p');
    await wide.context.close();
  }
  await story.stop();
} finally {
  await browser.close();
  await runtime.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
}
for (const file of written) console.log(file);

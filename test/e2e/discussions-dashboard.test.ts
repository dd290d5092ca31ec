import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Discussion, DiscussionList, MessagePage } from '../../src-shared/discussions.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { addUser } from '../helpers/access.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { call } from '../helpers/tasks.ts';
import { useChromium } from './use-chromium.ts';

/**
 * The Discussions view end to end: agents from the registry (real child processes), a
 * discussion started from the form, a message with an @-mention typed through the
 * composer's completion, a reply seen half-streamed and then whole, pause and resume.
 */

const chromium = useChromium();
const SPEAKER = path.resolve(import.meta.dirname, '../fixtures/dashboard-speaker.mjs');

const agent = (runtime: Runtime, name: string, mode: string, arg: string) =>
  call<Agent>(runtime, 'POST', '/api/v1/agents', { name, command: [process.execPath, SPEAKER, mode, arg] }, 201);

const transcript = (page: Page) => page.getByRole('log', { name: 'Transcript' });
const messages = (page: Page) => transcript(page).locator('[data-message]');
const composer = (page: Page) => page.getByRole('combobox', { name: 'Message' });
const mentionMenu = (page: Page) => page.getByRole('listbox', { name: 'Participants to mention' });

describe('the Discussions view', () => {
  it('starts a discussion from the form, posts an @-mention through completion, streams the reply, pauses and resumes', async () => {
    const runtime = await startRuntime();
    const gate = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-gate-')), 'open');
    const alice = await agent(runtime, 'alice', 'gated', gate);
    await agent(runtime, 'bob', 'say', 'bob here.');
    await call(
      runtime,
      'POST',
      '/api/v1/knowledge/documents',
      { title: 'Offline notes', text: '# Offline\n\nQueue writes locally and replay them when the network is back.\n' },
      201,
    );
    const { page, errors } = await chromium.open(runtime);
    await page.getByRole('button', { name: 'Discussions', exact: true }).click();
    const list = page.getByRole('region', { name: 'Discussions' });
    await list.getByText('No discussions yet').waitFor();

    // The form: participants in the order checked, the mention strategy, no opening turn.
    await list.getByRole('button', { name: 'New discussion' }).click();
    const dialog = page.getByRole('dialog', { name: 'New discussion' });
    await dialog.getByRole('button', { name: 'Start the discussion' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'Give the discussion a topic.' }).waitFor();
    await dialog.getByLabel('Topic', { exact: true }).fill('Offline mode');
    await dialog.getByRole('checkbox', { name: /alice/ }).check();
    await dialog.getByRole('checkbox', { name: /bob/ }).check();
    await dialog.getByLabel('Strategy').selectOption('mention');
    await dialog.getByLabel('Max turns').fill('3');
    await dialog.getByRole('checkbox', { name: /opens on the topic right away/ }).uncheck();
    await dialog.getByRole('checkbox', { name: 'Offline notes' }).check();
    await dialog.getByRole('button', { name: 'Start the discussion' }).click();
    await dialog.waitFor({ state: 'detached' });
    const { discussions } = await call<DiscussionList>(runtime, 'GET', '/api/v1/discussions', undefined, 200);
    expect(
      discussions.map((d) => [d.topic, d.strategy, d.max_turns, d.participant_details.map((p) => p.name)]),
    ).toEqual([['Offline mode', 'mention', 3, ['alice', 'bob']]]);
    const id = discussions[0]!.id;
    const detail = page.getByRole('region', { name: 'Discussion: Offline mode' });
    await detail.waitFor();
    await transcript(page).getByText('No messages yet').waitFor();
    const participants = page.getByRole('region', { name: 'Participants' });
    await participants.getByText('your turn').waitFor();
    await page.getByRole('region', { name: 'Attached documents' }).getByText('Offline notes').waitFor();

    // @-completion: both names on "@", arrows move, Escape closes; "@al" + Tab completes.
    const box = composer(page);
    await box.click();
    await box.pressSequentially('@');
    const options = mentionMenu(page).getByRole('option');
    await expect.poll(() => options.allTextContents()).toEqual(['@alice', '@bob']);
    expect(await options.nth(0).getAttribute('aria-selected')).toBe('true');
    await box.press('ArrowDown');
    expect(await options.nth(1).getAttribute('aria-selected')).toBe('true');
    await box.press('ArrowDown');
    expect(await options.nth(0).getAttribute('aria-selected')).toBe('true');
    await box.press('Escape');
    await mentionMenu(page).waitFor({ state: 'hidden' });
    expect(await box.getAttribute('aria-expanded')).toBe('false');
    await box.press('Backspace');
    await box.pressSequentially('@al');
    await expect.poll(() => options.allTextContents()).toEqual(['@alice']);
    await box.press('Tab');
    await expect.poll(() => box.inputValue()).toBe('@alice ');
    await box.pressSequentially('what do you think?');
    await box.press('Enter');
    await expect.poll(() => box.inputValue()).toBe('');

    // The person's message, then alice's reply half-streamed: the first part, not the rest.
    await messages(page).first().getByText('what do you think?').waitFor();
    expect(await messages(page).first().locator('.mention').textContent()).toBe('@alice');
    const reply = messages(page).nth(1);
    await reply.getByText('alice on “Offline mode”: part one.').waitFor();
    expect(await reply.getAttribute('data-status')).toBe('streaming');
    expect(await reply.textContent()).not.toContain('Part two');
    await participants.locator(`[data-agent="${alice.id}"][aria-current="step"]`).waitFor();

    // Pause while it streams: the reply stops (failed, with why), posting says it is paused.
    await detail.getByRole('button', { name: 'Pause' }).click();
    await detail.getByTestId('discussion-status').filter({ hasText: 'paused' }).waitFor();
    await expect.poll(() => reply.getAttribute('data-status')).toBe('failed');
    expect(await reply.locator('.message-error').textContent()).not.toBe('');
    expect(await box.isDisabled()).toBe(true);
    expect(await box.getAttribute('placeholder')).toBe('Paused: resume the discussion to post');

    // Resume: alice takes her turn again and, with the gate open, finishes.
    fs.writeFileSync(gate, '');
    await detail.getByRole('button', { name: 'Resume' }).click();
    const again = messages(page).nth(2);
    await again.getByText('alice on “Offline mode”: part one. Part two, done.').waitFor();
    await expect.poll(() => again.getAttribute('data-status')).toBe('complete');
    // Three turns (the person, the interrupted reply, the finished one): completed.
    await detail.getByTestId('discussion-status').filter({ hasText: 'completed' }).waitFor();
    await detail.getByText(/max_turns \(3\) reached/).waitFor();
    expect(await box.getAttribute('placeholder')).toBe('Completed: start a new discussion to continue');
    expect(await detail.getByRole('button', { name: 'Pause' }).count()).toBe(0);

    // The reply cites the attached document: a click shows the passage, marked in the document.
    await again.getByRole('button', { name: '[1] Offline notes' }).click();
    const reader = page.getByRole('region', { name: 'Document' });
    await reader
      .getByRole('figure', { name: 'Passage' })
      .getByText(/Queue writes locally/)
      .waitFor();
    expect(await reader.locator('mark.passage').textContent()).toContain('replay them when the network is back.');
    await reader.getByRole('button', { name: 'Close' }).click();

    // What the page shows is what the server stored, once each (no duplicate after the stream).
    const stored = await call<MessagePage>(runtime, 'GET', `/api/v1/discussions/${id}/messages`, undefined, 200);
    expect(stored.messages.map((m) => [m.author_name, m.status, m.content])).toEqual([
      ['you', 'complete', '@alice what do you think?'],
      ['alice', 'failed', 'alice on “Offline mode”: part one. '],
      ['alice', 'complete', 'alice on “Offline mode”: part one. Part two, done.'],
    ]);
    expect(await messages(page).count()).toBe(3);
    expect(await messages(page).nth(2).locator('.message-text').textContent()).toBe(stored.messages[2]!.content);
    expect(errors).toEqual([]);
  }, 60_000);

  it('a reload mid-reply shows the reply from its first chunk, without doubling what streamed before', async () => {
    const runtime = await startRuntime();
    const gate = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-gate-')), 'open');
    const alice = await agent(runtime, 'alice', 'gated', gate);
    const discussion = await call<Discussion>(
      runtime,
      'POST',
      '/api/v1/discussions',
      { topic: 'Reloads', participants: [alice.id], max_turns: 1 },
      201,
    );
    const { page, errors } = await chromium.open(runtime);
    await page.getByRole('button', { name: 'Discussions', exact: true }).click();
    await page.getByRole('button', { name: 'Reloads' }).click();
    const reply = messages(page).first();
    await reply.getByText('alice on “Reloads”: part one.').waitFor();
    await page.reload();
    await page
      .getByTestId('connection-state')
      .filter({ hasText: /^Live$/ })
      .waitFor();
    await page.getByRole('button', { name: 'Reloads' }).click();
    await reply.getByText('alice on “Reloads”: part one.').waitFor();
    fs.writeFileSync(gate, '');
    await reply.getByText('alice on “Reloads”: part one. Part two, done.', { exact: true }).waitFor();
    expect(await messages(page).count()).toBe(1);
    expect(discussion.id).toBeTruthy();
    expect(errors).toEqual([]);
  }, 60_000);

  it('a viewer reads discussions but sees every write control disabled, with the reason', async () => {
    const runtime = await startRuntime();
    // The gate never opens: alice stays mid-reply, so pause and complete are on offer.
    const gate = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-gate-')), 'never');
    const alice = await agent(runtime, 'alice', 'gated', gate);
    await call<Discussion>(
      runtime,
      'POST',
      '/api/v1/discussions',
      { topic: 'Read only', participants: [alice.id], max_turns: 2 },
      201,
    );
    await addUser(runtime, 'vera', 'viewer');
    const page = await (await chromium.newContext()).newPage();
    {
      await page.goto(`${runtime.url}/#discussions`);
      const form = page.getByRole('region', { name: 'Sign in to Lookout' });
      await form.getByLabel('Name', { exact: true }).fill('vera');
      await form.getByLabel('Password', { exact: true }).fill('correct horse battery');
      await form.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page
        .getByTestId('connection-state')
        .filter({ hasText: /^Live$/ })
        .waitFor();
      const reason = 'Your role (viewer) may not do this: it needs operator. Ask an admin.';
      const create = page.getByRole('button', { name: 'New discussion' });
      await expect.poll(() => create.getAttribute('title')).toBe(reason);
      expect(await create.isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Read only' }).click();
      await messages(page).first().getByText('alice on “Read only”: part one.').waitFor();
      expect(await composer(page).isDisabled()).toBe(true);
      expect(await composer(page).getAttribute('placeholder')).toBe(reason);
      for (const name of ['Pause', 'Complete']) {
        const button = page.getByRole('button', { name, exact: true });
        expect(await button.isDisabled()).toBe(true);
        expect(await button.getAttribute('title')).toBe(reason);
      }
    }
  }, 60_000);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { KnowledgeDocumentList } from '../../src-shared/knowledge.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { call } from '../helpers/tasks.ts';
import { useChromium } from './use-chromium.ts';

/** The Knowledge view end to end: add (typed and from a file), search with marked snippets, read, delete. */

const chromium = useChromium();

const documents = async (runtime: Runtime) =>
  (await call<KnowledgeDocumentList>(runtime, 'GET', '/api/v1/knowledge/documents', undefined, 200)).documents;

async function openKnowledge(page: Page) {
  await page.getByRole('button', { name: 'Knowledge', exact: true }).click();
  await page.getByRole('region', { name: 'Documents' }).waitFor();
  return {
    docs: page.getByRole('region', { name: 'Documents' }),
    search: page.getByRole('region', { name: 'Search knowledge' }),
  };
}

describe('the Knowledge view', () => {
  it('adds documents (typed, and from a .md file), finds them with marked snippets, opens one, deletes one', async () => {
    const runtime = await startRuntime();
    const { page, errors } = await chromium.open(runtime);
    const { docs, search } = await openKnowledge(page);
    await docs.getByText('No documents yet').waitFor();

    // Typed in the form; the text holds markup that must stay text.
    await docs.getByLabel('Document title').fill('Retry policy');
    await docs
      .getByLabel('Document text')
      .fill('# Retries\n\nClients retry with exponential backoff and jitter. <img src=x onerror="window.pwned=1">');
    await docs.getByLabel('Document tags').fill('ops net');
    await docs.getByRole('button', { name: 'Add', exact: true }).click();
    await docs.getByRole('status').filter({ hasText: 'Added “Retry policy”' }).waitFor();
    await docs.locator('[data-document]').filter({ hasText: 'Retry policy' }).waitFor();

    // From a file: the title comes from its name, the source is the file.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-knowledge-'));
    const file = path.join(dir, 'deploy-guide.md');
    fs.writeFileSync(file, '# Deploy\n\nRoll out in waves; watch the error budget and roll back on alerts.\n');
    await docs.getByLabel('Document file').setInputFiles(file);
    await expect.poll(() => docs.getByLabel('Document title').inputValue()).toBe('deploy-guide');
    await docs.getByText('from deploy-guide.md').waitFor();
    await docs.getByRole('button', { name: 'Add', exact: true }).click();
    await docs.locator('[data-document]').filter({ hasText: 'deploy-guide' }).waitFor();
    // The same file again (edited): the page asks before it replaces what came from it.
    fs.writeFileSync(
      file,
      '# Deploy\n\nRoll out in waves; watch the error budget and roll back on alerts. Canary first.\n',
    );
    await docs.getByLabel('Document file').setInputFiles(file);
    await docs.getByText('from deploy-guide.md').waitFor();
    page.once('dialog', (dialog) => {
      expect(dialog.message()).toBe('“deploy-guide” was added from deploy-guide.md too. Replace it with this text?');
      void dialog.accept();
    });
    await docs.getByRole('button', { name: 'Add', exact: true }).click();
    await docs.getByRole('status').filter({ hasText: 'Replaced “deploy-guide”' }).waitFor();
    const listed = await documents(runtime);
    expect(listed.map((d) => [d.title, d.source, d.tags])).toEqual([
      ['deploy-guide', 'deploy-guide.md', []],
      ['Retry policy', null, ['ops', 'net']],
    ]);

    // A file of another kind is refused before anything is sent.
    const pdf = path.join(dir, 'slides.pdf');
    fs.writeFileSync(pdf, '%PDF-1.4');
    await docs.getByLabel('Document file').setInputFiles(pdf);
    await docs.getByRole('alert').filter({ hasText: 'slides.pdf: only .md, .markdown, .txt' }).waitFor();

    // Search: the hit is a <mark>, the rest text; the markup in the document is not rendered.
    await search.getByLabel('Search the knowledge base').fill('backoff');
    const results = search.getByRole('list', { name: 'Search results' });
    const first = results.getByRole('listitem').first();
    await first.getByText('Retry policy').waitFor();
    expect(await first.locator('mark').allTextContents()).toEqual(['backoff']);
    expect(await first.locator('.snippet').textContent()).toContain('exponential backoff');
    expect(await page.locator('.knowledge-view img').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();

    // FTS syntax that does not parse still answers (as plain words), never an error.
    await search.getByLabel('Search the knowledge base').fill('"roll back" AND (waves');
    await results.getByRole('listitem').first().getByRole('button', { name: 'deploy-guide' }).waitFor();
    expect(await search.getByRole('alert').count()).toBe(0);
    await search.getByLabel('Search the knowledge base').fill('***');
    await search
      .getByRole('alert')
      .filter({ hasText: /letter or digit/ })
      .waitFor();

    // Reading a document from a result marks the words searched for.
    await search.getByLabel('Search the knowledge base').fill('waves');
    await results.getByRole('button', { name: 'deploy-guide' }).click();
    const reader = page.getByRole('region', { name: 'Document' });
    // The passage found first, the searched word marked in it; then the document, the passage marked in place.
    const passage = reader.getByRole('figure', { name: 'Passage' });
    await passage.getByText(/Roll out in/).waitFor();
    expect(await passage.locator('mark').allTextContents()).toEqual(['waves']);
    expect(await reader.locator('pre mark.passage').textContent()).toContain('Roll out in waves');

    // Delete asks first; declining keeps it, accepting removes it everywhere (list and open search).
    const row = docs.locator('[data-document]').filter({ hasText: 'deploy-guide' });
    page.once('dialog', (dialog) => void dialog.dismiss());
    await row.getByRole('button', { name: 'Delete' }).click();
    expect(await documents(runtime)).toHaveLength(2);
    page.once('dialog', (dialog) => {
      expect(dialog.message()).toContain('Delete “deploy-guide”?');
      void dialog.accept();
    });
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    await search.getByText('Nothing matches “waves”.').waitFor();
    expect((await documents(runtime)).map((d) => d.title)).toEqual(['Retry policy']);
    expect(errors).toEqual([]);
  });

  it('shows documents added elsewhere live, and disables add and delete while the CLI holds the workspace, saying why', async () => {
    const runtime = await startRuntime();
    const { page } = await chromium.open(runtime);
    const { docs } = await openKnowledge(page);
    const added = await api(runtime, '/api/v1/knowledge/documents', {
      method: 'POST',
      json: { title: 'Added by the CLI', text: 'some text' },
    });
    expect(added.status).toBe(201);
    const row = docs.locator('[data-document]').filter({ hasText: 'Added by the CLI' });
    await row.waitFor();
    const add = docs.getByRole('button', { name: 'Add', exact: true });
    const choose = docs.getByRole('button', { name: 'Choose a file…' });
    expect(await row.getByRole('button', { name: 'Delete' }).isEnabled()).toBe(true);

    const holder = spawnLookout([
      'run',
      '--workspace',
      runtime.config.workspace,
      '--',
      process.execPath,
      '-e',
      "process.stdin.resume(); process.stdin.on('end', () => process.exit(0)); console.log('ready')",
    ]);
    await holder.waitFor(/ready/);
    const del = row.getByRole('button', { name: 'Delete' });
    await expect.poll(() => del.isDisabled(), { timeout: 10_000 }).toBe(true);
    expect(await del.getAttribute('title')).toMatch(/^Read-only: the workspace is held by the CLI/);
    expect(await add.isDisabled()).toBe(true);
    expect(await choose.getAttribute('title')).toMatch(/^Read-only/);
    await docs.getByText(/^Read-only: the workspace is held by the CLI/).waitFor();
    holder.child.stdin!.end();
    await holder.exited;
    await expect.poll(() => del.isEnabled(), { timeout: 10_000 }).toBe(true);
  });

  it('shows a document added while the first list read is still on its way', async () => {
    const runtime = await startRuntime();
    const { page } = await chromium.open(runtime);
    const heard: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (frame) => heard.push(String(frame.payload))));
    // The view's first read is answered by the server at once (no document yet), but the
    // answer reaches the page only after the document's event has.
    let answered = false;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    await page.route('**/api/v1/knowledge/documents', async (route) => {
      if (route.request().method() !== 'GET' || !first) return route.continue();
      first = false;
      const response = await route.fetch();
      answered = true;
      await held;
      await route.fulfill({ response });
    });
    await page.reload(); // so the page's WebSocket is one whose frames are heard
    const { docs } = await openKnowledge(page);
    await expect.poll(() => answered, { timeout: 10_000 }).toBe(true);
    const added = await api(runtime, '/api/v1/knowledge/documents', {
      method: 'POST',
      json: { title: 'Added mid-read', text: 'some text' },
    });
    expect(added.status).toBe(201);
    await expect
      .poll(() => heard.some((payload) => payload.includes('knowledge.document_added')), { timeout: 10_000 })
      .toBe(true);
    release();
    await docs.locator('[data-document]').filter({ hasText: 'Added mid-read' }).waitFor({ timeout: 10_000 });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KnowledgeDocumentList, KnowledgeSearchResponse } from '../../src-shared/knowledge.ts';
import { runLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

describe('lookout knowledge', () => {
  it('adds files and directories, replaces a file added again, searches, lists and removes', async () => {
    const workspace = tempWorkspace();
    const runtime = await startRuntime({ workspace });
    const lookout = (...args: string[]) => runLookout(['--workspace', workspace, ...args]);
    const docs = path.join(workspace, 'docs');
    fs.mkdirSync(path.join(docs, 'deep'), { recursive: true });
    fs.mkdirSync(path.join(docs, '.hidden'));
    fs.writeFileSync(
      path.join(docs, 'backup.md'),
      '# SQLite **backups**\n\nCopy the database with the backup command.\n\n## Restore\n\nStop the server, then restore the backup file.\n',
    );
    fs.writeFileSync(path.join(docs, 'deep', 'notes.txt'), 'Plain notes: the backup runs nightly.\n');
    fs.writeFileSync(path.join(docs, 'deep', 'image.png'), 'not text');
    fs.writeFileSync(path.join(docs, '.hidden', 'secret.md'), '# Hidden\n\nnever added');

    const added = await lookout('knowledge', 'add', docs);
    expect(added, added.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toMatch(
      /^added [0-9a-f]{12} {2}SQLite backups {2}\(2 chunks, \d+ B\) {2}docs\/backup\.md\nadded [0-9a-f]{12} {2}notes {2}\(1 chunk, \d+ B\) {2}docs\/deep\/notes\.txt\n$/,
    );
    // Adding a file again replaces its document rather than making a second one.
    const again = await lookout('knowledge', 'add', path.join(docs, 'backup.md'), '--tag', 'ops', '--json');
    expect(again.code).toBe(0);
    const replaced = JSON.parse(again.stdout) as { id: string; tags: string[]; replaced: boolean; text?: string };
    expect(replaced).toMatchObject({ tags: ['ops'], replaced: true });
    expect(replaced.text).toBeUndefined();
    const stored = (await (await api(runtime, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList;
    expect(stored.documents.map((d) => d.source).sort()).toEqual(['docs/backup.md', 'docs/deep/notes.txt']);

    const found = await lookout('knowledge', 'search', 'restore', 'backup');
    expect(found).toMatchObject({ code: 0, stderr: '' });
    // Not a terminal: plain text, no escape codes; the heading path and the chunk are named.
    expect(found.stdout).toBe(
      `1. SQLite backups › Restore  [${replaced.id}#1, score ${found.stdout.match(/score ([\d.]+)/)![1]}]\n` +
        '   ## Restore Stop the server, then restore the backup file.\n',
    );
    const json = await lookout('knowledge', 'search', 'backup', '--limit', '2', '--json');
    const parsed = JSON.parse(json.stdout) as KnowledgeSearchResponse;
    expect(parsed.results).toHaveLength(2);
    expect(parsed.mode).toBe('fts');
    // Broken FTS syntax still searches; nothing found is exit 1, like grep.
    expect((await lookout('knowledge', 'search', '(backup', 'OR')).code).toBe(0);
    expect(await lookout('knowledge', 'search', 'zebras')).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'nothing found for "zebras"\n',
    });

    const list = await lookout('knowledge', 'list');
    expect(list.stdout.split('\n')[0]).toMatch(/^ID +CHUNKS +SIZE +UPDATED +SOURCE +TITLE$/);
    expect(list.stdout).toContain('docs/deep/notes.txt');

    const notes = stored.documents.find((d) => d.source === 'docs/deep/notes.txt')!;
    const removed = await lookout('knowledge', 'rm', notes.id.slice(0, 6));
    expect(removed).toMatchObject({ code: 0, stdout: `removed ${notes.id}  notes\n` });

    const left = (await (await api(runtime, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList;
    expect(left.documents.map((d) => d.id)).toEqual([replaced.id]);
  }, 120_000); // a dozen CLI processes, each a Node start

  it('refuses mistakes in one line with the fix and a non-zero exit, adding or removing nothing', async () => {
    const workspace = tempWorkspace();
    const runtime = await startRuntime({ workspace });
    const lookout = (...args: string[]) => runLookout(['--workspace', workspace, ...args]);
    const docs = path.join(workspace, 'docs');
    fs.mkdirSync(path.join(docs, 'deep'), { recursive: true });
    fs.writeFileSync(path.join(docs, 'backup.md'), '# Backups\n\nCopy the database.\n');
    fs.writeFileSync(path.join(docs, 'deep', 'notes.txt'), 'Plain notes.\n');
    fs.writeFileSync(path.join(docs, 'deep', 'image.png'), 'not text');
    const kept = (await lookout('knowledge', 'add', path.join(docs, 'backup.md'), '--json')).stdout;
    const replaced = JSON.parse(kept) as { id: string };

    const mistakes: [string[], number, RegExp][] = [
      [
        ['knowledge', 'add', path.join(docs, 'deep', 'image.png')],
        2,
        /image\.png is not Markdown or plain text \(\.md, \.markdown, \.txt\); convert it/,
      ],
      [['knowledge', 'add', path.join(docs, 'missing.md')], 2, /cannot read .*missing\.md: ENOENT/],
      [
        ['knowledge', 'add', path.join(docs, 'backup.md'), path.join(docs, 'deep', 'image.png')],
        2,
        /image\.png is not Markdown/,
      ],
      [['knowledge', 'add', docs, '--title', 'One'], 2, /--title names one document; 2 files were given/],
      [['knowledge', 'add', path.join(docs, 'backup.md'), '--tag', 'two words'], 2, /--tag "two words": a tag is/],
      [['knowledge', 'search', 'x', '--limit', '0'], 2, /--limit is 1 to 100/],
      [
        ['knowledge', 'search', '***'],
        1,
        /the server refused: invalid request query: q needs at least one letter or digit/,
      ],
      [['knowledge', 'rm', 'nope'], 1, /no document "nope"; `lookout knowledge list` shows them/],
      [['knowledge', 'rm', replaced.id, 'nope'], 1, /no document "nope"/],
    ];
    for (const [args, code, message] of mistakes) {
      const result = await lookout(...args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
      expect(result.stderr).toMatch(new RegExp(`^lookout: .*${message.source}`));
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    const binary = path.join(workspace, 'binary.md');
    fs.writeFileSync(binary, Buffer.from([0x23, 0x20, 0x41, 0x00, 0x01]));
    expect((await lookout('knowledge', 'add', binary)).stderr).toMatch(/holds NUL bytes: it looks binary/);
    const latin1 = path.join(workspace, 'latin1.txt');
    fs.writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect((await lookout('knowledge', 'add', latin1)).stderr).toMatch(/is not UTF-8 text/);
    const big = path.join(workspace, 'big.md');
    fs.writeFileSync(big, 'x'.repeat(1024 * 1024 + 1));
    expect((await lookout('knowledge', 'add', big)).stderr).toMatch(
      /is 1048577 characters; a document is at most 1048576/,
    );

    const left = (await (await api(runtime, '/api/v1/knowledge/documents')).json()) as KnowledgeDocumentList;
    expect(left.documents.map((d) => d.id)).toEqual([replaced.id]);
  }, 120_000);
});

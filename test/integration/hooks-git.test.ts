import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src-shared/events.ts';
import type { EventsPage } from '../../src-shared/protocol.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { runLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Ada',
      GIT_AUTHOR_EMAIL: 'ada@example.com',
      GIT_COMMITTER_NAME: 'Ada',
      GIT_COMMITTER_EMAIL: 'ada@example.com',
    },
  }).trim();

async function gitEvents(runtime: Runtime, count: number): Promise<EventEnvelope[]> {
  // The hooks publish in the background after git returns: wait for them, bounded.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const page = (await (await api(runtime, '/api/v1/events?types=git.*')).json()) as EventsPage;
    if (page.events.length >= count || Date.now() > deadline) return page.events;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// A user's own hooks: a shell one that ends with `exit 0` (our lines must still run) and
// one in another language (wrapped, never edited).
const USER_POST_COMMIT = '#!/bin/sh\n# my hook\necho committed >> "$(git rev-parse --git-dir)/user-hook-ran"\nexit 0\n';
const USER_POST_MERGE = `#!${process.execPath}\nrequire('node:fs').appendFileSync(process.env.GIT_DIR ?? '.git/merge-hook-ran', 'merged\\n');\n`;

describe('lookout hooks install git', () => {
  it('chains the user’s hooks, publishes git.* events, is idempotent, and uninstall restores every file', async () => {
    const runtime = await startRuntime();
    const repo = runtime.config.workspace;
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'root');
    const hooks = path.join(repo, '.git', 'hooks');
    fs.writeFileSync(path.join(hooks, 'post-commit'), USER_POST_COMMIT, { mode: 0o755 });
    fs.writeFileSync(path.join(hooks, 'post-merge'), USER_POST_MERGE.replace('process.env.GIT_DIR ?? ', ''), {
      mode: 0o755,
    });
    const before = new Map(
      ['post-commit', 'post-merge'].map((name) => [name, fs.readFileSync(path.join(hooks, name))]),
    );

    const install = await runLookout(['hooks', 'install', 'git', '--workspace', repo]);
    expect(install.code).toBe(0);
    expect(install.stdout).toMatch(/post-commit: inserted/);
    expect(install.stdout).toMatch(/post-checkout: created/);
    expect(install.stdout).toMatch(/post-merge: wrapped/);
    const installed = new Map(
      ['post-commit', 'post-checkout', 'post-merge'].map((n) => [n, fs.readFileSync(path.join(hooks, n))]),
    );
    const again = await runLookout(['hooks', 'install', 'git', '--workspace', repo]);
    expect(again.stdout.match(/unchanged/g)).toHaveLength(3);
    for (const [name, bytes] of installed) expect(fs.readFileSync(path.join(hooks, name)), name).toEqual(bytes);

    fs.writeFileSync(path.join(repo, 'a.txt'), 'a\n');
    git(repo, 'add', 'a.txt');
    git(repo, 'commit', '-q', '-m', 'Add a\n\nWith a body.');
    const sha = git(repo, 'rev-parse', 'HEAD');
    const [commit] = await gitEvents(runtime, 1);
    expect(commit).toMatchObject({
      type: 'git.commit_created',
      data: { sha, message: 'Add a\n\nWith a body.', author: 'Ada', branch: 'main', source: 'hook' },
      metadata: { source: 'hook' },
    });
    expect(fs.readFileSync(path.join(repo, '.git', 'user-hook-ran'), 'utf8')).toBe('committed\n');

    // Each hook publishes from its own background process: wait for each before the next
    // operation, so the order asserted is git's, not a race between two publishers.
    git(repo, 'checkout', '-q', '-b', 'feature');
    await gitEvents(runtime, 2);
    fs.writeFileSync(path.join(repo, 'b.txt'), 'b\n');
    git(repo, 'add', 'b.txt');
    git(repo, 'commit', '-q', '-m', 'Add b');
    await gitEvents(runtime, 3);
    git(repo, 'checkout', '-q', 'main');
    await gitEvents(runtime, 4);
    git(repo, 'merge', '-q', '--no-ff', '-m', 'Merge feature', 'feature');
    const events = await gitEvents(runtime, 5);
    expect(events.map((e) => e.type)).toEqual([
      'git.commit_created',
      'git.checked_out',
      'git.commit_created',
      'git.checked_out',
      'git.merged',
    ]);
    expect(events[1]!.data).toMatchObject({ branch: 'feature', branch_checkout: true, to: sha });
    expect(events[4]!.data).toMatchObject({ branch: 'main', squash: false, sha: git(repo, 'rev-parse', 'HEAD') });
    expect(fs.readFileSync(path.join(repo, '.git', 'merge-hook-ran'), 'utf8')).toBe('merged\n');

    const uninstall = await runLookout(['hooks', 'uninstall', 'git', '--workspace', repo]);
    expect(uninstall.code).toBe(0);
    for (const [name, bytes] of before) expect(fs.readFileSync(path.join(hooks, name)), name).toEqual(bytes);
    expect(fs.existsSync(path.join(hooks, 'post-checkout'))).toBe(false);
    expect(fs.existsSync(path.join(hooks, 'post-merge.lookout-chained'))).toBe(false);
    expect(fs.statSync(path.join(hooks, 'post-merge')).mode & 0o777).toBe(0o755);
  });

  it('commits normally with no server running, and says where it is not a repository', async () => {
    const runtime = await startRuntime();
    const repo = runtime.config.workspace;
    const notRepo = await runLookout(['hooks', 'install', 'git', '--workspace', repo]);
    expect(notRepo.code).toBe(1);
    expect(notRepo.stderr).toMatch(/not inside a git repository/);

    git(repo, 'init', '-q', '-b', 'main');
    expect((await runLookout(['hooks', 'install', 'git', '--workspace', repo])).code).toBe(0);
    await runtime.stop();
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'while Lookout is down');
    expect(git(repo, 'log', '--format=%s')).toBe('while Lookout is down');
  });
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
  });

/**
 * A repository whose .git/config names a program at every place git would run one
 * during a collection: core.fsmonitor (the case), hooks, the pager, signature
 * checking, an external diff, a credential helper, an ssh command.
 */
function hostileRepository(): { workspace: string; marker: string } {
  const workspace = tempWorkspace();
  const marker = path.join(tempWorkspace(), 'ran.txt');
  git(workspace, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(workspace, 'a.txt'), 'a\n');
  git(workspace, 'add', 'a.txt');
  git(workspace, 'commit', '-q', '-m', 'first');
  fs.writeFileSync(path.join(workspace, 'untracked.txt'), 'u\n'); // makes ls-files --others refresh
  const evil = path.join(workspace, '.git', 'evil.sh');
  fs.writeFileSync(evil, `#!/bin/sh\necho "$0 $*" >> ${JSON.stringify(marker)}\n`, { mode: 0o755 });
  const hooks = path.join(workspace, '.git', 'evil-hooks');
  fs.mkdirSync(hooks);
  for (const hook of ['post-index-change', 'reference-transaction', 'post-checkout'])
    fs.writeFileSync(path.join(hooks, hook), `#!/bin/sh\necho ${hook} >> ${JSON.stringify(marker)}\n`, { mode: 0o755 });
  for (const [key, value] of [
    ['core.fsmonitor', evil],
    ['core.hooksPath', hooks],
    ['core.pager', evil],
    ['log.showSignature', 'true'],
    ['gpg.program', evil],
    ['diff.external', evil],
    ['credential.helper', `!${evil}`],
    ['core.sshCommand', evil],
  ])
    git(workspace, 'config', key!, value!);
  return { workspace, marker };
}

describe('the git collector does not run a hostile repository’s config', () => {
  it('collects a repository whose .git/config names programs, and none of them runs', async () => {
    const { workspace, marker } = hostileRepository();
    // The repository is really hostile: plain git runs its fsmonitor.
    git(workspace, 'ls-files', '--others', '--exclude-standard');
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);

    const runtime = await startRuntime({ workspace });
    const started = (await (await api(runtime, '/api/v1/collections', { method: 'POST' })).json()) as { id: string };
    let status = 'running';
    for (let i = 0; i < 500 && status === 'running'; i++) {
      const body = (await (await api(runtime, `/api/v1/collections/${started.id}`)).json()) as { status: string };
      status = body.status;
      if (status === 'running') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe('succeeded');
    // It did collect: the commit is published.
    const events = (await (await api(runtime, '/api/v1/events?types=git.*&limit=100')).json()) as {
      events: { type: string; data: unknown }[];
    };
    expect(JSON.stringify(events.events)).toContain('first');
    expect(fs.existsSync(marker)).toBe(false);
  });
});

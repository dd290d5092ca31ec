import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLookout } from '../helpers/cli.ts';
import { AGENT_SCRIPT, git, tempRepo } from '../helpers/git-repo.ts';
import { startRuntime } from '../helpers/runtime.ts';

describe('lookout agent and lookout task', () => {
  it('adds an agent, creates, starts and follows a task, merges it, and says what to do on mistakes', async () => {
    const repo = tempRepo();
    await startRuntime({ workspace: repo });
    const lookout = (...args: string[]) => runLookout(['--workspace', repo, ...args]);

    const added = await lookout(
      'agent',
      'add',
      'writer',
      '--env',
      'A=1',
      '--',
      process.execPath,
      AGENT_SCRIPT,
      'write',
      '{prompt_file}',
    );
    expect(added).toMatchObject({ code: 0 });
    expect(added.stdout).toMatch(/^added agent writer \(\w+\): idle\n$/);
    const offline = await lookout('agent', 'add', 'claude', '--preset', 'claude-code', '--json');
    expect(offline.code).toBe(0);
    const list = await lookout('agent', 'list', '--json');
    expect((JSON.parse(list.stdout) as { agents: { name: string; env: object }[] }).agents.map((a) => a.name)).toEqual([
      'writer',
      'claude',
    ]);

    const created = await lookout('task', 'create', 'Add the files', '--description', 'details', '--priority', 'high');
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12}$/);

    const started = await lookout('task', 'start', id.slice(0, 6), '--agent', 'writer', '--follow');
    expect(started.code).toBe(0);
    // Two pipes: each keeps its order; how they interleave is up to the scheduler.
    expect(started.stdout).toContain('first line\n');
    expect(started.stdout).toContain('a warning on stderr\n');
    expect(started.stderr).toMatch(/succeeded \(exit 0\): Add the files/);

    const logs = await lookout('task', 'logs', id);
    expect(logs.stdout).toBe(fs.readFileSync(path.join(repo, '.lookout', 'tasks', `${id}.log`), 'utf8'));

    const merged = await lookout('task', 'merge', id);
    expect(merged).toMatchObject({ code: 0 });
    expect(merged.stdout).toMatch(
      new RegExp(`^merged lookout/task-${id} into main as [0-9a-f]{12} \\(your checkout fast-forwarded\\)`),
    );
    expect(git(repo, 'log', '-1', '--format=%s')).toBe(`Merge task ${id}: Add the files`);

    // Mistakes: one line, the fix, a non-zero exit.
    const again = await lookout('task', 'merge', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^lookout: the server refused: task \w+ was merged already .*\n$/);
    const busyName = await lookout('agent', 'add', 'writer', '--', 'node');
    expect(busyName.stderr).toMatch(/already exists.*choose another name/);
    const noAgent = await lookout('task', 'start', id, '--agent', 'nobody');
    expect(noAgent).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/no agent "nobody"; `lookout agent list` shows them/),
    });
    const noCommand = await lookout('agent', 'add', 'x');
    expect(noCommand).toMatchObject({ code: 2, stderr: expect.stringMatching(/give a command after --, --preset ID/) });
    for (const timeout of ['1e3', '0x10', '0', '1.5'])
      expect(await lookout('task', 'create', 'Bad timeout', '--timeout', timeout)).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/--timeout must be a whole number of seconds/),
      });
    const failing = await lookout('agent', 'add', 'failing', '--', process.execPath, AGENT_SCRIPT, 'fail');
    expect(failing.code).toBe(0);
    const second = (await lookout('task', 'create', 'Will fail')).stdout.trim();
    const followed = await lookout('task', 'start', second, '--agent', 'failing', '-f');
    expect(followed.code).toBe(1);
    expect(followed.stderr).toMatch(/failed \(exit 1, exit_code_1\)/);
    const cancelDone = await lookout('task', 'cancel', second);
    expect(cancelDone).toMatchObject({ code: 1, stderr: expect.stringMatching(/already failed; nothing to cancel/) });
    const removed = await lookout('agent', 'remove', 'claude');
    expect(removed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^removed agent claude/) });
  }, 90_000); // a dozen CLI processes, each a Node start
});

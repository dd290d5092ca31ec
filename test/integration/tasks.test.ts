import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventsPage } from '../../src-shared/protocol.ts';
import type { GitOperation, Sandbox, Task } from '../../src-shared/tasks.ts';
import { checkoutFingerprint, git, tempRepo } from '../helpers/git-repo.ts';
import { tempWorkspace } from '../helpers/workspace.ts';
import { connectWs } from '../helpers/ws-client.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { call, createTask, output, runTask, scriptAgent, settled, startTask, waitForTask } from '../helpers/tasks.ts';

const alive = (pid: number): boolean =>
  fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

async function gone(pid: number): Promise<void> {
  while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function events(runtime: Awaited<ReturnType<typeof startRuntime>>, types: string) {
  return call<EventsPage>(runtime, 'GET', `/api/v1/events?types=${types}&limit=1000`, undefined, 200);
}

describe('tasks in worktree sandboxes (real git, real processes)', () => {
  it('runs an agent that writes files: commits them on lookout/task-<id>, streams output, leaves the user checkout alone', async () => {
    const repo = tempRepo();
    fs.writeFileSync(path.join(repo, 'notes.txt'), 'an uncommitted edit of the user\n');
    const before = checkoutFingerprint(repo);
    const runtime = await startRuntime({ workspace: repo });

    const { task } = await runTask(runtime, 'write', {}, { title: 'Add a file', description: 'details here' });
    expect(task).toMatchObject({
      status: 'succeeded',
      exit_code: 0,
      reason: null,
      git_branch: `lookout/task-${task.id}`,
    });
    expect(task.diff_stat).toMatchObject({ files_changed: 2, insertions: 2, deletions: 0 });
    expect(task.diff_stat!.files.map((f) => f.path).sort()).toEqual(['agent-output.txt', 'src/new-file.js']);

    // The branch holds the agent's work in one commit on top of the base.
    expect(git(repo, 'show', `${task.git_branch}:agent-output.txt`)).toBe('done: Add a file');
    expect(git(repo, 'rev-list', '--count', `main..${task.git_branch}`)).toBe('1');
    expect(git(repo, 'log', '-1', '--format=%an|%s', task.git_branch!)).toMatch(/^write-\w+ \(Lookout\)\|Add a file$/);

    // Output: complete over HTTP, in order, as events.
    const text = await output(runtime, task.id);
    expect(text).toContain('first line\n');
    expect(text).toContain('a warning on stderr\n');
    expect(text).toMatch(new RegExp(`cwd=.*\\.lookout/sandboxes/${task.id}`));
    const outputEvents = (await events(runtime, 'task.output')).events;
    expect(outputEvents.flatMap((e) => e.data.lines as string[])).toEqual(
      expect.arrayContaining(['first line', 'a warning on stderr']),
    );

    // Every git step is on record; the worktree is gone, the branch stays.
    const ops = (
      await call<{ git_operations: GitOperation[] }>(runtime, 'GET', `/api/v1/git-operations?task_id=${task.id}`)
    ).git_operations;
    expect(ops.map((op) => op.operation_type)).toEqual(['worktree_add', 'commit', 'diff_stat', 'worktree_remove']);
    expect(ops.every((op) => op.status === 'succeeded' && op.duration_ms >= 0)).toBe(true);
    expect(ops.find((op) => op.operation_type === 'commit')!.commit_sha).toBe(task.head_sha);
    const sandbox = await call<Sandbox>(runtime, 'GET', `/api/v1/sandboxes/${task.sandbox_id}`, undefined, 200);
    expect(sandbox).toMatchObject({ status: 'destroyed', branch_name: task.git_branch, provider: 'worktree' });
    expect(fs.existsSync(sandbox.path)).toBe(false);
    expect(git(repo, 'worktree', 'list')).not.toContain(task.id);

    expect(checkoutFingerprint(repo)).toEqual(before);
    const statuses = (await events(runtime, 'task.status_changed')).events.map((e) => e.data.to);
    expect(statuses).toEqual(['queued', 'running', 'succeeded']);
  });

  it('gives the program a scrubbed environment with LOOKOUT_URL, LOOKOUT_TOKEN and LOOKOUT_TASK_ID', async () => {
    const repo = tempRepo();
    process.env.H13_SERVER_SECRET = 'must-not-leak';
    try {
      const runtime = await startRuntime({ workspace: repo });
      const { task } = await runTask(runtime, 'env', { env: { MY_SETTING: 'on' } });
      const env = JSON.parse((await output(runtime, task.id)).split('\n')[0]!) as Record<string, string>;
      expect(env).toMatchObject({
        LOOKOUT_URL: runtime.url,
        LOOKOUT_TOKEN: runtime.token,
        LOOKOUT_TASK_ID: task.id,
        MY_SETTING: 'on',
      });
      expect(env.H13_SERVER_SECRET).toBeUndefined();
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.H13_SERVER_SECRET;
    }
  });

  it('a program that exits 1 fails the task; its sandbox is kept and nothing is committed', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo });
    const { task, agent } = await runTask(runtime, 'fail');
    expect(task).toMatchObject({ status: 'failed', exit_code: 1, reason: 'exit_code_1' });
    expect(await output(runtime, task.id)).toContain('it went wrong');
    expect(git(repo, 'rev-parse', task.git_branch!)).toBe(git(repo, 'rev-parse', 'main'));
    const sandbox = await call<Sandbox>(runtime, 'GET', `/api/v1/sandboxes/${task.sandbox_id}`, undefined, 200);
    expect(sandbox.status).toBe('kept');
    expect(fs.existsSync(sandbox.path)).toBe(true);
    expect((await call<{ status: string }>(runtime, 'GET', `/api/v1/agents/${agent.id}`)).status).toBe('idle');
    // Removing it keeps the branch.
    await call(runtime, 'DELETE', `/api/v1/sandboxes/${sandbox.id}`, undefined, 200);
    expect(fs.existsSync(sandbox.path)).toBe(false);
    expect(git(repo, 'branch', '--list', task.git_branch!)).toContain(task.git_branch);
  });

  it('cancel ends a hanging program, and one that ignores SIGTERM, with its forked children', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo, taskKillGraceMs: 300 });
    for (const mode of ['hang', 'ignore-term', 'fork']) {
      const agent = await scriptAgent(runtime, mode);
      const task = await createTask(runtime);
      await startTask(runtime, agent, task);
      const ready = await waitForTask(runtime, task.id, () =>
        /ready|children/.test(
          fs.existsSync(runtime.tasks.logFile(task.id)) ? fs.readFileSync(runtime.tasks.logFile(task.id), 'utf8') : '',
        ),
      );
      const log = fs.readFileSync(runtime.tasks.logFile(task.id), 'utf8');
      const children = (log.match(/children ([\d ]+)/)?.[1] ?? '').split(' ').filter(Boolean).map(Number);
      const pid = (await runtime.store.get<{ pid: number }>('SELECT pid FROM tasks WHERE id = ?', [task.id]))!.pid;
      expect(ready.status).toBe('running');
      expect(alive(pid)).toBe(true);

      const cancelled = await call<Task>(runtime, 'POST', `/api/v1/tasks/${task.id}/cancel`, undefined, 202);
      expect(cancelled.id).toBe(task.id);
      const done = await waitForTask(runtime, task.id, settled);
      expect(done).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
      // SIGKILL went to the whole group before the task settled; a loaded machine may take
      // a moment to run the kills, so wait for each to be gone (the test's timeout bounds it).
      await gone(pid);
      if (mode === 'fork') {
        expect(children).toHaveLength(3);
        for (const child of children) await gone(child);
      }
      await call(runtime, 'POST', `/api/v1/tasks/${task.id}/cancel`, undefined, 409);
    }
  });

  it('a task past its timeout ends timed_out, its process group killed', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo, taskKillGraceMs: 200 });
    const { task } = await runTask(runtime, 'ignore-term', {}, { timeout_s: 1 });
    expect(task).toMatchObject({ status: 'timed_out' });
    expect(task.reason).toMatch(/timeout/);
    expect(await output(runtime, task.id)).toContain('[lookout] task timed_out');
  });

  it('runs two tasks on two agents at once, each in its own worktree', async () => {
    const repo = tempRepo();
    const before = checkoutFingerprint(repo);
    const runtime = await startRuntime({ workspace: repo });
    const a = await scriptAgent(runtime, 'hang');
    const b = await scriptAgent(runtime, 'hang');
    const ta = await createTask(runtime, { title: 'A' });
    const tb = await createTask(runtime, { title: 'B' });
    await startTask(runtime, a, ta);
    await startTask(runtime, b, tb);
    const logHas = (id: string) =>
      fs.existsSync(runtime.tasks.logFile(id)) && fs.readFileSync(runtime.tasks.logFile(id), 'utf8').includes('ready');
    await waitForTask(runtime, ta.id, () => logHas(ta.id) && logHas(tb.id));
    const running = (await call<{ tasks: Task[] }>(runtime, 'GET', '/api/v1/tasks?status=running')).tasks;
    expect(running.map((t) => t.id).sort()).toEqual([ta.id, tb.id].sort());
    const sandboxes = (await call<{ sandboxes: Sandbox[] }>(runtime, 'GET', '/api/v1/sandboxes')).sandboxes;
    expect(new Set(sandboxes.map((s) => s.path)).size).toBe(2);
    expect(sandboxes.every((s) => s.status === 'active')).toBe(true);
    // An agent works on one task at a time.
    const third = await createTask(runtime, { title: 'C' });
    const busy = await api(runtime, `/api/v1/agents/${a.id}/start-task`, {
      method: 'POST',
      json: { task_id: third.id },
    });
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { error: { message: string } }).error.message).toMatch(/busy/);
    await call(runtime, 'POST', `/api/v1/tasks/${ta.id}/cancel`, undefined, 202);
    await call(runtime, 'POST', `/api/v1/tasks/${tb.id}/cancel`, undefined, 202);
    await waitForTask(runtime, ta.id, settled);
    await waitForTask(runtime, tb.id, settled);
    expect(checkoutFingerprint(repo)).toEqual(before);
  });

  it('queues beyond the global limit and starts the queued task when a slot frees', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo, maxRunningTasks: 1 });
    const a = await scriptAgent(runtime, 'hang');
    const b = await scriptAgent(runtime, 'write');
    const ta = await createTask(runtime, { title: 'first' });
    const tb = await createTask(runtime, { title: 'second' });
    expect((await startTask(runtime, a, ta)).status).toBe('running');
    expect((await startTask(runtime, b, tb)).status).toBe('queued');
    expect((await call<{ status: string }>(runtime, 'GET', `/api/v1/agents/${b.id}`)).status).toBe('working');
    await call(runtime, 'POST', `/api/v1/tasks/${ta.id}/cancel`, undefined, 202);
    expect((await waitForTask(runtime, tb.id, settled)).status).toBe('succeeded');
  });

  it('merges a task into its base (the checked-out branch, fast-forwarding the user checkout) and reports conflicts by file', async () => {
    const repo = tempRepo();
    fs.writeFileSync(path.join(repo, 'notes.txt'), 'an uncommitted edit of the user\n');
    const runtime = await startRuntime({ workspace: repo });
    const { task: first } = await runTask(runtime, 'edit', {}, { title: 'Version one' });
    const { task: second } = await runTask(runtime, 'edit', {}, { title: 'Version two' });
    const { task: clean } = await runTask(runtime, 'write', {}, { title: 'Clean one' });

    const merged = await call<{ merge_sha: string; checkout_updated: boolean; task: Task }>(
      runtime,
      'POST',
      `/api/v1/tasks/${first.id}/merge`,
      {},
      200,
    );
    expect(merged.checkout_updated).toBe(true);
    expect(git(repo, 'rev-parse', 'main')).toBe(merged.merge_sha);
    expect(fs.readFileSync(path.join(repo, 'README.md'), 'utf8')).toBe('Version one\n');
    expect(fs.readFileSync(path.join(repo, 'notes.txt'), 'utf8')).toBe('an uncommitted edit of the user\n');
    expect(merged.task.merged_at).not.toBeNull();
    await call(runtime, 'POST', `/api/v1/tasks/${first.id}/merge`, {}, 409);

    const conflict = await api(runtime, `/api/v1/tasks/${second.id}/merge`, { method: 'POST', json: {} });
    expect(conflict.status).toBe(409);
    const body = (await conflict.json()) as { error: { code: string; details: { files: string[] } } };
    expect(body.error.code).toBe('merge_conflict');
    expect(body.error.details.files).toEqual(['README.md']);
    expect(git(repo, 'rev-parse', 'main')).toBe(merged.merge_sha);
    expect(git(repo, 'status', '--porcelain')).toBe('M notes.txt');

    await call(runtime, 'POST', `/api/v1/tasks/${clean.id}/merge`, undefined, 200);
    expect(fs.existsSync(path.join(repo, 'src/new-file.js'))).toBe(true);
    const types = (
      await call<{ git_operations: GitOperation[] }>(runtime, 'GET', `/api/v1/git-operations?task_id=${second.id}`)
    ).git_operations.map((op) => `${op.operation_type}:${op.status}`);
    expect(types).toContain('merge:failed');
    expect(git(repo, 'worktree', 'list')).not.toContain('merge-');
  });

  it('streams 50 MB of output without stalling the bus or another subscriber: events bounded and marked, the log complete', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo });
    const other = await connectWs(runtime, '?types=x.*');
    const agent = await scriptAgent(runtime, 'spew', { env: { SPEW_MB: '50', SPEW_THEN_HANG: '1' } });
    const task = await createTask(runtime);
    await startTask(runtime, agent, task);
    // While it spews, another subscriber keeps getting its events and its pongs.
    const log = runtime.tasks.logFile(task.id);
    const size = () => fs.statSync(log, { throwIfNoEntry: false })?.size ?? 0;
    let roundTrips = 0;
    let duringSpew = 0;
    let published = 0;
    while (!(await output(runtime, task.id, size() - 10)).endsWith('spew done\n')) {
      const spewing = size() < 50 * 1024 * 1024;
      const id = `p${roundTrips}`;
      other.ws.send(JSON.stringify({ type: 'ping', id }));
      await call(runtime, 'POST', '/api/v1/events', { type: 'x.probe', data: { n: published++ } }, 201);
      await other.waitFor((messages) => messages.some((m) => m.type === 'pong' && m.id === id));
      roundTrips++;
      if (spewing) duringSpew++;
    }
    await other.waitFor(() => other.events().length === published);
    expect(other.events().map((e) => e.data.n)).toEqual([...Array(published).keys()]);
    expect(other.controls('gap')).toEqual([]);
    expect(duringSpew, 'round trips completed while the task was still printing').toBeGreaterThan(0);

    await call(runtime, 'POST', `/api/v1/tasks/${task.id}/cancel`, undefined, 202);
    expect((await waitForTask(runtime, task.id, settled)).status).toBe('cancelled');
    expect(size()).toBeGreaterThanOrEqual(50 * 1024 * 1024);
    const outputEvents = (await call<EventsPage>(runtime, 'GET', `/api/v1/events?types=task.output&limit=1000`)).events;
    const bytes = outputEvents.reduce((sum, e) => sum + JSON.stringify(e.data).length, 0);
    expect(bytes).toBeLessThan(1.2 * 1024 * 1024);
    const marked = outputEvents.filter((e) => e.data.truncated === true);
    expect(marked).toHaveLength(1);
    expect((marked[0]!.data.lines as string[]).at(-1)).toMatch(/GET \/api\/v1\/tasks\/\w+\/output/);
    // The log, read by offset, holds every line the program printed.
    const tail = await api(runtime, `/api/v1/tasks/${task.id}/output?offset=${size() - 200}`);
    expect(tail.headers.get('x-output-size')).toBe(String(size()));
    expect(await tail.text()).toMatch(/spew done\n\[lookout\] task cancelled: cancelled\n$/);
    const lines = fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('x')).length;
    expect(lines).toBe(Math.ceil((50 * 1024 * 1024) / 91_000) * 1000);
    process.off('warning', onWarning);
    expect(warnings).toEqual([]); // e.g. no listener piling up on the log stream
  });

  it('an agent-level timeout applies when the task sets none', async () => {
    const runtime = await startRuntime({ workspace: tempRepo(), taskKillGraceMs: 200 });
    const { task } = await runTask(runtime, 'hang', { timeout_s: 1 });
    expect(task).toMatchObject({ status: 'timed_out', reason: 'timeout: no result within 1 s' });
  });

  it('merges and pushes to a configured remote; refuses push up front when there is none', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo });
    const { task: first } = await runTask(runtime, 'write', {}, { title: 'No remote yet' });
    const refused = await api(runtime, `/api/v1/tasks/${first.id}/merge`, { method: 'POST', json: { push: true } });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/no remote/);
    expect(git(repo, 'log', '-1', '--format=%s', 'main')).toBe('initial');

    const remote = tempWorkspace();
    git(remote, 'init', '--quiet', '--bare');
    git(repo, 'remote', 'add', 'origin', remote);
    const merged = await call<{ pushed: boolean; merge_sha: string }>(
      runtime,
      'POST',
      `/api/v1/tasks/${first.id}/merge`,
      { push: true },
      200,
    );
    expect(merged.pushed).toBe(true);
    expect(git(remote, 'rev-parse', 'main')).toBe(merged.merge_sha);
    const ops = (
      await call<{ git_operations: GitOperation[] }>(runtime, 'GET', `/api/v1/git-operations?task_id=${first.id}`)
    ).git_operations;
    expect(ops.map((op) => `${op.operation_type}:${op.status}`)).toEqual(
      expect.arrayContaining(['merge:succeeded', 'fast_forward:succeeded', 'push:succeeded']),
    );
  });
});

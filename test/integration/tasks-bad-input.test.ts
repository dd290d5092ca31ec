import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Sandbox, Task } from '../../src-shared/tasks.ts';
import { createRuntime } from '../../src-main/runtime.ts';
import { readServerInfo, workspacePaths } from '../../src-main/workspace.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { AGENT_SCRIPT, git, tempRepo } from '../helpers/git-repo.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { call, createTask, runTask, scriptAgent, settled, startTask, waitForTask } from '../helpers/tasks.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

type ErrorBody = { error: { code: string; message: string; details?: unknown } };

async function refused(
  runtime: Awaited<ReturnType<typeof startRuntime>>,
  method: string,
  url: string,
  json: unknown,
  status: number,
) {
  const res = await api(runtime, url, { method, ...(json === undefined ? {} : { json }) });
  const body = (await res.json()) as ErrorBody;
  expect(res.status, `${method} ${url}: ${JSON.stringify(body)}`).toBe(status);
  expect(body.error.message.length).toBeGreaterThan(10);
  return body.error;
}

const alive = (pid: number): boolean =>
  fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

describe('tasks and agents: bad input gets a clear 4xx and nothing breaks', () => {
  it('unknown ids are 404 everywhere', async () => {
    const runtime = await startRuntime({ workspace: tempRepo() });
    const agent = await scriptAgent(runtime, 'write');
    const task = await createTask(runtime);
    for (const [method, url, body] of [
      ['GET', '/api/v1/agents/nope', undefined],
      ['PATCH', '/api/v1/agents/nope', { role: 'x' }],
      ['DELETE', '/api/v1/agents/nope', undefined],
      ['GET', '/api/v1/tasks/nope', undefined],
      ['DELETE', '/api/v1/tasks/nope', undefined],
      ['POST', '/api/v1/tasks/nope/cancel', undefined],
      ['POST', '/api/v1/tasks/nope/merge', {}],
      ['GET', '/api/v1/tasks/nope/output', undefined],
      ['GET', '/api/v1/sandboxes/nope', undefined],
      ['DELETE', '/api/v1/sandboxes/nope', undefined],
      ['POST', '/api/v1/agents/nope/start-task', { task_id: task.id }],
      ['POST', `/api/v1/agents/${agent.id}/start-task`, { task_id: 'nope' }],
      ['GET', '/api/v1/tasks/..%2F..%2Fetc%2Fpasswd/output', undefined],
    ] as const) {
      expect((await refused(runtime, method, url, body, 404)).code).toBe('not_found');
    }
  });

  it('refuses bad agent definitions with the field named', async () => {
    const runtime = await startRuntime({ workspace: tempRepo() });
    const cases: [unknown, RegExp][] = [
      [{ name: 'a', command: [] }, /at least the program/],
      [{ name: 'a', command: ['bin/agent'] }, /not a relative path/],
      [{ name: 'a', command: ['../agent'] }, /not a relative path/],
      [{ name: 'a', command: ['/usr/../bin/node'] }, /\.\. segments/],
      [{ name: 'a', command: ['node', 'a\0b'] }, /NUL/],
      [{ name: 'a', command: 'claude -p "{prompt}"' }, /argv array/],
      [{ name: 'a', command: ['node'], env: { LOOKOUT_TOKEN: 'x' } }, /set by Lookout/],
      [{ name: 'a', command: ['node'], env: { 'BAD-NAME': 'x' } }, /environment name/],
      [{ name: '../../etc', command: ['node'] }, /name is letters/],
      [{ name: 'a', preset: 'no-such' }, /preset: Invalid option: expected one of "claude-code"/],
      [{ name: 'a', preset: 'codex', command: ['node'] }, /either command or preset/],
      [{ name: 'a', model: { base_url: 'ftp://x/v1', model: 'm' } }, /model\.base_url/],
      [{ name: 'a', command: ['node'], timeout_s: 0 }, /timeout_s|>=1|too small/i],
      [{ name: 'a', command: ['node'], surprise: 1 }, /surprise|unrecognized/i],
    ];
    for (const [body, message] of cases) {
      const error = await refused(runtime, 'POST', '/api/v1/agents', body, 400);
      expect(`${error.message} ${JSON.stringify(error.details)}`).toMatch(message);
    }
    await scriptAgent(runtime, 'write', { name: 'twin' });
    expect(
      (await refused(runtime, 'POST', '/api/v1/agents', { name: 'twin', command: ['node'] }, 409)).message,
    ).toMatch(/already exists/);
    expect((await call<{ agents: Agent[] }>(runtime, 'GET', '/api/v1/agents')).agents).toHaveLength(1);
    // With neither command nor model an agent is external (it speaks in discussions through
    // the API): it exists, but cannot run a task.
    const external = await call<Agent>(runtime, 'POST', '/api/v1/agents', { name: 'outside' }, 201);
    expect(external).toMatchObject({ speaker: 'external', command: [], status: 'idle' });
    const task = await createTask(runtime);
    expect(
      (await refused(runtime, 'POST', `/api/v1/agents/${external.id}/start-task`, { task_id: task.id }, 409)).message,
    ).toMatch(/it has no command/);
  });

  it("a container agent is judged by its image, not by this machine's PATH", async () => {
    const runtime = await startRuntime({ workspace: tempRepo() });
    const agent = await call<Agent>(
      runtime,
      'POST',
      '/api/v1/agents',
      { name: 'boxed', command: ['only-in-the-image', '{prompt}'], provider: 'container', image: 'node:24-slim' },
      201,
    );
    expect(agent).toMatchObject({ status: 'idle', status_reason: null });
  });

  it('an agent whose program is not on PATH is offline with the reason, and cannot start', async () => {
    const runtime = await startRuntime({ workspace: tempRepo() });
    const agent = await call<Agent>(
      runtime,
      'POST',
      '/api/v1/agents',
      { name: 'ghost', command: ['no-such-agent-cli-h13', '{prompt}'] },
      201,
    );
    expect(agent).toMatchObject({ status: 'offline' });
    expect(agent.status_reason).toMatch(/not on PATH/);
    const task = await createTask(runtime);
    const error = await refused(runtime, 'POST', `/api/v1/agents/${agent.id}/start-task`, { task_id: task.id }, 409);
    expect(error.message).toMatch(/offline: no-such-agent-cli-h13 is not on PATH/);
    expect((await call<Task>(runtime, 'GET', `/api/v1/tasks/${task.id}`)).status).toBe('pending');
    const presets = (
      await call<{ presets: { id: string; available: boolean; reason: string | null }[] }>(
        runtime,
        'GET',
        '/api/v1/agents/presets',
      )
    ).presets;
    expect(presets.map((p) => p.id)).toEqual(['claude-code', 'codex', 'aider', 'gemini-cli']);
    for (const preset of presets) expect(preset.available || /not on PATH/.test(preset.reason ?? '')).toBe(true);
  });

  it('refuses hostile or unknown base refs, oversized prompts, and bad task fields', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo });
    for (const base of [
      '../etc',
      '-rf',
      '--upload-pack=touch /tmp/x',
      '/etc/passwd',
      'a b',
      'main~1',
      'HEAD@{1}',
      'x.lock',
      'a//b',
      '',
    ]) {
      const error = await refused(runtime, 'POST', '/api/v1/tasks', { title: 't', base }, 400);
      expect(error.message).toMatch(/git ref|base/);
    }
    expect(
      (await refused(runtime, 'POST', '/api/v1/tasks', { title: 't', base: 'no-such-branch' }, 404)).message,
    ).toMatch(/names no commit/);
    const big = 'y'.repeat(1024 * 1024);
    expect((await refused(runtime, 'POST', '/api/v1/tasks', { title: 't', description: big }, 400)).message).toMatch(
      /256 KiB/,
    );
    await refused(runtime, 'POST', '/api/v1/tasks', { title: '   ' }, 400);
    await refused(runtime, 'POST', '/api/v1/tasks', { title: 't', priority: 'now' }, 400);
    await refused(runtime, 'GET', '/api/v1/tasks?status=bogus', undefined, 400);
    const pending = await createTask(runtime);
    for (const offset of ['-1', 'abc', '1.5'])
      await refused(runtime, 'GET', `/api/v1/tasks/${pending.id}/output?offset=${offset}`, undefined, 400);
    await refused(runtime, 'GET', '/api/v1/git-operations?limit=0', undefined, 400);
    await refused(runtime, 'DELETE', `/api/v1/tasks/${pending.id}?delete_branch=maybe`, undefined, 400);

    // A 200 KB prompt cannot be one argv element: {prompt} is refused, {prompt_file} works.
    const long = 'z'.repeat(200 * 1024);
    const argvAgent = await call<Agent>(
      runtime,
      'POST',
      '/api/v1/agents',
      { name: 'argv', command: [process.execPath, AGENT_SCRIPT, 'write', '{prompt}'] },
      201,
    );
    const task = await createTask(runtime, { description: long });
    expect(
      (await refused(runtime, 'POST', `/api/v1/agents/${argvAgent.id}/start-task`, { task_id: task.id }, 400)).message,
    ).toMatch(/\{prompt_file\}/);
    const fileAgent = await scriptAgent(runtime, 'write');
    await startTask(runtime, fileAgent, task);
    expect((await waitForTask(runtime, task.id, settled)).status).toBe('succeeded');
    // Once it ran, it cannot be started again or have its prompt changed.
    await refused(runtime, 'POST', `/api/v1/agents/${fileAgent.id}/start-task`, { task_id: task.id }, 409);
    await refused(runtime, 'PATCH', `/api/v1/tasks/${task.id}`, { description: 'other' }, 409);
    expect((await call<Task>(runtime, 'PATCH', `/api/v1/tasks/${task.id}`, { priority: 'high' }, 200)).priority).toBe(
      'high',
    );
  });

  it('a program that cannot be executed fails the task (spawn_failed) and marks its agent error with why', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo });
    const script = path.join(tempWorkspace(), 'broken-agent');
    fs.writeFileSync(script, '#!/no/such/interpreter\n', { mode: 0o755 });
    const agent = await call<Agent>(runtime, 'POST', '/api/v1/agents', { name: 'broken', command: [script] }, 201);
    expect(agent.status).toBe('idle');
    const task = await createTask(runtime);
    await startTask(runtime, agent, task);
    const done = await waitForTask(runtime, task.id, settled);
    expect(done).toMatchObject({ status: 'failed', reason: 'spawn_failed: ENOENT' });
    expect(await (await api(runtime, `/api/v1/tasks/${task.id}/output`)).text()).toMatch(/could not start/);
    const after = await call<Agent>(runtime, 'GET', `/api/v1/agents/${agent.id}`, undefined, 200);
    expect(after).toMatchObject({ status: 'error', status_reason: 'spawn_failed: ENOENT', current_task_id: null });
  });

  it('commits files with hostile names as plain data', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo });
    const { task } = await runTask(runtime, 'hostile');
    expect(task.status).toBe('succeeded');
    const files = execFileSync('git', ['ls-tree', '-r', '-z', '--name-only', task.git_branch!], {
      cwd: repo,
      encoding: 'utf8',
    })
      .split('\0')
      .filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining(['--force', '-rf', 'new\nline.txt', '$(touch pwned).txt', ' spaced ', 'ünï cödé.md']),
    );
    expect(task.diff_stat!.files_changed).toBe(6);
    expect(fs.existsSync(path.join(repo, 'pwned'))).toBe(false);
  });

  it('a workspace that is not a git repository: tasks can be created, starting says how to fix it', async () => {
    const runtime = await startRuntime({ workspace: tempWorkspace() });
    const agent = await scriptAgent(runtime, 'write');
    const task = await createTask(runtime);
    expect(
      (await refused(runtime, 'POST', `/api/v1/agents/${agent.id}/start-task`, { task_id: task.id }, 409)).message,
    ).toMatch(/git init/);
  });

  it('a working agent cannot be deleted, a running task cannot be deleted', async () => {
    const runtime = await startRuntime({ workspace: tempRepo() });
    const agent = await scriptAgent(runtime, 'hang');
    const task = await createTask(runtime);
    await startTask(runtime, agent, task);
    await refused(runtime, 'DELETE', `/api/v1/agents/${agent.id}`, undefined, 409);
    await refused(runtime, 'DELETE', `/api/v1/tasks/${task.id}`, undefined, 409);
    await refused(runtime, 'POST', `/api/v1/tasks/${task.id}/merge`, {}, 409);
    await call(runtime, 'POST', `/api/v1/tasks/${task.id}/cancel`, undefined, 202);
    await waitForTask(runtime, task.id, settled);
    await call(runtime, 'DELETE', `/api/v1/tasks/${task.id}?delete_branch=true`, undefined, 204);
    await call(runtime, 'DELETE', `/api/v1/agents/${agent.id}`, undefined, 204);
    expect(
      (await call<{ sandboxes: Sandbox[] }>(runtime, 'GET', '/api/v1/sandboxes')).sandboxes.every(
        (s) => s.status === 'destroyed',
      ),
    ).toBe(true);
  });

  it('clients cannot publish agent.*, task.*, sandbox.* or git.operation_completed', async () => {
    const runtime = await startRuntime({ workspace: tempRepo() });
    for (const type of ['task.output', 'agent.created', 'sandbox.created', 'git.operation_completed']) {
      const error = await refused(runtime, 'POST', '/api/v1/events', { type, data: {} }, 400);
      expect(error.message).toMatch(/published by the server only/);
    }
  });
});

describe('tasks across a restart', () => {
  it('a task running when the server died ends failed (server_restarted), its processes killed, its sandbox kept; stray worktrees are removed', async () => {
    const repo = tempRepo();
    const server = spawnLookout(['serve', '--workspace', repo, '--port', '0', '--log-level', 'warn']);
    await server.waitFor(/listening on/);
    const info = readServerInfo(workspacePaths(repo).serverInfo)!;
    const headers = { 'x-session-token': info.token, 'content-type': 'application/json' };
    const post = async (url: string, body: unknown) => {
      const res = await fetch(`${info.url}/api/v1${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
      return (await res.json()) as { id: string };
    };
    const agent = await post('/agents', { name: 'forker', command: [process.execPath, AGENT_SCRIPT, 'fork'] });
    const task = await post('/tasks', { title: 'long job' });
    await post(`/agents/${agent.id}/start-task`, { task_id: task.id });
    const log = path.join(repo, '.lookout', 'tasks', `${task.id}.log`);
    while (!(fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('children')))
      await new Promise((r) => setTimeout(r, 20));
    const children = fs
      .readFileSync(log, 'utf8')
      .match(/children ([\d ]+)/)![1]!
      .trim()
      .split(' ')
      .map(Number);
    server.child.kill('SIGKILL');
    await server.exited;
    expect(children.every(alive)).toBe(true); // a crash leaves them running…

    // …and a stray worktree of ours that no row knows about.
    const stray = path.join(repo, '.lookout', 'sandboxes', 'stray');
    execFileSync('git', ['worktree', 'add', '--detach', stray], { cwd: repo, stdio: 'ignore' });

    const runtime = await createRuntime({ workspace: repo, port: 0, logLevel: 'warn' });
    try {
      const settledTask = await call<Task>(runtime, 'GET', `/api/v1/tasks/${task.id}`, undefined, 200);
      expect(settledTask).toMatchObject({ status: 'failed', reason: 'server_restarted' });
      for (const pid of children) while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 10));
      const agentNow = await call<Agent>(runtime, 'GET', `/api/v1/agents/${agent.id}`, undefined, 200);
      expect(agentNow).toMatchObject({ status: 'idle', current_task_id: null });
      const sandbox = await call<Sandbox>(
        runtime,
        'GET',
        `/api/v1/sandboxes/${settledTask.sandbox_id}`,
        undefined,
        200,
      );
      expect(sandbox.status).toBe('kept');
      expect(fs.existsSync(stray)).toBe(false);
      expect(git(repo, 'worktree', 'list')).not.toContain('stray');
      expect(fs.readFileSync(log, 'utf8')).toMatch(/server stopped while this task ran/);
    } finally {
      await runtime.stop();
    }
  });

  it('merging is refused (423) while the CLI holds the workspace', async () => {
    const repo = tempRepo();
    const first = await createRuntime({ workspace: repo, port: 0, logLevel: 'warn' });
    let taskId: string;
    try {
      taskId = (await runTask(first, 'write')).task.id;
    } finally {
      await first.stop();
    }
    const run = spawnLookout([
      'run',
      '--workspace',
      repo,
      '--',
      process.execPath,
      '-e',
      "process.stdin.resume(); process.stdin.on('end', () => process.exit(0)); console.log('ready')",
    ]);
    await run.waitFor(/ready/);
    const runtime = await createRuntime({ workspace: repo, port: 0, logLevel: 'warn' });
    try {
      const error = await refused(runtime, 'POST', `/api/v1/tasks/${taskId}/merge`, {}, 423);
      expect(error.code).toBe('read_only');
      expect(git(repo, 'log', '--oneline', 'main')).not.toMatch(/Merge task/);
    } finally {
      run.child.stdin!.end();
      await run.exited;
      await runtime.stop();
    }
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Task } from '../../src-shared/tasks.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { git, tempRepo } from '../helpers/git-repo.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';
import { runLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { call, settled, waitForTask } from '../helpers/tasks.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/** Two servers on one PostgreSQL database, each serving its own clone of one repository. */
async function twoServers(): Promise<{ a: Runtime; b: Runtime; repo: string; clone: string }> {
  const { url } = await createTestDatabase();
  const repo = tempRepo();
  const clone = tempWorkspace();
  git(clone, 'clone', '--quiet', repo, '.');
  const a = await startRuntime({ workspace: repo, databaseUrl: url });
  const b = await startRuntime({ workspace: clone, databaseUrl: url });
  holder = a;
  return { a, b, repo, clone };
}

/**
 * The workspace lock of a control room is held by one of its servers; a write through
 * another names the holder's lock id, as a client of the holder would (see the notes on
 * team mode's session lock).
 */
async function lockId(server: Runtime): Promise<string> {
  const session = await call<{ lock: { id: string } }>(server, 'GET', '/api/v1/session', undefined, 200);
  return session.lock.id;
}

/** A JSON request through `server`, presenting the lock id; answers status and body. */
let holder: Runtime | undefined;

async function send<T>(server: Runtime, method: string, route: string, json?: unknown, status?: number): Promise<T> {
  const res = await api(server, route, {
    method,
    headers: { 'x-lock-id': await lockId(holder ?? server) },
    ...(json === undefined ? {} : { json }),
  });
  const text = await res.text();
  if (status !== undefined) expect(res.status, `${method} ${route}: ${text}`).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 25));
}

describePostgres('team mode: agents, tasks and users across two servers on one database', () => {
  it('start calls racing on both servers run every task exactly once; both servers show the same board', async () => {
    const { a, b, repo, clone } = await twoServers();
    const ran = path.join(tempWorkspace(), 'ran.txt');
    const append = `require('fs').appendFileSync(${JSON.stringify(ran)}, process.env.LOOKOUT_TASK_ID + ' ' + process.env.LOOKOUT_WORKDIR + '\\n')`;
    const n = 8;
    const agents: Agent[] = [];
    const tasks: Task[] = [];
    for (let i = 0; i < n; i++) {
      agents.push(
        await send<Agent>(
          i % 2 ? a : b,
          'POST',
          '/api/v1/agents',
          {
            name: `racer-${i}`,
            command: [process.execPath, '-e', append],
          },
          201,
        ),
      );
      tasks.push(await send<Task>(i % 2 ? b : a, 'POST', '/api/v1/tasks', { title: `task ${i}`, base: 'main' }, 201));
    }
    const id = await lockId(a);
    // Every task, started with its own agent on both servers at once, twice each.
    const attempts = await Promise.all(
      tasks.flatMap((task, i) =>
        [a, b, a, b].map(async (server) => {
          const res = await api(server, `/api/v1/agents/${agents[i]!.id}/start-task`, {
            method: 'POST',
            headers: { 'x-lock-id': id },
            json: { task_id: task.id },
          });
          return { task: task.id, status: res.status, body: (await res.json()) as { error?: { code: string } } };
        }),
      ),
    );
    for (const task of tasks) {
      const mine = attempts.filter((r) => r.task === task.id);
      expect(
        mine.filter((r) => r.status === 202),
        `${task.id}: ${JSON.stringify(mine)}`,
      ).toHaveLength(1);
      for (const r of mine.filter((r) => r.status !== 202))
        expect([r.status, r.body.error?.code]).toEqual([409, 'conflict']);
    }
    const done = await Promise.all(tasks.map((task) => waitForTask(b, task.id, settled)));
    expect(done.map((t) => t.status)).toEqual(done.map(() => 'succeeded'));

    const lines = fs.readFileSync(ran, 'utf8').trim().split('\n');
    expect(lines.map((line) => line.split(' ')[0]).sort()).toEqual(tasks.map((t) => t.id).sort());
    for (const line of lines) expect([repo, clone].some((dir) => line.split(' ')[1]!.startsWith(dir))).toBe(true);

    // One board: the same tasks and agents, whichever server answers.
    const board = async (server: Runtime) =>
      (await call<{ tasks: Task[] }>(server, 'GET', '/api/v1/tasks', undefined, 200)).tasks.map((t) => [
        t.id,
        t.status,
      ]);
    expect(await board(a)).toEqual(await board(b));
    await until(async () =>
      (await call<{ agents: Agent[] }>(a, 'GET', '/api/v1/agents', undefined, 200)).agents.every(
        (x) => x.status === 'idle',
      ),
    );
  }, 90_000);

  it('a task queued while one server is full runs on the other, which hears of it through the shared event stream', async () => {
    const { url } = await createTestDatabase();
    const repo = tempRepo();
    const clone = tempWorkspace();
    git(clone, 'clone', '--quiet', repo, '.');
    // Each server runs one task at a time.
    const a = await startRuntime({ workspace: repo, databaseUrl: url, maxRunningTasks: 1 });
    const b = await startRuntime({ workspace: clone, databaseUrl: url, maxRunningTasks: 1 });
    holder = a;
    const agent = (name: string, code: string) =>
      send<Agent>(a, 'POST', '/api/v1/agents', { name, command: [process.execPath, '-e', code] }, 201);
    const sleeper = await agent('sleeper', 'setTimeout(() => {}, 60000)');
    const quick = await agent('quick', 'console.log(process.env.LOOKOUT_WORKDIR)');
    const long = await send<Task>(a, 'POST', '/api/v1/tasks', { title: 'long', base: 'main' }, 201);
    const short = await send<Task>(a, 'POST', '/api/v1/tasks', { title: 'short', base: 'main' }, 201);
    await send(a, 'POST', `/api/v1/agents/${sleeper.id}/start-task`, { task_id: long.id }, 202);
    const running = await waitForTask(a, long.id, (t) => t.status === 'running' && t.sandbox_id !== null);
    // Whichever server took the long task is full; the short one, started on A, must run on the other.
    const sandbox = await call<{ path: string }>(a, 'GET', `/api/v1/sandboxes/${running.sandbox_id}`, undefined, 200);
    const [busy, free, freeDir] = sandbox.path.startsWith(repo) ? [a, b, clone] : [b, a, repo];
    await send(busy, 'POST', `/api/v1/agents/${quick.id}/start-task`, { task_id: short.id }, 202);
    const ran = await waitForTask(a, short.id, settled);
    expect(ran.status).toBe('succeeded');
    // Its worktree was in the free server's clone, and its output is in that server's log.
    const output = await api(free, `/api/v1/tasks/${short.id}/output`);
    expect(await output.text()).toContain(freeDir);
    const elsewhere = await api(busy, `/api/v1/tasks/${short.id}/output`);
    expect(elsewhere.status).toBe(409);
    expect(((await elsewhere.json()) as { error: { message: string } }).error.message).toMatch(
      /ran on the server .*ask that server/,
    );

    // The sleeper is busy for the free server too, and a cancel asked there ends it where it runs.
    const other = await send<Task>(free, 'POST', '/api/v1/tasks', { title: 'other', base: 'main' }, 201);
    // (Through the services: HTTP writes depend on the team session lock, not the subject here.)
    await expect(free.tasks.start(sleeper.id, other.id)).rejects.toThrow(/busy with task/);
    expect((await free.tasks.cancel(long.id)).status).toBe('running'); // ended within a second
    expect((await waitForTask(free, long.id, settled)).status).toBe('cancelled');
  }, 90_000);

  it('a user created on one server signs in on the other, and its token works on both', async () => {
    const { a, b } = await twoServers();
    await send(a, 'POST', '/api/v1/users', { name: 'lin', role: 'operator', password: 'a long password 1' }, 201);
    const signIn = await fetch(`${b.url}/api/v1/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lin', password: 'a long password 1' }),
    });
    expect(signIn.status).toBe(200);
    const { access_token: token } = (await signIn.json()) as { access_token: string };
    for (const server of [a, b]) {
      const res = await api(server, '/api/v1/agents', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, server.url).toBe(200);
    }

    // A stream the user holds on B ends when an admin disables the user on A.
    const stream = await fetch(`${b.url}/api/v1/sse`, { headers: { authorization: `Bearer ${token}` } });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    await reader.read(); // the hello: the stream is open
    const users = await call<{ users: { id: string; name: string }[] }>(a, 'GET', '/api/v1/users', undefined, 200);
    const lin = users.users.find((u) => u.name === 'lin')!;
    await send(a, 'PATCH', `/api/v1/users/${lin.id}`, { disabled: true }, 200);
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      text += new TextDecoder().decode(chunk.value);
    expect(text).toMatch(/revoked/);
    expect((await api(b, '/api/v1/agents', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('`lookout user add` with LOOKOUT_DATABASE_URL and no server running puts the user in the team database', async () => {
    const { url } = await createTestDatabase();
    const workspace = tempWorkspace();
    const env = { ...process.env, LOOKOUT_DATABASE_URL: url };
    const added = await runLookout(['user', 'add', 'kim', '--role', 'viewer', '--workspace', workspace], {
      env,
      input: 'a long password 2\n',
    });
    expect(added, added.stderr).toMatchObject({ code: 0 });
    expect(added.stdout).toContain('created kim (viewer)');
    expect(
      fs.existsSync(path.join(workspace, '.lookout', 'lookout.db')) &&
        fs.statSync(path.join(workspace, '.lookout', 'lookout.db')).size > 0,
    ).toBe(false);
    const bad = await runLookout(['user', 'list', '--workspace', workspace], {
      env: { ...process.env, LOOKOUT_DATABASE_URL: 'mysql://nope' },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/LOOKOUT_DATABASE_URL is not a PostgreSQL URL/);

    const server = await startRuntime({ databaseUrl: url });
    const signIn = await fetch(`${server.url}/api/v1/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kim', password: 'a long password 2' }),
    });
    expect(signIn.status).toBe(200);
  });
});

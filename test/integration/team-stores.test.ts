import type { IncomingMessage } from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import { isFinalTaskStatus, type Task } from '../../src-shared/tasks.ts';
import { AccessService, type RequestOrigin } from '../../src-main/access/access-service.ts';
import { AgentRegistry } from '../../src-main/agents/registry.ts';
import { LookoutError } from '../../src-main/errors.ts';
import { createLogger } from '../../src-main/logger.ts';
import type { SqlStore } from '../../src-main/store/sql-store.ts';
import { GitRunner } from '../../src-main/tasks/git-runner.ts';
import { worktreeProvider } from '../../src-main/tasks/sandbox/providers.ts';
import { Sandboxes } from '../../src-main/tasks/sandbox/sandboxes.ts';
import { TaskService } from '../../src-main/tasks/task-service.ts';
import { git, tempRepo } from '../helpers/git-repo.ts';
import { describeEachDialect, storeFixture } from '../helpers/dialects.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { testBus } from '../helpers/test-bus.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const LOCAL: RequestOrigin = { address: '127.0.0.1', loopback: true };
const REMOTE: RequestOrigin = { address: '203.0.113.7', loopback: false };
const ADMIN = { id: 'owner', name: 'owner', role: 'admin' } as const;

const agentBody = (name: string, command: [string, ...string[]] = [process.execPath, '--version']) => ({
  name,
  role: 'coder',
  command,
  provider: 'worktree' as const,
  network: false,
});

function openAccess(store: SqlStore, workspace = tempWorkspace()): Promise<AccessService> {
  return AccessService.open({
    store,
    bus: testBus(),
    logger: createLogger({ level: 'silent' }),
    signingKeyFile: `${workspace}/.lookout-signing.key`,
    ownerToken: 'o'.repeat(43),
    accessTokenTtlS: 600,
    refreshTokenTtlDays: 14,
    signInAttempts: 100,
    apiRatePerSecond: 1000,
    apiRateBurst: 1000,
  });
}

/** The error a promise rejects with (the test fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<LookoutError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LookoutError);
  return error as LookoutError;
}

/** A request presenting nothing but the ticket in its query. */
const NO_HEADERS = { headers: {} } as IncomingMessage;

describeEachDialect('agents, git operations and access stores', (dialect) => {
  it('agents: create, read back every field, update, refuse a taken name (also when two race), delete', async () => {
    const store = await (await storeFixture(dialect)).open();
    const agents = new AgentRegistry({ store, bus: testBus() });
    const a = await agents.create({ ...agentBody('alpha'), env: { A: '1' }, timeout_s: 30, network: true });
    expect(await agents.get(a.id)).toMatchObject({
      name: 'alpha',
      status: 'idle',
      env: { A: '1' },
      timeout_s: 30,
      network: true,
      current_task_id: null,
    });
    const renamed = await agents.update(a.id, { name: 'beta', network: false });
    expect(renamed).toMatchObject({ name: 'beta', network: false, timeout_s: 30 });
    expect((await rejection(agents.create(agentBody('beta')))).code).toBe('conflict');

    // Two creates with one name at once: exactly one wins, the other is the same 409.
    const raced = await Promise.allSettled([agents.create(agentBody('gamma')), agents.create(agentBody('gamma'))]);
    expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = raced.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((lost.reason as LookoutError).code).toBe('conflict');

    await agents.delete(a.id);
    expect((await rejection(agents.get(a.id))).code).toBe('not_found');
    expect((await agents.list()).map((x) => x.name)).toEqual(['gamma']);
  });

  it('agents: of many claims racing for one agent exactly one wins, and a busy agent cannot be deleted', async () => {
    const store = await (await storeFixture(dialect)).open();
    const agents = new AgentRegistry({ store, bus: testBus() });
    const agent = await agents.create(agentBody('solo'));
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.transaction((tx) => agents.claim(tx, agent.id, `task-${i}`))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = `task-${results.indexOf(true)}`;
    expect((await agents.get(agent.id)).current_task_id).toBe(winner);
    expect((await rejection(agents.delete(agent.id))).code).toBe('conflict');
    await agents.setStatus(agent.id, 'idle', null, null);
    await agents.delete(agent.id);
  });

  it('git operations: recorded with their numbers in order, listed per task and limited', async () => {
    const store = await (await storeFixture(dialect)).open();
    const git = new GitRunner({ store, bus: testBus() });
    const repo = tempRepo();
    await git.run(['status', '--porcelain'], { cwd: repo, record: 'diff_stat', taskId: 't1' });
    await git.run(['rev-parse', 'HEAD'], { cwd: repo, record: 'commit', taskId: 't2', shaAfter: true });
    await expect(git.run(['rev-parse', 'no-such-ref'], { cwd: repo, record: 'merge', taskId: 't1' })).rejects.toThrow(
      /git rev-parse failed/,
    );
    const all = await git.list({ limit: 10 });
    expect(all.map((op) => [op.task_id, op.operation_type, op.status])).toEqual([
      ['t1', 'diff_stat', 'succeeded'],
      ['t2', 'commit', 'succeeded'],
      ['t1', 'merge', 'failed'],
    ]);
    expect(Number(all[0]!.id)).toBeLessThan(Number(all[1]!.id));
    expect(typeof all[0]!.duration_ms).toBe('number');
    expect(all[1]!.commit_sha).toMatch(/^[0-9a-f]{40}$/);
    expect((await git.list({ taskId: 't1', limit: 1 })).map((op) => op.operation_type)).toEqual(['merge']);
  });

  it('access: users, sign-in, refresh rotation and reuse, a role change voids older tokens, codes work once', async () => {
    const store = await (await storeFixture(dialect)).open();
    const access = await openAccess(store);
    const user = await access.createUser({ name: 'Ada', role: 'operator', password: 'correct horse 1' }, ADMIN);
    expect(
      (await rejection(access.createUser({ name: 'ada', role: 'viewer', password: 'x'.repeat(12) }, ADMIN))).code,
    ).toBe('name_taken');
    const session = await access.signIn({ name: 'ada', password: 'correct horse 1' }, REMOTE);
    expect(await access.verifyAccessToken(session.response.access_token)).toMatchObject({
      id: user.id,
      role: 'operator',
    });

    const rotated = await access.refresh(session.refreshToken, session.response.refresh_binding, REMOTE);
    // The first token again: a copy exists elsewhere, so the whole sign-in ends.
    expect(
      (await rejection(access.refresh(session.refreshToken, session.response.refresh_binding, REMOTE))).message,
    ).toMatch(/already used/);
    expect(
      (await rejection(access.refresh(rotated.refreshToken, rotated.response.refresh_binding, REMOTE))).message,
    ).toMatch(/ended/);

    const again = await access.signIn({ name: 'Ada', password: 'correct horse 1' }, REMOTE);
    await access.updateUser(user.id, { role: 'viewer' }, ADMIN);
    expect((await rejection(access.verifyAccessToken(again.response.access_token))).message).toMatch(/revoked/);
    const fresh = await access.signIn({ name: 'Ada', password: 'correct horse 1' }, REMOTE);
    expect((await access.verifyAccessToken(fresh.response.access_token)).role).toBe('viewer');

    const { code } = await access.mintCode();
    await access.signIn({ code }, LOCAL);
    expect((await rejection(access.signIn({ code }, LOCAL))).code).toBe('invalid_credentials');

    await access.removeUser(user.id);
    expect((await rejection(access.verifyAccessToken(fresh.response.access_token))).code).toBe('unauthorized');
    expect(await access.listUsers()).toEqual([]);
  });

  it('access: a stream ticket opens one stream, however many requests race with it', async () => {
    const store = await (await storeFixture(dialect)).open();
    const access = await openAccess(store);
    const { ticket } = await access.mintTicket({
      id: 'owner',
      name: 'owner',
      role: 'admin',
      kind: 'owner',
      via: 'owner_token',
    });
    const tries = await Promise.allSettled(
      Array.from({ length: 8 }, () => access.authenticate(NO_HEADERS, { origin: LOCAL, ticket })),
    );
    expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(1);
  });
});

describePostgres('two servers on one PostgreSQL database', () => {
  it('users and tokens made on one server count on the other; a disable, a removal and a key rotation reach it', async () => {
    const fixture = await storeFixture('postgres');
    const [storeA, storeB] = [await fixture.open(), await fixture.open()];
    const a = await openAccess(storeA);
    const b = await openAccess(storeB);

    const user = await a.createUser({ name: 'grace', role: 'admin', password: 'hopper hopper 1' }, ADMIN);
    // Signed in on B with the user made on A; B's token verifies on A, A's on B.
    const onB = await b.signIn({ name: 'grace', password: 'hopper hopper 1' }, REMOTE);
    expect(await a.verifyAccessToken(onB.response.access_token)).toMatchObject({ id: user.id, role: 'admin' });
    const onA = await a.signIn({ name: 'grace', password: 'hopper hopper 1' }, REMOTE);
    expect(await b.verifyAccessToken(onA.response.access_token)).toMatchObject({ id: user.id });
    // The refresh token issued by A rotates on B, once.
    const refreshed = await b.refresh(onA.refreshToken, onA.response.refresh_binding, REMOTE);
    expect((await rejection(a.refresh(onA.refreshToken, onA.response.refresh_binding, REMOTE))).message).toMatch(
      /already used/,
    );
    expect(
      (await rejection(a.refresh(refreshed.refreshToken, refreshed.response.refresh_binding, REMOTE))).message,
    ).toMatch(/ended/);

    // A one-time code and a ticket minted on A are redeemed on B, once.
    const { code } = await a.mintCode();
    await b.signIn({ code }, LOCAL);
    expect((await rejection(a.signIn({ code }, LOCAL))).code).toBe('invalid_credentials');
    const { ticket } = await a.mintTicket({
      id: user.id,
      name: 'grace',
      role: 'admin',
      kind: 'user',
      via: 'access_token',
    });
    expect(await b.authenticate(NO_HEADERS, { origin: LOCAL, ticket })).toMatchObject({ id: user.id, via: 'ticket' });
    expect((await rejection(a.authenticate(NO_HEADERS, { origin: LOCAL, ticket }))).code).toBe('unauthorized');

    // Disabled on A: refused on B at once.
    const later = await b.signIn({ name: 'grace', password: 'hopper hopper 1' }, REMOTE);
    await a.updateUser(user.id, { disabled: true }, ADMIN);
    expect((await rejection(b.verifyAccessToken(later.response.access_token))).message).toMatch(/revoked/);
    await a.updateUser(user.id, { disabled: false }, ADMIN);

    // The key rotated on B: A's tokens signed with the old key stop on A within a second,
    // and a token signed after the rotation verifies on both.
    const before = await a.signIn({ name: 'grace', password: 'hopper hopper 1' }, REMOTE);
    await b.rotateKey();
    expect((await rejection(b.verifyAccessToken(before.response.access_token))).code).toBe('unauthorized');
    const deadline = Date.now() + 5000;
    let stillGood = true;
    while (stillGood && Date.now() < deadline) {
      stillGood = await a.verifyAccessToken(before.response.access_token).then(
        () => true,
        () => false,
      );
      if (stillGood) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stillGood, 'A still accepts a token signed with the rotated-out key').toBe(false);
    const after = await b.signIn({ name: 'grace', password: 'hopper hopper 1' }, REMOTE);
    expect((await a.verifyAccessToken(after.response.access_token)).id).toBe(user.id);
    const fromA = await a.signIn({ name: 'grace', password: 'hopper hopper 1' }, REMOTE);
    expect((await b.verifyAccessToken(fromA.response.access_token)).id).toBe(user.id);
  });
});

/** One server's task side (registry, git, sandboxes, queue) on `store`, working in its own clone. */
async function taskServer(store: SqlStore, workspace: string, maxRunning = 2) {
  const bus = testBus();
  const logger = createLogger({ level: 'silent' });
  const stateDir = path.join(workspace, '.lookout');
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const runnerId = `test:${workspace}`;
  const agents = new AgentRegistry({ store, bus });
  const git = new GitRunner({ store, bus });
  const sandboxes = new Sandboxes({ store, runnerId, bus, git, logger, workspace, stateDir });
  const tasks = new TaskService({
    store,
    runnerId,
    bus,
    logger,
    agents,
    sandboxes,
    git,
    providers: [worktreeProvider],
    settings: { maxRunning, timeoutS: 120, graceMs: 500, eventBudgetBytes: 100_000, flushMs: 50 },
    credentials: { issue: () => 'unused', revoke: () => undefined },
    stateDir,
    url: () => 'http://127.0.0.1:9',
  });
  agents.sandboxOf = (taskId) => tasks.sandboxOf(taskId);
  await tasks.recover();
  servers.push(tasks);
  return { agents, tasks, runnerId };
}

const servers: TaskService[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((tasks) => tasks.stop(500)));
});

async function settledAll(tasks: TaskService, ids: string[]): Promise<Task[]> {
  for (;;) {
    const all = (await tasks.list()).filter((task) => ids.includes(task.id));
    if (all.every((task) => isFinalTaskStatus(task.status))) return all;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describePostgres('the task queue across two servers on one PostgreSQL database', () => {
  // Many git worktrees and processes on two servers: slow on a loaded machine, hence the time.
  it('many start calls racing on both servers: each task is started once and runs exactly once', async () => {
    const fixture = await storeFixture('postgres');
    const [storeA, storeB] = [await fixture.open(), await fixture.open()];
    const repo = tempRepo();
    const clone = tempWorkspace();
    git(clone, 'clone', '--quiet', repo, '.');
    const a = await taskServer(storeA, repo);
    const b = await taskServer(storeB, clone);
    const ran = path.join(tempWorkspace(), 'ran.txt');
    const append = `require('fs').appendFileSync(${JSON.stringify(ran)}, process.env.LOOKOUT_TASK_ID + ' ' + process.env.LOOKOUT_WORKDIR + '\\n')`;

    const n = 10;
    const agents: Agent[] = [];
    for (let i = 0; i < n; i++)
      agents.push(await a.agents.create(agentBody(`racer-${i}`, [process.execPath, '-e', append])));
    const tasks: Task[] = [];
    for (let i = 0; i < n; i++)
      tasks.push(
        await (i % 2 === 0 ? a : b).tasks.create({
          title: `task ${i}`,
          description: '',
          priority: 'medium',
          base: 'main',
        }),
      );

    // For every task, four starts at once: on both servers, with its own agent and its
    // neighbour's, all forty in flight together.
    const attempts = tasks.flatMap((task, i) =>
      [a, b].flatMap((server) =>
        [agents[i]!, agents[(i + 1) % n]!].map((agent) =>
          server.tasks.start(agent.id, task.id).then(
            (started) => ({ task: task.id, ok: true as const, started }),
            (error: unknown) => ({ task: task.id, ok: false as const, error }),
          ),
        ),
      ),
    );
    const results = await Promise.all(attempts);
    for (const task of tasks) {
      const mine = results.filter((r) => r.task === task.id);
      const won = mine.filter((r) => r.ok);
      const lost = mine.filter((r) => !r.ok);
      // Exactly one start per task won, unless both its agents were taken by neighbours' tasks.
      expect(won.length, `task ${task.id}`).toBeLessThanOrEqual(1);
      for (const r of lost)
        expect((r as { error: LookoutError }).error.code, String((r as { error: Error }).error)).toBe('conflict');
    }
    // Tasks whose agents were all busy are started again, one server each, until all ran.
    let pending = tasks.filter((task) => !results.some((r) => r.task === task.id && r.ok)).map((t) => t.id);
    while (pending.length > 0) {
      const idle = (await b.agents.list()).filter((agent) => agent.current_task_id === null);
      for (const [k, id] of pending.entries()) {
        const agent = idle[k];
        if (agent) await (k % 2 === 0 ? a : b).tasks.start(agent.id, id).catch(() => undefined);
      }
      pending = (await a.tasks.list({ status: ['pending'] })).map((t) => t.id);
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const done = await settledAll(
      a.tasks,
      tasks.map((t) => t.id),
    );
    expect(done.map((t) => t.status)).toEqual(done.map(() => 'succeeded'));
    const lines = fs.readFileSync(ran, 'utf8').trim().split('\n');
    const counted = new Map<string, number>();
    for (const line of lines) counted.set(line.split(' ')[0]!, (counted.get(line.split(' ')[0]!) ?? 0) + 1);
    expect([...counted.keys()].sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(
      [...counted.values()].every((count) => count === 1),
      lines.join('\n'),
    ).toBe(true);
    // Each ran in the clone of the server that claimed it, and that server is its runner.
    const runners = await storeA.all<{ id: string; runner: string }>('SELECT id, runner FROM tasks');
    for (const line of lines) {
      const [id, workdir] = line.split(' ');
      const runner = runners.find((r) => r.id === id)!.runner;
      expect([a.runnerId, b.runnerId]).toContain(runner);
      expect(workdir!.startsWith(runner === a.runnerId ? repo : clone), `${id} ran in ${workdir} for ${runner}`).toBe(
        true,
      );
    }
    // Every agent is freed (right after its task settles), as the other server sees it.
    while (!(await b.agents.list()).every((agent) => agent.status === 'idle' && agent.current_task_id === null))
      await new Promise((resolve) => setTimeout(resolve, 25));
  }, 90_000);

  it('an agent busy on one server is busy on the other, and a cancel asked there ends the run here', async () => {
    const fixture = await storeFixture('postgres');
    const [storeA, storeB] = [await fixture.open(), await fixture.open()];
    const repo = tempRepo();
    const clone = tempWorkspace();
    git(clone, 'clone', '--quiet', repo, '.');
    const a = await taskServer(storeA, repo);
    const b = await taskServer(storeB, clone);
    const sleeper = await a.agents.create(
      agentBody('sleeper', [process.execPath, '-e', 'setTimeout(() => {}, 60000)']),
    );
    const first = await a.tasks.create({ title: 'long', description: '', priority: 'medium', base: 'main' });
    const second = await b.tasks.create({ title: 'next', description: '', priority: 'medium', base: 'main' });
    await a.tasks.start(sleeper.id, first.id);
    while ((await b.tasks.get(first.id)).status !== 'running') await new Promise((resolve) => setTimeout(resolve, 25));

    expect((await b.agents.get(sleeper.id)).status).toBe('working');
    const busy = await rejection(b.tasks.start(sleeper.id, second.id));
    expect(busy.message).toMatch(/busy with task/);
    // Work on a task's git happens where its clone is.
    expect((await rejection(b.tasks.delete(first.id, { deleteBranch: true }))).message).toMatch(/cancel it first/);

    const cancelled = await b.tasks.cancel(first.id);
    expect(cancelled.status).toBe('running'); // the runner ends it within a second
    const [ended] = await settledAll(b.tasks, [first.id]);
    expect(ended).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    // The agent is freed right after its task settles.
    while ((await b.agents.get(sleeper.id)).status !== 'idle') await new Promise((resolve) => setTimeout(resolve, 25));
    expect((await rejection(b.tasks.merge(first.id, { push: false }))).message).toMatch(/only a succeeded task/);
  }, 90_000);
});

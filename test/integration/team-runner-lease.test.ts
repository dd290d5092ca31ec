import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Task } from '../../src-shared/tasks.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { spawnLookout, type Spawned } from '../helpers/cli.ts';
import { git, tempRepo } from '../helpers/git-repo.ts';
import {
  createTestDatabase,
  describePostgres,
  describePrivatePostgres,
  startPrivatePostgres,
} from '../helpers/postgres.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/**
 * Runner liveness in team mode: a server that is gone for good loses its running tasks
 * to the others (failed, runner_lost) once its lease runs out, and a server that was
 * only paused finds it lost the lease and ends its tasks instead of finishing them.
 */

interface Endpoint {
  url: string;
  token: string;
}

const LEASE_S = 3;

async function http<T>(server: Endpoint, method: string, route: string, json?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: { 'x-session-token': server.token, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Polls until `check` answers a value; `what` names the wait in the error if the test's timeout is near. */
async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what = 'a condition',
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Process groups of agent programs a test left (they outlive a killed server by design). */
const groups: number[] = [];
afterEach(() => {
  for (const pid of groups.splice(0))
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
});

/** `lookout serve` as a child process on the team database, with a short lease. */
async function spawnServer(workspace: string, databaseUrl: string): Promise<{ child: Spawned; server: Endpoint }> {
  const child = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn'], {
    env: { LOOKOUT_DATABASE_URL: databaseUrl, LOOKOUT_RUNNER_LEASE_S: String(LEASE_S) },
  });
  await child.waitFor(/listening on (http:\/\/\S+)/, 'stdout', 30_000);
  const info = JSON.parse(fs.readFileSync(path.join(workspace, '.lookout', 'server.json'), 'utf8')) as Endpoint;
  return { child, server: { url: info.url, token: info.token } };
}

/**
 * An agent whose program writes its pid, then would write `done` after a minute: it
 * ignores a closed stdout, so it outlives a server killed under it.
 */
function longAgent(dir: string): { command: string[]; pidFile: string; doneFile: string } {
  const pidFile = path.join(dir, 'agent.pid');
  const doneFile = path.join(dir, 'agent.done');
  const code = `
    const fs = require('fs');
    process.stdout.on('error', () => {});
    fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
    setInterval(() => process.stdout.write('working\\n'), 200);
    setTimeout(() => { fs.writeFileSync(${JSON.stringify(doneFile)}, 'done'); process.exit(0); }, 60000);`;
  return { command: [process.execPath, '-e', code], pidFile, doneFile };
}

/** Starts the long agent's task on `server` and waits until its program runs there. */
async function startLongTask(server: Endpoint): Promise<{ task: Task; agent: Agent; pid: number; doneFile: string }> {
  const { command, pidFile, doneFile } = longAgent(tempWorkspace());
  const agent = await http<Agent>(server, 'POST', '/api/v1/agents', { name: 'long', command });
  const task = await http<Task>(server, 'POST', '/api/v1/tasks', { title: 'long work', base: 'main' });
  await http(server, 'POST', `/api/v1/agents/${agent.id}/start-task`, { task_id: task.id });
  const pid = await until(() => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined));
  groups.push(pid);
  const running = await http<Task>(server, 'GET', `/api/v1/tasks/${task.id}`);
  expect(running.status).toBe('running');
  return { task: running, agent, pid, doneFile };
}

interface Envelope {
  type: string;
  sequence_number: number;
  data: Record<string, unknown>;
}

/**
 * The status events about a task or its agent, as stored: read from the database, since
 * a server that just published one may not have heard of the other's yet.
 */
async function eventsAbout(runtime: Runtime, taskId: string, agentId: string): Promise<Envelope[]> {
  const rows = await runtime.store.all<{ json: string }>(
    "SELECT json FROM events WHERE type IN ('task.status_changed', 'agent.status_changed') ORDER BY seq",
  );
  return rows
    .map((row) => JSON.parse(row.json) as Envelope)
    .filter((e) => e.data.task_id === taskId || e.data.agent_id === agentId);
}

/** A second server in this process on the same database, serving a clone of `repo`. */
async function survivor(repo: string, databaseUrl: string, runnerLeaseS = LEASE_S): Promise<Runtime> {
  const clone = tempWorkspace();
  git(clone, 'clone', '--quiet', repo, '.');
  return startRuntime({ workspace: clone, databaseUrl, runnerLeaseS });
}

/**
 * `n` tasks left running by a server that died holding them (its lease, `dead-lease`, ran
 * out a minute ago), each with its agent still working: what a sweep must settle.
 */
async function orphans(server: Runtime, n: number): Promise<{ task: string; agent: string }[]> {
  const ids: { task: string; agent: string }[] = [];
  for (let i = 0; i < n; i++) {
    const agent = await http<Agent>(endpoint(server), 'POST', '/api/v1/agents', {
      name: `orphan-${i}`,
      command: [process.execPath, '-e', ''],
    });
    const task = await http<Task>(endpoint(server), 'POST', '/api/v1/tasks', { title: `orphan ${i}`, base: 'main' });
    ids.push({ task: task.id, agent: agent.id });
  }
  await server.store.run(
    `INSERT INTO server_leases (id, holder, pid, acquired_at, renewed_at, expires_at_ms)
     VALUES ('dead-lease', 'gone:/srv/lookout', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z',
             (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - 60000)`,
  );
  for (const { task, agent } of ids) {
    await server.store.run(
      `UPDATE tasks SET status = 'running', assigned_agent_id = ?, runner = 'gone:/srv/lookout', lease_id = 'dead-lease',
       started_at = created_at WHERE id = ?`,
      [agent, task],
    );
    await server.store.run(`UPDATE agents SET status = 'working', current_task_id = ? WHERE id = ?`, [task, agent]);
  }
  return ids;
}

/**
 * Makes the next statement matching `when` fail once, as if the sweeping server died right
 * there: a trigger counting on a sequence (sequences ignore rollbacks, so it fails once).
 * `at: 'insert'` fails the INSERT of such an event; `at: 'commit'` fails the COMMIT of a
 * transaction that settled a task as runner_lost (a deferred constraint trigger).
 */
async function failOnce(server: Runtime, at: 'insert' | 'commit'): Promise<void> {
  const name = `die_at_${at}`;
  await server.store.run(`CREATE SEQUENCE ${name}`);
  await server.store.run(
    `CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN
       IF nextval('${name}') = 1 THEN RAISE EXCEPTION 'the sweeping server died (${at})'; END IF;
       RETURN ${at === 'insert' ? 'NEW' : 'NULL'};
     END $$ LANGUAGE plpgsql`,
  );
  await server.store.run(
    at === 'insert'
      ? `CREATE TRIGGER ${name} BEFORE INSERT ON events FOR EACH ROW
         WHEN (NEW.json LIKE '%"reason":"runner_lost"%') EXECUTE FUNCTION ${name}()`
      : `CREATE CONSTRAINT TRIGGER ${name} AFTER UPDATE ON tasks DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
         WHEN (NEW.reason = 'runner_lost') EXECUTE FUNCTION ${name}()`,
  );
}

const endpoint = (runtime: Runtime): Endpoint => ({ url: runtime.url, token: runtime.token });

describePostgres('team mode: a lost server’s running tasks', () => {
  it('are settled by another server (failed, runner_lost; agent freed, sandbox kept) within the lease, once; the server coming back ends the left-over program', async () => {
    const { url } = await createTestDatabase();
    const repo = tempRepo();
    const a = await spawnServer(repo, url);
    const { task, agent, pid } = await startLongTask(a.server);
    const b = await survivor(repo, url);
    // While A lives (and renews), its task is never taken, however long it runs: watch for
    // three leases that B's sweeps leave it running and A's lease is renewed.
    const renewals = new Set<string>();
    const watchUntil = Date.now() + 3 * LEASE_S * 1000;
    while (Date.now() < watchUntil) {
      expect((await http<Task>(endpoint(b), 'GET', `/api/v1/tasks/${task.id}`)).status).toBe('running');
      const lease = await b.store.get<{ renewed_at: string }>('SELECT renewed_at FROM server_leases WHERE holder = ?', [
        `${os.hostname()}:${repo}`,
      ]);
      renewals.add(lease!.renewed_at);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(renewals.size).toBeGreaterThanOrEqual(3);

    const killedAt = Date.now();
    a.child.child.kill('SIGKILL');
    expect(await a.child.exited).toBe(137);
    const settled = await until(async () => {
      const t = await http<Task>(endpoint(b), 'GET', `/api/v1/tasks/${task.id}`);
      return t.status === 'running' ? undefined : t;
    });
    const tookMs = Date.now() - killedAt;
    expect([settled.status, settled.reason]).toEqual(['failed', 'runner_lost']);
    expect(settled.completed_at).not.toBeNull();
    // Bounded: the lease, plus a sweep's interval (a third of it), plus slack for a loaded machine.
    expect(tookMs).toBeLessThan(LEASE_S * 1000 * (4 / 3) + 10_000);
    console.log(`runner_lost after SIGKILL: ${tookMs} ms (lease ${LEASE_S} s)`);

    const freed = await http<Agent>(endpoint(b), 'GET', `/api/v1/agents/${agent.id}`);
    expect([freed.status, freed.current_task_id]).toEqual(['idle', null]);
    const sandbox = await http<{ status: string }>(endpoint(b), 'GET', `/api/v1/sandboxes/${settled.sandbox_id}`);
    expect(sandbox.status).toBe('kept');

    // Published once (after the commit the task's row shows): one running → failed, one working → idle.
    const events = await until(async () => {
      const about = await eventsAbout(b, task.id, agent.id);
      return about.some((e) => e.type === 'agent.status_changed' && e.data.reason === 'runner_lost') && about;
    }, 'the reclaim’s events');
    const ended = events.filter((e) => e.type === 'task.status_changed' && e.data.from === 'running');
    expect(ended.map((e) => [e.data.to, e.data.reason])).toEqual([['failed', 'runner_lost']]);
    const released = events.filter((e) => e.type === 'agent.status_changed' && e.data.reason === 'runner_lost');
    expect(released.map((e) => [e.data.from, e.data.to])).toEqual([['working', 'idle']]);

    // The program outlived its server (nothing could reach it from another machine); the
    // server coming back under the same name ends it and says so in the task's log.
    expect(alive(pid)).toBe(true);
    const again = await spawnServer(repo, url);
    await until(() => !alive(pid));
    expect(fs.readFileSync(path.join(repo, '.lookout', 'tasks', `${task.id}.log`), 'utf8')).toMatch(
      /another server settled this task \(runner_lost\)/,
    );
    // …and its task stays as the survivor settled it: nothing more was published.
    expect((await http<Task>(again.server, 'GET', `/api/v1/tasks/${task.id}`)).status).toBe('failed');
    expect(await eventsAbout(b, task.id, agent.id)).toEqual(events);
    again.child.child.kill('SIGTERM');
    expect(await again.child.exited).toBe(0);
  }, 90_000);

  it('a paused server (SIGSTOP) that lost its lease kills its task on waking and records no result: one ending, published once', async () => {
    const { url } = await createTestDatabase();
    const repo = tempRepo();
    const a = await spawnServer(repo, url);
    const { task, agent, pid, doneFile } = await startLongTask(a.server);
    const b = await survivor(repo, url);

    // A stops answering (its event loop frozen) while its program goes on.
    a.child.child.kill('SIGSTOP');
    try {
      const settled = await until(
        async () => {
          const t = await http<Task>(endpoint(b), 'GET', `/api/v1/tasks/${task.id}`);
          return t.status === 'running' ? undefined : t;
        },
        'the survivor to settle the paused server’s task',
        30_000,
      );
      expect([settled.status, settled.reason]).toEqual(['failed', 'runner_lost']);
      expect(alive(pid)).toBe(true);
    } finally {
      a.child.child.kill('SIGCONT');
    }
    // On waking, A finds its lease gone and kills the program instead of letting it finish.
    await until(() => !alive(pid), 'the paused server to kill its program', 30_000);
    await a.child.waitFor(/lost its lease/, 'stderr', 30_000);
    const log = path.join(repo, '.lookout', 'tasks', `${task.id}.log`);
    await until(
      () => fs.existsSync(log) && /result is not recorded/.test(fs.readFileSync(log, 'utf8')),
      'the note in the task log',
      30_000,
    );
    expect(fs.existsSync(doneFile)).toBe(false);

    // Exactly one ending, by B: A's own end of the run found it settled and published nothing
    // (read from the database once A said so; A's own view may still be catching up).
    await a.child.waitFor(/had settled this task already/, 'stderr', 30_000);
    const final = await http<Task>(a.server, 'GET', `/api/v1/tasks/${task.id}`);
    expect([final.status, final.reason, final.head_sha]).toEqual(['failed', 'runner_lost', null]);
    const events = await until(async () => {
      const about = await eventsAbout(b, task.id, agent.id);
      return about.some((e) => e.type === 'agent.status_changed' && e.data.reason === 'runner_lost') && about;
    }, 'the reclaim’s events');
    const ended = events.filter((e) => e.type === 'task.status_changed' && e.data.from === 'running');
    expect(ended.map((e) => [e.data.to, e.data.reason])).toEqual([['failed', 'runner_lost']]);
    expect(events.filter((e) => e.type === 'agent.status_changed' && e.data.to === 'idle')).toHaveLength(1);

    // A took a new lease (and so takes tasks again).
    await until(
      async () =>
        (await b.store.get('SELECT id FROM server_leases WHERE holder = ?', [`${os.hostname()}:${repo}`])) !==
        undefined,
    );
    a.child.child.kill('SIGTERM');
    expect(await a.child.exited).toBe(0);
  }, 90_000);

  it('two servers sweeping at once settle each orphaned task exactly once', async () => {
    const { url } = await createTestDatabase();
    const repo = tempRepo();
    // A long lease: only the sweeps called below run during the test.
    const b = await survivor(repo, url, 3600);
    const c = await survivor(repo, url, 3600);
    const n = 12;
    const ids = await orphans(b, n);
    const rounds = await Promise.all([b, c, b, c, b, c].map((server) => server.tasks.reclaimOrphans()));
    const all = rounds.flat();
    expect(all.sort()).toEqual(ids.map((x) => x.task).sort());

    for (const { task, agent } of ids) {
      const events = await eventsAbout(c, task, agent);
      expect(events.filter((e) => e.type === 'task.status_changed' && e.data.task_id === task)).toHaveLength(1);
      expect(events.filter((e) => e.type === 'agent.status_changed' && e.data.agent_id === agent)).toHaveLength(1);
      expect((await http<Agent>(endpoint(c), 'GET', `/api/v1/agents/${agent}`)).status).toBe('idle');
    }
    expect(await b.store.get('SELECT id FROM server_leases WHERE id = ?', ['dead-lease'])).toBeUndefined();
    // A live server's tasks are never taken: both still hold their own leases.
    expect(await b.tasks.reclaimOrphans()).toEqual([]);
    expect(Number((await b.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM server_leases'))!.n)).toBe(2);
  }, 90_000);

  it('a sweep that dies before its events are stored settles nothing: the next sweep settles and announces, once', async () => {
    const { url } = await createTestDatabase();
    const b = await survivor(tempRepo(), url, 3600);
    const [{ task, agent }] = (await orphans(b, 1)) as [{ task: string; agent: string }];
    await failOnce(b, 'insert');

    await expect(b.tasks.reclaimOrphans()).rejects.toThrow(/the sweeping server died/);
    // Nothing of it stayed: the task runs on the dead lease, which is still there to reap.
    expect((await http<Task>(endpoint(b), 'GET', `/api/v1/tasks/${task}`)).status).toBe('running');
    expect((await http<Agent>(endpoint(b), 'GET', `/api/v1/agents/${agent}`)).status).toBe('working');
    expect(await b.store.get('SELECT id FROM server_leases WHERE id = ?', ['dead-lease'])).toBeDefined();

    expect(await b.tasks.reclaimOrphans()).toEqual([task]);
    const events = await eventsAbout(b, task, agent);
    expect(events.map((e) => [e.type, e.data.to, e.data.reason])).toEqual([
      ['task.status_changed', 'failed', 'runner_lost'],
      ['agent.status_changed', 'idle', 'runner_lost'],
    ]);
    expect((await http<Task>(endpoint(b), 'GET', `/api/v1/tasks/${task}`)).reason).toBe('runner_lost');
  }, 60_000);

  it('a sweep that dies after storing its events but before its commit: the next one settles without announcing twice', async () => {
    const { url } = await createTestDatabase();
    const b = await survivor(tempRepo(), url, 3600);
    const [{ task, agent }] = (await orphans(b, 1)) as [{ task: string; agent: string }];
    await failOnce(b, 'commit');

    await expect(b.tasks.reclaimOrphans()).rejects.toThrow(/the sweeping server died/);
    expect((await http<Task>(endpoint(b), 'GET', `/api/v1/tasks/${task}`)).status).toBe('running');
    const announced = await eventsAbout(b, task, agent);
    expect(announced).toHaveLength(2);

    expect(await b.tasks.reclaimOrphans()).toEqual([task]);
    expect((await http<Task>(endpoint(b), 'GET', `/api/v1/tasks/${task}`)).status).toBe('failed');
    expect((await http<Agent>(endpoint(b), 'GET', `/api/v1/agents/${agent}`)).status).toBe('idle');
    expect(await eventsAbout(b, task, agent)).toEqual(announced);
  }, 60_000);
});

describePrivatePostgres('team mode: the database goes away under a running task', () => {
  it('a blip shorter than the lease changes nothing; an outage longer than it ends the task once (runner_lost), and the server goes on', async () => {
    const postgres = await startPrivatePostgres();
    const { url } = await postgres.createDatabase();
    const leaseS = 6;
    const a = await startRuntime({ workspace: tempRepo(), databaseUrl: url, runnerLeaseS: leaseS });
    const { task, agent, pid } = await startLongTask(endpoint(a));
    const renewedAt = async () =>
      (await a.store.get<{ renewed_at: string }>('SELECT renewed_at FROM server_leases'))!.renewed_at;

    // A blip: the database restarts at once. The lease outlives it: the task runs on.
    const before = await renewedAt();
    await postgres.restart('immediate');
    await until(async () => (await renewedAt().catch(() => before)) !== before, 'a renewal after the blip', 30_000);
    expect(alive(pid)).toBe(true);
    expect((await a.tasks.get(task.id)).status).toBe('running');

    // An outage longer than the lease: the server cannot prove it holds the task, so it
    // kills it (another server could have settled it by then)…
    await postgres.stop('immediate');
    try {
      await until(() => !alive(pid), 'the server to end its task without a lease', leaseS * 1000 + 30_000);
    } finally {
      await postgres.start();
    }
    // …and once the database is back the task ends exactly once, its agent freed.
    const settled = await until(
      async () => {
        const t = await a.tasks.find(task.id).catch(() => undefined);
        return t && t.status !== 'running' ? t : undefined;
      },
      'the task to be settled once the database is back',
      30_000,
    );
    expect([settled.status, settled.reason]).toEqual(['failed', 'runner_lost']);
    const events = await until(async () => {
      const about = await eventsAbout(a, task.id, agent.id);
      return about.some((e) => e.type === 'agent.status_changed' && e.data.to === 'idle') && about;
    }, 'the events of the ending');
    const ended = events.filter((e) => e.type === 'task.status_changed' && e.data.from === 'running');
    expect(ended.map((e) => [e.data.to, e.data.reason])).toEqual([['failed', 'runner_lost']]);
    expect(events.filter((e) => e.type === 'agent.status_changed' && e.data.to === 'idle')).toHaveLength(1);
    expect((await a.agents.get(agent.id)).status).toBe('idle');

    // The server took a new lease and runs tasks again.
    const quick = await http<Agent>(endpoint(a), 'POST', '/api/v1/agents', {
      name: 'quick',
      command: [process.execPath, '-e', 'console.log("ok")'],
    });
    const next = await http<Task>(endpoint(a), 'POST', '/api/v1/tasks', { title: 'after', base: 'main' });
    await http(endpoint(a), 'POST', `/api/v1/agents/${quick.id}/start-task`, { task_id: next.id });
    const done = await until(async () => {
      const t = await a.tasks.get(next.id);
      return ['queued', 'running'].includes(t.status) ? undefined : t;
    }, 'the next task');
    expect(done.status).toBe('succeeded');
  }, 120_000);
});

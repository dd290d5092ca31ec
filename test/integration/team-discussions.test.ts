import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Discussion, Message, MessagePage } from '../../src-shared/discussions.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { readServerInfo, workspacePaths } from '../../src-main/workspace.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { DISCUSSION_AGENT, recordDiscussionEvents } from '../helpers/discussions.ts';
import {
  createTestDatabase,
  describePostgres,
  describePrivatePostgres,
  startPrivatePostgres,
} from '../helpers/postgres.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/** A server as a client sees it: its URL, its owner token, and the lock id writes present in team mode. */
interface Server {
  url: string;
  token: string;
  lockId?: string;
}

const serverOf = (runtime: Runtime): Server => ({ url: runtime.url, token: runtime.token });

async function request<T>(
  server: Server,
  method: string,
  route: string,
  json?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { 'x-session-token': server.token };
  if (server.lockId) headers['x-lock-id'] = server.lockId;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}/api/v1${route}`, {
    method,
    headers,
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function call<T>(server: Server, method: string, route: string, json: unknown, status: number): Promise<T> {
  const res = await request<T>(server, method, route, json);
  expect(res.status, `${method} ${route}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
}

/** The workspace lock's id, which a write through a server that does not hold it presents (as a client of the holder would). */
async function lockId(holder: Server): Promise<string> {
  return (await call<{ lock: { id: string } }>(holder, 'GET', '/session', undefined, 200)).lock.id;
}

async function until<T>(probe: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const messagesOf = async (server: Server, id: string): Promise<Message[]> =>
  (await call<MessagePage>(server, 'GET', `/discussions/${id}/messages?limit=500`, undefined, 200)).messages;

const discussionOf = (server: Server, id: string): Promise<Discussion> =>
  call<Discussion>(server, 'GET', `/discussions/${id}`, undefined, 200);

/** A command agent that streams `slow-N ` chunks until stopped, writing its pid to a file of its own. */
function slowAgent(server: Server, name: string): Promise<{ agent: Agent; pidFile: string }> {
  const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-pid-')), 'pid');
  return call<Agent>(
    server,
    'POST',
    '/agents',
    { name, command: [process.execPath, DISCUSSION_AGENT, 'slow', pidFile] },
    201,
  ).then((agent) => ({ agent, pidFile }));
}

/** The speaking program's pid and the folder it runs in: the workspace of the server that drives the discussion. */
function speakerProcess(pidFile: string): { pid: number; cwd: string } | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    return { pid, cwd: fs.realpathSync(`/proc/${pid}/cwd`) };
  } catch {
    return undefined; // not started yet, or gone
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

const killGroup = (pid: number | undefined): void => {
  try {
    if (pid !== undefined) process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
};

describePostgres('team mode: discussions across two servers on one database', () => {
  it('a message posted on B is answered by the reply A drives, seen live on both; pause, resume and complete on B act on A', async () => {
    const { url } = await createTestDatabase();
    const a = await startRuntime({ workspace: tempWorkspace(), databaseUrl: url });
    const b = await startRuntime({ workspace: tempWorkspace(), databaseUrl: url });
    const id = await lockId(serverOf(a));
    const A: Server = { ...serverOf(a), lockId: id };
    const B: Server = { ...serverOf(b), lockId: id };
    const seenOnB = recordDiscussionEvents(b);
    const seenOnA = recordDiscussionEvents(a);

    const { agent: slow, pidFile } = await slowAgent(A, 'slowpoke');
    const ext = await call<Agent>(B, 'POST', '/agents', { name: 'ext' }, 201);
    // Created on A (A drives it), waiting for the person's opening.
    const d = await call<Discussion>(
      A,
      'POST',
      '/discussions',
      { topic: 'Across servers', participants: [slow.id, ext.id], strategy: 'mention', start: false, max_turns: 10 },
      201,
    );
    expect(d).toMatchObject({ next_speaker: null, current_turn: 0 });

    // The person speaks through B; A's scheduler hears of it and starts slowpoke's reply, in A's workspace.
    const posted = await call<{ message: Message }>(
      B,
      'POST',
      `/discussions/${d.id}/messages`,
      { content: '@slowpoke, your view?' },
      201,
    );
    expect(posted.message).toMatchObject({ author: 'user', turn: 1 });
    const speaker = await until(async () => speakerProcess(pidFile));
    expect(speaker.cwd).toBe(fs.realpathSync(a.config.workspace));
    const streaming = await until(async () => {
      const m = await messagesOf(B, d.id);
      return m[1]?.status === 'streaming' && m[1].content.includes('slow-1') ? m : undefined;
    });
    expect(streaming[1]).toMatchObject({ author: slow.id, turn: 2 });
    expect(await discussionOf(B, d.id)).toMatchObject({ speaking: true, next_speaker: slow.id });
    // Its deltas reach B's subscribers too, in order.
    await until(async () => seenOnB.filter((e) => e.type === 'discussion.message_delta').length >= 2);
    const offsets = seenOnB.filter((e) => e.type === 'discussion.message_delta').map((e) => e.data.offset as number);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));

    // Pause on B: A stops the reply (its process group ends), kept as failed with `paused`.
    await call(B, 'POST', `/discussions/${d.id}/pause`, undefined, 200);
    const paused = await until(async () => {
      const m = await messagesOf(A, d.id);
      return m[1]?.status === 'failed' ? m : undefined;
    });
    expect(paused[1]).toMatchObject({ author: slow.id, error: 'paused' });
    await until(async () => !alive(speaker.pid));
    expect(await discussionOf(A, d.id)).toMatchObject({ status: 'paused', speaking: false });

    // Resume on B: the interrupted speaker gets its turn again, on A.
    fs.rmSync(pidFile);
    await call(B, 'POST', `/discussions/${d.id}/resume`, undefined, 200);
    const again = await until(async () => speakerProcess(pidFile));
    expect(again.cwd).toBe(fs.realpathSync(a.config.workspace));
    const resumed = await until(async () => {
      const m = await messagesOf(B, d.id);
      return m[2]?.status === 'streaming' ? m : undefined;
    });
    expect(resumed[2]).toMatchObject({ author: slow.id, turn: 3 });

    // Complete on B: the reply stops on A, failed with `completed`; nothing more can be posted, on either.
    await call(B, 'POST', `/discussions/${d.id}/complete`, undefined, 200);
    const done = await until(async () => {
      const m = await messagesOf(A, d.id);
      return m[2]?.status === 'failed' ? m : undefined;
    });
    expect(done[2]!.error).toBe('completed');
    await until(async () => !alive(again.pid));
    for (const server of [A, B]) {
      const refused = await request<{ error: { code: string } }>(server, 'POST', `/discussions/${d.id}/messages`, {
        content: 'more?',
      });
      expect(refused.status).toBe(409);
    }
    // Both servers told their subscribers the same story, once each.
    await until(
      async () =>
        seenOnA.filter((e) => e.data.discussion_id === d.id).length ===
          seenOnB.filter((e) => e.data.discussion_id === d.id).length &&
        seenOnB.some((e) => e.type === 'discussion.status_changed' && e.data.to === 'completed'),
    );
    const story = (events: typeof seenOnA) =>
      events.filter((e) => e.data.discussion_id === d.id).map((e) => e.sequence_number);
    expect(story(seenOnA)).toEqual(story(seenOnB));
    expect(new Set(story(seenOnB)).size).toBe(story(seenOnB).length);
    killGroup(speaker.pid);
    killGroup(again.pid);
  }, 60_000);

  it('racing posts on both servers each get their own turn number; the driver answers once after them', async () => {
    const { url } = await createTestDatabase();
    const a = await startRuntime({ workspace: tempWorkspace(), databaseUrl: url });
    const b = await startRuntime({ workspace: tempWorkspace(), databaseUrl: url });
    const id = await lockId(serverOf(a));
    const A: Server = { ...serverOf(a), lockId: id };
    const B: Server = { ...serverOf(b), lockId: id };
    const ada = await call<Agent>(A, 'POST', '/agents', { name: 'ada' }, 201);
    const d = await call<Discussion>(
      B,
      'POST',
      '/discussions',
      { topic: 'Race', participants: [ada.id], start: false, max_turns: 100 },
      201,
    );
    const posts = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call<{ message: Message }>(i % 2 ? A : B, 'POST', `/discussions/${d.id}/messages`, { content: `n${i}` }, 201),
      ),
    );
    expect(posts.map((p) => p.message.turn).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const after = await until(async () => {
      const x = await discussionOf(A, d.id);
      return x.next_speaker === ada.id ? x : undefined;
    });
    expect(after).toMatchObject({ current_turn: 20, message_count: 20 });
  }, 60_000);

  it('when the driving server is killed (-9), another takes the discussion over: the reply left streaming fails with server_restarted and its speaker speaks again there', async () => {
    const { url } = await createTestDatabase();
    const workspaceA = tempWorkspace();
    const child = spawnLookout([
      'serve',
      '--workspace',
      workspaceA,
      '--port',
      '0',
      '--log-level',
      'warn',
      '--database-url',
      url,
    ]);
    const [, childUrl] = await child.waitFor(/listening on (http:\/\/\S+)/, 'stdout', 30_000);
    const info = readServerInfo(workspacePaths(workspaceA).serverInfo)!;
    const A: Server = { url: childUrl!, token: info.token };
    A.lockId = await lockId(A);
    const b = await startRuntime({ workspace: tempWorkspace(), databaseUrl: url });
    const B: Server = serverOf(b);

    const { agent: slow, pidFile } = await slowAgent(A, 'slowpoke');
    const d = await call<Discussion>(
      A,
      'POST',
      '/discussions',
      { topic: 'Failover', participants: [slow.id], max_turns: 6 },
      201,
    );
    const first = await until(async () => speakerProcess(pidFile));
    expect(first.cwd).toBe(fs.realpathSync(workspaceA));
    await until(async () => (await messagesOf(B, d.id))[0]?.content.includes('slow-1') === true);

    child.child.kill('SIGKILL');
    await child.exited;
    killGroup(first.pid); // its agent outlived it (its own process group); the takeover must not depend on that
    fs.rmSync(pidFile);
    const killedAt = Date.now();

    // B takes over once A's lease lapses: the interrupted reply fails, and slowpoke speaks again, now on B.
    const second = await until(async () => speakerProcess(pidFile));
    const tookMs = Date.now() - killedAt;
    expect(second.cwd).toBe(fs.realpathSync(b.config.workspace));
    const after = await until(async () => {
      const m = await messagesOf(B, d.id);
      return m.length >= 2 ? m : undefined;
    });
    expect(after[0]).toMatchObject({ author: slow.id, status: 'failed', error: 'server_restarted', turn: 1 });
    expect(after[0]!.content).toMatch(/^slow-0 slow-1/);
    expect(after[1]).toMatchObject({ author: slow.id, turn: 2 });
    // Bounded: the lease (6 s) and a tick, with room for a loaded machine.
    expect(tookMs).toBeLessThan(20_000);

    // B now drives it: a pause there stops the reply at once.
    B.lockId = await until(async () => {
      const session = await call<{ lock: { id: string | null; holder: string | null } }>(
        B,
        'GET',
        '/session',
        undefined,
        200,
      );
      return session.lock.id ?? undefined;
    });
    await call(B, 'POST', `/discussions/${d.id}/pause`, undefined, 200);
    await until(async () => !alive(second.pid));
    const stopped = await until(async () => {
      const m = await messagesOf(B, d.id);
      return m[1]?.status === 'failed' ? m[1] : undefined;
    });
    expect(stopped.error).toBe('paused');
    // The agent the dead server showed as working is idle again (B settled its reply).
    await until(async () => (await call<Agent>(B, 'GET', `/agents/${slow.id}`, undefined, 200)).status === 'idle');
  }, 90_000);
});

describePrivatePostgres('team mode: discussions while the database is away', () => {
  it('a post, a pause and a new discussion fail as unavailable (503) and store nothing; all work again once it is back', async () => {
    const pg = await startPrivatePostgres();
    const { url } = await pg.createDatabase();
    const runtime = await startRuntime({ workspace: tempWorkspace(), databaseUrl: url });
    const server = serverOf(runtime);
    const ext = await call<Agent>(server, 'POST', '/agents', { name: 'ext' }, 201);
    const d = await call<Discussion>(
      server,
      'POST',
      '/discussions',
      { topic: 'Outage', participants: [ext.id], start: false },
      201,
    );

    await pg.stop('immediate');
    // Through the service: over HTTP the workspace lock, lost with its connection, may
    // answer 423 first (the error handler renders these 503 with Retry-After).
    const unavailable = { code: 'unavailable', status: 503, headers: { 'Retry-After': expect.any(String) } };
    await expect(runtime.discussions.post(d.id, { content: 'lost?' })).rejects.toMatchObject(unavailable);
    await expect(runtime.discussions.pause(d.id)).rejects.toMatchObject(unavailable);
    await expect(
      runtime.discussions.create({ topic: 'Another', participants: [ext.id], strategy: 'round_robin', start: true }),
    ).rejects.toMatchObject(unavailable);

    await pg.start();
    // The server takes the workspace lock back (its lock connection died with the database).
    await until(async () => {
      const res = await request<{ read_only: boolean }>(server, 'GET', '/session');
      return res.status === 200 && !res.body.read_only;
    });
    const messages = await until(async () => {
      const res = await request<MessagePage>(server, 'GET', `/discussions/${d.id}/messages`);
      return res.status === 200 ? res.body.messages : undefined;
    });
    expect(messages).toEqual([]);
    expect(await discussionOf(server, d.id)).toMatchObject({ status: 'active', current_turn: 0 });
    const list = await call<{ discussions: Discussion[] }>(server, 'GET', '/discussions', undefined, 200);
    expect(list.discussions.map((x) => x.topic)).toEqual(['Outage']);
    const posted = await call<{ message: Message; discussion: Discussion }>(
      server,
      'POST',
      `/discussions/${d.id}/messages`,
      { content: 'back' },
      201,
    );
    expect(posted.message.turn).toBe(1);
    expect(posted.discussion.next_speaker).toBe(ext.id);
  }, 60_000);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Discussion, MessagePage } from '../../src-shared/discussions.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { readServerInfo, workspacePaths } from '../../src-main/workspace.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { commandAgent, DISCUSSION_AGENT, newDiscussion, waitForDiscussion } from '../helpers/discussions.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { call } from '../helpers/tasks.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const onPostgres = process.env.LOOKOUT_TEST_STORE === 'postgres';
const sameStore = (runtime: Runtime) =>
  runtime.config.databaseUrl === undefined ? {} : { databaseUrl: runtime.config.databaseUrl };

const pidFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-pid-')), 'pid');

function killQuietly(file: string): void {
  try {
    process.kill(-Number(fs.readFileSync(file, 'utf8')), 'SIGKILL');
  } catch {
    // gone already
  }
}

describe('a discussion survives a server restart', () => {
  it('after a graceful stop: the interrupted reply is failed with server_restarted and its speaker retried', async () => {
    const workspace = tempWorkspace();
    const file = pidFile();
    const first = await startRuntime({ workspace });
    const slow = await commandAgent(first, 'slow', file);
    const other = await commandAgent(first, 'echo');
    const d = await newDiscussion(first, { participants: [slow.id, other.id], max_turns: 6 });
    await waitForDiscussion(first, d.id, (_, m) => m[0]?.content.startsWith('slow-0') === true);
    await first.stop();

    // (Under LOOKOUT_TEST_STORE=postgres: the same database, as a restarted server has.)
    const second = await startRuntime({ workspace, ...sameStore(first) });
    const after = await waitForDiscussion(
      second,
      d.id,
      (x, m) => x.speaking && m.length >= 2 && m[1]!.status === 'streaming',
    );
    expect(after.discussion).toMatchObject({ status: 'active', next_speaker: slow.id, speaking: true });
    expect(after.messages[0]).toMatchObject({ author: slow.id, status: 'failed', error: 'server_restarted', turn: 1 });
    expect(after.messages[0]!.content).toMatch(/^slow-0 /);
    expect(after.messages[1]).toMatchObject({ author: slow.id, turn: 2 });
    await call(second, 'POST', `/api/v1/discussions/${d.id}/complete`, undefined, 200);
    killQuietly(file);
  });

  it('after a crash (SIGKILL): a reply left streaming in the store is failed and retried at the next start', async () => {
    const workspace = tempWorkspace();
    const file = pidFile();
    const databaseUrl = onPostgres ? (await createTestDatabase()).url : undefined;
    const server = spawnLookout([
      'serve',
      '--workspace',
      workspace,
      '--port',
      '0',
      '--log-level',
      'warn',
      ...(databaseUrl ? ['--database-url', databaseUrl] : []),
    ]);
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+)/);
    const token = readServerInfo(workspacePaths(workspace).serverInfo)!.token;
    const post = async <T>(p: string, body: unknown): Promise<T> => {
      const res = await fetch(`${url}/api/v1${p}`, {
        method: 'POST',
        headers: { 'x-session-token': token, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as T;
    };
    const agent = await post<Agent>('/agents', {
      name: 'slowpoke',
      command: [process.execPath, DISCUSSION_AGENT, 'slow', file],
    });
    const d = await post<Discussion>('/discussions', { topic: 'Crash test', participants: [agent.id], max_turns: 4 });
    // Wait until the reply's text has been saved at least once (before each delta is published).
    for (;;) {
      const res = await fetch(`${url}/api/v1/discussions/${d.id}/messages`, { headers: { 'x-session-token': token } });
      const page = (await res.json()) as MessagePage;
      if (page.messages[0]?.content.startsWith('slow-0')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    server.child.kill('SIGKILL');
    await server.exited;
    killQuietly(file); // its agent outlived it (its own process group); a restart must not depend on that

    const runtime = await startRuntime({ workspace, ...(databaseUrl ? { databaseUrl } : {}) });
    const after = await waitForDiscussion(runtime, d.id, (_, m) => m.length >= 2);
    expect(after.messages[0]).toMatchObject({ status: 'failed', error: 'server_restarted', turn: 1 });
    expect(after.messages[0]!.content).toMatch(/^slow-0 /);
    expect(after.messages[1]).toMatchObject({ author: agent.id, turn: 2 });
    expect(after.discussion.status).toBe('active');
    await call(runtime, 'POST', `/api/v1/discussions/${d.id}/pause`, undefined, 200);
    killQuietly(file);
  });
});

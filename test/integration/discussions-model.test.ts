import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { newDiscussion, recordDiscussionEvents, waitForDiscussion } from '../helpers/discussions.ts';
import { startModelServer } from '../helpers/model-server.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { call } from '../helpers/tasks.ts';

const KEY_VAR = 'H14D_TEST_MODEL_KEY';
const KEY = 'sk-test-0123456789abcdef-never-shown';

afterEach(() => {
  Reflect.deleteProperty(process.env, KEY_VAR);
});

function modelAgent(runtime: Runtime, url: string, extra: Record<string, unknown> = {}): Promise<Agent> {
  return call<Agent>(
    runtime,
    'POST',
    '/api/v1/agents',
    {
      name: `model-${Math.random().toString(36).slice(2, 8)}`,
      model: { base_url: url, model: 'test-model', ...extra },
    },
    201,
  );
}

describe('model agents (a local OpenAI-compatible server, real streaming wire format)', () => {
  it('streams choices[0].delta.content as deltas until [DONE], sending the key only in the Authorization header', async () => {
    process.env[KEY_VAR] = KEY;
    const runtime = await startRuntime();
    const server = await startModelServer();
    server.script({ kind: 'stream', chunks: ['Caching ', 'is ', 'worth ', 'it.'], delayMs: 20 });
    const events = recordDiscussionEvents(runtime);
    const agent = await modelAgent(runtime, server.url, {
      api_key_env: KEY_VAR,
      system: 'You are terse.',
      temperature: 0.2,
    });
    expect(agent).toMatchObject({ speaker: 'model', status: 'idle', command: [] });
    const created = await newDiscussion(runtime, {
      participants: [agent.id],
      max_turns: 1,
      context: 'The app starts offline half the time.',
    });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    expect(messages[0]).toMatchObject({ status: 'complete', content: 'Caching is worth it.', author_kind: 'agent' });

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request.body).toMatchObject({ model: 'test-model', stream: true, temperature: 0.2 });
    expect(request.body.messages[0]!.role).toBe('system');
    expect(request.body.messages[0]!.content).toContain('You are terse.');
    expect(request.body.messages[0]!.content).toContain('Topic: Offline mode');
    expect(request.body.messages[0]!.content).toContain('The app starts offline half the time.');
    expect(request.body.messages.at(-1)).toEqual({ role: 'user', content: `(turn 1) It is your turn, ${agent.name}.` });

    // The key is in no response, no event and no log line.
    const agentJson = await (await api(runtime, `/api/v1/agents/${agent.id}`)).text();
    expect(agentJson).toContain(KEY_VAR);
    expect(agentJson).not.toContain(KEY);
    expect(JSON.stringify(events)).not.toContain(KEY);
    expect(fs.readFileSync(runtime.paths.log, 'utf8')).not.toContain(KEY);
    const deltas = events.filter((e) => e.type === 'discussion.message_delta');
    expect(deltas.map((e) => e.data.text).join('')).toBe('Caching is worth it.');
  });

  it('retries a 429 after its Retry-After and then streams the answer', async () => {
    const runtime = await startRuntime();
    const server = await startModelServer();
    server.script(
      { kind: 'status', status: 429, retryAfter: '1', body: '{"error":{"message":"rate limited"}}' },
      { kind: 'stream', chunks: ['after ', 'the wait'] },
    );
    const agent = await modelAgent(runtime, server.url);
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const started = Date.now();
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    expect(messages[0]).toMatchObject({ status: 'complete', content: 'after the wait' });
    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('gives up on a server that keeps failing with 5xx after a bounded number of attempts', async () => {
    const runtime = await startRuntime();
    const server = await startModelServer();
    server.script({ kind: 'status', status: 503, retryAfter: '0', body: '{"error":{"message":"model is loading"}}' });
    const agent = await modelAgent(runtime, server.url);
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status !== 'active');
    expect(messages[0]!.status).toBe('failed');
    expect(messages[0]!.error).toBe(`HTTP 503 after 4 attempts from ${server.url}/chat/completions: model is loading`);
    expect(server.requests).toHaveLength(4);
  });

  it('fails at once, with the server’s words, on a 4xx that retrying cannot fix', async () => {
    const runtime = await startRuntime();
    const server = await startModelServer();
    server.script({
      kind: 'status',
      status: 404,
      body: '{"error":{"message":"model \\"nope\\" not found, try pulling it first"}}',
    });
    const agent = await modelAgent(runtime, server.url);
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status !== 'active');
    expect(messages[0]!.error).toBe(
      `HTTP 404 from ${server.url}/chat/completions: model "nope" not found, try pulling it first`,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('marks a reply failed, keeping what came, when the server disconnects mid-stream', async () => {
    const runtime = await startRuntime();
    const server = await startModelServer();
    server.script({ kind: 'disconnect', chunks: ['half ', 'an '] });
    const agent = await modelAgent(runtime, server.url);
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status !== 'active');
    expect(messages[0]).toMatchObject({ status: 'failed', content: 'half an ' });
    expect(messages[0]!.error).toMatch(/stream broke off|closed the stream before \[DONE\]/);
    // Text had streamed: the reply is not silently retried (that would repeat it).
    expect(server.requests).toHaveLength(1);
  });

  it('accepts a server that ignores stream: true and answers with one JSON completion', async () => {
    const runtime = await startRuntime();
    const server = await startModelServer();
    server.script({ kind: 'json', content: 'all at once' });
    const agent = await modelAgent(runtime, server.url);
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    expect(messages[0]).toMatchObject({ status: 'complete', content: 'all at once' });
  });

  it('pause aborts the HTTP request while it streams', async () => {
    const runtime = await startRuntime();
    const server = await startModelServer();
    server.script({ kind: 'hang', chunks: ['thinking'] });
    const agent = await modelAgent(runtime, server.url);
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 3 });
    await waitForDiscussion(runtime, created.id, (_, m) => m[0]?.content.startsWith('thinking') === true);
    await call(runtime, 'POST', `/api/v1/discussions/${created.id}/pause`, undefined, 200);
    const { messages } = await waitForDiscussion(
      runtime,
      created.id,
      (d, m) => !d.speaking && m[0]?.status === 'failed',
    );
    expect(messages[0]!.error).toBe('paused');
    expect(messages[0]!.content).toMatch(/^thinking/);
    for (;;) {
      if (server.aborted === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });

  it('fails clearly when the key variable the agent names is not set', async () => {
    const runtime = await startRuntime();
    const server = await startModelServer();
    const agent = await modelAgent(runtime, server.url, { api_key_env: KEY_VAR });
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status !== 'active');
    expect(messages[0]!.error).toBe(
      `the environment variable ${KEY_VAR} (model.api_key_env) is not set in the server's environment`,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a model whose URL carries credentials or whose key variable is one of Lookout’s own', async () => {
    const runtime = await startRuntime();
    for (const model of [
      { base_url: 'http://user:secret@127.0.0.1:11434/v1', model: 'm' },
      { base_url: 'http://127.0.0.1:11434/v1?key=secret', model: 'm' },
      { base_url: 'file:///etc/passwd', model: 'm' },
      { base_url: 'http://127.0.0.1:11434/v1', model: 'm', api_key_env: 'LOOKOUT_TOKEN' },
      { base_url: 'http://127.0.0.1:11434/v1', model: '' },
    ]) {
      const res = await call<{ error: { code: string; message: string } }>(
        runtime,
        'POST',
        '/api/v1/agents',
        { name: 'bad-model', model },
        400,
      );
      expect(res.error.code).toBe('invalid_input');
      expect(res.error.message).toMatch(/model\./);
    }
  });
});

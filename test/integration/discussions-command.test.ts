import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Message } from '../../src-shared/discussions.ts';
import { commandAgent, newDiscussion, recordDiscussionEvents, waitForDiscussion } from '../helpers/discussions.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { call } from '../helpers/tasks.ts';

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const pidFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-pid-')), 'pid');

describe('command agents in a discussion (real processes)', () => {
  it('take turns round robin, each seeing the transcript on stdin, until max_turns completes the discussion', async () => {
    const runtime = await startRuntime();
    const ada = await commandAgent(runtime, 'echo');
    const bob = await commandAgent(runtime, 'echo');
    const created = await newDiscussion(runtime, { participants: [ada.id, bob.id], max_turns: 4 });
    expect(created).toMatchObject({ status: 'active', strategy: 'round_robin', participants: [ada.id, bob.id] });
    const { discussion, messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    expect(discussion).toMatchObject({ current_turn: 4, status_reason: 'max_turns (4) reached', next_speaker: null });
    expect(messages.map((m) => [m.author, m.turn, m.status])).toEqual([
      [ada.id, 1, 'complete'],
      [bob.id, 2, 'complete'],
      [ada.id, 3, 'complete'],
      [bob.id, 4, 'complete'],
    ]);
    expect(messages[0]!.content).toBe(`${ada.name} turn 1: saw 0 messages`);
    expect(messages[1]!.content).toBe(
      `${bob.name} turn 2: saw 1 messages, last by ${ada.name}: ${ada.name} turn 1: saw 0 messages`,
    );
    // Posting to a completed discussion is refused, and says why.
    const refused = await call<{ error: { code: string; message: string } }>(
      runtime,
      'POST',
      `/api/v1/discussions/${created.id}/messages`,
      { content: 'one more thing' },
      409,
    );
    expect(refused.error.message).toMatch(/completed/);
  });

  it('streams a fast reply as few, ordered deltas that add up to the stored message', async () => {
    const runtime = await startRuntime();
    const events = recordDiscussionEvents(runtime);
    const fast = await commandAgent(runtime, 'fast', '3000');
    const created = await newDiscussion(runtime, { participants: [fast.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    const expected = Array.from({ length: 3000 }, (_, i) => String(i % 10)).join('');
    expect(messages[0]).toMatchObject({ status: 'complete', content: expected, truncated: false });
    await waitFor(() => events.find((e) => e.type === 'discussion.message_created') ?? undefined);
    const deltas = events.filter((e) => e.type === 'discussion.message_delta').map((e) => e.data);
    expect(deltas.map((d) => d.index)).toEqual(deltas.map((_, i) => i));
    expect(deltas.map((d) => d.text).join('')).toBe(expected);
    let offset = 0;
    for (const d of deltas) {
      expect(d.offset).toBe(offset);
      offset += (d.text as string).length;
    }
    expect(deltas.every((d) => d.message_id === messages[0]!.id)).toBe(true);
    // 3000 writes are not 3000 events.
    expect(deltas.length).toBeLessThan(3000 / 4);
    // started → deltas → created, in sequence order.
    const types = events
      .filter(
        (e) => e.data.message_id === messages[0]!.id || (e.data.message as Message | undefined)?.id === messages[0]!.id,
      )
      .map((e) => e.type);
    expect(types[0]).toBe('discussion.message_started');
    expect(types.at(-1)).toBe('discussion.message_created');
  });

  it('streams a slow reply live: deltas arrive as the program writes, not at its end', async () => {
    const runtime = await startRuntime();
    const events = recordDiscussionEvents(runtime);
    const slow = await commandAgent(runtime, 'slow');
    const created = await newDiscussion(runtime, { participants: [slow.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    expect(messages[0]!.content).toBe('slow-0 slow-1 slow-2 slow-3 slow-4 slow-5 ');
    await waitFor(() => events.find((e) => e.type === 'discussion.message_created'));
    const deltas = events.filter((e) => e.type === 'discussion.message_delta');
    expect(deltas.length).toBeGreaterThanOrEqual(4);
    const created_ = events.find((e) => e.type === 'discussion.message_created')!;
    // The first chunk was published about half a second before the reply ended.
    expect(Date.parse(created_.timestamp) - Date.parse(deltas[0]!.timestamp)).toBeGreaterThan(300);
  });

  it('keeps multi-byte characters whole however the pipe splits them', async () => {
    const runtime = await startRuntime();
    const agent = await commandAgent(runtime, 'unicode');
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    expect(messages[0]!.content).toBe('naïve café — 日本語 👋🏽 é');
  });

  it('fails a reply whose program exits non-zero, with the exit code and its last stderr line, and pauses when every speaker fails', async () => {
    const runtime = await startRuntime();
    const agent = await commandAgent(runtime, 'fail');
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 5 });
    const { discussion, messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'paused');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      status: 'failed',
      content: 'partial answer',
      error: 'exit code 3: something went wrong: model not loaded',
    });
    expect(discussion.status_reason).toMatch(/^the last 1 replies failed \(latest: exit code 3/);
  });

  it('fails a reply that runs past the timeout and kills its process group', async () => {
    const runtime = await startRuntime();
    const file = pidFile();
    const agent = await commandAgent(runtime, 'hang', file, { timeout_s: 1 });
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 3 });
    const { messages } = await waitForDiscussion(runtime, created.id, (_, m) => m[0]?.status === 'failed');
    expect(messages[0]).toMatchObject({ error: 'timed out after 1 s', content: '' });
    const pid = Number(fs.readFileSync(file, 'utf8'));
    await waitFor(() => (isAlive(pid) ? undefined : true));
  });

  it('cuts a reply at the message limit, stops the program and keeps what fits', async () => {
    const runtime = await startRuntime();
    const agent = await commandAgent(runtime, 'big');
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    expect(messages[0]).toMatchObject({ status: 'complete', truncated: true });
    expect(messages[0]!.content).toBe('y'.repeat(16_000));
  });

  it('keeps a reply of control characters within the event limit: cut to fit, marked truncated, the discussion goes on', async () => {
    const runtime = await startRuntime();
    const events = recordDiscussionEvents(runtime);
    const agent = await commandAgent(runtime, 'controls');
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 1 });
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    expect(messages[0]).toMatchObject({ status: 'complete', truncated: true });
    expect(messages[0]!.content.length).toBeLessThan(15_000);
    expect(messages[0]!.content).toBe('\u0001'.repeat(messages[0]!.content.length));
    await waitFor(() => events.find((e) => e.type === 'discussion.message_created'));
    const deltas = events.filter((e) => e.type === 'discussion.message_delta');
    expect(deltas.map((e) => (e.data.text as string).length).reduce((a, b) => a + b, 0)).toBe(15_000);
  });

  it('pause kills the streaming reply; resume gives the interrupted speaker its turn again', async () => {
    const runtime = await startRuntime();
    const file = pidFile();
    const events = recordDiscussionEvents(runtime);
    const agent = await commandAgent(runtime, 'slow', file);
    const created = await newDiscussion(runtime, { participants: [agent.id], max_turns: 5 });
    await waitFor(() => events.find((e) => e.type === 'discussion.message_delta'));
    const pid = Number(fs.readFileSync(file, 'utf8'));
    expect(isAlive(pid)).toBe(true);
    // While it speaks the agent shows as working, and says where.
    const agentNow = () => call<Agent>(runtime, 'GET', `/api/v1/agents/${agent.id}`, undefined, 200);
    expect(await agentNow()).toMatchObject({
      status: 'working',
      status_reason: `speaking in discussion ${created.id}`,
      current_task_id: null,
    });
    const paused = await call<{ status: string }>(
      runtime,
      'POST',
      `/api/v1/discussions/${created.id}/pause`,
      undefined,
      200,
    );
    expect(paused.status).toBe('paused');
    const { messages } = await waitForDiscussion(
      runtime,
      created.id,
      (d, m) => !d.speaking && m[0]?.status === 'failed',
    );
    expect(messages[0]).toMatchObject({ status: 'failed', error: 'paused' });
    expect(messages[0]!.content).toMatch(/^slow-0 /);
    await waitFor(() => (isAlive(pid) ? undefined : true));
    for (let a = await agentNow(); a.status !== 'idle'; a = await agentNow()) expect(a.status).toBe('working');
    expect(await agentNow()).toMatchObject({ status: 'idle', status_reason: null });
    // Paused: nothing can be said.
    await call(runtime, 'POST', `/api/v1/discussions/${created.id}/messages`, { content: 'hello?' }, 409);
    await call(runtime, 'POST', `/api/v1/discussions/${created.id}/pause`, undefined, 409);

    await call(runtime, 'POST', `/api/v1/discussions/${created.id}/resume`, undefined, 200);
    const again = await waitForDiscussion(runtime, created.id, (_, m) => m[1]?.status === 'streaming');
    expect(again.messages[1]).toMatchObject({ author: agent.id, turn: 2 });
    const turn = events.filter((e) => e.type === 'discussion.turn_assigned').at(-1)!;
    expect(turn.data.reason).toBe('retrying the turn interrupted by paused');
    await call(runtime, 'POST', `/api/v1/discussions/${created.id}/complete`, undefined, 200);
    const done = await waitForDiscussion(runtime, created.id, (d, m) => !d.speaking && m[1]?.status === 'failed');
    expect(done.discussion.status).toBe('completed');
    expect(done.messages[1]!.error).toBe('completed');
  });
});

describe('knowledge in the prompt', () => {
  it("gives each speaker the best chunks of the discussion's documents and records them as citations", async () => {
    const runtime = await startRuntime();
    const doc = await call<{ id: string }>(
      runtime,
      'POST',
      '/api/v1/knowledge/documents',
      {
        title: 'Offline notes',
        text: '# Snapshot\n\nThe snapshot cache keeps the last state for an offline start.\n\n# Unrelated\n\nBananas are yellow.',
      },
      201,
    );
    const other = await call<{ id: string }>(
      runtime,
      'POST',
      '/api/v1/knowledge/documents',
      { title: 'Other', text: 'The snapshot of another project, offline too.' },
      201,
    );
    const agent = await commandAgent(runtime, 'echo');
    const created = await newDiscussion(runtime, {
      topic: 'Should the snapshot cache survive an offline start?',
      participants: [agent.id],
      document_ids: [doc.id],
      max_turns: 1,
    });
    expect(created.document_ids).toEqual([doc.id]);
    const { messages } = await waitForDiscussion(runtime, created.id, (d) => d.status === 'completed');
    const citations = messages[0]!.citations;
    expect(citations.length).toBeGreaterThan(0);
    // Only the discussion's own document, best chunk first.
    expect(citations.every((c) => c.document_id === doc.id && c.title === 'Offline notes')).toBe(true);
    expect(citations.map((c) => c.document_id)).not.toContain(other.id);
    // The program was given exactly those chunks.
    expect(messages[0]!.content).toContain(`knowledge ${citations.map((c) => c.chunk_id).join(' ')}`);
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { Discussion, Message, MessagePage } from '../../src-shared/discussions.ts';
import {
  commandAgent,
  externalAgent,
  newDiscussion,
  recordDiscussionEvents,
  waitForDiscussion,
} from '../helpers/discussions.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { call } from '../helpers/tasks.ts';

type Posted = { message: Message; discussion: Discussion };
type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };

describe('turn strategies', () => {
  it('round robin with external agents: each is assigned its turn and answers through the API', async () => {
    const runtime = await startRuntime();
    const events = recordDiscussionEvents(runtime);
    const ada = await externalAgent(runtime, 'ada');
    const bob = await externalAgent(runtime, 'bob');
    const d = await newDiscussion(runtime, { participants: [ada.id, bob.id] });
    expect(d).toMatchObject({ next_speaker: ada.id, current_turn: 0, speaking: false });
    const path = `/api/v1/discussions/${d.id}/messages`;
    const first = await call<Posted>(runtime, 'POST', path, { content: 'I think so.', author: ada.id }, 201);
    expect(first.message).toMatchObject({ author: ada.id, author_name: 'ada', author_kind: 'agent', turn: 1 });
    expect(first.discussion.next_speaker).toBe(bob.id);
    const second = await call<Posted>(runtime, 'POST', path, { content: 'Agreed.', author: bob.id }, 201);
    expect(second.discussion.next_speaker).toBe(ada.id);
    // The person speaking runs the turn logic too: round robin goes on from the last agent.
    const person = await call<Posted>(runtime, 'POST', path, { content: 'And the cost?' }, 201);
    expect(person.message).toMatchObject({ author: 'user', author_kind: 'user', turn: 3 });
    expect(person.discussion.next_speaker).toBe(ada.id);
    const assigned = () =>
      events.filter((e) => e.type === 'discussion.turn_assigned').map((e) => [e.data.agent_id, e.data.speaker]);
    await vi.waitFor(() => expect(assigned().length).toBeGreaterThanOrEqual(3));
    expect(assigned().slice(0, 3)).toEqual([
      [ada.id, 'external'],
      [bob.id, 'external'],
      [ada.id, 'external'],
    ]);
  });

  it('a participant removed from the registry: its turn is a failed message saying so, and the next speaker goes on', async () => {
    const runtime = await startRuntime();
    const ada = await externalAgent(runtime, 'ada');
    const bob = await externalAgent(runtime, 'bob');
    const d = await newDiscussion(runtime, { participants: [ada.id, bob.id] });
    await call(runtime, 'DELETE', `/api/v1/agents/${bob.id}`, undefined, 204);
    const path = `/api/v1/discussions/${d.id}/messages`;
    const r = await call<Posted>(runtime, 'POST', path, { content: 'Over to bob.', author: ada.id }, 201);
    expect(r.discussion).toMatchObject({ next_speaker: ada.id, current_turn: 2 });
    const { messages } = await waitForDiscussion(runtime, d.id, (_, m) => m.length === 2);
    expect(messages[1]).toMatchObject({
      author: bob.id,
      author_name: 'bob',
      status: 'failed',
      error: `agent ${bob.id} no longer exists in the registry`,
      turn: 2,
    });
  });

  it('mention: the @-mentioned participant speaks next, round robin when nobody is mentioned', async () => {
    const runtime = await startRuntime();
    const ada = await externalAgent(runtime, 'ada');
    const bob = await externalAgent(runtime, 'bob');
    const cyd = await externalAgent(runtime, 'Cyd Charisse');
    const d = await newDiscussion(runtime, {
      participants: [ada.id, bob.id, cyd.id],
      strategy: 'mention',
      start: false,
    });
    expect(d.next_speaker).toBeNull();
    const path = `/api/v1/discussions/${d.id}/messages`;
    let r = await call<Posted>(runtime, 'POST', path, { content: 'What do you think, @cyd-charisse?' }, 201);
    expect(r.discussion.next_speaker).toBe(cyd.id);
    r = await call<Posted>(runtime, 'POST', path, { content: 'Ask @BOB.', author: cyd.id }, 201);
    expect(r.discussion.next_speaker).toBe(bob.id);
    // Mentioning yourself or an unknown name does not count: round robin from bob → cyd.
    r = await call<Posted>(
      runtime,
      'POST',
      path,
      { content: 'Well, @bob says @nobody knows. me@example.com', author: bob.id },
      201,
    );
    expect(r.discussion.next_speaker).toBe(cyd.id);
  });

  it('moderated: the moderator names the next speaker; an answer naming nobody falls back to round robin with the reason', async () => {
    const runtime = await startRuntime();
    const events = recordDiscussionEvents(runtime);
    const ada = await externalAgent(runtime, 'ada');
    const bob = await externalAgent(runtime, 'bob');
    const chair = await commandAgent(runtime, 'say', 'Good question.\nNEXT: bob');
    const d = await newDiscussion(runtime, {
      participants: [ada.id, bob.id, chair.id],
      strategy: 'moderated',
      moderator: chair.id,
    });
    expect(d.moderator).toBe(chair.id);
    const named = await waitForDiscussion(runtime, d.id, (x) => x.next_speaker === bob.id);
    expect(named.messages.map((m) => m.author)).toEqual([chair.id]);
    // bob answers; the moderator speaks again, and names bob again.
    await call(runtime, 'POST', `/api/v1/discussions/${d.id}/messages`, { content: 'Yes.', author: bob.id }, 201);
    await waitForDiscussion(
      runtime,
      d.id,
      (x, m) => m.length === 3 && m[2]!.status === 'complete' && x.next_speaker === bob.id,
    );
    // (On PostgreSQL the bus hears its own events back from the database: wait for them.)
    const assigned = () => events.filter((e) => e.type === 'discussion.turn_assigned');
    await vi.waitFor(() => expect(assigned().length).toBeGreaterThanOrEqual(4));
    const reasons = assigned().map((e) => e.data.reason);
    expect(reasons.slice(0, 4)).toEqual([
      'the moderator decides who speaks next',
      'named by the moderator',
      'the moderator decides who speaks next',
      'named by the moderator',
    ]);

    const vague = await commandAgent(runtime, 'say', 'I have no opinion on who goes next.');
    const e = await newDiscussion(runtime, { participants: [vague.id, ada.id, bob.id], strategy: 'moderated' });
    expect(e.moderator).toBe(vague.id); // the first participant by default
    const fallback = await waitForDiscussion(runtime, e.id, (x) => x.next_speaker === ada.id);
    expect(fallback.messages).toHaveLength(1);
    const turn = await vi.waitFor(() => {
      const last = events.filter((x) => x.type === 'discussion.turn_assigned' && x.data.discussion_id === e.id).at(-1);
      expect(last?.data.agent_id).toBe(ada.id);
      return last!;
    });
    expect(turn.data.reason).toBe('round robin: the moderator named no participant');
  });

  it('pages messages with after and limit, oldest first', async () => {
    const runtime = await startRuntime();
    const ada = await externalAgent(runtime, 'ada');
    const d = await newDiscussion(runtime, { participants: [ada.id], start: false, max_turns: 50 });
    for (let i = 1; i <= 7; i++)
      await call(runtime, 'POST', `/api/v1/discussions/${d.id}/messages`, { content: `m${i}`, author: ada.id }, 201);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=3${after ? `&after=${after}` : ''}`;
      const page: MessagePage = await call<MessagePage>(
        runtime,
        'GET',
        `/api/v1/discussions/${d.id}/messages${query}`,
        undefined,
        200,
      );
      seen.push(...page.messages.map((m) => m.content));
      after = page.next_after;
      pages++;
    } while (after !== null);
    expect(seen).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(pages).toBe(3);
  });
});

describe('bad input: a clear 4xx, never a 500, nothing lost', () => {
  it('refuses unknown (404) or repeated participants, a bad strategy, unknown documents, empty topics', async () => {
    const runtime = await startRuntime();
    const ada = await externalAgent(runtime, 'ada');
    const missing = await call<ErrorBody>(
      runtime,
      'POST',
      '/api/v1/discussions',
      { topic: 'x', participants: [ada.id, 'nope00000000'], document_ids: ['doc-not-there'] },
      404,
    );
    expect(missing.error.details).toEqual([
      { path: 'participants.1', message: 'no agent has the id nope00000000 (GET /api/v1/agents)' },
      { path: 'document_ids.0', message: 'no knowledge document has the id doc-not-there' },
    ]);
    const chair = await call<ErrorBody>(
      runtime,
      'POST',
      '/api/v1/discussions',
      { topic: 'x', participants: [ada.id], strategy: 'moderated', moderator: 'zzz' },
      404,
    );
    expect(chair.error.details).toEqual([
      { path: 'moderator', message: 'no agent has the id zzz (GET /api/v1/agents)' },
    ]);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ topic: 'x', participants: [ada.id, ada.id] }, /participants: .* listed twice/],
      [{ topic: 'x', participants: [] }, /at least one participant/],
      [
        { topic: 'x', participants: [ada.id], strategy: 'loudest_first' },
        /strategy is one of round_robin, moderated, mention/,
      ],
      [{ topic: '   ', participants: [ada.id] }, /topic must not be empty/],
      [{ topic: 'x', participants: [ada.id], max_turns: 0 }, /max_turns is at least 1/],
      [{ topic: 'x', participants: [ada.id], surprise: true }, /surprise/],
    ];
    for (const [body, message] of cases) {
      const res = await call<ErrorBody>(runtime, 'POST', '/api/v1/discussions', body, 400);
      expect(res.error.code, JSON.stringify(body)).toBe('invalid_input');
      expect(res.error.message, JSON.stringify(body)).toMatch(message);
    }
    const list = await call<{ discussions: Discussion[] }>(runtime, 'GET', '/api/v1/discussions', undefined, 200);
    expect(list.discussions).toEqual([]);
  });

  it('refuses empty and oversized content, strangers as authors, unknown ids and cursors; 409 on a paused discussion', async () => {
    const runtime = await startRuntime();
    const ada = await externalAgent(runtime, 'ada');
    const stranger = await externalAgent(runtime, 'stranger');
    const d = await newDiscussion(runtime, { participants: [ada.id], start: false });
    const path = `/api/v1/discussions/${d.id}/messages`;
    expect((await call<ErrorBody>(runtime, 'POST', path, { content: '' }, 400)).error.message).toMatch(
      /must not be empty/,
    );
    expect((await call<ErrorBody>(runtime, 'POST', path, { content: ' \n\t ' }, 400)).error.message).toMatch(
      /must not be empty/,
    );
    const big = await call<ErrorBody>(runtime, 'POST', path, { content: 'x'.repeat(1024 * 1024) }, undefined);
    expect(['invalid_input', 'payload_too_large']).toContain(big.error.code);
    const controls = await call<ErrorBody>(runtime, 'POST', path, { content: 'ring \u0007 the bell' }, 400);
    expect(controls.error.message).toMatch(/must not contain control characters/);
    await call(runtime, 'POST', path, { content: 'tabs\tand\nnewlines\r\nare fine' }, 201);
    const long = await call<ErrorBody>(runtime, 'POST', path, { content: 'x'.repeat(16_001) }, 400);
    expect(long.error.message).toMatch(/at most 16000 characters/);
    expect(
      (await call<ErrorBody>(runtime, 'POST', path, { content: 'hi', author: stranger.id }, 400)).error.message,
    ).toMatch(/not a participant/);
    await call(runtime, 'POST', '/api/v1/discussions/000000000000/messages', { content: 'hi' }, 404);
    await call(runtime, 'GET', '/api/v1/discussions/000000000000', undefined, 404);
    await call(runtime, 'GET', `${path}?after=nope`, undefined, 400);
    await call(runtime, 'GET', `${path}?limit=0`, undefined, 400);
    await call(runtime, 'GET', `${path}?limit=abc`, undefined, 400);
    await call(runtime, 'GET', '/api/v1/discussions?status=sleeping', undefined, 400);
    await call(runtime, 'POST', `/api/v1/discussions/${d.id}/resume`, undefined, 409);
    await call(runtime, 'POST', `/api/v1/discussions/${d.id}/pause`, undefined, 200);
    const paused = await call<ErrorBody>(runtime, 'POST', path, { content: 'hello' }, 409);
    expect(paused.error.message).toMatch(/paused; resume it first/);
    await call(runtime, 'POST', `/api/v1/discussions/${d.id}/complete`, undefined, 200);
    await call(runtime, 'POST', `/api/v1/discussions/${d.id}/complete`, undefined, 409);
    // Nothing refused was stored.
    const page = await call<MessagePage>(runtime, 'GET', path, undefined, 200);
    expect(page.messages.map((m) => m.content)).toEqual(['tabs\tand\nnewlines\r\nare fine']);
  });
});

describe('a moderator not among the participants', () => {
  it('is added in front and chairs', async () => {
    const runtime = await startRuntime();
    const ada = await externalAgent(runtime, 'ada');
    const chair = await externalAgent(runtime, 'chair');
    const d = await newDiscussion(runtime, { participants: [ada.id], strategy: 'moderated', moderator: chair.id });
    expect(d).toMatchObject({ participants: [chair.id, ada.id], moderator: chair.id, next_speaker: chair.id });
  });
});

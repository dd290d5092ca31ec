import { describe, expect, it } from 'vitest';
import { chatMessages, parseLine, retryAfterMs } from '../../../src-main/discussions/providers/model-provider.ts';
import type { CommandAgentInput } from '../../../src-shared/discussions.ts';

describe('the event-stream reader', () => {
  it('reads data lines, [DONE], errors, and ignores comments, other fields and junk', () => {
    expect(parseLine('data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}')).toEqual({
      kind: 'delta',
      text: 'Hi',
      finished: false,
    });
    expect(parseLine('data:{"choices":[{"delta":{},"finish_reason":"stop"}]}')).toEqual({
      kind: 'delta',
      text: '',
      finished: true,
    });
    expect(parseLine('data: [DONE]')).toEqual({ kind: 'done' });
    expect(parseLine('data: {"error":{"message":"overloaded"}}')).toEqual({ kind: 'error', message: 'overloaded' });
    for (const line of [': ping', 'event: message', 'id: 4', '', 'data: not json', 'data: '])
      expect(parseLine(line)).toEqual({ kind: 'none' });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0.5')).toBe(500);
    expect(retryAfterMs('Mon, 30 Nov 2026 15:00:10 GMT', Date.parse('2026-11-30T15:00:00Z'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('the chat messages a model is sent', () => {
  const input: CommandAgentInput = {
    discussion: {
      id: 'd1',
      topic: 'Cache?',
      context: '',
      strategy: 'moderated',
      turn: 4,
      participants: [
        { id: 'a1', name: 'Ada' },
        { id: 'b2', name: 'Bob' },
      ],
    },
    messages: [
      { author: 'user', author_name: 'you', author_kind: 'user', content: 'Go.', turn: 1 },
      { author: 'b2', author_name: 'Bob', author_kind: 'agent', content: 'Yes.', turn: 2 },
      { author: 'a1', author_name: 'Ada', author_kind: 'agent', content: 'Maybe.', turn: 3 },
    ],
    you: { id: 'a1', name: 'Ada', role: 'reviewer', moderator: true },
    knowledge: [{ document_id: 'k', title: 'Notes', chunk_id: 'k:1', text: 'Snapshots are small.' }],
  };

  it('merges consecutive user turns, keeps its own as assistant, and ends with a cue', () => {
    const messages = chatMessages(input, { base_url: 'http://x/v1', model: 'm' });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[1]!.content).toBe('you: Go.\n\nBob: Yes.');
    expect(messages[2]!.content).toBe('Maybe.');
    expect(messages[3]!.content).toBe('(turn 4) It is your turn, Ada.');
    const system = messages[0]!.content;
    expect(system).toContain('You are Ada (reviewer)');
    expect(system).toContain('NEXT: <name>');
    expect(system).toContain('[1] Notes\nSnapshots are small.');
  });
});

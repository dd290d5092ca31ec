import { describe, expect, it } from 'vitest';
import type { Discussion, Message } from '../../../../src-shared/discussions.ts';
import type { EventEnvelope } from '../../../../src-shared/events.ts';
import { DiscussionBoard } from '../../../../src-renderer/model/discussion-board.ts';

let seq = 0;
const event = (type: string, data: Record<string, unknown>): EventEnvelope =>
  ({ type, data, sequence_number: ++seq, timestamp: '2026-11-30T00:00:00.000Z', metadata: {} }) as EventEnvelope;
const discussion = (id: string, updated_at: string, extra: Partial<Discussion> = {}): Discussion =>
  ({ id, topic: `topic ${id}`, status: 'active', updated_at, ...extra }) as Discussion;
const message = (id: string, turn: number, content: string, extra: Partial<Message> = {}): Message =>
  ({
    id,
    discussion_id: 'd1',
    author: 'ag_1',
    author_name: 'alice',
    author_kind: 'agent',
    content,
    status: 'complete',
    error: null,
    truncated: false,
    turn,
    citations: [],
    created_at: '2026-11-30T00:00:00.000Z',
    completed_at: null,
    ...extra,
  }) as Message;
const started = (id: string, turn: number) =>
  event('discussion.message_started', { discussion_id: 'd1', message: message(id, turn, '', { status: 'streaming' }) });
const delta = (id: string, index: number, text: string, discussion_id = 'd1') =>
  event('discussion.message_delta', { discussion_id, message_id: id, index, text });
const created = (m: Message) => event('discussion.message_created', { discussion_id: m.discussion_id, message: m });

describe('DiscussionBoard (dashboard model)', () => {
  it('keeps the list current from created/updated events, never rolling back to an older copy', () => {
    const board = new DiscussionBoard();
    board.setList([discussion('d1', '2026-11-30T00:00:01Z')]);
    board.apply([event('discussion.created', { discussion_id: 'd2', discussion: discussion('d2', 't') })]);
    expect(board.discussions.map((d) => d.id)).toEqual(['d2', 'd1']);
    const paused = discussion('d1', '2026-11-30T00:00:03Z', { status: 'paused' });
    board.apply([event('discussion.updated', { discussion_id: 'd1', discussion: paused })]);
    board.apply([
      event('discussion.updated', { discussion_id: 'd1', discussion: discussion('d1', '2026-11-30T00:00:02Z') }),
    ]);
    expect(board.discussion('d1')!.status).toBe('paused');
    expect(board.apply([event('discussion.status_changed', { discussion_id: 'd1' })]).reloadList).toBe(true);
  });

  it("builds the open discussion's transcript from the stream; other discussions' deltas are left out", () => {
    const board = new DiscussionBoard();
    board.select('d1');
    const version = board.version;
    board.apply([started('m1', 1), delta('m1', 0, 'Hel'), delta('x', 0, 'other', 'd2'), delta('m1', 1, 'lo')]);
    expect(board.version).toBeGreaterThan(version);
    expect(board.transcript!.entries.map((e) => [e.id, e.authorName, e.text, e.status])).toEqual([
      ['m1', 'alice', 'Hello', 'streaming'],
    ]);
    board.apply([created(message('m1', 1, 'Hello.'))]);
    expect(board.transcript!.entry('m1')).toMatchObject({ text: 'Hello.', status: 'complete' });
  });

  it('opening a discussion mid-reply replays the deltas the page holds, then merges the stored pages', () => {
    const held = [started('m1', 1), delta('m1', 0, 'one '), delta('m1', 1, 'two '), delta('q', 0, 'x', 'd2')];
    const board = new DiscussionBoard();
    board.select('d1', held);
    expect(board.transcript!.entry('m1')!.text).toBe('one two ');
    // The stored page lists the reply as streaming with no text yet: the deltas stay.
    board.addPage('d1', [message('m0', 0, 'topic?', { author: 'user', author_kind: 'user' })], false);
    board.addPage('d1', [message('m1', 1, '', { status: 'streaming' })], true);
    expect(board.transcriptLoaded).toBe(true);
    board.apply([delta('m1', 1, 'two '), delta('m1', 2, 'three')]); // a replayed delta and a new one
    expect(board.transcript!.entries.map((e) => e.text)).toEqual(['topic?', 'one two three']);
    // A page for a discussion no longer open is dropped.
    board.select('d2');
    board.addPage('d1', [message('m9', 9, 'late')], true);
    expect(board.transcript!.size).toBe(0);
    expect(board.transcriptLoaded).toBe(false);
  });

  it('shows a failed reply with its error', () => {
    const board = new DiscussionBoard();
    board.select('d1');
    board.apply([started('m1', 1), delta('m1', 0, 'partial')]);
    board.apply([created(message('m1', 1, 'partial', { status: 'failed', error: 'exit code 2' }))]);
    expect(board.transcript!.entry('m1')).toMatchObject({ status: 'failed', reason: 'exit code 2' });
  });
});

import { describe, expect, it } from 'vitest';
import { type StoredMessage, Transcript } from '../../../../src-renderer/model/transcript.ts';

const message = (id: string, turn: number, content: string, extra: Partial<StoredMessage> = {}): StoredMessage => ({
  id,
  author: 'ag_1',
  author_kind: 'agent',
  content,
  status: 'complete',
  turn,
  created_at: `2026-11-30T00:00:0${turn}.000Z`,
  ...extra,
});
const delta = (index: number, text: string, message_id = 'm2') => ({ message_id, index, text });
const texts = (t: Transcript) => t.entries.map((e) => `${e.id}:${e.status}:${e.text}`);

describe('Transcript (dashboard model)', () => {
  it('assembles a reply from its deltas in index order, whatever order they arrive in', () => {
    const t = new Transcript();
    t.applyDeltas([delta(0, 'Hel')]);
    expect(t.entry('m2')).toMatchObject({ text: 'Hel', status: 'streaming' });
    t.applyDeltas([delta(2, ' world'), delta(3, '!')]);
    expect(t.entry('m2')!.text).toBe('Hel'); // 1 is missing: 2 and 3 wait
    t.applyDeltas([delta(1, 'lo,')]);
    expect(t.entry('m2')!.text).toBe('Hello, world!');
    expect(t.streaming).toBe(true);
  });

  it('ignores deltas seen before (a replay after a reconnect): no duplicated text', () => {
    const t = new Transcript();
    t.applyDeltas([delta(0, 'a'), delta(1, 'b')]);
    const version = t.entry('m2')!.version;
    t.applyDeltas([delta(0, 'a'), delta(1, 'b'), delta(2, 'c')]);
    expect(t.entry('m2')!.text).toBe('abc');
    expect(t.entry('m2')!.version).toBeGreaterThan(version);
    t.applyDeltas([delta(1, 'b')]);
    expect(t.entry('m2')!.text).toBe('abc');
  });

  it('the stored message finalizes the reply; deltas replayed after it change nothing', () => {
    const t = new Transcript();
    t.applyDeltas([delta(0, 'draft ')]);
    t.applyMessages([
      message('m2', 2, 'final text', { citations: [{ document_id: 'd1', title: 'Doc', chunk_id: 'c1' }] }),
    ]);
    expect(t.entry('m2')).toMatchObject({ text: 'final text', status: 'complete', citations: [{ document_id: 'd1' }] });
    expect(t.applyDeltas([delta(0, 'draft '), delta(1, 'more')])).toBe(false);
    expect(t.entry('m2')!.text).toBe('final text');
    expect(t.streaming).toBe(false);
  });

  it('shows a failed reply with its reason (error or reason field), and a failure without a message', () => {
    const t = new Transcript();
    t.applyDeltas([delta(0, 'partial')]);
    t.applyMessages([message('m2', 2, 'partial', { status: 'failed', error: 'exit code 3' })]);
    expect(t.entry('m2')).toMatchObject({ status: 'failed', reason: 'exit code 3', text: 'partial' });
    t.applyMessages([message('m3', 3, '', { status: 'failed', reason: 'timed out after 5 s' })]);
    expect(t.entry('m3')!.reason).toBe('timed out after 5 s');
    t.applyMessages([message('m4', 4, '', { status: 'failed' })]);
    expect(t.entry('m4')!.reason).toBe('failed');
    t.applyDeltas([delta(0, 'x', 'm5')]);
    t.fail('m5', 'interrupted by a restart');
    expect(t.entry('m5')).toMatchObject({ status: 'failed', reason: 'interrupted by a restart' });
    t.fail('m2', 'ignored: already final');
    expect(t.entry('m2')!.reason).toBe('exit code 3');
  });

  it('orders by turn, then by first sight; a draft with no turn yet sits at the end', () => {
    const t = new Transcript();
    t.applyDeltas([delta(0, 'streaming…', 'm9')]);
    t.applyMessages([message('m3', 3, 'three'), message('m1', 1, 'one', { author: 'you', author_kind: 'user' })]);
    t.applyDeltas([{ ...delta(0, 'x', 'm4'), turn: 2, author: 'ag_2' }]);
    expect(t.entries.map((e) => e.id)).toEqual(['m1', 'm4', 'm3', 'm9']);
    expect(t.entry('m4')).toMatchObject({ author: 'ag_2', authorKind: 'agent', turn: 2 });
    t.applyMessages([message('m9', 5, 'done')]);
    expect(t.entries.map((e) => e.id)).toEqual(['m1', 'm4', 'm3', 'm9']);
  });

  it('merges a REST page and the live stream in either order, joining a mid-reply text by offset', () => {
    const at = (index: number, text: string, offset: number) => ({ ...delta(index, text), offset });
    const live = new Transcript();
    live.applyDeltas([at(0, 'ab', 0), at(1, 'cd', 2)]);
    live.applyMessages([message('m1', 1, 'q'), message('m2', 2, 'ab', { status: 'streaming' })]);
    expect(texts(live)).toEqual(['m1:complete:q', 'm2:streaming:abcd']); // the page is behind: kept

    const page = new Transcript();
    page.applyMessages([message('m2', 2, 'abcd', { status: 'streaming' })]); // listed mid-reply
    page.applyDeltas([at(3, 'gh', 6)]);
    expect(texts(page)).toEqual(['m2:streaming:abcd']); // 'ef' (index 2) is missing: 'gh' waits
    page.applyDeltas([at(0, 'ab', 0), at(1, 'cd', 2), at(2, 'ef', 4)]);
    expect(texts(page)).toEqual(['m2:streaming:abcdefgh']); // held deltas skipped, no hole, no repeat
    page.applyDeltas([at(2, 'ef', 4), at(4, 'ij', 8)]);
    expect(texts(page)).toEqual(['m2:streaming:abcdefghij']);
    page.applyMessages([message('m2', 2, 'abcdefghij')]);
    page.applyMessages([message('m2', 2, 'abcdef', { status: 'streaming' })]); // a stale page
    expect(texts(page)).toEqual(['m2:complete:abcdefghij']);

    // A delta that crosses the end of the listed text adds only what is new.
    const crossing = new Transcript();
    crossing.applyMessages([message('m2', 2, 'abc', { status: 'streaming' })]);
    crossing.applyDeltas([at(1, 'cde', 2)]);
    expect(crossing.entry('m2')!.text).toBe('abcde');
  });

  it('keeps unchanged entries identical and gives a changed one a new version (memoized rows)', () => {
    const t = new Transcript();
    t.applyMessages([message('m1', 1, 'q')]);
    t.applyDeltas([delta(0, 'a')]);
    const [first, second] = t.entries;
    const v1 = first!.version;
    const v2 = second!.version;
    const before = t.version;
    t.applyDeltas([delta(1, 'b')]);
    expect(t.version).toBeGreaterThan(before);
    expect(t.entries[0]!.version).toBe(v1);
    expect(t.entries[1]!.version).toBeGreaterThan(v2);
  });

  it('assembles 5,000 deltas of one reply exactly', () => {
    const t = new Transcript();
    const parts = Array.from({ length: 5000 }, (_, i) => `w${i} `);
    const order = parts.map((_, i) => i).reverse();
    t.applyDeltas(order.map((i) => delta(i, parts[i]!)));
    expect(t.entry('m2')!.text).toBe(parts.join(''));
  });
});

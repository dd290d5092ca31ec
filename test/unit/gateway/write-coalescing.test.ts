import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BURST_BYTES, OutgoingFrames } from '../../../src-main/gateway/write-coalescing.ts';

/** A socket stand-in that records each write as it reaches it, in one log shared by all. */
function recorder(log: string[], name: string) {
  const writes: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk);
      log.push(`${name}:${chunk.toString()}`);
      callback();
    },
  });
  return { stream, writes };
}

const frame = (text: string) => Buffer.from(text);
const checkPhase = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

describe('OutgoingFrames', () => {
  /**
   * As in the server: a group commit in the check phase feeds the subscribers, and the
   * publisher's answer is written when its await resumes, in the same turn.
   */
  async function turn(frames: Record<string, string[]>) {
    const log: string[] = [];
    const publisher = recorder(log, 'publisher');
    const clients = Object.keys(frames).map((name) => {
      const socket = recorder(log, name);
      const out = new OutgoingFrames(
        socket.stream,
        () => undefined,
        () => true,
      );
      return { name, socket, out };
    });
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        for (const { name, out } of clients) for (const text of frames[name]!) out.push(frame(text));
        void Promise.resolve().then(() => publisher.stream.write('201'));
        resolve();
      }),
    );
    await checkPhase();
    return { log, clients };
  }

  it('sends a quiet turn’s frames at the end of the tick, as one buffer per client, ahead of the answers', async () => {
    const { log, clients } = await turn({ one: ['a', 'b', 'c'], two: ['d'] });
    expect(log).toEqual(['one:abc', 'two:d', 'publisher:201']);
    for (const { socket, out } of clients) {
      expect(socket.writes).toHaveLength(1);
      expect(out.bytes).toBe(0);
    }
  });

  it('holds a burst’s frames (one client’s share at least BURST_BYTES) until the answers have left', async () => {
    const half = 'x'.repeat(BURST_BYTES / 2);
    const { log, clients } = await turn({ big: [half, half], small: ['s'] });
    expect(log).toEqual(['publisher:201', `big:${half}${half}`, 'small:s']);
    for (const { socket } of clients) expect(socket.writes).toHaveLength(1);
    // One byte less is a quiet turn.
    const quiet = await turn({ big: [half, half.slice(1)] });
    expect(quiet.log[0]).toMatch(/^big:/);
  });

  it('flushes on demand (before a close of ours) and starts a new batch after', async () => {
    const log: string[] = [];
    const client = recorder(log, 'client');
    const out = new OutgoingFrames(
      client.stream,
      () => undefined,
      () => true,
    );
    out.push(frame('event'));
    out.push(frame('error'));
    expect(out.flush()).toBe(true);
    expect(log).toEqual(['client:eventerror']);
    expect(out.flush()).toBe(false);
    out.push(frame('late'));
    await checkPhase();
    expect(log).toEqual(['client:eventerror', 'client:late']);
  });

  it('writes nothing once the connection may not take frames, and nothing it was told to drop', async () => {
    const log: string[] = [];
    let open = true;
    const closing = new OutgoingFrames(
      recorder(log, 'closing').stream,
      () => undefined,
      () => open,
    );
    const dropped = new OutgoingFrames(
      recorder(log, 'dropped').stream,
      () => undefined,
      () => true,
    );
    closing.push(frame('x'));
    dropped.push(frame('y'));
    dropped.drop();
    expect(dropped.bytes).toBe(0);
    open = false; // The peer's close frame arrived; ws answered it.
    await checkPhase();
    expect(log).toEqual([]);
    expect(closing.bytes).toBe(0);
  });
});

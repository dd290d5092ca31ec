import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutgoingFrames } from '../../../src-main/gateway/write-coalescing.ts';

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
  it('writes a tick’s frames as one buffer, after what the tick answers directly', async () => {
    const log: string[] = [];
    const client = recorder(log, 'client');
    const publisher = recorder(log, 'publisher');
    const out = new OutgoingFrames(
      client.stream,
      () => undefined,
      () => true,
    );
    // As in the server: a group commit in the check phase feeds the subscribers, and the
    // publisher's answer is written when its await resumes, in the same turn.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        out.push(frame('a'));
        out.push(frame('b'));
        out.push(frame('c'));
        expect(out.bytes).toBe(3);
        void Promise.resolve().then(() => publisher.stream.write('201'));
        resolve();
      }),
    );
    await checkPhase();
    expect(log).toEqual(['publisher:201', 'client:abc']);
    expect(client.writes).toHaveLength(1);
    expect(out.bytes).toBe(0);
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

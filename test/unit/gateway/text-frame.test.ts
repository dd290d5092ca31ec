import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { eventFrame, textFrame } from '../../../src-main/gateway/text-frame.ts';

/** ws's frame parser (exported by ws, not described by its types). */
interface FrameReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  write(chunk: Buffer): void;
}
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => FrameReceiver;
};

/** Decodes frames the way a client does: ws's own parser, as the client side (unmasked frames expected). */
function decode(frame: Buffer): { text: string; binary: boolean }[] {
  const out: { text: string; binary: boolean }[] = [];
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  receiver.on('message', (data: Buffer, isBinary: boolean) =>
    out.push({ text: data.toString('utf8'), binary: isBinary }),
  );
  receiver.on('error', (error: Error) => {
    throw error;
  });
  receiver.write(frame);
  return out;
}

describe('textFrame', () => {
  // Each length where the header changes form (7-bit, 16-bit, 64-bit length), and 0.
  for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
    it(`frames ${length} bytes as one text message a client parses back`, () => {
      const payload = 'a'.repeat(length);
      const frame = textFrame(payload);
      expect(decode(frame)).toEqual([{ text: payload, binary: false }]);
      const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
      expect(frame.length).toBe(header + length);
    });
  }

  it('counts UTF-8 bytes, not characters (multi-byte text across the 125 and 65535 boundaries)', () => {
    for (const payload of ['é'.repeat(63), '€'.repeat(42), '😀'.repeat(16_384), `{"x":"${'ü'.repeat(40_000)}"}`]) {
      expect(decode(textFrame(payload))).toEqual([{ text: payload, binary: false }]);
    }
  });

  it('back to back frames stay separate messages', () => {
    const frames = Buffer.concat([textFrame('one'), textFrame('x'.repeat(300)), textFrame('')]);
    expect(decode(frames).map((m) => m.text)).toEqual(['one', 'x'.repeat(300), '']);
  });
});

describe('eventFrame', () => {
  it('builds one frame per event and hands every client the same one', () => {
    const event = { seq: 1, type: 'x.a', json: '{"type":"x.a"}' };
    const first = eventFrame(event);
    expect(eventFrame(event)).toBe(first);
    // Another event object (the same event read again from the store) gets a frame of its own.
    expect(eventFrame({ seq: 1, type: 'x.a', json: event.json })).not.toBe(first);
    expect(decode(first)).toEqual([{ text: event.json, binary: false }]);
  });
});

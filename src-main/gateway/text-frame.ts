import type { StoredEvent } from '../events/event-log.ts';

/**
 * A complete server → client WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked,
 * as servers send) holding `payload`: header and UTF-8 bytes in one buffer.
 */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(payload, header, 'utf8');
  return frame;
}

/**
 * Each live event's frame, built on its first send and shared by every client it goes to.
 * The bus hands the same StoredEvent object to every subscription, so with N clients an
 * event is UTF-8 encoded and framed once instead of N times (ws frames per send: a byte
 * count, a header buffer and two writes per client), and each client's writev gets one
 * buffer per event. Kept on the event object itself, so it lives exactly as long as some
 * queue holds the event (a WeakMap did the same, but its ephemeron entries cost every
 * scavenge: measured in docs/performance.md).
 */
type Framed = StoredEvent & { frame?: Buffer };

export function eventFrame(event: StoredEvent): Buffer {
  return ((event as Framed).frame ??= textFrame(event.json));
}

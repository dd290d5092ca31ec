import type { Writable } from 'node:stream';

/**
 * A turn whose largest batch for one client is at least this big is a burst: its fan-out
 * waits for the check phase, behind the publishers' answers. Below it the frames leave at
 * the end of the tick, ahead of the answers, as soon as they can.
 */
export const BURST_BYTES = 8 * 1024;

/** Batches with frames waiting. */
const waiting = new Set<OutgoingFrames>();
let scheduled = false;

function flushWaiting(): void {
  scheduled = false;
  // Taken first: a batch pushed to while this round runs is flushed in the next, never cleared unwritten.
  const batches = [...waiting];
  waiting.clear();
  for (const batch of batches) batch.flush();
}

/** At the end of the tick that made the frames: send them now, or, for a burst, after the answers. */
function endOfTick(): void {
  for (const batch of waiting) {
    if (batch.bytes >= BURST_BYTES) {
      setImmediate(flushWaiting);
      return;
    }
  }
  flushWaiting();
}

/**
 * The frames a tick produces for one client's socket, held and written as one buffer
 * (one `write`, one callback, one syscall): a batch of 100 events fanned out to a client
 * is one write instead of 100 trips through the stream machinery, as uWebSockets does with
 * its per-socket cork buffer.
 *
 * When they leave adapts to the load, as TCP's autocorking does. A quiet turn's few
 * frames go at the end of the tick, before the publishers' answers (which are written when
 * their awaits resume): the subscribers hear of an event as early as possible. A burst
 * (some client's share of the turn at least BURST_BYTES) waits for the loop's check phase,
 * so the answers leave first: a publisher's acknowledgement then does not wait behind N
 * subscribers' syscalls (each one waking another process), and its next request overlaps
 * with the subscribers reading this one's events. Both orders come after the COMMIT.
 * docs/performance.md has the measurements behind the switch.
 *
 * Every frame of the client must go through here (events and control messages alike),
 * so they leave in the order they were made; ws's own frames (pings, pongs, close) are
 * whole frames too, and may go first.
 */
export class OutgoingFrames {
  #socket: Writable;
  #onWritten: (error?: Error | null) => void;
  #canWrite: () => boolean;
  #frames: Buffer[] = [];
  #bytes = 0;

  /**
   * `canWrite` is asked at flush time: frames made before a close frame went out (ws
   * answering the peer's close, or our own close after a drop) must not follow it.
   */
  constructor(socket: Writable, onWritten: (error?: Error | null) => void, canWrite: () => boolean) {
    this.#socket = socket;
    this.#onWritten = onWritten;
    this.#canWrite = canWrite;
  }

  /** Bytes held here, not yet handed to the socket (they count against the client's limits). */
  get bytes(): number {
    return this.#bytes;
  }

  push(frame: Buffer): void {
    this.#frames.push(frame);
    this.#bytes += frame.length;
    if (this.#frames.length > 1) return;
    waiting.add(this);
    if (!scheduled) {
      scheduled = true;
      process.nextTick(endOfTick);
    }
  }

  /**
   * Hands what is held to the socket now. Also used before its time: by a pump at
   * its high-water mark only because of what is held here (the bytes wait for nothing but
   * this flush, so they go to the kernel first and the pump goes on), and before a close
   * frame of ours, which must come after them. Returns whether anything was held.
   */
  flush(): boolean {
    const frames = this.#frames;
    if (frames.length === 0) return false;
    const chunk = frames.length === 1 ? frames[0]! : Buffer.concat(frames, this.#bytes);
    this.#frames = [];
    this.#bytes = 0;
    waiting.delete(this);
    if (this.#canWrite()) this.#socket.write(chunk, this.#onWritten);
    return true;
  }

  /** Forgets what is held (the client is being cut off). */
  drop(): void {
    this.#frames = [];
    this.#bytes = 0;
    waiting.delete(this);
  }
}

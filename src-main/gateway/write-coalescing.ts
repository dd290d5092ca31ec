import type { Writable } from 'node:stream';

/** Batches with frames waiting, flushed together in the loop's next check phase. */
const waiting = new Set<OutgoingFrames>();
let scheduled = false;

function flushWaiting(): void {
  scheduled = false;
  // Taken first: a batch pushed to while this round runs is flushed in the next, never cleared unwritten.
  const batches = [...waiting];
  waiting.clear();
  for (const batch of batches) batch.flush();
}

/**
 * The frames a tick produces for one client's socket, held and written as one buffer
 * (one `write`, one callback, one syscall) in the loop's next check phase: a batch of 100
 * events fanned out to a client is one write instead of 100 trips through the stream
 * machinery, as uWebSockets does with its per-socket cork buffer.
 *
 * The check phase (setImmediate) rather than the end of the tick: the publishers'
 * answers, written when their awaits resume in this tick, leave first and the fan-out
 * after them. A publisher's acknowledgement then never waits behind N subscribers'
 * syscalls (each one waking another process), and its next request overlaps with the
 * subscribers reading this one's events. Both still come after the COMMIT.
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
      setImmediate(flushWaiting);
    }
  }

  /**
   * Hands what is held to the socket now. Also used before the check phase: by a pump at
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

/**
 * Turns a provider's chunks into `discussion.message_delta` events: chunks that arrive
 * together (one read, one I/O turn of the loop) go out as one event on the next turn, so a
 * fast stream is not one event per byte, yet nothing waits on a timer — a chunk is
 * published within the same loop iteration's check phase (setImmediate), well under a
 * millisecond on an idle server.
 */
export class DeltaStream {
  #pending = '';
  #index = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #offset = 0;
  #publish: (index: number, offset: number, text: string) => void;
  #maxChars: number;

  constructor(publish: (index: number, offset: number, text: string) => void, maxChars: number) {
    this.#publish = publish;
    this.#maxChars = maxChars;
  }

  /** Deltas published so far. */
  get count(): number {
    return this.#index;
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.#pending += text;
    if (this.#pending.length >= this.#maxChars) this.flush();
    else this.#scheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    while (this.#pending.length > 0) {
      let end = Math.min(this.#pending.length, this.#maxChars);
      // Never split a surrogate pair across two events.
      const last = this.#pending.charCodeAt(end - 1);
      if (end < this.#pending.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
      const text = this.#pending.slice(0, end);
      this.#pending = this.#pending.slice(end);
      this.#publish(this.#index++, this.#offset, text);
      this.#offset += text.length;
    }
  }
}

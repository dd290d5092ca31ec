/**
 * Turns a provider's chunks into `discussion.message_delta` events, one at a time and in
 * order: each is saved to the store (so a client reading the message mid-stream gets
 * exactly the text up to the next delta's `offset`, and a crash loses nothing published),
 * then published, and the next starts only when both are done.
 *
 * Chunks coalesce by themselves: those that arrive together (one read, one I/O turn of the
 * loop) go out as one delta on the next turn (setImmediate, no timer in the path), and
 * while a save and publish are on their way, whatever arrives meanwhile waits and goes out
 * as the next delta. So a fast stream costs one store write per round trip to the store,
 * not one per chunk, and a slow store slows nothing but the size of the deltas.
 */
export class DeltaStream {
  #pending = '';
  #index = 0;
  #offset = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #draining: Promise<void> | undefined;
  #failure: Error | undefined;
  #publish: (index: number, offset: number, text: string) => Promise<void>;
  #maxChars: number;
  #onFailure: (error: Error) => void;

  constructor(options: {
    /** Saves and publishes one delta; a rejection stops the stream (see `failure`). */
    publish: (index: number, offset: number, text: string) => Promise<void>;
    maxChars: number;
    onFailure: (error: Error) => void;
  }) {
    this.#publish = options.publish;
    this.#maxChars = options.maxChars;
    this.#onFailure = options.onFailure;
  }

  /** Deltas published so far. */
  get count(): number {
    return this.#index;
  }

  /** Why publishing stopped, if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  push(text: string): void {
    if (text.length === 0 || this.#failure) return;
    this.#pending += text;
    if (this.#draining === undefined) this.#scheduled ??= setImmediate(() => this.#start());
  }

  /** Publishes what is pending and resolves once every delta pushed so far is out (or publishing failed). */
  async flush(): Promise<void> {
    if (this.#scheduled !== undefined) this.#start();
    while (this.#draining) await this.#draining;
  }

  #start(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0 && !this.#failure) {
      let end = Math.min(this.#pending.length, this.#maxChars);
      // Never split a surrogate pair across two events.
      const last = this.#pending.charCodeAt(end - 1);
      if (end < this.#pending.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
      const text = this.#pending.slice(0, end);
      this.#pending = this.#pending.slice(end);
      try {
        await this.#publish(this.#index, this.#offset, text);
      } catch (error) {
        this.#failure = error as Error;
        this.#pending = '';
        this.#onFailure(this.#failure);
        return;
      }
      this.#index++;
      this.#offset += text.length;
    }
  }
}

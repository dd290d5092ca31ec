/**
 * Collects items and hands them over in one batch per animation frame, so 1,000 events
 * a second cost ~60 renders, not 1,000. A hidden tab gets no animation frames at all;
 * the fallback timer keeps draining then, so the inbox cannot grow without bound.
 */
export interface FrameScheduler {
  requestFrame(callback: () => void): number;
  cancelFrame(handle: number): void;
  setTimer(callback: () => void, ms: number): number;
  clearTimer(handle: number): void;
}

export class FrameBatcher<T> {
  #items: T[] = [];
  #flush: (items: T[]) => void;
  #scheduler: FrameScheduler;
  #fallbackMs: number;
  #frame: number | undefined;
  #timer: number | undefined;

  constructor(flush: (items: T[]) => void, scheduler: FrameScheduler, fallbackMs = 250) {
    this.#flush = flush;
    this.#scheduler = scheduler;
    this.#fallbackMs = fallbackMs;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#frame !== undefined) return;
    this.#frame = this.#scheduler.requestFrame(() => this.flush());
    this.#timer = this.#scheduler.setTimer(() => this.flush(), this.#fallbackMs);
  }

  /** Hands over everything collected now (also used before a state change that must see it). */
  flush(): void {
    if (this.#frame !== undefined) this.#scheduler.cancelFrame(this.#frame);
    if (this.#timer !== undefined) this.#scheduler.clearTimer(this.#timer);
    this.#frame = undefined;
    this.#timer = undefined;
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.#flush(items);
  }

  dispose(): void {
    if (this.#frame !== undefined) this.#scheduler.cancelFrame(this.#frame);
    if (this.#timer !== undefined) this.#scheduler.clearTimer(this.#timer);
    this.#frame = undefined;
    this.#timer = undefined;
    this.#items = [];
  }
}

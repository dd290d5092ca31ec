/**
 * Events per second over a sliding window, by namespace, keyed by each event's own
 * server timestamp — so a replay or backfill fills in the past where it belongs
 * instead of drawing a spike at the moment it arrived. A ring of per-second buckets:
 * constant memory, O(1) per event, however long the page stays open.
 */
export class RateSeries {
  readonly windowSeconds: number;
  #seconds: Float64Array;
  #totals: Uint32Array;
  #byNamespace = new Map<string, Uint32Array>();
  #newest = Number.NEGATIVE_INFINITY;

  constructor(windowSeconds = 300) {
    this.windowSeconds = windowSeconds;
    this.#seconds = new Float64Array(windowSeconds).fill(-1);
    this.#totals = new Uint32Array(windowSeconds);
  }

  /** Counts one event at `timestampMs`; anything older than the window is ignored. */
  record(timestampMs: number, namespace: string): void {
    if (!Number.isFinite(timestampMs)) return;
    const second = Math.floor(timestampMs / 1000);
    if (second <= this.#newest - this.windowSeconds) return;
    if (second > this.#newest) this.#newest = second;
    const slot = this.#slot(second);
    this.#totals[slot]!++;
    let counts = this.#byNamespace.get(namespace);
    if (counts === undefined) {
      counts = new Uint32Array(this.windowSeconds);
      this.#byNamespace.set(namespace, counts);
    }
    counts[slot]!++;
  }

  /** The bucket for `second`, emptied first if it still holds an older second. */
  #slot(second: number): number {
    const slot = ((second % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second;
      this.#totals[slot] = 0;
      for (const counts of this.#byNamespace.values()) counts[slot] = 0;
    }
    return slot;
  }

  #count(second: number, counts: Uint32Array): number {
    const slot = ((second % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
    return this.#seconds[slot] === second ? counts[slot]! : 0;
  }

  /**
   * Per-second totals for the `length` complete seconds before `nowMs`, oldest first. The
   * current second is left out: it is still filling and would always read as a dip.
   */
  series(nowMs: number, length = this.windowSeconds): number[] {
    const last = Math.floor(nowMs / 1000) - 1;
    const n = Math.min(length, this.windowSeconds);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.#count(last - n + 1 + i, this.#totals);
    return out;
  }

  /** Events in the last complete second. */
  current(nowMs: number): number {
    return this.#count(Math.floor(nowMs / 1000) - 1, this.#totals);
  }

  /** Events per namespace over the window ending at `nowMs`, largest first. */
  byNamespace(nowMs: number): { namespace: string; count: number }[] {
    const last = Math.floor(nowMs / 1000);
    const out: { namespace: string; count: number }[] = [];
    for (const [namespace, counts] of this.#byNamespace) {
      let count = 0;
      for (let s = last - this.windowSeconds + 1; s <= last; s++) count += this.#count(s, counts);
      if (count > 0) out.push({ namespace, count });
    }
    return out.sort((a, b) => b.count - a.count || a.namespace.localeCompare(b.namespace));
  }

  clear(): void {
    this.#seconds.fill(-1);
    this.#totals.fill(0);
    this.#byNamespace.clear();
    this.#newest = Number.NEGATIVE_INFINITY;
  }
}

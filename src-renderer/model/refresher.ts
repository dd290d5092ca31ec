/**
 * Runs a read with at most one in flight: asked again while one runs, it runs once more
 * after it (so the last answer is never older than the last request), however many times
 * it was asked meanwhile. Failures are the read's own business: it catches what it expects.
 */
export class Refresher {
  #read: () => Promise<void>;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(read: () => Promise<void>) {
    this.#read = read;
  }

  /** Whether a read is under way (a change heard now must be read again after it). */
  get running(): boolean {
    return this.#running !== undefined;
  }

  run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#read();
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }
}

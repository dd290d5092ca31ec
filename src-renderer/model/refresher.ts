/**
 * Runs a read with at most one in flight: asked again while one runs, it runs once more
 * after it (so the last answer is never older than the last request), however many times
 * it was asked meanwhile. Failures are the read's own business: it catches what it expects.
 */
export class Refresher {
  #read: () => Promise<void>;
  #running: Promise<void> | undefined;
  #again = false;
  /** Whether run() was ever called: the list is wanted (its view was opened). */
  #asked = false;

  constructor(read: () => Promise<void>) {
    this.#read = read;
  }

  /**
   * For a change heard on the stream: reads again if the list was ever asked for, else
   * nothing (a list no view has opened is never fetched). Also during the first read,
   * which may have been answered before the change, and after a first read that failed.
   */
  changed(): void {
    if (this.#asked) void this.run();
  }

  run(): Promise<void> {
    this.#asked = true;
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

import type { Logger } from '../logger.ts';

/** How often the count of Host-refused requests is written (a flood writes one line a minute). */
const REFUSAL_REPORT_MS = 60_000;

/**
 * Counts requests refused for their Host header and logs the count at most once a
 * minute: a rebinding page in a loop must not fill the log.
 */
export class RefusalCounter {
  #logger: Logger;
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #what: string;

  constructor(logger: Logger, what: string) {
    this.#logger = logger;
    this.#what = what;
  }

  note(): void {
    this.#count++;
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.flush(), REFUSAL_REPORT_MS);
    this.#timer.unref();
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#count === 0) return;
    this.#logger.warn({ refused: this.#count, window_s: REFUSAL_REPORT_MS / 1000 }, this.#what);
    this.#count = 0;
  }
}

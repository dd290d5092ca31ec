import type { Middleware } from 'koa';
import type { Logger } from '../../logger.ts';
import { HOST_REFUSED } from './host-check.ts';

/** Longest request path written to the log; the rest is summarized as a count. */
export const MAX_LOGGED_PATH = 256;

/**
 * A request path as it may appear in the log: everything outside a conservative set is
 * percent-encoded (so `$(…)`, quotes, backticks, `;` and control characters never land
 * in a file verbatim, wherever that file ends up), and it is capped in length.
 */
export function loggablePath(raw: string): string {
  const safe = raw.replace(/[^A-Za-z0-9\-._~/%:@,+=]/gu, (char) =>
    [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
  return safe.length > MAX_LOGGED_PATH
    ? `${safe.slice(0, MAX_LOGGED_PATH)}…(+${safe.length - MAX_LOGGED_PATH} chars)`
    : safe;
}

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

/** One JSON line per request, written when the response is finished (or aborted). */
export function accessLog(logger: Logger, hostRefusals: RefusalCounter): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      if (ctx.state[HOST_REFUSED] === true) hostRefusals.note();
      else {
        const record = {
          request_id: ctx.state.requestId as string,
          method: ctx.method.length <= 16 ? ctx.method : ctx.method.slice(0, 16),
          path: loggablePath(ctx.path),
          status: ctx.status,
          duration_ms: Math.round((performance.now() - started) * 100) / 100,
        };
        if (ctx.status >= 500) logger.error(record, 'request failed');
        else logger.info(record, 'request');
      }
    }
  };
}

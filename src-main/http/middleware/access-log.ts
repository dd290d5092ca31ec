import type { Middleware } from 'koa';
import type { Logger } from '../../logger.ts';
import type { RefusalCounter } from '../../transport/refusal-counter.ts';
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

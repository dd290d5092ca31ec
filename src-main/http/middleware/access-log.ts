import type { Middleware } from 'koa';
import type { Logger } from '../../logger.ts';
import type { RefusalCounter } from '../../transport/refusal-counter.ts';
import { loggablePath } from '../../transport/loggable-path.ts';
import { HOST_REFUSED } from './host-check.ts';

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

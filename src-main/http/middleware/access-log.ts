import type { Middleware } from 'koa';
import type { Logger } from '../../logger.ts';

/** One JSON line per request, written when the response is finished (or aborted). */
export function accessLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const record = {
        request_id: ctx.state.requestId as string,
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
      };
      if (ctx.status >= 500) logger.error(record, 'request failed');
      else logger.info(record, 'request');
    }
  };
}

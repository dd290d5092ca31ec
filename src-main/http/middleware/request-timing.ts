import type { Middleware } from 'koa';

/** Receives each request's duration, labelled by the route template it matched. */
export type RequestObserver = (method: string, route: string, status: number, seconds: number) => void;

/**
 * Times every request and names it by the @koa/router template it matched
 * (`/api/v1/events`, `/assets/:file`), never by its raw path: a raw path would give
 * Prometheus one series per id a client ever sent. Runs outside the error handler, so an
 * error's status is the one rendered. Streams (SSE) are timed to their headers.
 */
export function requestTiming(observe: RequestObserver): Middleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      observe(ctx.method, typeof route === 'string' ? route : 'unmatched', ctx.status, seconds);
    }
  };
}

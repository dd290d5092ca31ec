import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';

const ACCEPTABLE_ID = /^[\w.:-]{1,128}$/;

/** Echoes a sane client-sent X-Request-Id, or mints one; every response carries it. */
export function requestId(): Middleware {
  return async (ctx, next) => {
    const sent = ctx.get('x-request-id');
    ctx.state.requestId = ACCEPTABLE_ID.test(sent) ? sent : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId as string);
    await next();
  };
}

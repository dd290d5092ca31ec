import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { HEADERS } from '../../../src-shared/protocol.ts';
import { acceptableRequestId } from '../../transport/request-id.ts';

/** Echoes a sane client-sent X-Request-Id, or mints one; every response carries it. */
export function requestId(): Middleware {
  return async (ctx, next) => {
    ctx.state.requestId = acceptableRequestId(ctx.get(HEADERS.requestId)) ?? randomUUID();
    ctx.set(HEADERS.requestId, ctx.state.requestId as string);
    await next();
  };
}

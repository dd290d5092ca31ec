import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { HEADERS } from '../../../src-shared/protocol.ts';

const ACCEPTABLE_ID = /^[\w.:-]{1,128}$/;

/** A client-sent id we can echo safely (1–128 of letters, digits, `_.:-`), else undefined. */
export const acceptableRequestId = (sent: unknown): string | undefined =>
  typeof sent === 'string' && ACCEPTABLE_ID.test(sent) ? sent : undefined;

/** Echoes a sane client-sent X-Request-Id, or mints one; every response carries it. */
export function requestId(): Middleware {
  return async (ctx, next) => {
    ctx.state.requestId = acceptableRequestId(ctx.get(HEADERS.requestId)) ?? randomUUID();
    ctx.set(HEADERS.requestId, ctx.state.requestId as string);
    await next();
  };
}

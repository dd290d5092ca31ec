import type { Middleware } from 'koa';
import { foreignOrigin } from '../../transport/origin.ts';
import { WRITE_METHODS } from './json-body.ts';

/**
 * Defence in depth against other origins and other localhost ports: every write whose
 * `Origin` or `Sec-Fetch-Site` names another origin is refused, body or no body (the
 * WebSocket upgrade applies the same check in the gateway).
 */
export function refuseForeignWrites(getAllowedOrigins: () => ReadonlySet<string>): Middleware {
  return async (ctx, next) => {
    if (WRITE_METHODS.has(ctx.method)) {
      const refusal = foreignOrigin(ctx.req, getAllowedOrigins());
      if (refusal) throw refusal;
    }
    await next();
  };
}

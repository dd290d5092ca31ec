import type { Middleware } from 'koa';
import { LookoutError } from '../../errors.ts';
import { isAuthorized } from '../../transport/credentials.ts';

/** Guards everything mounted after it (the /api/v1 router). */
export function requireToken(options: { token: string; getPort: () => number }): Middleware {
  return async (ctx, next) => {
    if (!isAuthorized(ctx.req, options.getPort(), options.token)) {
      throw new LookoutError(
        'unauthorized',
        'missing or wrong session token: send X-Session-Token or Authorization: Bearer with the token from .lookout/server.json',
        { headers: { 'WWW-Authenticate': 'Bearer realm="lookout"' } },
      );
    }
    await next();
  };
}

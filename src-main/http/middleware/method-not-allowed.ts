import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { LookoutError } from '../../errors.ts';

/**
 * The end of the chain, reached only when no route took the request. When some route
 * has the path but not the method — any method, including ones the router has never
 * heard of (TRACE, PROPFIND, QUERY) — the answer is 405 with `Allow` (RFC 9110 §15.5.6);
 * OPTIONS on a known path is 204 with `Allow`. An unknown path falls through to 404.
 * (Replaces the router's allowedMethods, which threw a bare 501 for unknown methods and
 * a 405 without `Allow`.)
 */
export function methodNotAllowed(routers: readonly Router[]): Middleware {
  return (ctx, next) => {
    const methods = new Set<string>();
    for (const router of routers) {
      for (const layer of router.match(ctx.path, ctx.method).path) for (const m of layer.methods) methods.add(m);
    }
    if (methods.size === 0) return next();
    methods.add('OPTIONS');
    const allow = [...methods].join(', ');
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      ctx.set('Allow', allow);
      return;
    }
    throw new LookoutError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; use ${allow}`, {
      headers: { Allow: allow },
      details: { allow: [...methods] },
    });
  };
}

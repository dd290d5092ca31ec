import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { LookoutError } from '../../errors.ts';
import { WRITE_METHODS } from './json-body.ts';

/**
 * Defence in depth against other origins, including other ports on this machine (which
 * browsers count as the same *site*): a write or upgrade whose `Origin` is not ours, or
 * whose `Sec-Fetch-Site` says another site or another origin of this site, is refused,
 * body or no body. Origins listed in LOOKOUT_CORS_ORIGINS are trusted on purpose.
 */
export function foreignOrigin(req: IncomingMessage, allowedOrigins: ReadonlySet<string>): LookoutError | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins.has(origin))
    return new LookoutError(
      'forbidden_origin',
      `Origin ${origin.slice(0, 200)} may not write here or open a stream; add it to LOOKOUT_CORS_ORIGINS if you trust it`,
    );
  const site = req.headers['sec-fetch-site'];
  if ((site === 'cross-site' || site === 'same-site') && origin === undefined)
    return new LookoutError('forbidden_origin', `a ${site} request may not write here`);
  return undefined;
}

export function refuseForeignWrites(getAllowedOrigins: () => ReadonlySet<string>): Middleware {
  return async (ctx, next) => {
    if (WRITE_METHODS.has(ctx.method)) {
      const refusal = foreignOrigin(ctx.req, getAllowedOrigins());
      if (refusal) throw refusal;
    }
    await next();
  };
}

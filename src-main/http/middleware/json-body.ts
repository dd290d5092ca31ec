import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { LookoutError } from '../../errors.ts';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Writes must be JSON (a form post from another site can never pass as one), bodies
 * are capped, and a body that does not parse is a 400 `invalid_json`.
 */
export function jsonBody(options: { limitBytes: number }): Middleware {
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonLimit: options.limitBytes,
    encoding: 'utf-8',
    jsonStrict: false,
  });
  return async (ctx, next) => {
    if (WRITE_METHODS.has(ctx.method)) {
      const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
      if (hasBody && !ctx.is('application/json')) {
        throw new LookoutError('unsupported_media_type', `send the body as application/json (got ${ctx.get('content-type') || 'no Content-Type'})`);
      }
      const declared = Number(ctx.get('content-length') || 0);
      if (declared > options.limitBytes) {
        throw new LookoutError('payload_too_large', `the request body is ${declared} bytes; the limit is ${options.limitBytes} (LOOKOUT_MAX_BODY_BYTES)`);
      }
    }
    await parse(ctx, next);
  };
}

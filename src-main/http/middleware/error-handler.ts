import type { Context, Middleware } from 'koa';
import type { ErrorCode } from '../../../src-shared/errors.ts';
import { LookoutError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { storageRequestError } from '../../store/storage-errors.ts';
import { setJsonBody } from '../json-response.ts';

/** Errors raised by Koa, the router or the body parser carry a status; give each a code. */
const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_input',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  423: 'read_only',
  429: 'rate_limited',
  503: 'unavailable',
  507: 'insufficient_storage',
};

function toLookoutError(error: unknown): LookoutError | undefined {
  if (error instanceof LookoutError) return error;
  const e = error as { status?: unknown; expose?: unknown; message?: unknown; type?: unknown; headers?: unknown };
  const status = typeof e?.status === 'number' ? e.status : undefined;
  if (status === undefined || status >= 500) return undefined;
  const code = CODE_FOR_STATUS[status] ?? 'invalid_input';
  const message = e.expose === true && typeof e.message === 'string' ? e.message : code.replaceAll('_', ' ');
  return new LookoutError(code, message, {
    headers: e.headers && typeof e.headers === 'object' ? (e.headers as Record<string, string>) : {},
  });
}

/** Renders an error for a protocol with its own error body (OTLP's google.rpc.Status). */
export type ErrorRenderer = (ctx: Context, error: LookoutError) => void;

/**
 * The one place errors become responses: `{"error": {code, message, details?}}` with the
 * matching status. Unknown failures are logged with their stack and answered with a bare
 * 500. An unmatched route becomes a proper 404 body as well.
 */
export function errorHandler(
  logger: Logger,
  renderers: readonly { matches: (path: string) => boolean; render: ErrorRenderer }[] = [],
): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null && ctx.respond !== false) {
        throw new LookoutError('not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
    } catch (error) {
      let known = toLookoutError(error);
      if (!known) {
        // A full disk or an I/O error is the machine's state, not a bug: say so (507/503).
        known = storageRequestError(error);
        if (known) logger.warn({ err: error, request_id: ctx.state.requestId as string }, 'storage refused a write');
      }
      if (!known) {
        logger.error({ err: error, request_id: ctx.state.requestId as string }, 'unhandled error');
        known = new LookoutError('internal', 'internal server error; see .lookout/lookout.log for details');
      }
      if (ctx.headerSent || !ctx.writable) return;
      ctx.status = known.status;
      for (const [name, value] of Object.entries(known.headers)) ctx.set(name, value);
      const renderer = renderers.find((candidate) => candidate.matches(ctx.path));
      setJsonBody(ctx, known.toBody());
      try {
        renderer?.render(ctx, known);
      } catch (renderError) {
        logger.error({ err: renderError }, 'error renderer failed; answered with the plain error body');
      }
    }
  };
}

import type { Middleware } from 'koa';
import { LookoutError } from '../../errors.ts';
import { assertJsonTextDepth } from '../../transport/json-depth.ts';

/** The methods that change something: they carry JSON, and read-only mode refuses them. */
export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function readBody(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      throw new LookoutError('payload_too_large', `the request body is over ${limit} bytes (LOOKOUT_MAX_BODY_BYTES)`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Writes must be JSON (a cross-site form post can never pass as one), bodies are
 * capped, nested at most MAX_JSON_DEPTH levels, and a body that does not parse is a 400 `invalid_json`. Parsed bodies land in
 * `ctx.request.body`. (A few lines of our own instead of a body-parser package: the
 * usual ones pull in form and charset handling that cost startup time for nothing here.)
 */
export function jsonBody(options: { limitBytes: number }): Middleware {
  return async (ctx, next) => {
    if (WRITE_METHODS.has(ctx.method)) {
      const declared = Number(ctx.get('content-length') || 0);
      const hasBody = declared > 0 || ctx.get('transfer-encoding') !== '';
      if (hasBody) {
        if (!ctx.is('application/json')) {
          throw new LookoutError(
            'unsupported_media_type',
            `send the body as application/json (got ${ctx.get('content-type') || 'no Content-Type'})`,
          );
        }
        if (declared > options.limitBytes) {
          throw new LookoutError(
            'payload_too_large',
            `the request body is ${declared} bytes; the limit is ${options.limitBytes} (LOOKOUT_MAX_BODY_BYTES)`,
          );
        }
        const text = (await readBody(ctx.req, options.limitBytes)).toString('utf8');
        if (text.trim() !== '') {
          // Before parsing: deep JSON parses, but every recursive walk after it (clone,
          // stringify) would overflow the stack.
          assertJsonTextDepth(text, 'body');
          try {
            (ctx.request as { body?: unknown }).body = JSON.parse(text);
          } catch (error) {
            throw new LookoutError('invalid_json', `the request body is not valid JSON (${(error as Error).message})`);
          }
        }
      }
    }
    await next();
  };
}

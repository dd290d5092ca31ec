import type { Context } from 'koa';

/** A body Koa would answer as JSON: a plain object or an array (not a Buffer, stream or class instance). */
export const isPlainJson = (body: unknown): body is object =>
  Array.isArray(body) ||
  (typeof body === 'object' &&
    body !== null &&
    (Object.getPrototypeOf(body) === Object.prototype || Object.getPrototypeOf(body) === null));

/**
 * Sets a JSON response body, serialized here. Koa's body setter and its respond() test an
 * object body with `instanceof Response`, and the global `Response` is a lazy getter that
 * loads undici, Node's fetch (~2.5 MB of memory a server never otherwise needs,
 * docs/idle-memory.md); a string body is written as it is. The same bytes and headers as
 * Koa's own JSON: `application/json; charset=utf-8` and a Content-Length.
 */
export function setJsonBody(ctx: Context, value: object): void {
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(value);
}

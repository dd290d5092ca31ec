/*
 * The request id, read alike by the Koa middleware and the WebSocket upgrade (which never
 * reaches Koa), so a refused upgrade carries the same id a client sent.
 */

const ACCEPTABLE_ID = /^[\w.:-]{1,128}$/;

/** A client-sent id we can echo safely (1–128 of letters, digits, `_.:-`), else undefined. */
export const acceptableRequestId = (sent: unknown): string | undefined =>
  typeof sent === 'string' && ACCEPTABLE_ID.test(sent) ? sent : undefined;

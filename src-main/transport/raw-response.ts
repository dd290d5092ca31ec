import type { Duplex } from 'node:stream';
import { HEADERS } from '../../src-shared/protocol.ts';
import type { LookoutError } from '../errors.ts';
import { http } from './node-http.ts';

/**
 * An error answered on a raw socket, outside Koa (refused WebSocket upgrades, requests
 * Node's parser rejects, CONNECT): the same status, `X-Request-Id` and JSON error body as
 * any other response, then the connection closes.
 */
export function writeRawError(
  socket: Duplex,
  error: LookoutError,
  requestId: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = JSON.stringify(error.toBody());
  const lines = [
    `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status] ?? 'Error'}`,
    `${HEADERS.requestId}: ${requestId}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries({ ...error.headers, ...headers }).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

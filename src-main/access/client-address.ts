import type { IncomingMessage } from 'node:http';

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/;

export const isLoopbackAddress = (address: string | undefined): boolean =>
  address !== undefined && LOOPBACK.test(address);

/**
 * The address a request comes from. Behind a trusted reverse proxy on this machine the
 * proxy's own connection is loopback, so the client is the last `X-Forwarded-For` entry
 * (the one the proxy appended; anything left of it is the client's own claim).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const peer = req.socket.remoteAddress ?? '';
  if (!trustProxy || !isLoopbackAddress(peer)) return peer;
  const forwarded = req.headers['x-forwarded-for'];
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',');
  const last = list[list.length - 1]?.trim();
  return last || peer;
}

/** Whether the original request was https (only a trusted proxy can say so). */
export function isHttps(req: IncomingMessage, trustProxy: boolean): boolean {
  if (!trustProxy || !isLoopbackAddress(req.socket.remoteAddress)) return false;
  const proto = req.headers['x-forwarded-proto'];
  return (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase() === 'https';
}

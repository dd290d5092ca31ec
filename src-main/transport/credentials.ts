import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HEADERS, sessionCookieName } from '../../src-shared/protocol.ts';

/*
 * What a request presents as credentials, read off Node's IncomingMessage so the Koa
 * middleware and the WebSocket upgrade (which never reaches Koa) decide alike.
 */

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Constant-time comparison (hashing first makes lengths equal and leaks nothing). */
export function tokensEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined; // a malformed cookie is no token, never a crash
      }
    }
  }
  return undefined;
}

/** The token a request presents: X-Session-Token, then Authorization: Bearer, then the cookie. */
export function presentedToken(req: IncomingMessage, port: number): string | undefined {
  const header = req.headers[HEADERS.sessionToken.toLowerCase()];
  if (typeof header === 'string' && header) return header;
  const authorization = req.headers.authorization;
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) return bearer;
  return cookieValue(req.headers.cookie, sessionCookieName(port));
}

export function isAuthorized(req: IncomingMessage, port: number, token: string): boolean {
  const presented = presentedToken(req, port);
  return presented !== undefined && tokensEqual(presented, token);
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { HEADERS, sessionCookieName } from '../../../src-shared/protocol.ts';
import { LookoutError } from '../../errors.ts';

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

/** Guards everything mounted after it (the /api/v1 router). */
export function requireToken(options: { token: string; getPort: () => number }): Middleware {
  return async (ctx, next) => {
    if (!isAuthorized(ctx.req, options.getPort(), options.token)) {
      throw new LookoutError(
        'unauthorized',
        'missing or wrong session token: send X-Session-Token or Authorization: Bearer with the token from .lookout/server.json',
        { headers: { 'WWW-Authenticate': 'Bearer realm="lookout"' } },
      );
    }
    await next();
  };
}

import { createHash, timingSafeEqual } from 'node:crypto';

/*
 * Reading credentials off a request, shared by the Koa middleware and the WebSocket
 * upgrade (which never reaches Koa), so both decide alike.
 */

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Constant-time comparison (hashing first makes lengths equal and leaks nothing). */
export function tokensEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** One cookie's value from a Cookie header; a malformed cookie is no value, never a crash. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

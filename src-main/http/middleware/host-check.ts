import type { Middleware } from 'koa';
import { LookoutError } from '../../errors.ts';

/** Set on ctx.state for a request the Host check refused. */
export const HOST_REFUSED = 'hostRefused';

/** The Host values a browser sends for this server: loopback names with our port. */
export function allowedHosts(port: number, boundHost: string): Set<string> {
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  if (!names.includes(boundHost)) names.push(boundHost.includes(':') ? `[${boundHost}]` : boundHost);
  return new Set(names.map((name) => `${name}:${port}`.toLowerCase()));
}

/**
 * DNS-rebinding defence: a page on evil.example that rebinds its name to 127.0.0.1
 * still sends `Host: evil.example`, so anything but our own names is refused.
 */
export function hostCheck(getAllowed: () => Set<string>): Middleware {
  return async (ctx, next) => {
    const host = (ctx.get('host') || '').toLowerCase();
    const allowed = getAllowed();
    // Between listen() and the port being known, no Host can be judged yet: a client
    // restarting with the server must hear "retry", not "forbidden".
    if (allowed.size === 0) {
      throw new LookoutError('unavailable', 'the server is starting; retry in a moment', {
        headers: { 'Retry-After': '1' },
      });
    }
    if (!allowed.has(host)) {
      ctx.state[HOST_REFUSED] = true; // the access log counts these instead of logging each
      throw new LookoutError(
        'forbidden_host',
        `Host ${JSON.stringify(host.slice(0, 100))} is not allowed; use http://127.0.0.1 or http://localhost with the server's port`,
      );
    }
    await next();
  };
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { errorHandler } from '../../../../src-main/http/middleware/error-handler.ts';
import { allowedHosts, hostCheck } from '../../../../src-main/http/middleware/host-check.ts';

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(getAllowed: () => Set<string>): Promise<number> {
  const app = new Koa();
  app.silent = true;
  app.use(errorHandler(pino({ level: 'silent' })));
  app.use(hostCheck(getAllowed));
  app.use((ctx) => {
    ctx.body = { ok: true };
  });
  server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('hostCheck', () => {
  it('answers 503 with Retry-After while the allowed hosts are not known yet, then judges the Host', async () => {
    let allowed = new Set<string>();
    const port = await serve(() => allowed);
    const starting = await fetch(`http://127.0.0.1:${port}/`);
    expect(starting.status).toBe(503);
    expect(starting.headers.get('retry-after')).toBe('1');
    expect(((await starting.json()) as { error: { code: string } }).error.code).toBe('unavailable');

    allowed = allowedHosts(port, '127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    // fetch() sets Host itself; a rebinding page's request is a plain one with its own name.
    const rebound = await new Promise<number>((resolve, reject) =>
      http
        .get({ port, host: '127.0.0.1', path: '/', headers: { host: `evil.example:${port}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject),
    );
    expect(rebound).toBe(403);
  });
});

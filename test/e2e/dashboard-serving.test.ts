import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src-main/http/app.ts';
import { type HttpServer, listen } from '../../src-main/http/http-server.ts';
import { allowedHosts } from '../../src-main/http/middleware/host-check.ts';
import type { Route } from '../../src-main/http/route.ts';
import { dashboardCsp, dashboardRoutes } from '../../src-main/http/routes/dashboard.ts';
import { createLogger } from '../../src-main/logger.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/**
 * The dashboard routes on their own (no browser): what `/` says before a build, and a
 * build that appears while the server runs. The browser-level behaviour is in dashboard.test.ts.
 */

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close(100)));
});

async function serve(rendererDir: string): Promise<string> {
  let port = 0;
  const app = createApp({
    logger: createLogger({ level: 'silent' }),
    version: '0.0.0-test',
    maxBodyBytes: 1024 * 1024,
    corsOrigins: [],
    getPort: () => port,
    getAllowedHosts: () => allowedHosts(port, '127.0.0.1'),
    getAllowedOrigins: () => new Set([`http://127.0.0.1:${port}`]),
    rootRoutes: dashboardRoutes({ rendererDir }) as Route[],
    apiRoutes: [],
    authenticateApi: (_ctx, next) => next(),
    policyGuard: () => (_ctx, next) => next(),
  });
  const server = await listen(app.callback(), { host: '127.0.0.1', port: 0 });
  servers.push(server);
  port = server.port;
  return `http://127.0.0.1:${port}`;
}

describe('serving the dashboard', () => {
  it('explains how to build it when dist/renderer is missing, and picks up a build made while running', async () => {
    const dir = path.join(tempWorkspace(), 'renderer');
    const url = await serve(dir);
    const missing = await fetch(`${url}/`);
    expect(missing.status).toBe(503);
    const text = await missing.text();
    expect(text).toContain('The dashboard is not built');
    expect(text).toContain('npm run build');
    expect(missing.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    expect((await fetch(`${url}/assets/index-abcdefgh.js`)).status).toBe(404);

    fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'index.html'),
      '<!doctype html><script type="module" src="/assets/index-abcdefgh.js"></script>',
    );
    fs.writeFileSync(path.join(dir, 'assets', 'index-abcdefgh.js'), 'export {};');
    fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const built = await fetch(`${url}/`);
    expect(built.status).toBe(200);
    // The page may carry a one-time code in its URL: it is never sent on as a Referer.
    expect(built.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await built.text()).toContain('/assets/index-abcdefgh.js');
    const asset = await fetch(`${url}/assets/index-abcdefgh.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const icon = await fetch(`${url}/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('no-cache');
  });

  it('limits the page to its own origin', () => {
    expect(dashboardCsp('localhost:4000')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' ws://localhost:4000; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  it('grants nothing for a token or code in the URL and never reflects it into the page', async () => {
    const url = await serve(path.join(tempWorkspace(), 'none'));
    for (const query of ['?token=%3Cscript%3Ealert(1)%3C%2Fscript%3E', '?code=%3Cscript%3E', '?token=a&token=b']) {
      const response = await fetch(`${url}/${query}`, { redirect: 'manual' });
      expect(response.status).toBe(503); // the page (here: not built), never a redirect or a cookie
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(await response.text()).not.toContain('<script>');
    }
    // The old cookie sign-in route is gone.
    expect((await fetch(`${url}/sign-in`, { method: 'POST' })).status).toBe(404);
  });
});

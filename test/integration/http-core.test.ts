import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src-main/store/migrations.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { rawRequest } from '../helpers/raw-http.ts';

describe('HTTP core', () => {
  it('answers /health without a token, with uptime, memory and store status', async () => {
    const runtime = await startRuntime();
    const res = await fetch(`${runtime.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'ok',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      store: { status: 'ok', schema_version: SCHEMA_VERSION },
    });
    expect(body.uptime_s).toEqual(expect.any(Number));
    expect(body.memory_mb).toBeGreaterThan(1);
  });

  it('requires the token under /api/v1: header and Bearer work; a cookie, a wrong or a missing token is 401', async () => {
    const runtime = await startRuntime();
    const url = `${runtime.url}/api/v1/events`;
    const missing = await fetch(url);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      error: { code: 'unauthorized', message: expect.stringContaining('token') },
    });
    expect((await fetch(url, { headers: { 'x-session-token': 'nope' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${runtime.token}x` } })).status).toBe(401);
    expect((await fetch(url, { headers: { 'x-session-token': runtime.token } })).status).toBe(200);
    expect((await fetch(url, { headers: { authorization: `Bearer ${runtime.token}` } })).status).toBe(200);
    // No cookie authenticates anything here, whatever it holds (the refresh cookie only refreshes).
    expect((await fetch(url, { headers: { cookie: `lookout_session_${runtime.port}=${runtime.token}` } })).status).toBe(
      401,
    );
    // Unknown API paths do not reveal themselves to strangers.
    expect((await fetch(`${runtime.url}/api/v1/nothing-here`)).status).toBe(401);
  });

  it('refuses a foreign Host with 403 and accepts the loopback names', async () => {
    const runtime = await startRuntime();
    const foreign = await rawRequest(`${runtime.url}/health`, { headers: { host: `evil.example:${runtime.port}` } });
    expect(foreign.status).toBe(403);
    expect(foreign.json()).toMatchObject({ error: { code: 'forbidden_host' } });
    expect(
      (await rawRequest(`${runtime.url}/health`, { headers: { host: `127.0.0.1:${runtime.port + 1}` } })).status,
    ).toBe(403);
    for (const host of [`127.0.0.1:${runtime.port}`, `localhost:${runtime.port}`, `[::1]:${runtime.port}`]) {
      expect((await rawRequest(`${runtime.url}/health`, { headers: { host } })).status).toBe(200);
    }
  });

  it('renders the error body for unknown routes, wrong methods, malformed JSON, wrong content type and oversized bodies', async () => {
    const runtime = await startRuntime({ maxBodyBytes: 4096 });
    const notFound = await api(runtime, '/api/v1/nope');
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ error: { code: 'not_found' } });
    const root404 = await fetch(`${runtime.url}/nope`);
    expect(root404.status).toBe(404);
    expect(await root404.json()).toMatchObject({ error: { code: 'not_found' } });

    const wrongMethod = await api(runtime, '/api/v1/events', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toMatchObject({ error: { code: 'method_not_allowed' } });

    const malformed = await api(runtime, '/api/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type": ',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'invalid_json' } });

    const form = await api(runtime, '/api/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'type=x.a',
    });
    expect(form.status).toBe(415);
    expect(await form.json()).toMatchObject({
      error: { code: 'unsupported_media_type', message: expect.stringContaining('application/json') },
    });

    const tooBig = await api(runtime, '/api/v1/events', {
      method: 'POST',
      json: { type: 'x.big', data: { blob: 'a'.repeat(8000) } },
    });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('names the failing fields of an invalid body', async () => {
    const runtime = await startRuntime();
    const res = await api(runtime, '/api/v1/events', {
      method: 'POST',
      json: { type: 'workflow.failed', data: { workflow_id: 7 } },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.details.map((d) => d.path)).toEqual(expect.arrayContaining(['data.workflow_id']));
  });

  it('echoes a sane X-Request-Id, mints one otherwise, and sets security headers', async () => {
    const runtime = await startRuntime();
    const echoed = await fetch(`${runtime.url}/health`, { headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const minted = await fetch(`${runtime.url}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(minted.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const err = await fetch(`${runtime.url}/api/v1/events`);
    expect(err.headers.get('x-request-id')).toBeTruthy();
    expect(minted.headers.get('x-content-type-options')).toBe('nosniff');
    expect(minted.headers.get('x-frame-options')).toBe('DENY');
    expect(minted.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(minted.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends CORS headers only for configured origins', async () => {
    const runtime = await startRuntime({ corsOrigins: ['http://localhost:5173'] });
    const allowed = await fetch(`${runtime.url}/health`, { headers: { origin: 'http://localhost:5173' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const other = await fetch(`${runtime.url}/health`, { headers: { origin: 'http://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('never shows a stack trace on a 500', async () => {
    const runtime = await startRuntime();
    // A failure nobody planned for, deep inside a handler.
    runtime.bus.log.read = () => {
      throw new Error('disk on fire at /secret/path.ts:12');
    };
    const res = await api(runtime, '/api/v1/events');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: expect.any(String) } });
    expect(text).not.toMatch(/secret|at .*\.ts:\d+/);
  });

  it('writes JSON request logs with id, method, path, status and duration', async () => {
    const runtime = await startRuntime({ logLevel: 'info' });
    await fetch(`${runtime.url}/health`, { headers: { 'x-request-id': 'log-me' } });
    await runtime.stop();
    const lines = fs
      .readFileSync(runtime.paths.log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const entry = lines.find((l) => l.request_id === 'log-me');
    expect(entry).toMatchObject({ method: 'GET', path: '/health', status: 200, duration_ms: expect.any(Number) });
  });

  it('serves /openapi.json generated from the routes and the /docs viewer locally', async () => {
    const runtime = await startRuntime();
    const doc = (await (await fetch(`${runtime.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/api/v1/events', '/api/v1/sse']));
    expect(doc.paths['/api/v1/events']).toHaveProperty('post.requestBody');
    const page = await fetch(`${runtime.url}/docs`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//); // no CDN
    const bundle = await fetch(`${runtime.url}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${runtime.url}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
  });
});

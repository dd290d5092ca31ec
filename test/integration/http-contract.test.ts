import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { rawRequest } from '../helpers/raw-http.ts';
import { api, startRuntime } from '../helpers/runtime.ts';

/** Writes raw bytes and reads everything the server sends until it closes the connection. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.write(request);
  });
}

function parseRaw(text: string) {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => [
      line.slice(0, line.indexOf(':')).toLowerCase(),
      line.slice(line.indexOf(':') + 1).trim(),
    ]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as { error: { code: string } } };
}

describe('methods', () => {
  it('answers methods the router does not know with 405, the error body and Allow, on every known path', async () => {
    const runtime = await startRuntime();
    const headers = { 'x-session-token': runtime.token };
    for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'QUERY', 'PURGE']) {
      for (const path of ['/health', '/api/v1/events', '/api/v1/state/priorities', '/openapi.json']) {
        const res = await rawRequest(`${runtime.url}${path}`, { method, headers });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.allow, `${method} ${path}`).toMatch(/GET/);
        expect(res.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
      }
    }
    // An unknown path stays a 404 whatever the method.
    const unknown = await rawRequest(`${runtime.url}/api/v1/nope`, { method: 'TRACE', headers });
    expect(unknown.status).toBe(404);
  });

  it('puts Allow on every 405, and answers OPTIONS with it', async () => {
    const runtime = await startRuntime();
    const del = await api(runtime, '/api/v1/events', { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
    const put = await api(runtime, '/api/v1/state', { method: 'PUT', json: {} });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toContain('GET');
    const options = await api(runtime, '/api/v1/system/status', { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
  });
});

describe('responses outside Koa', () => {
  it('answers what Node itself refuses with the JSON error body and an X-Request-Id', async () => {
    const runtime = await startRuntime();
    const badMethod = parseRaw(await rawExchange(runtime.port, 'GE(T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    expect(badMethod.status).toBe(400);
    expect(badMethod.body.error.code).toBe('malformed_request');
    expect(badMethod.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const badLength = parseRaw(
      await rawExchange(runtime.port, 'POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n'),
    );
    expect(badLength.status).toBe(400);
    expect(badLength.body.error.code).toBe('malformed_request');

    const huge = parseRaw(
      await rawExchange(
        runtime.port,
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      ),
    );
    expect(huge.status).toBe(431);
    expect(huge.body.error.code).toBe('headers_too_large');
    expect(huge.headers['content-type']).toBe('application/json; charset=utf-8');

    // CONNECT is answered, not dropped.
    const connect = parseRaw(
      await rawExchange(
        runtime.port,
        'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nX-Request-Id: c-1\r\n\r\n',
      ),
    );
    expect(connect.status).toBe(405);
    expect(connect.headers.allow).toContain('GET');
    expect(connect.headers['x-request-id']).toBe('c-1');
    expect(connect.body.error.code).toBe('method_not_allowed');

    expect((await fetch(`${runtime.url}/health`)).status).toBe(200);
  });

  it('puts X-Request-Id on the 101 of an accepted WebSocket upgrade', async () => {
    const runtime = await startRuntime();
    const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}/ws`, {
      headers: { 'x-session-token': runtime.token, 'x-request-id': 'upgrade-ok-1' },
    });
    const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      ws.once('upgrade', (res) => resolve(res.headers));
      ws.once('error', reject);
    });
    expect(headers['x-request-id']).toBe('upgrade-ok-1');
    ws.close();
  });
});

describe('read-only messages', () => {
  it('does not say "held by nobody" during the grace period after a handover', async () => {
    const runtime = await startRuntime();
    expect(await runtime.session.handover()).toBe(true);
    const res = await api(runtime, '/api/v1/system/status', { method: 'POST', json: { status: 'IDLE' } });
    expect(res.status).toBe(423);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('read_only');
    expect(body.error.message).not.toContain('nobody');
    expect(body.error.message).toMatch(/handed the lock over/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(10);
  });
});

describe('batch bodies', () => {
  it('refuses a batch with a stray top-level field (found by the contract fuzzer), storing nothing', async () => {
    const runtime = await startRuntime();
    const before = runtime.bus.log.lastSequenceNumber;
    const res = await api(runtime, '/api/v1/events', {
      method: 'POST',
      json: { events: [{ type: 'x.ok', data: {} }], extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_input', details: [{ path: 'extra' }] } });
    expect(runtime.bus.log.lastSequenceNumber).toBe(before);
  });
});

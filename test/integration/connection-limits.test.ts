import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { api, startRuntime } from '../helpers/runtime.ts';

const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });

/** Resolves with what the server sent once it closed the socket (or 'open' after timeoutMs). */
const closedBy = (socket: net.Socket, timeoutMs: number) =>
  new Promise<string>((resolve) => {
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => resolve('open'), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received || 'closed');
    });
  });

describe('SSE clients are capped', () => {
  it('answers 503 with Retry-After past max_sse_clients, and admits again when one leaves', async () => {
    const runtime = await startRuntime({ maxSseClients: 2 });
    const streams = [new AbortController(), new AbortController()];
    for (const controller of streams) {
      const res = await api(runtime, '/api/v1/sse', { signal: controller.signal });
      expect(res.status).toBe(200);
    }
    expect(runtime.sse.clientCount).toBe(2);
    const refused = await api(runtime, '/api/v1/sse');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unavailable');
    expect(body.error.message).toMatch(/too many SSE clients \(limit 2, LOOKOUT_MAX_SSE_CLIENTS\)/);

    streams[0]!.abort();
    const deadline = Date.now() + 5000;
    while (runtime.sse.clientCount > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const again = new AbortController();
    expect((await api(runtime, '/api/v1/sse', { signal: again.signal })).status).toBe(200);
    again.abort();
    streams[1]!.abort();
  });
});

describe('slowloris and idle sockets', () => {
  it('answers 408 and closes a connection whose headers never finish', async () => {
    const runtime = await startRuntime({ headersTimeoutMs: 500 });
    const socket = await connect(runtime.port);
    socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // Keep trickling header lines, as slowloris does.
    const trickle = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
    try {
      const result = await closedBy(socket, 5000);
      expect(result).toMatch(/^HTTP\/1\.1 408|^closed$/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('closes a connection that sends nothing at all', async () => {
    const runtime = await startRuntime({ headersTimeoutMs: 500 });
    const socket = await connect(runtime.port);
    expect(await closedBy(socket, 5000)).not.toBe('open');
  });

  it('caps the connections one address may hold; the rest are closed at once, and service resumes', async () => {
    const runtime = await startRuntime({ maxConnectionsPerAddress: 5 });
    const held = await Promise.all(Array.from({ length: 5 }, () => connect(runtime.port)));
    const extra = await connect(runtime.port);
    expect(await closedBy(extra, 2000)).not.toBe('open');
    for (const socket of held) socket.destroy();
    const deadline = Date.now() + 5000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = await fetch(`${runtime.url}/health`)
        .then((r) => r.status)
        .catch(() => 0);
    }
    expect(status).toBe(200);
  });
});

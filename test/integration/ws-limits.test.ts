import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startRuntime } from '../helpers/runtime.ts';
import { connectWs } from '../helpers/ws-client.ts';

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('WebSocket memory is bounded per client', () => {
  it('closes a client that sends pings and never reads, before its unsent replies pass ~1 MiB', async () => {
    const runtime = await startRuntime();
    const client = await connectWs(runtime);
    await client.waitFor((messages) => messages.some((m) => m.type === 'snapshot'));
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    socket.pause(); // never read again: every pong piles up on the server

    const ping = JSON.stringify({ type: 'ping', id: 'p'.repeat(128) });
    let largest = 0;
    let sent = 0;
    // Up to ~64 MB of pongs asked for: far past the kernel's socket buffers.
    while (runtime.gateway.clientCount > 0 && sent < 400_000) {
      for (let i = 0; i < 2000; i++) client.ws.send(ping);
      sent += 2000;
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const stat of runtime.gateway.stats()) largest = Math.max(largest, stat.buffered_bytes);
    }
    await until(() => runtime.gateway.clientCount === 0, 'the server to drop the client');
    expect(largest).toBeLessThan(1024 * 1024 + 64 * 1024);
    client.ws.terminate();
  }, 60_000);

  it('counts only a pong to our own ping as alive: unsolicited pongs do not keep a client', async () => {
    const runtime = await startRuntime({ heartbeatMs: 150 });
    const client = await connectWs(runtime, '', { autoPong: false });
    const pongs = setInterval(() => client.ws.pong(Buffer.from('not yours')), 20);
    try {
      const closed = await Promise.race([
        client.closed,
        new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 5000)),
      ]);
      expect(closed).not.toBe('still open');
      await until(() => runtime.gateway.clientCount === 0, 'the server to forget the client');
    } finally {
      clearInterval(pongs);
    }
  });

  it('keeps a client that answers our pings', async () => {
    const runtime = await startRuntime({ heartbeatMs: 150 });
    await connectWs(runtime);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(runtime.gateway.clientCount).toBe(1);
  });
});

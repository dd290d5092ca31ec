import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import type { EventEnvelope } from '../../src-shared/events.ts';
import { LiveClient, type LiveStatus, type WebSocketLike } from '../../src-shared/live-client.ts';
import type { GapMessage } from '../../src-shared/protocol.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 8000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await delay(20);
  }
}

describe('LiveClient (shared resuming client) against a real server', () => {
  it('resumes after a restart on the same port without duplicates, and starts over when the epoch changes', async () => {
    const workspace = tempWorkspace();
    let runtime: Runtime = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    const port = runtime.port;
    let token = runtime.token;
    const events: EventEnvelope[] = [];
    const statuses: LiveStatus['state'][] = [];
    const epochChanges: string[] = [];
    const client = new LiveClient({
      url: `ws://127.0.0.1:${port}/ws`,
      connect: (url) => new WebSocket(url, { headers: { 'x-session-token': token } }) as unknown as WebSocketLike,
      types: ['x.*'],
      since: 0,
      onEvent: (event) => events.push(event),
      onStatus: (status) => statuses.push(status.state),
      onEpochChange: (previous, next) => epochChanges.push(`${previous}->${next}`),
      backoff: { initialMs: 50, maxMs: 200 },
      offlineAfter: 2,
    });
    try {
      await runtime.bus.publish([
        { type: 'x.a', data: {} },
        { type: 'x.b', data: {} },
      ]);
      client.start();
      await until(() => events.length === 2);
      expect(client.status.state).toBe('live');

      await runtime.stop();
      await until(() => statuses.includes('reconnecting'));
      await delay(600); // a few failed attempts: the state reads offline
      expect(statuses).toContain('offline');
      expect(client.status.retryAt).toBeGreaterThan(Date.now() - 1000);

      runtime = await createRuntime({ workspace, port, logLevel: 'warn' });
      token = runtime.token;
      await runtime.bus.publish([{ type: 'x.c', data: {} }]);
      await until(() => events.length === 3);
      expect(client.status.state).toBe('live');
      expect(events.map((e) => e.type)).toEqual(['x.a', 'x.b', 'x.c']);
      expect(epochChanges).toEqual([]);

      // A recreated store has a new epoch: numbers restart, so the client starts over.
      await runtime.stop();
      fs.rmSync(runtime.paths.database, { force: true });
      fs.rmSync(`${runtime.paths.database}-wal`, { force: true });
      fs.rmSync(`${runtime.paths.database}-shm`, { force: true });
      runtime = await createRuntime({ workspace, port, logLevel: 'warn' });
      token = runtime.token;
      await runtime.bus.publish([{ type: 'x.fresh', data: {} }]);
      await until(() => events.some((e) => e.type === 'x.fresh'));
      expect(epochChanges).toHaveLength(1);
      expect(events.at(-1)!.type).toBe('x.fresh');
      expect(client.lastSequenceNumber).toBe(events.at(-1)!.sequence_number);
    } finally {
      client.stop();
      await runtime.stop();
    }
    expect(client.status.state).toBe('stopped');
  });

  it('surfaces gaps and changes its filter with subscribe()', async () => {
    const runtime = await createRuntime({ workspace: tempWorkspace(), port: 0, logLevel: 'warn', replayLimit: 2 });
    const events: EventEnvelope[] = [];
    const gaps: GapMessage[] = [];
    const client = new LiveClient({
      url: `ws://127.0.0.1:${runtime.port}/ws`,
      connect: (url) =>
        new WebSocket(url, { headers: { 'x-session-token': runtime.token } }) as unknown as WebSocketLike,
      types: ['x.*'],
      since: 0,
      onEvent: (event) => events.push(event),
      onGap: (gap) => gaps.push(gap),
    });
    try {
      await runtime.bus.publish(Array.from({ length: 5 }, (_, i) => ({ type: 'x.n', data: { i } })));
      client.start();
      await until(() => events.length === 2 && gaps.length === 1);
      expect(gaps[0]).toMatchObject({ reason: 'limit' });
      client.subscribe(['chat.*']);
      await delay(100);
      await runtime.bus.publish([
        { type: 'x.hidden', data: {} },
        { type: 'chat.message_sent', data: { text: 'shown' } },
      ]);
      await until(() => events.some((e) => e.type === 'chat.message_sent'));
      expect(events.some((e) => e.type === 'x.hidden')).toBe(false);
    } finally {
      client.stop();
      await runtime.stop();
    }
  });

  it('starts with a tail, resumes exactly at its seam after a drop, and takes the tail again in a new epoch', async () => {
    const workspace = tempWorkspace();
    let runtime: Runtime = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    const port = runtime.port;
    let token = runtime.token;
    const sockets: Duplex[] = [];
    const watch = (r: Runtime) => r.http.server.on('upgrade', (_req, socket: Duplex) => sockets.push(socket));
    watch(runtime);
    const urls: URL[] = [];
    const events: EventEnvelope[] = [];
    const client = new LiveClient({
      url: `ws://127.0.0.1:${port}/ws`,
      connect: (url) => {
        urls.push(new URL(url));
        return new WebSocket(url, { headers: { 'x-session-token': token } }) as unknown as WebSocketLike;
      },
      types: ['x.*'],
      tail: 3,
      onEvent: (event) => events.push(event),
      backoff: { initialMs: 50, maxMs: 200 },
    });
    try {
      const published = await runtime.bus.publish(Array.from({ length: 5 }, (_, i) => ({ type: 'x.a', data: { i } })));
      // The newest stored event does not match: the seam is past the last event delivered.
      const [other] = await runtime.bus.publish([{ type: 'chat.message_sent', data: { text: 'not x' } }]);
      client.start();
      await until(() => client.status.state === 'live' && !client.inTail && events.length === 3);
      expect(events.map((e) => e.sequence_number)).toEqual(published.slice(-3).map((e) => e.sequence_number));
      expect(client.lastSequenceNumber).toBe(other!.sequence_number);
      expect(urls[0]!.searchParams.get('tail')).toBe('3');
      expect(urls[0]!.searchParams.get('since')).toBeNull();

      // A dropped link: the reconnect resumes after the seam, not with the tail again.
      for (const socket of sockets.splice(0)) socket.destroy();
      await until(() => client.status.state !== 'live');
      const [away] = await runtime.bus.publish([{ type: 'x.away', data: {} }]);
      await until(() => events.length === 4);
      expect(urls[1]!.searchParams.get('since')).toBe(String(other!.sequence_number));
      expect(urls[1]!.searchParams.get('tail')).toBeNull();
      expect(events.at(-1)!.sequence_number).toBe(away!.sequence_number);

      // A recreated store: the tail of the new history, not all of it from 0.
      await runtime.stop();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${runtime.paths.database}${suffix}`, { force: true });
      runtime = await createRuntime({ workspace, port, logLevel: 'warn' });
      token = runtime.token;
      await runtime.bus.publish(Array.from({ length: 4 }, (_, i) => ({ type: 'x.new', data: { i } })));
      await until(() => events.filter((e) => e.type === 'x.new').length === 3);
      const last = urls.at(-1)!;
      expect(last.searchParams.get('tail')).toBe('3');
      expect(last.searchParams.get('since')).toBeNull();
      expect(events.filter((e) => e.type === 'x.new').map((e) => e.data.i)).toEqual([1, 2, 3]);
    } finally {
      client.stop();
      await runtime.stop();
    }
  });
});

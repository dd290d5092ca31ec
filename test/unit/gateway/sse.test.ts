import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../../src-main/events/bus.ts';
import { SqliteEventLog } from '../../../src-main/events/sqlite-event-log.ts';
import { SseHub } from '../../../src-main/gateway/sse.ts';
import { LookoutError } from '../../../src-main/errors.ts';
import { openDatabase } from '../../../src-main/store/database.ts';
import { ConnectedMessage } from '../../../src-shared/protocol.ts';
import { NO_LOCK } from '../../../src-shared/session.ts';
import { capturedLogger, LEVEL } from '../../helpers/captured-logger.ts';

/** The SSE hub alone, behind a bare Koa app (the real route adds only auth and the path). */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { keepAliveMs?: number; queueSize?: number } = {}) {
  const db = openDatabase(':memory:');
  const captured = capturedLogger();
  const bus = new EventBus({ log: new SqliteEventLog(db), logger: captured.logger, queueSize: 100 });
  const hello = { version: '9.9.9', workspace: '/work/space', session: { read_only: false, lock: NO_LOCK } };
  const hub = new SseHub({
    bus,
    logger: captured.logger,
    keepAliveMs: options.keepAliveMs ?? 60_000,
    queueSize: options.queueSize ?? 100,
    replayLimit: 1000,
    maxClients: 100,
    getHello: () => hello,
  });
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = (error as LookoutError).status;
      ctx.body = (error as LookoutError).toBody();
    }
  });
  app.use((ctx) => {
    ctx.state.requestId = 'req-1';
    hub.handle(ctx);
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(async () => {
    hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    bus.close();
    await db.close();
  });
  return { ...captured, bus, hub, port, hello };
}

interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** An SSE reader on a raw http request: frames as they arrive, and a way to hang up. */
function open(port: number, query = '', headers: Record<string, string> = {}) {
  const frames: Frame[] = [];
  let buffer = '';
  let status = 0;
  let res: http.IncomingMessage | undefined;
  const req = http.get({ host: '127.0.0.1', port, path: `/${query}`, headers }, (response) => {
    res = response;
    status = response.statusCode ?? 0;
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffer += chunk;
      let index;
      while ((index = buffer.indexOf('\n\n')) >= 0) {
        const frame: Frame = {};
        for (const line of buffer.slice(0, index).split('\n')) {
          if (line.startsWith(':')) frame.comment = line.slice(1).trim();
          else {
            const at = line.indexOf(': ');
            frame[line.slice(0, at) as 'id' | 'event' | 'data' | 'retry'] = line.slice(at + 2);
          }
        }
        frames.push(frame);
        buffer = buffer.slice(index + 2);
      }
    });
  });
  req.on('error', () => undefined);
  return {
    frames,
    status: () => status,
    response: () => res,
    events: () => frames.filter((f) => f.id !== undefined).map((f) => Number(f.id)),
    until: (check: () => boolean) => vi.waitFor(() => expect(check()).toBe(true), { timeout: 10_000 }),
    hangUp: () => req.destroy(),
  };
}

describe('SseHub', () => {
  it('opens with retry and the same connected handshake as /ws, then the tail, then live', async () => {
    const { bus, port, hello, hub, find } = await setup();
    const seqs = await bus.publish(Array.from({ length: 5 }, (_, i) => ({ type: 'x.t', data: { i } })));
    const client = open(port, '?tail=2&types=x.t');
    await client.until(() => client.frames.some((f) => f.event === 'replay_complete'));
    expect(client.response()!.headers).toMatchObject({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-request-id': 'req-1',
    });
    const [first] = client.frames;
    expect(first!.retry).toBe('2000');
    expect(first!.event).toBe('connected');
    expect(ConnectedMessage.parse(JSON.parse(first!.data!))).toMatchObject({
      last_sequence_number: 5,
      oldest_sequence_number: 1,
      types: ['x.t'],
      ...hello,
    });
    expect(client.events()).toEqual(seqs.slice(-2).map((e) => e.sequence_number));
    const event = client.frames.find((f) => f.id === '5')!;
    expect(event.event).toBe('x.t');
    expect(JSON.parse(event.data!)).toEqual(seqs[4]);
    expect(JSON.parse(client.frames.at(-1)!.data!)).toEqual({ type: 'replay_complete', last_sequence_number: 5 });
    expect(hub.clientCount).toBe(1);
    expect(find('sse client connected')[0]).toMatchObject({ tail: 2, types: ['x.t'] });

    await bus.publish([{ type: 'x.t', data: { live: true } }]);
    await client.until(() => client.events().length === 3);
    client.hangUp();
  });

  it('resumes from Last-Event-ID and refuses a bad query before any stream starts', async () => {
    const { bus, port } = await setup();
    await bus.publish(Array.from({ length: 4 }, () => ({ type: 'x.r' })));
    const client = open(port, '?tail=1', { 'last-event-id': '2' });
    await client.until(() => client.frames.some((f) => f.event === 'replay_complete'));
    expect(client.events()).toEqual([3, 4]);
    client.hangUp();

    const bad = open(port, '?since=nope');
    await bad.until(() => bad.status() === 400);
  });

  it('writes a keep-alive comment on its interval', async () => {
    const { port } = await setup({ keepAliveMs: 50 });
    const client = open(port);
    await client.until(() => client.frames.some((f) => f.comment === 'keep-alive'));
    client.hangUp();
  });

  it('waits for the socket to drain when a reader is slow, and loses nothing within the queue', async () => {
    const { bus, port } = await setup({ queueSize: 200 });
    const client = open(port, '?types=x.big');
    await client.until(() => client.frames.length === 1);
    client.response()!.pause();
    const blob = 'b'.repeat(60 * 1024);
    const published: number[] = [];
    for (let i = 0; i < 150; i++)
      published.push((await bus.publish([{ type: 'x.big', data: { i, blob } }]))[0]!.sequence_number);
    client.response()!.resume();
    await client.until(() => client.events().length === 150);
    expect(client.events()).toEqual(published);
    expect(client.frames.some((f) => f.event === 'gap')).toBe(false);
    client.hangUp();
  });

  it('logs a reader that goes away, and ends and logs every stream when the server closes', async () => {
    const { port, hub, find } = await setup();
    const leaving = open(port);
    const staying = open(port);
    await leaving.until(() => leaving.frames.length === 1);
    await staying.until(() => staying.frames.length === 1);
    const ids = [leaving, staying].map((c) => (JSON.parse(c.frames[0]!.data!) as { client_id: string }).client_id);
    leaving.hangUp();
    await vi.waitFor(() => expect(find('sse client disconnected')).toHaveLength(1));
    expect(find('sse client disconnected')[0]).toMatchObject({
      level: LEVEL.info,
      client_id: ids[0],
      reason: 'client went away',
      dropped: 0,
    });
    const ended = new Promise<void>((resolve) => staying.response()!.once('end', () => resolve()));
    hub.close();
    await ended;
    expect(find('sse client disconnected')[1]).toMatchObject({ client_id: ids[1], reason: 'server shutting down' });
    expect(find('sse client disconnected')).toHaveLength(2); // the close that follows is not logged twice
    expect(hub.clientCount).toBe(0);
  });
});

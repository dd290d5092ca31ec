import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { EventBus } from '../../../src-main/events/bus.ts';
import { SqliteEventLog } from '../../../src-main/events/sqlite-event-log.ts';
import { type GatewayOptions, WsGateway } from '../../../src-main/gateway/ws-gateway.ts';
import { LookoutError } from '../../../src-main/errors.ts';
import { openDatabase } from '../../../src-main/store/database.ts';
import { ConnectedMessage } from '../../../src-shared/protocol.ts';
import { NO_LOCK } from '../../../src-shared/session.ts';
import { capturedLogger, LEVEL } from '../../helpers/captured-logger.ts';
import { type Received, upgradeRefusal, wrap } from '../../helpers/ws-client.ts';

/**
 * The gateway alone: a plain http.Server on port 0, a bus on an in-memory database, a
 * pino logger writing to an array. Real sockets, real `ws` clients.
 */

const TOKEN = 'unit-test-token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(overrides: Partial<GatewayOptions> = {}) {
  const db = openDatabase(':memory:');
  const captured = capturedLogger();
  const bus = new EventBus({ log: new SqliteEventLog(db), logger: captured.logger, queueSize: 100 });
  const server = http.createServer((_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const hello = { version: '9.9.9', workspace: '/work/space', session: { read_only: true, lock: NO_LOCK } };
  const gateway = new WsGateway({
    bus,
    logger: captured.logger,
    // The access layer's role: here, the owner token or nothing (the real policy check is
    // exercised in test/integration/route-policy.test.ts).
    authorize: async (req) => {
      if (req.headers['x-session-token'] !== TOKEN) throw new LookoutError('unauthorized', 'missing or wrong token');
      return { id: 'owner', name: 'owner', role: 'admin', kind: 'owner', via: 'owner_token' };
    },
    maxClients: 2,
    queueSize: 100,
    replayLimit: 1000,
    heartbeatMs: 60_000,
    getAllowedHosts: () => new Set([`127.0.0.1:${port}`]),
    getAllowedOrigins: () => new Set([`http://127.0.0.1:${port}`]),
    getSnapshot: () => ({ document: 'state' }),
    getHello: () => hello,
    ...overrides,
  });
  gateway.attach(server);
  cleanups.push(async () => {
    await gateway.close(200);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    bus.close();
    await db.close();
  });
  const url = `ws://127.0.0.1:${port}/ws`;
  const connect = (query = '', options: { autoPong?: boolean } = {}): Promise<Received> =>
    wrap(new WebSocket(`${url}${query}`, { headers: { 'x-session-token': TOKEN }, ...options }));
  return { ...captured, bus, gateway, server, port, url, hello, connect };
}

const opened = (client: Received) => client.waitFor((m) => m.length >= 2);

describe('WsGateway handshake', () => {
  it('opens with connected (position, server, workspace, session) and the snapshot, all at one boundary', async () => {
    const { bus, gateway, hello, connect } = await setup();
    await bus.publish([{ type: 'x.a' }, { type: 'x.b' }]);
    const client = await connect('?types=x.*');
    await opened(client);
    const [connected, snapshot] = client.messages;
    expect(ConnectedMessage.parse(connected)).toEqual({
      type: 'connected',
      client_id: expect.stringMatching(UUID),
      epoch: bus.log.epoch,
      last_sequence_number: 2,
      oldest_sequence_number: 1,
      types: ['x.*'],
      ...hello,
    });
    expect(snapshot).toEqual({ type: 'snapshot', state: { document: 'state' }, sequence_number_at: 2 });
    expect(gateway.clientCount).toBe(1);
    expect(gateway.stats()).toEqual([
      { client_id: (connected as { client_id: string }).client_id, queued: 0, dropped: 0, buffered_bytes: 0 },
    ]);
    await bus.publish([{ type: 'x.c' }]);
    await client.waitFor(() => client.events().length === 1);

    // A resuming client: the replay and its end come through the same paced pump.
    const resumed = await connect('?since=1');
    await resumed.waitFor(() => resumed.controls('replay_complete').length === 1);
    expect(resumed.messages.slice(2).map((m) => m.sequence_number ?? m.type)).toEqual([2, 3, 'replay_complete']);
    client.ws.close();
    resumed.ws.close();
  });
});

describe('WsGateway refusals', () => {
  it('refuses before the handshake and logs each refusal with a client id, the request id and the reason', async () => {
    const { url, port, find, connect } = await setup({ maxClients: 1 });
    const token = { 'x-session-token': TOKEN };
    const cases: [string, Record<string, string>, number, string][] = [
      [`ws://127.0.0.1:${port}/elsewhere`, token, 404, 'not_found'],
      [url, { ...token, host: 'evil.example:80' }, 403, 'forbidden_host'],
      [url, { ...token, origin: 'http://evil.example' }, 403, 'forbidden_origin'],
      [url, {}, 401, 'unauthorized'],
      [url, { 'x-session-token': 'wrong' }, 401, 'unauthorized'],
      [`${url}?tail=many`, token, 400, 'invalid_input'],
    ];
    for (const [i, [target, headers, status, code]] of cases.entries()) {
      const requestId = `req-${i}`;
      const refused = await upgradeRefusal(target, { ...headers, 'x-request-id': requestId });
      expect(refused.status, code).toBe(status);
      expect(refused.headers['x-request-id']).toBe(requestId);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code } });
      const line = find('websocket upgrade refused').at(-1)!;
      expect(line).toMatchObject({
        level: LEVEL.warn,
        client_id: expect.stringMatching(UUID),
        request_id: requestId,
        status,
        code,
        reason: JSON.parse(refused.body).error.message,
        remote: '127.0.0.1',
      });
    }
    // Over the client limit: 503 with Retry-After, logged the same way.
    const first = await connect();
    const over = await upgradeRefusal(url, token);
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('5');
    expect(find('websocket upgrade refused').at(-1)).toMatchObject({
      status: 503,
      code: 'unavailable',
      reason: 'too many clients (limit 1, LOOKOUT_MAX_CLIENTS)',
    });
    const ids = find('websocket upgrade refused').map((line) => line.client_id);
    expect(new Set(ids).size).toBe(ids.length);
    first.ws.close();
  });

  it('refuses an upgrade without a Host header as a forbidden host', async () => {
    const { port, find } = await setup();
    const raw = net.connect(port, '127.0.0.1');
    let answer = '';
    raw.on('data', (chunk) => (answer += chunk.toString()));
    const ended = new Promise((resolve) => raw.on('close', resolve));
    raw.write(
      [
        'GET /ws HTTP/1.1',
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        `X-Session-Token: ${TOKEN}`,
        '',
        '',
      ].join('\r\n'),
    );
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(find('websocket upgrade refused').at(-1)).toMatchObject({
      code: 'forbidden_host',
      reason: 'Host "" is not allowed',
    });
  });

  it('refuses with 503 while shutting down', async () => {
    const { gateway, url, find } = await setup();
    await gateway.close(50);
    const refused = await upgradeRefusal(url, { 'x-session-token': TOKEN });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    expect(find('websocket upgrade refused').at(-1)).toMatchObject({ reason: 'the server is shutting down' });
  });
});

describe('WsGateway client frames', () => {
  it('answers, reports and logs bad frames without closing; subscribe replaces the filter', async () => {
    const { bus, connect, find } = await setup();
    const client = await connect('?types=x.a');
    await opened(client);
    const id = (client.messages[0] as { client_id: string }).client_id;
    client.ws.send('{not json');
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    client.ws.send(JSON.stringify({ type: 'dance' }));
    client.ws.send(JSON.stringify({ type: 'subscribe', types: ['Bad Pattern'] }));
    client.ws.send(JSON.stringify({ type: 'ping', id: 'p1' }));
    await client.waitFor(() => client.controls('pong').length === 1);
    expect(client.controls('error').map((e) => e.code)).toEqual([
      'invalid_json',
      'invalid_json',
      'invalid_input',
      'invalid_input',
    ]);
    expect(client.controls('pong')).toEqual([{ type: 'pong', id: 'p1' }]);
    const bad = find('websocket client sent a bad frame');
    expect(bad.map((line) => [line.level, line.client_id, line.code])).toEqual([
      [LEVEL.warn, id, 'invalid_json'],
      [LEVEL.warn, id, 'invalid_json'],
      [LEVEL.warn, id, 'invalid_input'],
      [LEVEL.warn, id, 'invalid_input'],
    ]);
    expect(bad.map((line) => line.reason)).toEqual(client.controls('error').map((e) => e.message));
    expect(client.ws.readyState).toBe(WebSocket.OPEN);

    client.ws.send(JSON.stringify({ type: 'subscribe', types: ['x.b'] }));
    await client.waitFor(() => client.controls('subscribed').length === 1);
    expect(client.controls('subscribed')).toEqual([{ type: 'subscribed', types: ['x.b'] }]);
    await bus.publish([{ type: 'x.a' }, { type: 'x.b' }]);
    await client.waitFor(() => client.events().length === 1);
    expect(client.events()[0]!.type).toBe('x.b');
    client.ws.send(JSON.stringify({ type: 'ping' }));
    await client.waitFor(() => client.controls('pong').length === 2);
    expect(client.controls('pong')[1]).toEqual({ type: 'pong' });
    client.ws.close();
  });

  it('closes with 1009 on a frame over 64 KiB and logs the frame and the disconnect', async () => {
    const { connect, find, gateway } = await setup();
    const client = await connect();
    await opened(client);
    const id = (client.messages[0] as { client_id: string }).client_id;
    client.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
    expect((await client.closed).code).toBe(1009);
    await vi.waitFor(() => expect(find('websocket client disconnected')).toHaveLength(1));
    expect(find('websocket client sent a bad frame')).toEqual([
      expect.objectContaining({ client_id: id, code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', level: LEVEL.warn }),
    ]);
    // ws drops the socket after its 1009 close frame: the log names the cause, not "no close frame".
    expect(find('websocket client disconnected')[0]).toMatchObject({
      client_id: id,
      reason: 'Max payload size exceeded',
    });
    expect(gateway.clientCount).toBe(0);
  });
});

describe('WsGateway disconnects', () => {
  it('logs every disconnect with the client id, code, reason and how long it lasted', async () => {
    const { connect, find, gateway } = await setup({ maxClients: 4 });
    const polite = await connect();
    const rude = await connect();
    await Promise.all([opened(polite), opened(rude)]);
    const ids = [polite, rude].map((c) => (c.messages[0] as { client_id: string }).client_id);
    polite.ws.close(1000, 'bye');
    rude.ws.terminate(); // no close frame
    await vi.waitFor(() => expect(find('websocket client disconnected')).toHaveLength(2));
    const odd = await connect();
    const leaving = await connect();
    await Promise.all([opened(odd), opened(leaving)]);
    ids.push(...[odd, leaving].map((c) => (c.messages[0] as { client_id: string }).client_id));
    odd.ws.close(4321); // an application code, no reason
    leaving.ws.close(1001);
    await vi.waitFor(() => expect(find('websocket client disconnected')).toHaveLength(4));
    const byId = new Map(find('websocket client disconnected').map((line) => [line.client_id, line]));
    expect(byId.get(ids[0])).toMatchObject({ level: LEVEL.info, code: 1000, reason: 'bye', dropped: 0 });
    expect(byId.get(ids[1])).toMatchObject({ code: 1006, reason: 'connection lost (no close frame)' });
    expect(byId.get(ids[2])).toMatchObject({ code: 4321, reason: 'code 4321' });
    expect(byId.get(ids[3])).toMatchObject({ code: 1001, reason: 'going away' });
    for (const line of byId.values()) expect(line.duration_ms).toEqual(expect.any(Number));
    expect(gateway.clientCount).toBe(0);
  });

  it('terminates a client that misses a heartbeat, and keeps one that answers', async () => {
    const { connect, find } = await setup({ heartbeatMs: 100 });
    const silent = await connect('', { autoPong: false });
    const healthy = await connect();
    await Promise.all([opened(silent), opened(healthy)]);
    const id = (silent.messages[0] as { client_id: string }).client_id;
    expect((await silent.closed).code).toBe(1006);
    expect(find('websocket client missed a heartbeat; terminating')).toEqual([
      expect.objectContaining({ client_id: id }),
    ]);
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    healthy.ws.close();
  });

  it('closes clients with 1001 on shutdown and terminates one that does not answer in time', async () => {
    const { gateway, connect, port } = await setup();
    const client = await connect();
    await opened(client);
    // A raw client that completes the handshake and then never reads or answers again.
    const raw = net.connect(port, '127.0.0.1');
    raw.write(
      [
        'GET /ws HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        `X-Session-Token: ${TOKEN}`,
        '',
        '',
      ].join('\r\n'),
    );
    await new Promise<void>((resolve) => raw.once('data', () => resolve()));
    expect(gateway.clientCount).toBe(2);
    const rawClosed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.on('error', () => undefined);
    const started = Date.now();
    await gateway.close(300);
    expect((await client.closed).code).toBe(1001);
    await rawClosed; // terminated after the bounded wait
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe('WsGateway backpressure', () => {
  it('stops pulling while the socket is backed up and resumes on drain, losing nothing within the queue', async () => {
    const { bus, connect, gateway } = await setup({ queueSize: 200 });
    const client = await connect('?types=x.big');
    await opened(client);
    const socket = (client.ws as unknown as { _socket: net.Socket })._socket;
    socket.pause();
    // 150 events of 60 KiB (9 MiB): more than the kernel's socket buffers and the 512 KiB
    // high-water mark take, less than the 200-event queue holds.
    const blob = 'b'.repeat(60 * 1024);
    const published: number[] = [];
    for (let i = 0; i < 150; i++) {
      published.push((await bus.publish([{ type: 'x.big', data: { i, blob } }]))[0]!.sequence_number);
    }
    // Publishing is synchronous: the pump stopped at the high-water mark and the rest waits.
    const [backedUp] = gateway.stats();
    expect(backedUp!.buffered_bytes).toBeGreaterThan(512 * 1024);
    expect(backedUp!.queued).toBeGreaterThan(0);
    socket.resume();
    await client.waitFor(() => client.events().length === 150, 15_000);
    expect(client.events().map((e) => e.sequence_number)).toEqual(published);
    expect(client.controls('gap')).toEqual([]);
    client.ws.close();
  });
});

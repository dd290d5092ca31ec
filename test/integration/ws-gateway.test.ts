import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createRuntime } from '../../src-main/runtime.ts';
import { ConnectedMessage } from '../../src-shared/protocol.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs, upgradeRefusal, wrap } from '../helpers/ws-client.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

type Rt = Awaited<ReturnType<typeof startRuntime>>;
const publish = (runtime: Rt, events: { type: string; data?: Record<string, unknown> }[]) =>
  api(runtime, '/api/v1/events', { method: 'POST', json: { events: events.map((e) => ({ data: {}, ...e })) } });
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls a condition (no fixed sleep): under load the publisher is simply slower. */
async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(10);
  }
}

describe('WebSocket /ws', () => {
  it('refuses before the handshake: 401 without a token, 403 for a foreign Origin or Host, 503 over the limit, 400 for a bad query, 404 off /ws', async () => {
    const runtime = await startRuntime({ maxClients: 2 });
    const url = `ws://127.0.0.1:${runtime.port}/ws`;
    const token = { 'x-session-token': runtime.token };
    const noToken = await upgradeRefusal(url, {});
    expect(noToken.status).toBe(401);
    expect(JSON.parse(noToken.body)).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await upgradeRefusal(url, { 'x-session-token': 'wrong' })).status).toBe(401);
    const origin = await upgradeRefusal(url, { ...token, origin: 'http://evil.example' });
    expect(origin.status).toBe(403);
    expect(JSON.parse(origin.body)).toMatchObject({ error: { code: 'forbidden_origin' } });
    expect((await upgradeRefusal(url, { ...token, host: 'evil.example' })).status).toBe(403);
    expect((await upgradeRefusal(`${url}?since=-3`, token)).status).toBe(400);
    expect((await upgradeRefusal(`${url}?types=**`, token)).status).toBe(400);
    expect((await upgradeRefusal(`ws://127.0.0.1:${runtime.port}/other`, token)).status).toBe(404);

    // The server's own origin (the dashboard) is allowed; a cookie alone is not a credential.
    expect(
      (
        await upgradeRefusal(url, {
          cookie: `lookout_session_${runtime.port}=${runtime.token}`,
          origin: `http://localhost:${runtime.port}`,
        })
      ).status,
    ).toBe(401);
    const a = await connectWs(runtime, '', { headers: { origin: `http://127.0.0.1:${runtime.port}` } });
    const ws = new WebSocket(url, {
      headers: { ...token, origin: `http://localhost:${runtime.port}` },
    });
    const b = await wrap(ws);
    const over = await upgradeRefusal(url, token);
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('5');
    a.ws.close();
    await a.closed;
    await delay(50);
    const c = await connectWs(runtime);
    c.ws.close();
    b.ws.close();
  });

  it('sends connected then snapshot first, then live events', async () => {
    const runtime = await startRuntime();
    const client = await connectWs(runtime, '?types=x.*');
    await client.waitFor((m) => m.length >= 2);
    const [connected, snapshot] = client.messages;
    expect(connected).toEqual({
      type: 'connected',
      client_id: expect.any(String),
      epoch: runtime.store.epoch,
      last_sequence_number: runtime.bus.log.lastSequenceNumber,
      oldest_sequence_number: 1,
      types: ['x.*'],
      version: runtime.info.version,
      workspace: runtime.config.workspace,
      session: runtime.session.state,
    });
    expect(ConnectedMessage.parse(connected)).toEqual(connected);
    expect(snapshot).toMatchObject({ type: 'snapshot', sequence_number_at: runtime.bus.log.lastSequenceNumber });
    expect(snapshot).toHaveProperty('state');
    await publish(runtime, [
      { type: 'x.one' },
      { type: 'chat.message_sent', data: { text: 'not for this filter' } },
      { type: 'x.two' },
    ]);
    await client.waitFor(() => client.events().length === 2);
    expect(client.events().map((e) => e.type)).toEqual(['x.one', 'x.two']);
  });

  it('applies filters identically to replay and live delivery', async () => {
    const runtime = await startRuntime();
    const mixed = (tag: string) => [
      { type: 'chat.message_sent', data: { text: tag } },
      { type: 'workflow.started', data: { workflow_id: tag } },
      { type: 'x.noise', data: { tag } },
      { type: 'workflow.failed', data: { workflow_id: tag, error: 'e' } },
    ];
    await publish(runtime, mixed('old'));
    const client = await connectWs(runtime, '?since=0&types=workflow.*,chat.message_sent');
    await client.waitFor((m) => m.some((x) => x.type === 'replay_complete'));
    await publish(runtime, mixed('new'));
    await client.waitFor(() => client.events().length === 6);
    const types = client.events().map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(types.slice(3));
    expect(types.slice(0, 3)).toEqual(['chat.message_sent', 'workflow.started', 'workflow.failed']);

    // A subscribe message replaces the filter for what follows.
    client.ws.send(JSON.stringify({ type: 'subscribe', types: ['x.*'] }));
    await client.waitFor((m) => m.some((x) => x.type === 'subscribed'));
    expect(client.controls('subscribed')[0]).toEqual({ type: 'subscribed', types: ['x.*'] });
    await publish(runtime, mixed('later'));
    await client.waitFor(() => client.events().length === 7);
    expect(client.events().at(-1)!.type).toBe('x.noise');
  });

  it('resumes with since while a publisher races: no hole, no duplicate', async () => {
    const runtime = await startRuntime();
    let publishing = true;
    let published = 0;
    const publisher = (async () => {
      while (publishing) {
        const batch = Array.from({ length: 20 }, (_, i) => ({ type: 'x.race', data: { i: published + i } }));
        await publish(runtime, batch);
        published += batch.length;
      }
    })();
    // Resume from a point well inside the x.race stream: whatever a fresh runtime stored
    // at start-up (session.lock_changed, system.started, …) lies before it.
    const firstRace = async () => (await runtime.bus.log.read({ after: 0, patterns: ['x.race'], limit: 1 }))[0]?.seq;
    await waitUntil(async () => {
      const first = await firstRace();
      return first !== undefined && runtime.bus.log.lastSequenceNumber - first >= 200;
    });
    const since = runtime.bus.log.lastSequenceNumber - 100;
    const client = await connectWs(runtime, `?since=${since}&types=x.race`);
    await client.waitFor((m) => m.some((x) => x.type === 'replay_complete'));
    // Keep publishing while the client is live, so the hand-over from replay to live is raced.
    const atComplete = runtime.bus.log.lastSequenceNumber;
    await waitUntil(() => runtime.bus.log.lastSequenceNumber - atComplete >= 100);
    publishing = false;
    await publisher;
    const last = runtime.bus.log.lastSequenceNumber;
    await client.waitFor(() => client.events().some((e) => e.sequence_number === last));
    const seqs = client.events().map((e) => e.sequence_number);
    // Every x.race event after since arrives exactly once, in order: the expectation comes
    // from the log itself, not from a guess about how many events start-up stored.
    const expected = (await runtime.bus.log.read({ after: since, patterns: ['x.race'], limit: 1_000_000 })).map((e) =>
      Number(e.seq),
    );
    expect(expected.length).toBeGreaterThan(100);
    expect(seqs).toEqual(expected);
    const complete = client.controls('replay_complete')[0]!;
    expect(seqs).toContain(complete.last_sequence_number);
  });

  it('replays across a restart of the server on the same workspace', async () => {
    const workspace = tempWorkspace();
    const first = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    await publish(first as Rt, [{ type: 'x.a' }, { type: 'x.b' }]);
    const epoch = first.store.epoch;
    await first.stop();
    const second = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      await publish(second as Rt, [{ type: 'x.c' }]);
      const client = await connectWs(second as Rt, '?since=0&types=x.*');
      await client.waitFor((m) => m.some((x) => x.type === 'replay_complete'));
      expect(client.events().map((e) => e.type)).toEqual(['x.a', 'x.b', 'x.c']);
      expect(client.controls('connected')[0]!.epoch).toBe(epoch);
      client.ws.close();
    } finally {
      await second.stop();
    }
  });

  it('announces events lost to retention as a gap before the replay', async () => {
    const runtime = await startRuntime();
    await publish(
      runtime,
      Array.from({ length: 30 }, () => ({ type: 'x.r' })),
    );
    await runtime.bus.log.prune({ maxEvents: 10, maxAgeMs: 1e12 });
    const oldest = runtime.bus.log.oldestSequenceNumber;
    const client = await connectWs(runtime, '?since=0&types=x.r');
    await client.waitFor((m) => m.some((x) => x.type === 'replay_complete'));
    const order = client.messages.filter((m) => m.type === 'gap' || typeof m.sequence_number === 'number');
    expect(order[0]).toEqual({ type: 'gap', from: 1, to: oldest - 1, reason: 'retention' });
    expect(client.events().map((e) => e.sequence_number)[0]).toBe(oldest);
    expect(client.events()).toHaveLength(10);
  });

  it('replays at most the replay limit, announcing the older range as a gap (limit)', async () => {
    const runtime = await startRuntime({ replayLimit: 5 });
    const acks = (await (
      await publish(
        runtime,
        Array.from({ length: 20 }, (_, i) => ({ type: 'x.l', data: { i } })),
      )
    ).json()) as { events: { sequence_number: number }[] };
    const seqs = acks.events.map((e) => e.sequence_number);
    const client = await connectWs(runtime, '?since=0&types=x.l');
    await client.waitFor((m) => m.some((x) => x.type === 'replay_complete'));
    expect(client.controls('gap')).toEqual([{ type: 'gap', from: seqs[0], to: seqs[14], reason: 'limit' }]);
    expect(client.events().map((e) => e.data.i)).toEqual([15, 16, 17, 18, 19]);
    expect(client.controls('replay_complete')[0]).toEqual({ type: 'replay_complete', last_sequence_number: seqs[19] });
  });

  it('bounds a client that stops reading and accounts for every event with gap(overflow)', async () => {
    const runtime = await startRuntime({ queueSize: 50 });
    const client = await connectWs(runtime, '?types=x.flood');
    await client.waitFor((m) => m.length >= 2);
    // Stop reading: the kernel buffers fill, then the server's socket buffer, then the queue.
    const socket = (client.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    const total = 3000;
    const blob = 'x'.repeat(2000);
    for (let sent = 0; sent < total; sent += 500) {
      await publish(
        runtime,
        Array.from({ length: 500 }, (_, i) => ({ type: 'x.flood', data: { i: sent + i, blob } })),
      );
    }
    // The numbers the x.flood events got, from the log (not from a count of what else exists).
    const flood = (await runtime.bus.log.read({ after: 0, patterns: ['x.flood'], limit: total })).map((e) =>
      Number(e.seq),
    );
    const last = flood.at(-1)!;
    // Bounded: the server holds at most queueSize events for this client.
    const [stats] = runtime.gateway.stats();
    expect(stats!.queued).toBeLessThanOrEqual(50);
    expect(stats!.dropped).toBeGreaterThan(0);
    socket.resume();
    await client.waitFor(() => {
      const events = client.events();
      return events.at(-1)?.sequence_number === last;
    }, 15_000);
    const seen = new Map<number, number>();
    for (const e of client.events()) seen.set(e.sequence_number, (seen.get(e.sequence_number) ?? 0) + 1);
    const gaps = client.controls('gap') as { from: number; to: number; reason: string }[];
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps.every((g) => g.reason === 'overflow')).toBe(true);
    for (const g of gaps) for (let s = g.from; s <= g.to; s++) seen.set(s, (seen.get(s) ?? 0) + 1);
    for (const s of flood) expect(seen.get(s), `seq ${s}`).toBe(1);
    // Each gap arrives before the next event the client does get.
    for (const g of gaps) {
      const index = client.messages.indexOf(g as never);
      expect((client.messages[index + 1] as { sequence_number: number }).sequence_number).toBe(g.to + 1);
    }
  });

  it('answers ping with pong, reports bad frames without closing, and closes 1009 on an oversized frame', async () => {
    const runtime = await startRuntime();
    const client = await connectWs(runtime);
    client.ws.send(JSON.stringify({ type: 'ping', id: 42 }));
    client.ws.send('{not json');
    client.ws.send(JSON.stringify({ type: 'dance' }));
    client.ws.send(JSON.stringify({ type: 'subscribe', types: ['bad pattern'] }));
    await client.waitFor((m) => m.filter((x) => x.type === 'error').length === 3);
    expect(client.controls('pong')[0]).toEqual({ type: 'pong', id: 42 });
    expect(client.controls('error').map((e) => e.code)).toEqual(['invalid_json', 'invalid_input', 'invalid_input']);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
    expect((await client.closed).code).toBe(1009);
  });

  it('terminates a client that stops answering heartbeats', async () => {
    const runtime = await startRuntime({ heartbeatMs: 150 });
    const silent = await connectWs(runtime, '', { autoPong: false });
    const healthy = await connectWs(runtime);
    const closed = await silent.closed;
    expect(closed.code).toBe(1006); // terminated: no close frame
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    healthy.ws.close();
  });

  it('closes clients with 1001 on shutdown', async () => {
    const runtime = await createRuntime({ workspace: tempWorkspace(), port: 0, logLevel: 'warn' });
    const client = await connectWs(runtime as Rt);
    await client.waitFor((m) => m.length >= 2);
    await runtime.stop();
    expect((await client.closed).code).toBe(1001);
  });
});

describe('WebSocket /ws?tail=N', () => {
  const seqs = (client: { events: () => { sequence_number: number }[] }) =>
    client.events().map((e) => e.sequence_number);

  it('sends the newest N matching events, then replay_complete, then live ones', async () => {
    const runtime = await startRuntime();
    await runtime.bus.publish(
      Array.from({ length: 30 }, (_, i) => ({ type: i % 3 === 0 ? 'x.a' : 'x.b', data: { i } })),
    );
    const stored = (await runtime.bus.log.read({ after: 0, patterns: ['x.a'], limit: 100 })).map((e) => e.seq);
    expect(stored).toHaveLength(10);

    const client = await connectWs(runtime, '?tail=4&types=x.a');
    await client.waitFor(() => client.controls('replay_complete').length === 1);
    const types = client.messages.map((m) => (typeof m.sequence_number === 'number' ? 'event' : m.type));
    expect(types).toEqual(['connected', 'snapshot', 'event', 'event', 'event', 'event', 'replay_complete']);
    expect(seqs(client)).toEqual(stored.slice(-4));
    expect(client.controls('replay_complete')[0]).toEqual({
      type: 'replay_complete',
      last_sequence_number: stored.at(-1),
    });
    expect(client.controls('connected')[0]).toMatchObject({ oldest_sequence_number: 1, types: ['x.a'] });
    expect(client.controls('gap')).toEqual([]); // what is older was not asked for

    await runtime.bus.publish([
      { type: 'x.b', data: {} },
      { type: 'x.a', data: { live: true } },
    ]);
    await client.waitFor(() => client.events().length === 5);
    expect(client.events().at(-1)).toMatchObject({ type: 'x.a', data: { live: true } });
    client.ws.close();
  });

  it('sends everything there is when fewer events match, caps N at the replay limit, and lets since win', async () => {
    const runtime = await startRuntime({ replayLimit: 5 });
    await runtime.bus.publish(Array.from({ length: 8 }, (_, i) => ({ type: 'x.t', data: { i } })));
    const all = (await runtime.bus.log.read({ after: 0, patterns: ['x.t'], limit: 100 })).map((e) => e.seq);

    const few = await connectWs(runtime, '?tail=100&types=x.t,x.none');
    await few.waitFor(() => few.controls('replay_complete').length === 1);
    // Capped at the replay limit (5), not refused: a page asking for more still connects.
    expect(seqs(few)).toEqual(all.slice(-5));
    expect(few.controls('gap')).toEqual([]);

    const none = await connectWs(runtime, '?tail=3&types=x.none');
    await none.waitFor(() => none.controls('replay_complete').length === 1);
    expect(seqs(none)).toEqual([]);

    // A resume point wins over tail: a reconnect keeps its URL but must not get the tail again.
    const resumed = await connectWs(runtime, `?tail=2&since=${all[5]}&types=x.t`);
    await resumed.waitFor(() => resumed.controls('replay_complete').length === 1);
    expect(seqs(resumed)).toEqual(all.slice(6));

    // tail=0 is "live only", like no tail at all.
    const zero = await connectWs(runtime, '?tail=0&types=x.t');
    await runtime.bus.publish([{ type: 'x.t', data: { late: true } }]);
    await zero.waitFor(() => zero.events().length === 1);
    expect(zero.controls('replay_complete')).toEqual([]);
    for (const c of [few, none, resumed, zero]) c.ws.close();
  });

  it('starts at the oldest retained event, with no gap for what retention removed', async () => {
    const runtime = await startRuntime();
    await runtime.bus.publish(Array.from({ length: 20 }, (_, i) => ({ type: 'x.r', data: { i } })));
    await runtime.bus.log.prune({ maxEvents: 6, maxAgeMs: 86_400_000 });
    const oldest = runtime.bus.log.oldestSequenceNumber;
    expect(oldest).toBeGreaterThan(1);
    const client = await connectWs(runtime, '?tail=50');
    await client.waitFor(() => client.controls('replay_complete').length === 1);
    expect(seqs(client)[0]).toBe(oldest);
    expect(seqs(client)).toHaveLength(6);
    expect(client.controls('connected')[0]).toMatchObject({ oldest_sequence_number: oldest });
    expect(client.controls('gap')).toEqual([]);
    client.ws.close();
  });

  it('has no duplicate and no hole at the seam while events are being published', async () => {
    const runtime = await startRuntime();
    await runtime.bus.publish(Array.from({ length: 50 }, (_, i) => ({ type: 'x.seam', data: { i } })));
    // A publisher in this process runs between the clients' handshakes, so each client's
    // boundary falls somewhere inside the stream of publishes.
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await runtime.bus.publish([{ type: 'x.seam', data: {} }]);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const clients = await Promise.all(Array.from({ length: 5 }, () => connectWs(runtime, '?tail=10&types=x.seam')));
    await delay(100);
    publishing = false;
    await publisher;
    const last = runtime.bus.log.lastSequenceNumber;
    const all = (await runtime.bus.log.read({ after: 0, patterns: ['x.seam'], limit: 100_000 })).map((e) => e.seq);
    for (const client of clients) {
      await client.waitFor(() => seqs(client).at(-1) === last);
      const boundary = client.controls('connected')[0]!.last_sequence_number as number;
      const got = seqs(client);
      const start = all.indexOf(got[0]!);
      // Exactly the 10 newest at the boundary, then every later one, in order, once.
      expect(got).toEqual(all.slice(start));
      expect(all.indexOf(boundary)).toBe(start + 9);
      // replay_complete sits exactly at the seam.
      const seam = client.messages.findIndex((m) => m.type === 'replay_complete');
      expect(client.messages.slice(0, seam).filter((m) => typeof m.sequence_number === 'number')).toHaveLength(10);
      client.ws.close();
    }
  });

  it('refuses a tail that is not a number with 400 naming query.tail', async () => {
    const runtime = await startRuntime();
    const url = `ws://127.0.0.1:${runtime.port}/ws`;
    for (const bad of ['-1', 'ten', '1.5', '1e3']) {
      const refused = await upgradeRefusal(`${url}?tail=${bad}`, { 'x-session-token': runtime.token });
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body)).toMatchObject({
        error: { code: 'invalid_input', details: [{ path: 'query.tail' }] },
      });
    }
  });
});

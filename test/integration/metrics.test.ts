import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { scrape } from '../helpers/metrics.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs } from '../helpers/ws-client.ts';

type Rt = Awaited<ReturnType<typeof startRuntime>>;
const publish = async (runtime: Rt, events: { type: string; data?: Record<string, unknown> }[]) => {
  const res = await api(runtime, '/api/v1/events', {
    method: 'POST',
    json: { events: events.map((e) => ({ data: {}, ...e })) },
  });
  expect(res.status).toBe(201);
};

describe('GET /metrics', () => {
  it('needs the token: 401 with the error body without it, 200 with it', async () => {
    const runtime = await startRuntime();
    const res = await fetch(`${runtime.url}/metrics`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = await fetch(`${runtime.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${runtime.url}/metrics`, { headers: { authorization: `Bearer ${runtime.token}` } });
    expect(ok.status).toBe(200);
  });

  it('counts published and delivered events as they flow to a WebSocket subscriber', async () => {
    const runtime = await startRuntime();
    const before = await scrape(runtime);
    const client = await connectWs(runtime, '?types=x.metric');
    await client.waitFor((m) => m.some((x) => x.type === 'snapshot'));
    expect((await scrape(runtime)).value('lookout_ws_clients')).toBe(1);

    const n = 37;
    await publish(
      runtime,
      Array.from({ length: n }, (_, i) => ({ type: 'x.metric', data: { i } })),
    );
    await client.waitFor(() => client.events().length === n);
    const after = await scrape(runtime);
    expect(after.value('lookout_events_published_total') - before.value('lookout_events_published_total')).toBe(n);
    expect(after.value('lookout_events_delivered_total') - before.value('lookout_events_delivered_total')).toBe(n);
    expect(after.value('lookout_events_dropped_total')).toBe(0);
    expect(after.value('lookout_last_sequence_number')).toBe(runtime.bus.log.lastSequenceNumber);
    expect(after.value('lookout_db_size_bytes')).toBeGreaterThan(0);
    expect(after.families.get('lookout_wal_size_bytes')?.type).toBe('GAUGE');
    expect(after.value('lookout_lock_holder', { holder: 'server' })).toBe(1);
    expect(after.value('lookout_lock_holder', { holder: 'cli' })).toBe(0);
    expect(after.value('lookout_sse_clients')).toBe(0);
    // Every task status is a series, 0 when no task has it.
    expect(after.value('lookout_tasks', { status: 'running' })).toBe(0);
    expect(after.families.get('lookout_tasks')?.metrics.length).toBe(7);
    // Default process metrics, event-loop lag among them.
    expect(after.families.has('process_cpu_user_seconds_total')).toBe(true);
    expect(after.families.has('nodejs_eventloop_lag_seconds')).toBe(true);

    client.ws.close();
    await client.closed;
    await expect.poll(async () => (await scrape(runtime)).value('lookout_ws_clients')).toBe(0);
  });

  it('counts SSE clients and what they are delivered', async () => {
    const runtime = await startRuntime();
    const controller = new AbortController();
    const res = await api(runtime, '/api/v1/sse?types=x.sse', { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: connected')) text += (await reader.read()).value ?? '';
    expect((await scrape(runtime)).value('lookout_sse_clients')).toBe(1);
    const before = (await scrape(runtime)).value('lookout_events_delivered_total');
    await publish(runtime, [{ type: 'x.sse' }, { type: 'x.sse' }, { type: 'x.other' }]);
    while ((text.match(/^id: /gm) ?? []).length < 2) text += (await reader.read()).value ?? '';
    expect((await scrape(runtime)).value('lookout_events_delivered_total') - before).toBe(2);
    controller.abort();
    await expect.poll(async () => (await scrape(runtime)).value('lookout_sse_clients')).toBe(0);
  });

  it('times requests by route template, never by raw path', async () => {
    const runtime = await startRuntime();
    expect((await api(runtime, '/api/v1/events?since=0')).status).toBe(200);
    expect((await api(runtime, '/api/v1/events?since=-5')).status).toBe(400);
    expect((await api(runtime, '/assets/no-such-file-1234.js')).status).toBe(404);
    expect((await api(runtime, '/no/such/path/5678')).status).toBe(404);
    const { families, histogramCount, histogramSeries } = await scrape(runtime);
    expect(families.get('lookout_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    const name = 'lookout_http_request_duration_seconds';
    expect(histogramCount(name, { method: 'GET', route: '/api/v1/events', status: '200' })).toBe(1);
    expect(histogramCount(name, { method: 'GET', route: '/api/v1/events', status: '400' })).toBe(1);
    const routes = new Set(histogramSeries(name).map((labels) => labels.route));
    expect(routes.has('unmatched')).toBe(true);
    expect(routes.has('/assets/:file')).toBe(true);
    // No series ever names a raw path a client sent.
    for (const route of routes) expect(route).not.toMatch(/1234|5678/);
  });

  it('counts drops and overflow gaps for a consumer that stops reading', async () => {
    const runtime = await startRuntime({ queueSize: 20 });
    const client = await connectWs(runtime, '?types=x.flood');
    await client.waitFor((m) => m.some((x) => x.type === 'snapshot'));
    const socket = (client.ws as unknown as { _socket: net.Socket })._socket;
    socket.pause();
    const blob = 'x'.repeat(4000);
    // Enough to fill the kernel buffers and the server's write high-water mark, then the queue.
    for (let sent = 0; sent < 3000; sent += 500) {
      await publish(
        runtime,
        Array.from({ length: 500 }, (_, i) => ({ type: 'x.flood', data: { i: sent + i, blob } })),
      );
    }
    const [stats] = runtime.gateway.stats();
    expect(stats!.dropped).toBeGreaterThan(0);
    const stalled = await scrape(runtime);
    expect(stalled.value('lookout_events_dropped_total')).toBe(stats!.dropped);
    expect(stalled.value('lookout_queue_high_water_events')).toBe(20);
    socket.resume();
    const last = runtime.bus.log.lastSequenceNumber;
    await client.waitFor(() => client.events().at(-1)?.sequence_number === last, 20_000);
    const gaps = client.controls('gap');
    const drained = await scrape(runtime);
    expect(drained.value('lookout_gaps_total', { reason: 'overflow' })).toBe(gaps.length);
    expect(drained.value('lookout_gaps_total', { reason: 'retention' })).toBe(0);
    // Every published x.flood event was either delivered or dropped (and announced in a gap).
    expect(drained.value('lookout_events_delivered_total') + drained.value('lookout_events_dropped_total')).toBe(3000);
    expect(client.events().length).toBe(drained.value('lookout_events_delivered_total'));
  });
});

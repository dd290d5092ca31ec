import { describe, expect, it } from 'vitest';
import { ConnectedMessage } from '../../src-shared/protocol.ts';
import { api, startRuntime } from '../helpers/runtime.ts';

type Rt = Awaited<ReturnType<typeof startRuntime>>;

interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Reads an SSE response until `done` says enough, then aborts it. */
async function readSse(
  runtime: Rt,
  query: string,
  headers: Record<string, string>,
  done: (frames: SseFrame[]) => boolean,
): Promise<{ frames: SseFrame[]; contentType: string | null }> {
  const controller = new AbortController();
  const res = await api(runtime, `/api/v1/sse${query}`, { headers, signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const frames: SseFrame[] = [];
  let buffer = '';
  const timeout = setTimeout(() => controller.abort(), 10_000);
  try {
    while (!done(frames)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += value;
      let index;
      while ((index = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, index);
        buffer = buffer.slice(index + 2);
        const frame: SseFrame = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) frame.comment = line.slice(1).trim();
          else {
            const [field, ...rest] = line.split(': ');
            if (field === 'id' || field === 'event' || field === 'data') frame[field] = rest.join(': ');
          }
        }
        frames.push(frame);
      }
    }
  } finally {
    clearTimeout(timeout);
    controller.abort();
  }
  return { frames, contentType: res.headers.get('content-type') };
}

const publish = (runtime: Rt, events: { type: string; data?: Record<string, unknown> }[]) =>
  api(runtime, '/api/v1/events', { method: 'POST', json: { events: events.map((e) => ({ data: {}, ...e })) } });

describe('SSE /api/v1/sse', () => {
  it('streams envelopes with id = sequence number and event = type, filtered, replaying since', async () => {
    const runtime = await startRuntime();
    await publish(runtime, [{ type: 'x.a' }, { type: 'chat.message_sent', data: { text: 'hi' } }, { type: 'x.b' }]);
    const { frames, contentType } = await readSse(runtime, '?since=0&types=x.*', {}, (f) =>
      f.some((x) => x.event === 'replay_complete'),
    );
    expect(contentType).toContain('text/event-stream');
    expect(frames[0]).toMatchObject({ event: 'connected' });
    const events = frames.filter((f) => f.id);
    expect(events.map((f) => f.event)).toEqual(['x.a', 'x.b']);
    for (const f of events) expect(JSON.parse(f.data!).sequence_number).toBe(Number(f.id));
  });

  it('resumes after Last-Event-ID exactly as /ws does with since', async () => {
    const runtime = await startRuntime();
    const acks = (await (await publish(runtime, [{ type: 'x.1' }, { type: 'x.2' }, { type: 'x.3' }])).json()) as {
      events: { sequence_number: number }[];
    };
    const after = acks.events[0]!.sequence_number;
    const { frames } = await readSse(runtime, '?types=x.*', { 'last-event-id': String(after) }, (f) =>
      f.some((x) => x.event === 'replay_complete'),
    );
    expect(frames.filter((f) => f.id).map((f) => Number(f.id))).toEqual([after + 1, after + 2]);
    const complete = frames.find((f) => f.event === 'replay_complete')!;
    expect(JSON.parse(complete.data!)).toEqual({ type: 'replay_complete', last_sequence_number: after + 2 });
  });

  it('delivers live events and keep-alive comments', async () => {
    const runtime = await startRuntime({ sseKeepAliveMs: 100 });
    setTimeout(() => void publish(runtime, [{ type: 'x.live' }]), 150);
    const { frames } = await readSse(
      runtime,
      '',
      {},
      (f) => f.some((x) => x.event === 'x.live') && f.some((x) => x.comment === 'keep-alive'),
    );
    expect(frames.some((f) => f.comment === 'keep-alive')).toBe(true);
  });

  it('opens with the same handshake as /ws and takes tail=N, which Last-Event-ID overrides on a reconnect', async () => {
    const runtime = await startRuntime();
    await publish(
      runtime,
      Array.from({ length: 6 }, (_, i) => ({ type: 'x.s', data: { i } })),
    );
    const all = (await runtime.bus.log.read({ after: 0, patterns: ['x.s'], limit: 100 })).map((e) => e.seq);
    const { frames } = await readSse(runtime, '?tail=2&types=x.s', {}, (f) =>
      f.some((x) => x.event === 'replay_complete'),
    );
    const connected = ConnectedMessage.parse(JSON.parse(frames[0]!.data!));
    expect(connected).toMatchObject({
      last_sequence_number: runtime.bus.log.lastSequenceNumber,
      oldest_sequence_number: 1,
      types: ['x.s'],
      version: runtime.info.version,
      workspace: runtime.config.workspace,
      session: runtime.session.state,
    });
    expect(frames.filter((f) => f.id).map((f) => Number(f.id))).toEqual(all.slice(-2));

    // The browser reconnects with the same URL and a Last-Event-ID: it resumes, no tail again.
    const again = await readSse(runtime, '?tail=2&types=x.s', { 'last-event-id': String(all[1]) }, (f) =>
      f.some((x) => x.event === 'replay_complete'),
    );
    expect(again.frames.filter((f) => f.id).map((f) => Number(f.id))).toEqual(all.slice(2));
  });

  it('refuses a bad since or tail and a missing token', async () => {
    const runtime = await startRuntime();
    expect((await api(runtime, '/api/v1/sse?since=x')).status).toBe(400);
    const badTail = await api(runtime, '/api/v1/sse?tail=-3');
    expect(badTail.status).toBe(400);
    expect(await badTail.json()).toMatchObject({ error: { code: 'invalid_input', details: [{ path: 'query.tail' }] } });
    expect((await fetch(`${runtime.url}/api/v1/sse`)).status).toBe(401);
  });
});

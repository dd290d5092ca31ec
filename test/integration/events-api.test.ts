import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src-main/runtime.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs } from '../helpers/ws-client.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

type Page = {
  events: {
    sequence_number: number;
    type: string;
    data: Record<string, unknown>;
    timestamp: string;
    metadata?: unknown;
  }[];
  last_sequence_number: number;
  oldest_sequence_number: number;
};

const publish = (runtime: Awaited<ReturnType<typeof startRuntime>>, body: unknown) =>
  api(runtime, '/api/v1/events', { method: 'POST', json: body });
const history = async (runtime: Awaited<ReturnType<typeof startRuntime>>, query: string) =>
  (await (await api(runtime, `/api/v1/events${query}`)).json()) as Page;

describe('POST /api/v1/events and GET /api/v1/events', () => {
  it('stores one event and answers 201 with its number and server timestamp', async () => {
    const runtime = await startRuntime();
    const res = await publish(runtime, {
      type: 'workflow.started',
      data: { workflow_id: 'w1', name: 'deploy' },
      metadata: { agent: 'claude' },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { events: { sequence_number: number; timestamp: string }[] };
    expect(body.events).toHaveLength(1);
    const [ack] = body.events;
    expect(ack!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const page = await history(runtime, `?since=${ack!.sequence_number - 1}`);
    expect(page.events[0]).toEqual({
      type: 'workflow.started',
      timestamp: ack!.timestamp,
      sequence_number: ack!.sequence_number,
      data: { workflow_id: 'w1', name: 'deploy' },
      metadata: { agent: 'claude' },
    });
  });

  it('stores a batch in input order with consecutive numbers', async () => {
    const runtime = await startRuntime();
    const events = Array.from({ length: 50 }, (_, i) => ({ type: 'x.test', data: { i } }));
    const res = await publish(runtime, { events });
    expect(res.status).toBe(201);
    const seqs = ((await res.json()) as { events: { sequence_number: number }[] }).events.map((e) => e.sequence_number);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    const page = await history(runtime, `?since=${seqs[0]! - 1}&types=x.test&limit=1000`);
    expect(page.events.map((e) => e.data.i)).toEqual(events.map((e) => e.data.i));
  });

  it('refuses a whole batch when one event is bad, naming it, and stores nothing', async () => {
    const runtime = await startRuntime();
    const before = (await history(runtime, '')).last_sequence_number;
    const res = await publish(runtime, {
      events: [
        { type: 'x.ok', data: {} },
        { type: 'chat.message_sent', data: {} },
        { type: 'nope', data: {} },
      ],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe('invalid_input');
    const paths = body.error.details.map((d) => d.path);
    expect(paths.some((p) => p.startsWith('events.1.data'))).toBe(true);
    expect(paths.some((p) => p.startsWith('events.2.type'))).toBe(true);
    expect((await history(runtime, '')).last_sequence_number).toBe(before);
  });

  it('refuses uncatalogued types, the server namespaces, stamped fields and non-object data', async () => {
    const runtime = await startRuntime();
    for (const [body, path] of [
      [{ type: 'workflow.exploded', data: {} }, 'type'],
      [{ type: 'system.status_changed', data: { status: 'IDLE', progress: 0, last_sync: null } }, 'type'],
      [{ type: 'x.custom', data: { a: 1 }, sequence_number: 5 }, undefined],
      [{ type: 'x.custom', data: [1, 2] }, 'data'],
      [{ data: {} }, undefined],
    ] as const) {
      const res = await publish(runtime, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = ((await res.json()) as { error: { details?: { path: string }[] } }).error;
      if (path)
        expect(
          error.details?.some((d) => d.path === path || d.path.startsWith(`${path}.`)),
          JSON.stringify(error),
        ).toBe(true);
    }
  });

  it('answers 413 for an event over 64 KiB and for more than 1000 in a batch', async () => {
    const runtime = await startRuntime();
    const big = await publish(runtime, { type: 'x.big', data: { blob: 'a'.repeat(64 * 1024) } });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    const many = await publish(runtime, { events: Array.from({ length: 1001 }, () => ({ type: 'x.a', data: {} })) });
    expect(many.status).toBe(413);
    const fits = await publish(runtime, { type: 'x.big', data: { blob: 'a'.repeat(60 * 1024) } });
    expect(fits.status).toBe(201);
  });

  it('filters history by patterns and pages with since and limit', async () => {
    const runtime = await startRuntime();
    await publish(runtime, {
      events: [
        { type: 'chat.message_sent', data: { text: 'hi' } },
        { type: 'workflow.started', data: { workflow_id: 'a' } },
        { type: 'workflow.failed', data: { workflow_id: 'a', error: 'boom' } },
        { type: 'x.other', data: {} },
      ],
    });
    expect((await history(runtime, '?types=workflow.*')).events.map((e) => e.type)).toEqual([
      'workflow.started',
      'workflow.failed',
    ]);
    expect((await history(runtime, '?types=chat.*,workflow.failed')).events.map((e) => e.type)).toEqual([
      'chat.message_sent',
      'workflow.failed',
    ]);
    const first = await history(runtime, '?limit=2');
    expect(first.events).toHaveLength(2);
    const next = await history(runtime, `?limit=2&since=${first.events[1]!.sequence_number}`);
    expect(next.events[0]!.sequence_number).toBe(first.events[1]!.sequence_number + 1);
    expect(first.oldest_sequence_number).toBe(1);
    expect(first.last_sequence_number).toBeGreaterThanOrEqual(5);
    for (const bad of ['?limit=0', '?limit=1001', '?since=-1', '?since=abc', '?types=chat.**', '?types=bad type']) {
      const res = await api(runtime, `/api/v1/events${bad}`);
      expect(res.status, bad).toBe(400);
    }
  });

  it('continues numbering across restarts on the same workspace, never reusing a number', async () => {
    const workspace = tempWorkspace();
    const first = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    await publish(first as never, { type: 'x.before', data: {} });
    const lastBefore = first.bus.log.lastSequenceNumber;
    await first.stop();
    const second = await createRuntime({ workspace, port: 0, logLevel: 'warn', retentionEvents: 1 });
    try {
      // Retention kept one event, yet numbering goes on from the highest ever assigned.
      const res = await publish(second as never, { type: 'x.after', data: {} });
      const seq = ((await res.json()) as { events: { sequence_number: number }[] }).events[0]!.sequence_number;
      expect(seq).toBeGreaterThan(lastBefore);
      const all = await history(second as never, '?types=system.*,x.*');
      const types = all.events.map((e) => e.type);
      expect(types).toContain('x.after');
      expect(new Set(all.events.map((e) => e.sequence_number)).size).toBe(all.events.length);
    } finally {
      await second.stop();
    }
  });
});

describe('metadata on every envelope', () => {
  it("is {} when none was sent, on every path: REST, the server's own events, state changes, history, /ws and SSE", async () => {
    const runtime = await startRuntime();
    const ws = await connectWs(runtime, '?since=0');
    expect((await publish(runtime, { type: 'x.plain' })).status).toBe(201);
    expect(
      (await publish(runtime, { events: [{ type: 'x.batch' }, { type: 'x.tagged', metadata: { agent: 'a' } }] }))
        .status,
    ).toBe(201);
    expect(
      (await api(runtime, '/api/v1/system/status', { method: 'POST', json: { status: 'PROCESSING' } })).status,
    ).toBe(200);
    const last = runtime.bus.log.lastSequenceNumber;
    const page = await history(runtime, '?since=0');
    const types = page.events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['system.started', 'session.lock_changed', 'system.status_changed']));
    for (const event of page.events) {
      expect(event.metadata, event.type).toEqual(event.type === 'x.tagged' ? { agent: 'a' } : {});
    }
    // The stored JSON itself carries it (what every stream sends verbatim).
    for (const row of await runtime.bus.log.read({ after: 0, patterns: ['*'], limit: 100 })) {
      expect(JSON.parse(row.json)).toHaveProperty('metadata');
    }
    await ws.waitFor(() => ws.events().at(-1)?.sequence_number === last);
    expect(ws.events().map((e) => (e as { metadata?: unknown }).metadata)).toEqual(page.events.map((e) => e.metadata));
    const sse = await api(runtime, '/api/v1/sse?since=0');
    const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: replay_complete')) text += (await reader.read()).value ?? '';
    await reader.cancel();
    const sent = [...text.matchAll(/^id: \d+\nevent: .*\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!).metadata);
    expect(sent).toEqual(page.events.map((e) => e.metadata));
    ws.ws.close();
  });

  it('is added to envelopes stored before the rule, when the store is opened', async () => {
    const workspace = tempWorkspace();
    const first = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    await first.bus.publish([{ type: 'x.old' }]);
    // What a store written by an earlier version holds: no metadata key, schema version 2.
    first.database.db.exec(`UPDATE events SET json = json_remove(json, '$.metadata')`);
    // (Version 2 had no access tables either: they come with a later migration.)
    first.database.db.exec('DROP TABLE refresh_tokens; DROP TABLE refresh_families; DROP TABLE users');
    first.database.db.exec('PRAGMA user_version = 2');
    // …and none of the tables later migrations add (agents, tasks, …).
    const later = first.database.db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('meta', 'events', 'state', 'sqlite_sequence')",
      )
      .all() as { name: string }[];
    // IF EXISTS: dropping an FTS5 table drops its shadow tables (knowledge_fts_data, …) with it.
    for (const { name } of later) first.database.db.exec(`DROP TABLE IF EXISTS "${name}"`);
    expect(
      JSON.parse((await first.bus.log.read({ after: 0, patterns: ['x.old'], limit: 1 }))[0]!.json),
    ).not.toHaveProperty('metadata');
    await first.stop();
    const second = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      const page = await history(second, '?since=0&types=x.old');
      expect(page.events).toHaveLength(1);
      const raw = (await second.bus.log.read({ after: 0, patterns: ['x.old'], limit: 1 }))[0]!.json;
      // Appended last, where new envelopes have it: the stored text reads like a new one.
      expect(Object.keys(JSON.parse(raw) as object)).toEqual([
        'type',
        'timestamp',
        'sequence_number',
        'data',
        'metadata',
      ]);
      expect(page.events[0]!.metadata).toEqual({});
    } finally {
      await second.stop();
    }
  });
});

describe('retention', () => {
  it('keeps the count cap as events arrive (within 1% of it), without waiting for the sweep', async () => {
    const runtime = await startRuntime({ retentionEvents: 200 });
    for (let i = 0; i < 5; i++)
      await runtime.bus.publish(
        Array.from({ length: 100 }, () => ({ type: 'x.r', data: {} })),
        { batch: true },
      );
    const last = runtime.bus.log.lastSequenceNumber;
    const stored = last - runtime.bus.log.oldestSequenceNumber + 1;
    expect(stored).toBeGreaterThanOrEqual(200);
    expect(stored).toBeLessThanOrEqual(202);
    const page = (await (await api(runtime, '/api/v1/events?limit=1000')).json()) as Page;
    expect(page.events.at(-1)!.sequence_number).toBe(last);
    expect(page.oldest_sequence_number).toBe(runtime.bus.log.oldestSequenceNumber);
  });
});

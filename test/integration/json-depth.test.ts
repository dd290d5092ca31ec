import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src-shared/protocol.ts';
import { LookoutError } from '../../src-main/errors.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs } from '../helpers/ws-client.ts';

/** `{"x": {"x": ... 1}}`, `depth` objects deep. Built as text: building it as a value would not stringify. */
const deepText = (depth: number) => '{"x":'.repeat(depth) + '1' + '}'.repeat(depth);
const deepValue = (depth: number) => JSON.parse(deepText(depth)) as unknown;

const send = (runtime: Awaited<ReturnType<typeof startRuntime>>, method: string, path: string, body: string) =>
  api(runtime, path, { method, body, headers: { 'content-type': 'application/json' } });

async function expectTooDeep(res: Response) {
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('invalid_input');
  expect(body.error.message).toContain(`${MAX_JSON_DEPTH}`);
}

async function expectStillServing(runtime: Awaited<ReturnType<typeof startRuntime>>) {
  expect((await api(runtime, '/api/v1/state')).status).toBe(200);
  const client = await connectWs(runtime);
  await client.waitFor((m) => m.some((x) => x.type === 'snapshot'));
  client.ws.close();
}

describe('JSON nesting depth', () => {
  it('refuses a state section with a field nested 2,000 levels deep, stores nothing, and keeps serving', async () => {
    const runtime = await startRuntime();
    const before = runtime.bus.log.lastSequenceNumber;
    const body = `[{"id":"P1","title":"deep","status":"open","extra":${deepText(2000)}}]`;
    await expectTooDeep(await send(runtime, 'PUT', '/api/v1/state/priorities', body));
    expect(runtime.state.document().priorities).toEqual([]);
    expect(runtime.bus.log.lastSequenceNumber).toBe(before);
    await expectStillServing(runtime);
  });

  it('refuses event data nested 5,000 levels deep with a 400, not a 500, and stores nothing', async () => {
    const runtime = await startRuntime();
    const before = runtime.bus.log.lastSequenceNumber;
    await expectTooDeep(await send(runtime, 'POST', '/api/v1/events', `{"type":"x.deep","data":${deepText(5000)}}`));
    await expectTooDeep(
      await send(runtime, 'POST', '/api/v1/events', `{"type":"x.deep","data":{},"metadata":${deepText(100)}}`),
    );
    // A batch is all or nothing: one deep event refuses the shallow one beside it.
    await expectTooDeep(
      await send(
        runtime,
        'POST',
        '/api/v1/events',
        `{"events":[{"type":"x.ok","data":{}},{"type":"x.deep","data":${deepText(3000)}}]}`,
      ),
    );
    expect(runtime.bus.log.lastSequenceNumber).toBe(before);
    await expectStillServing(runtime);
  });

  it('accepts a body exactly at the limit and refuses one level more', async () => {
    const runtime = await startRuntime();
    // The body object is level 1 and `data` adds one: data nested LIMIT-1 deep makes the body exactly LIMIT.
    const at = await send(
      runtime,
      'POST',
      '/api/v1/events',
      `{"type":"x.edge","data":${deepText(MAX_JSON_DEPTH - 1)}}`,
    );
    expect(at.status).toBe(201);
    await expectTooDeep(
      await send(runtime, 'POST', '/api/v1/events', `{"type":"x.edge","data":${deepText(MAX_JSON_DEPTH)}}`),
    );
  });

  it('refuses deep values from in-process publishers and state writers too', async () => {
    const runtime = await startRuntime();
    const before = runtime.bus.log.lastSequenceNumber;
    await expect(runtime.bus.publish([{ type: 'x.deep', data: deepValue(5000) }])).rejects.toThrow(LookoutError);
    expect(() =>
      runtime.state.replaceSection('priorities', [
        { id: 'P1', title: 't', status: 'open', extra: deepValue(2000) } as never,
      ]),
    ).toThrow(/64/);
    expect(runtime.bus.log.lastSequenceNumber).toBe(before);
    expect(runtime.state.document().priorities).toEqual([]);
  });

  it('answers a deep WebSocket frame with an error message and keeps the connection', async () => {
    const runtime = await startRuntime();
    const client = await connectWs(runtime);
    client.ws.send('['.repeat(5000) + ']'.repeat(5000));
    await client.waitFor((m) => m.some((x) => x.type === 'error'));
    expect(String(client.controls('error')[0]!.message)).toContain(`${MAX_JSON_DEPTH}`);
    client.ws.send(JSON.stringify({ type: 'ping', id: 7 }));
    await client.waitFor((m) => m.some((x) => x.type === 'pong' && x.id === 7));
    client.ws.close();
  });
});

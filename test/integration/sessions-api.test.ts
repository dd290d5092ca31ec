import { describe, expect, it } from 'vitest';
import type { SessionsPage, TraceWaterfall } from '../../src-shared/sessions.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { api, startRuntime } from '../helpers/runtime.ts';

const T1 = '11111111111111111111111111111111';
const T2 = '22222222222222222222222222222222';
const ns = (ms: number) => String(BigInt(Date.parse('2026-11-30T10:00:00.000Z') + ms) * 1_000_000n);
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number) => ({ key, value: { intValue: String(value) } });

function span(
  trace: string,
  id: string,
  parent: string | undefined,
  name: string,
  from: number,
  to: number,
  attrs: unknown[] = [],
) {
  return {
    traceId: trace,
    spanId: id,
    ...(parent ? { parentSpanId: parent } : {}),
    name,
    startTimeUnixNano: ns(from),
    endTimeUnixNano: ns(to),
    attributes: attrs,
  };
}

async function otlp(runtime: Runtime, path: string, body: unknown) {
  const response = await api(runtime, path, { method: 'POST', json: body });
  expect(response.status).toBe(200);
}

describe('GET /api/v1/sessions and /api/v1/traces/{id}', () => {
  it('groups by session, adds tokens per model, counts tool calls and errors, and costs with the price table', async () => {
    const runtime = await startRuntime();
    const chat = (model: string, input: number, output: number) => [
      str('gen_ai.operation.name', 'chat'),
      str('gen_ai.request.model', model),
      int('gen_ai.usage.input_tokens', input),
      int('gen_ai.usage.output_tokens', output),
    ];
    await otlp(runtime, '/v1/traces', {
      resourceSpans: [
        {
          resource: { attributes: [str('service.name', 'my-agent'), str('session.id', 'S1')] },
          scopeSpans: [
            {
              spans: [
                span(T1, 'a000000000000001', undefined, 'invoke_agent', 0, 10_000),
                span(T1, 'a000000000000002', 'a000000000000001', 'chat', 100, 2_100, chat('gpt-4o', 1000, 100)),
                span(T1, 'a000000000000003', 'a000000000000001', 'execute_tool grep', 2_200, 2_300, [
                  str('gen_ai.operation.name', 'execute_tool'),
                  str('gen_ai.tool.name', 'grep'),
                ]),
                span(T1, 'a000000000000004', 'a000000000000001', 'chat', 2_400, 4_000, chat('gpt-4o', 3000, 200)),
              ],
            },
          ],
        },
      ],
    });
    // Claude Code: its own OTel log with a reported cost, and its hooks' tool events.
    await otlp(runtime, '/v1/logs', {
      resourceLogs: [
        {
          resource: { attributes: [str('service.name', 'claude-code')] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: ns(20_000),
                  eventName: 'claude_code.api_request',
                  attributes: [
                    str('session.id', 'S2'),
                    str('model', 'claude-sonnet-4'),
                    int('input_tokens', 500),
                    int('output_tokens', 50),
                    { key: 'cost_usd', value: { doubleValue: 0.01 } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    const hook = (type: string, data: Record<string, unknown>) => ({
      type,
      data: { session_id: 'S2', agent: 'claude-code', ...data },
    });
    const published = await api(runtime, '/api/v1/events', {
      method: 'POST',
      json: {
        events: [
          hook('tool.call_started', { tool_name: 'Bash' }),
          hook('tool.call_finished', { tool_name: 'Bash' }),
          hook('tool.call_started', { tool_name: 'Edit' }),
          hook('tool.call_failed', { tool_name: 'Edit', error: 'no match' }),
        ],
      },
    });
    expect(published.status).toBe(201);

    const before = (await (await api(runtime, '/api/v1/sessions')).json()) as SessionsPage;
    expect(before.sessions.map((s) => s.id)).toEqual(['S2', 'S1']);
    const [s2, s1] = before.sessions;
    expect(s1).toMatchObject({
      kind: 'session',
      agent: 'my-agent',
      duration_ms: 10_000,
      tool_calls: 1,
      errors: 0,
      input_tokens: 4000,
      output_tokens: 300,
      cost_usd: null, // no price for gpt-4o yet, and the producer reported none
      models: [{ model: 'gpt-4o', requests: 2, input_tokens: 4000, output_tokens: 300, cost_usd: null }],
      trace_ids: [T1],
    });
    expect(s2).toMatchObject({
      agent: 'claude-code',
      tool_calls: 2,
      errors: 1,
      input_tokens: 500,
      output_tokens: 50,
      cost_usd: 0.01,
      models: [{ model: 'claude-sonnet-4', requests: 1, cost_usd: 0.01 }],
    });

    const bad = await api(runtime, '/api/v1/settings/prices', {
      method: 'PUT',
      json: { prices: { 'gpt-4o': { input_per_mtok: -1, output_per_mtok: 10 } } },
    });
    expect(bad.status).toBe(400);
    const put = await api(runtime, '/api/v1/settings/prices', {
      method: 'PUT',
      json: { prices: { 'gpt-4*': { input_per_mtok: 2.5, output_per_mtok: 10 } } },
    });
    expect(put.status).toBe(200);
    expect(await (await api(runtime, '/api/v1/settings/prices')).json()).toEqual({
      prices: { 'gpt-4*': { input_per_mtok: 2.5, output_per_mtok: 10 } },
    });
    const after = (await (await api(runtime, '/api/v1/sessions')).json()) as SessionsPage;
    // 4000 in × 2.5 $/M + 300 out × 10 $/M = 0.01 + 0.003
    expect(after.sessions[1]!.cost_usd).toBeCloseTo(0.013, 9);
  });

  it('draws a trace as a waterfall: depth-first, offsets from the first span, orphans as roots', async () => {
    const runtime = await startRuntime();
    await otlp(runtime, '/v1/traces', {
      resourceSpans: [
        {
          resource: {},
          scopeSpans: [
            {
              spans: [
                span(T2, 'b000000000000003', 'b000000000000002', 'grandchild', 300, 400),
                span(T2, 'b000000000000001', undefined, 'root', 0, 1000),
                span(T2, 'b000000000000002', 'b000000000000001', 'child', 200, 800),
                span(T2, 'b000000000000004', 'ffffffffffffffff', 'orphan', 900, 950),
              ],
            },
          ],
        },
      ],
    });
    const response = await api(runtime, `/api/v1/traces/${T2}`);
    expect(response.status).toBe(200);
    const trace = (await response.json()) as TraceWaterfall;
    expect(trace.duration_ms).toBe(1000);
    expect(trace.spans.map((s) => [s.name, s.depth, s.offset_ms])).toEqual([
      ['root', 0, 0],
      ['child', 1, 200],
      ['grandchild', 2, 300],
      ['orphan', 0, 900],
    ]);
    const sessions = (await (await api(runtime, '/api/v1/sessions')).json()) as SessionsPage;
    expect(sessions.sessions).toMatchObject([{ id: T2, kind: 'trace', duration_ms: 1000 }]);

    expect((await api(runtime, `/api/v1/traces/${T1}`)).status).toBe(404);
  });
});

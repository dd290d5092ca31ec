import { gzipSync } from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPLogExporter as LogExporterJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogExporterProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as TraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src-shared/events.ts';
import type { EventsPage } from '../../src-shared/protocol.ts';
import { decodeResponse, decodeStatus } from '../../src-main/ingest/otlp-codec.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { WorkspaceLock } from '../../src-main/session/lock.ts';
import { prepareStateDir } from '../../src-main/workspace.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/*
 * The real OpenTelemetry JS SDK and its OTLP/HTTP exporters (JSON and protobuf, gzip)
 * pointed at a running Lookout, and hand-made bad requests for the error answers.
 */

async function otelEvents(runtime: Runtime, pattern = 'otel.*'): Promise<EventEnvelope[]> {
  const response = await api(runtime, `/api/v1/events?types=${pattern}&limit=1000`);
  return ((await response.json()) as EventsPage).events;
}

const ENCODINGS = [
  { name: 'JSON', Trace: TraceExporterJson, Log: LogExporterJson },
  { name: 'protobuf', Trace: TraceExporterProto, Log: LogExporterProto },
] as const;

describe.each(ENCODINGS)('the OpenTelemetry SDK exporting OTLP/HTTP $name with gzip', ({ Trace, Log }) => {
  it('stores every span as an otel.span event with its fields, in order, GenAI attributes lifted', async () => {
    const runtime = await startRuntime();
    const exporter = new Trace({
      url: `${runtime.url}/v1/traces`,
      headers: { 'x-session-token': runtime.token },
      compression: 'gzip' as never,
    });
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'agent-under-test', 'session.id': 'sess-1' }),
      spanProcessors: [new BatchSpanProcessor({ exporter, maxExportBatchSize: 512, scheduledDelayMillis: 60_000 })],
    });
    const tracer = provider.getTracer('lookout-test', '1.2.3');
    const names: string[] = [];
    {
      const root = tracer.startSpan('invoke_agent', { kind: SpanKind.INTERNAL });
      // No context manager is registered: the parent is passed explicitly.
      const parent = trace.setSpan(context.active(), root);
      for (let i = 0; i < 5; i += 1) {
        const span = tracer.startSpan(
          `chat claude-${i}`,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'gen_ai.system': 'anthropic',
              'gen_ai.operation.name': 'chat',
              'gen_ai.request.model': 'claude-sonnet-4',
              'gen_ai.response.model': 'claude-sonnet-4-20250514',
              'gen_ai.usage.input_tokens': 100 + i,
              'gen_ai.usage.output_tokens': 20 + i,
              'tags.list': ['a', 'b'],
            },
          },
          parent,
        );
        if (i === 4) span.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
        span.addEvent('retry', { attempt: 1 });
        span.end();
        names.push(`chat claude-${i}`);
      }
      root.end();
    }
    names.push('invoke_agent');
    await provider.forceFlush();
    await provider.shutdown();

    const events = await otelEvents(runtime, 'otel.span');
    expect(events.map((e) => e.data.name)).toEqual(names);
    const root = events.at(-1)!.data;
    const first = events[0]!.data;
    expect(first).toMatchObject({
      kind: 'client',
      parent_span_id: root.span_id,
      trace_id: root.trace_id,
      status: { code: 'unset' },
      service_name: 'agent-under-test',
      session_id: 'sess-1',
      scope: { name: 'lookout-test', version: '1.2.3' },
      resource: { 'service.name': 'agent-under-test' },
      attributes: { 'gen_ai.usage.input_tokens': 100, 'tags.list': ['a', 'b'] },
      gen_ai: {
        system: 'anthropic',
        operation: 'chat',
        model: 'claude-sonnet-4-20250514',
        request_model: 'claude-sonnet-4',
        input_tokens: 100,
        output_tokens: 20,
      },
      events: [{ name: 'retry', attributes: { attempt: 1 } }],
    });
    expect(first.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(first.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(first.end_time as string)).toBeGreaterThanOrEqual(Date.parse(first.start_time as string));
    expect(first.duration_ms).toBeGreaterThanOrEqual(0);
    expect(events[4]!.data.status).toEqual({ code: 'error', message: 'rate limited' });
    expect(root).toMatchObject({ parent_span_id: null, kind: 'internal' });
  });

  it('stores every log record as an otel.log event, in order', async () => {
    const runtime = await startRuntime();
    const exporter = new Log({
      url: `${runtime.url}/v1/logs`,
      headers: { authorization: `Bearer ${runtime.token}` },
      compression: 'gzip' as never,
    });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'claude-code' }),
      processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000 })],
    });
    const logger = provider.getLogger('com.anthropic.claude_code.events', '2.0.0');
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: 'claude_code.api_request',
      eventName: 'claude_code.api_request',
      attributes: {
        'session.id': 'cc-session',
        model: 'claude-opus-4',
        input_tokens: 1200,
        output_tokens: 300,
        cost_usd: 0.0123,
      },
    });
    logger.emit({ severityNumber: SeverityNumber.WARN, body: { structured: { ok: true } } });
    await provider.forceFlush();
    await provider.shutdown();

    const events = await otelEvents(runtime, 'otel.log');
    expect(events).toHaveLength(2);
    expect(events[0]!.data).toMatchObject({
      severity_number: 9,
      severity_text: 'INFO',
      body: 'claude_code.api_request',
      event_name: 'claude_code.api_request',
      session_id: 'cc-session',
      service_name: 'claude-code',
      gen_ai: { model: 'claude-opus-4', input_tokens: 1200, output_tokens: 300, cost_usd: 0.0123 },
    });
    expect(events[1]!.data).toMatchObject({ severity_number: 13, body: { structured: { ok: true } } });
    expect(Date.parse(events[0]!.data.time as string)).toBeGreaterThan(Date.now() - 60_000);
  });
});

const span = (overrides: Record<string, unknown> = {}) => ({
  traceId: '5b8efff798038103d269b633813fc60c',
  spanId: 'eee19b7ec3c1b174',
  name: 'span',
  kind: 2,
  startTimeUnixNano: '1544712660000000000',
  endTimeUnixNano: '1544712661000000000',
  ...overrides,
});
const traces = (spans: unknown[]) => ({ resourceSpans: [{ resource: {}, scopeSpans: [{ spans }] }] });

function post(runtime: Runtime, path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return fetch(`${runtime.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'x-session-token': runtime.token, ...headers },
  });
}

describe('OTLP/HTTP answers as the specification says', () => {
  it('answers an empty success for a full acceptance and partial_success for rejected spans (JSON)', async () => {
    const runtime = await startRuntime();
    const ok = await post(runtime, '/v1/traces', JSON.stringify(traces([span()])));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await ok.json()).toEqual({});
    expect((await otelEvents(runtime))[0]!.data).toMatchObject({
      duration_ms: 1000,
      start_time: '2018-12-13T14:51:00.000Z',
      kind: 'server',
    });

    const partial = await post(
      runtime,
      '/v1/traces',
      JSON.stringify(traces([span({ name: 'kept' }), span({ traceId: 'nothex' }), span({ spanId: '' })])),
    );
    expect(partial.status).toBe(200);
    const body = (await partial.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe('2');
    expect(body.partialSuccess.errorMessage).toMatch(/traceId/);
    expect((await otelEvents(runtime)).map((e) => e.data.name)).toEqual(['span', 'kept']);
  });

  it('shortens an oversized span to 64 KiB and says so, keeping the rest of the batch', async () => {
    const runtime = await startRuntime();
    const huge = { key: 'prompt', value: { stringValue: 'x'.repeat(200_000) } };
    const response = await post(
      runtime,
      '/v1/traces',
      JSON.stringify(traces([span({ attributes: [huge, { key: 'small', value: { intValue: '7' } }] }), span()])),
    );
    const body = (await response.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe('0');
    expect(body.partialSuccess.errorMessage).toMatch(/1 shortened/);
    const events = await otelEvents(runtime);
    expect(events).toHaveLength(2);
    expect(events[0]!.data.truncated).toEqual(['attributes.prompt']);
    expect((events[0]!.data.attributes as Record<string, unknown>).small).toBe(7);
    expect(JSON.stringify(events[0]).length).toBeLessThan(64 * 1024);

    // Thousands of small attributes: some are dropped (named), the event still fits.
    const many = Array.from({ length: 5000 }, (_, i) => ({ key: `attr.${i}`, value: { stringValue: `value ${i}` } }));
    const crowded = await post(
      runtime,
      '/v1/traces',
      JSON.stringify(traces([span({ name: 'crowded', attributes: many })])),
    );
    expect(crowded.status).toBe(200);
    const [, , stored] = await otelEvents(runtime);
    const kept = Object.keys(stored!.data.attributes as object).length;
    expect(kept).toBeGreaterThan(1000);
    const truncated = stored!.data.truncated as string[];
    expect(truncated).toHaveLength(101);
    expect(truncated.at(-1)).toBe(`… and ${5000 - kept - 100} more attributes dropped`);
    expect(JSON.stringify(stored).length).toBeLessThanOrEqual(64 * 1024);
  });

  it('answers the protobuf encoding in kind: a response message, and a google.rpc.Status for garbage', async () => {
    const runtime = await startRuntime();
    const empty = await post(runtime, '/v1/logs', new Uint8Array(), { 'content-type': 'application/x-protobuf' });
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeResponse('logs', new Uint8Array(await empty.arrayBuffer()))).toEqual({});

    const garbage = await post(runtime, '/v1/traces', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), {
      'content-type': 'application/x-protobuf',
    });
    expect(garbage.status).toBe(400);
    expect(garbage.headers.get('content-type')).toBe('application/x-protobuf');
    const status = decodeStatus(new Uint8Array(await garbage.arrayBuffer()));
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/not a protobuf ExportTraceServiceRequest/);
    expect(await otelEvents(runtime)).toEqual([]);
  });

  it('refuses bad JSON, a wrong shape, wrong content types and encodings, with a Status body', async () => {
    const runtime = await startRuntime();
    const badJson = await post(runtime, '/v1/traces', '{"resourceSpans": [');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({
      code: 3,
      message: expect.stringMatching(/not valid JSON/),
      error: { code: 'invalid_json' },
    });

    const wrongShape = await post(runtime, '/v1/logs', JSON.stringify({ resourceLogs: 'nope' }));
    expect(wrongShape.status).toBe(400);
    expect(await wrongShape.json()).toMatchObject({ code: 3, error: { code: 'invalid_input' } });

    const deep = await post(runtime, '/v1/traces', `${'['.repeat(5000)}${']'.repeat(5000)}`);
    expect(deep.status).toBe(400);

    const text = await post(runtime, '/v1/traces', 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });

    const brotli = await post(runtime, '/v1/traces', '{}', { 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);

    const notGzip = await post(runtime, '/v1/traces', 'plain', { 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);

    const get = await fetch(`${runtime.url}/v1/traces`, { headers: { 'x-session-token': runtime.token } });
    expect(get.status).toBe(405);
    expect(await otelEvents(runtime)).toEqual([]);
  });

  it('requires the token on every /v1 path, known or not', async () => {
    const runtime = await startRuntime();
    for (const path of ['/v1/traces', '/v1/logs', '/v1/metrics', '/v1/other']) {
      const response = await fetch(`${runtime.url}${path}`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status, path).toBe(401);
      expect(await response.json()).toMatchObject({ code: 16, error: { code: 'unauthorized' } });
    }
    const wrong = await post(runtime, '/v1/traces', '{}', { 'x-session-token': 'wrong' });
    expect(wrong.status).toBe(401);
    expect(await otelEvents(runtime)).toEqual([]);
  });

  it('refuses bodies over the limit, compressed or not (413), and survives a gzip bomb', async () => {
    const runtime = await startRuntime({ otlpMaxBodyBytes: 64 * 1024 });
    const big = JSON.stringify(traces([span({ name: 'x'.repeat(100_000) })]));
    const plain = await post(runtime, '/v1/traces', big);
    expect(plain.status).toBe(413);
    expect(await plain.json()).toMatchObject({ code: 8, error: { code: 'payload_too_large' } });

    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const zipped = await post(runtime, '/v1/traces', bomb, { 'content-encoding': 'gzip' });
    expect(zipped.status).toBe(413);

    const fine = await post(runtime, '/v1/traces', gzipSync(JSON.stringify(traces([span()]))), {
      'content-encoding': 'gzip',
    });
    expect(fine.status).toBe(200);
    expect(await otelEvents(runtime)).toHaveLength(1);
  });

  it('keeps metrics as one otel.metrics summary per resource', async () => {
    const runtime = await startRuntime();
    const response = await post(
      runtime,
      '/v1/metrics',
      JSON.stringify({
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'claude_code.token.usage',
                    unit: 'tokens',
                    sum: { dataPoints: [{ asDouble: 10 }, { asDouble: 4 }] },
                  },
                  { name: 'claude_code.session.count', sum: { dataPoints: [{ asInt: '1' }] } },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(response.status).toBe(200);
    const [event] = await otelEvents(runtime);
    expect(event).toMatchObject({
      type: 'otel.metrics',
      data: {
        service_name: 'claude-code',
        data_points: 3,
        metrics: [
          { name: 'claude_code.token.usage', type: 'sum', unit: 'tokens', data_points: 2 },
          { name: 'claude_code.session.count', type: 'sum', data_points: 1 },
        ],
      },
    });
  });

  it('is not refused in read-only mode: events are observations', async () => {
    // The CLI's lock is taken before the server starts, so the server comes up read-only.
    const workspace = tempWorkspace();
    const lock = new WorkspaceLock(prepareStateDir(workspace));
    expect((await lock.acquire('cli')).ok).toBe(true);
    try {
      const runtime = await startRuntime({ workspace });
      const write = await api(runtime, '/api/v1/system/status', { method: 'POST', json: { progress: 10 } });
      expect(write.status).toBe(423);
      const response = await post(runtime, '/v1/traces', JSON.stringify(traces([span()])));
      expect(response.status).toBe(200);
      expect(await otelEvents(runtime)).toHaveLength(1);
    } finally {
      await lock.release();
    }
  });
});

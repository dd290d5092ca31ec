import { z } from 'zod';
import { OTLP_PATHS } from '../../src-shared/protocol.ts';
import { integerParam } from '../../src-shared/non-negative-integer.ts';
import { PriceTable, SessionsPage, TraceWaterfall } from '../../src-shared/sessions.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { EventLog } from '../events/event-log.ts';
import { defineRoute } from '../http/route.ts';
import type { Signal } from './otlp-codec.ts';
import { receive } from './otlp-receiver.ts';
import { type PriceStore, SCAN_LIMIT, summarizeSessions, traceWaterfall } from './sessions.ts';

const EVENT_TYPE: Record<Signal, string> = {
  traces: 'each span becomes an `otel.span` event',
  logs: 'each log record becomes an `otel.log` event',
  metrics: 'each resource’s metrics become one `otel.metrics` summary event (names, kinds, point counts)',
};

const ExportResponse = z
  .object({
    partialSuccess: z
      .object({ errorMessage: z.string() })
      .loose()
      .optional()
      .describe('set when some items were rejected (their count) or shortened (the message says which)'),
  })
  .describe('Export*ServiceResponse in the request’s encoding (protobuf or JSON)');

/** OTLP's failure body (google.rpc.Status) as JSON; Lookout's own error body rides along. */
const OtlpStatus = z
  .object({
    code: z.number().int().describe('gRPC status code (3 invalid argument, 8 resource exhausted, 16 unauthenticated)'),
    message: z.string(),
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .describe('google.rpc.Status; application/x-protobuf when the request was protobuf');

const otlpFailure = (description: string) => ({ description, schema: OtlpStatus });

/**
 * OTLP/HTTP receivers, mounted at the root (OTLP's paths are /v1/traces, /v1/logs,
 * /v1/metrics, not under /api/v1) behind the same token as the API. Events are
 * observations, so read-only mode does not refuse them.
 */
export const ingestRoutes = (options: { bus: EventBus; maxBodyBytes: number }) =>
  (Object.keys(OTLP_PATHS) as Signal[]).map((signal) =>
    defineRoute({
      method: 'post',
      path: OTLP_PATHS[signal],
      summary: `OTLP/HTTP ${signal} (protobuf or JSON, gzip allowed)`,
      description:
        `An Export${signal === 'traces' ? 'Trace' : signal === 'logs' ? 'Logs' : 'Metrics'}ServiceRequest as ` +
        `application/x-protobuf or application/json, optionally Content-Encoding: gzip; ${EVENT_TYPE[signal]}. ` +
        'Items that cannot be stored are counted in partialSuccess; failures answer a google.rpc.Status ' +
        '(400 malformed, 413 over LOOKOUT_OTLP_MAX_BODY_BYTES, 415 another Content-Type or Content-Encoding).',
      tags: ['ingest'],
      // Events are observations: read-only mode never refuses them.
      policy: { role: 'operator', readOnly: 'allowed' },
      errors: [400, 413, 415],
      responses: {
        200: { description: 'Accepted (see partialSuccess)', schema: ExportResponse },
        400: otlpFailure('Not a valid request in the declared encoding, or bad compressed data'),
        401: otlpFailure('Missing or wrong session token'),
        403: otlpFailure('Foreign Host header'),
        405: otlpFailure('Only POST'),
        413: otlpFailure('Over LOOKOUT_OTLP_MAX_BODY_BYTES once decompressed'),
        415: otlpFailure('Another Content-Type or Content-Encoding'),
        500: otlpFailure('Internal error'),
      },
      handler: async ({ ctx }) => {
        const reply = await receive(ctx, signal, options);
        ctx.status = 200;
        ctx.type = reply.contentType;
        ctx.body = reply.body;
        return undefined;
      },
    }),
  );

const SessionsQuery = z.object({
  limit: integerParam(1, 1000).default(100).describe('most sessions returned, newest first'),
});

/** The Sessions view's figures and the price table it costs tokens with (under /api/v1). */
export const agentSessionRoutes = (options: { log: EventLog; prices: PriceStore }) => [
  defineRoute({
    method: 'get',
    path: '/sessions',
    summary: 'Agent sessions (and traces without one): duration, tool calls, tokens and cost per model',
    description: `Computed from the newest ${SCAN_LIMIT} otel.span, otel.log, tool.*, agent_session.* and chat.message_sent events. A cost is the producer's own (cost_usd) where it reported one, else tokens × the price table; null when neither is known.`,
    tags: ['ingest'],
    policy: { role: 'viewer', readOnly: 'allowed' },
    query: SessionsQuery,
    responses: { 200: { description: 'Newest first', schema: SessionsPage } },
    handler: async ({ query }) => ({
      body: await summarizeSessions(options.log, options.prices.read().prices, query.limit),
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/traces/:traceId',
    summary: 'One trace as a waterfall: its spans depth-first, with offsets from the first start',
    tags: ['ingest'],
    policy: { role: 'viewer', readOnly: 'allowed' },
    errors: [404],
    responses: { 200: { description: 'The trace', schema: TraceWaterfall } },
    handler: async ({ params }) => {
      const trace = await traceWaterfall(options.log, params.traceId!.toLowerCase());
      if (!trace) throw new LookoutError('not_found', `no spans of trace ${params.traceId} are stored`);
      return { body: trace };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/settings/prices',
    summary: 'The price table (USD per million tokens, per model; `prefix*` keys match by prefix)',
    tags: ['ingest'],
    policy: { role: 'viewer', readOnly: 'allowed' },
    responses: { 200: { description: 'The table', schema: PriceTable } },
    handler: () => ({ body: options.prices.read() }),
  }),
  defineRoute({
    method: 'put',
    path: '/settings/prices',
    summary: 'Replace the price table',
    tags: ['ingest'],
    policy: { role: 'admin', readOnly: 'blocked' },
    body: PriceTable,
    responses: { 200: { description: 'The stored table', schema: PriceTable } },
    handler: ({ body }) => {
      options.prices.write(body);
      return { body };
    },
  }),
];

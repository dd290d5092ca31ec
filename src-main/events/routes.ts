import type { Context } from 'koa';
import { z } from 'zod';
import { EventEnvelope, parsePatterns, TYPE_PATTERN_LIST } from '../../src-shared/events.ts';
import { integerParam, MAX_TEXT_INTEGER } from '../../src-shared/non-negative-integer.ts';
import {
  EventsPage,
  MAX_BATCH,
  MAX_EVENT_BYTES,
  MAX_HISTORY_PAGE,
  PublishResponse,
  WS_PATH,
} from '../../src-shared/protocol.ts';
import { PUBLISH_EXAMPLES, publishBodyDocument } from '../../src-shared/publish-body.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from './bus.ts';
import { defineRoute } from '../http/route.ts';

// One event, or a batch under `events`. The bus checks both in depth (catalogue, sizes,
// all-or-nothing) and names the offending field, so this schema stays permissive; the
// document shows the exact shape (publishBodyDocument), and the contract fuzzer keeps
// the two in step.
const PublishBody = z.looseObject({
  type: z.string().optional().describe('namespace.name, e.g. workflow.started, or x.<anything>'),
  data: z.unknown().optional().describe('an object; its schema depends on the type'),
  metadata: z.unknown().optional().describe('free-form object, e.g. {"agent": "claude"}'),
  events: z.array(z.unknown()).optional().describe(`a batch of up to ${MAX_BATCH} events, stored all or nothing`),
});

const TypesParam = z
  .string()
  .meta({ pattern: TYPE_PATTERN_LIST.source })
  .optional()
  .describe('comma-separated patterns: *, ns.*, or exact types (at most 100, each at most 128 characters)');

const HistoryQuery = z.object({
  since: integerParam(0, MAX_TEXT_INTEGER).default(0).describe('return events after this sequence number'),
  types: TypesParam,
  limit: integerParam(1, MAX_HISTORY_PAGE).default(100).describe('most events in the page'),
});

const StreamQuery = z.object({
  since: integerParam(0, MAX_TEXT_INTEGER)
    .optional()
    .describe('resume after this sequence number (or send Last-Event-ID); beyond the newest means the newest'),
  tail: integerParam(0, MAX_TEXT_INTEGER)
    .optional()
    .describe('without a resume point: start with the newest N matching events (capped at the replay limit)'),
  types: TypesParam,
  ticket: z
    .string()
    .optional()
    .describe('a one-use ticket from POST /api/v1/auth/ticket (browsers; others send a header)'),
});

/** The SSE endpoint's handler (the gateway's SseHub): the stream is the gateway's business. */
export interface SseEndpoint {
  handle(ctx: Context): void;
}

export const eventRoutes = (bus: EventBus, sse: SseEndpoint) => [
  defineRoute({
    method: 'post',
    path: '/events',
    summary: `Publish one event, or a batch of up to ${MAX_BATCH} (all or nothing)`,
    description: `Allowed in read-only mode: events are observations. An event over ${MAX_EVENT_BYTES / 1024} KiB of JSON is refused with 413.`,
    tags: ['events'],
    policy: { role: 'operator', readOnly: 'allowed' },
    body: PublishBody,
    errors: [507],
    documentedBody: publishBodyDocument,
    bodyExamples: PUBLISH_EXAMPLES,
    responses: { 201: { description: 'Stored; numbers and timestamps in input order', schema: PublishResponse } },
    handler: async ({ body }) => {
      const batch = body.type === undefined && body.events !== undefined;
      const stray = batch ? Object.keys(body).filter((key) => key !== 'events') : [];
      if (stray.length > 0) {
        throw new LookoutError(
          'invalid_input',
          `unknown field ${stray[0]}: a batch is {"events": [...]} and nothing else`,
          {
            details: stray.map((key) => ({ path: key, message: 'unknown field' })),
          },
        );
      }
      const inputs = batch ? body.events! : [body];
      const envelopes = await bus.publish(inputs, { batch });
      return {
        status: 201,
        body: { events: envelopes.map((e) => ({ sequence_number: e.sequence_number, timestamp: e.timestamp })) },
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/events',
    summary: 'Stored events after a sequence number, oldest first',
    tags: ['events'],
    policy: { role: 'viewer', readOnly: 'allowed' },
    query: HistoryQuery,
    responses: { 200: { description: 'A page of history', schema: EventsPage } },
    handler: async ({ query, ctx }) => {
      const patterns = parsePatterns(query.types);
      if (!patterns.ok)
        throw new LookoutError('invalid_input', patterns.error, {
          details: [{ path: 'query.types', message: patterns.error }],
        });
      // The newest number first: every row up to it is committed and read below.
      const last = bus.log.lastSequenceNumber;
      const rows = await bus.log.read({
        after: query.since,
        upTo: last,
        patterns: patterns.patterns,
        limit: query.limit,
      });
      // Rows hold the exact JSON clients get; splice them rather than re-encode.
      const oldest = await bus.log.oldest();
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = `{"events":[${rows.map((r) => r.json).join(',')}],"last_sequence_number":${last},"oldest_sequence_number":${oldest}}`;
      return undefined;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/sse',
    summary: 'Server-Sent Events stream (resumes with Last-Event-ID or since; tail=N starts with the newest N)',
    tags: ['events'],
    policy: { role: 'viewer', readOnly: 'allowed', ticket: true },
    query: StreamQuery,
    errors: [503],
    responses: {
      200: {
        description: 'text/event-stream of event envelopes',
        contentType: 'text/event-stream',
        schema: EventEnvelope,
      },
    },
    handler: ({ ctx }) => {
      sse.handle(ctx);
      return undefined;
    },
  }),
];

/**
 * `/ws` declared like every route: its policy is what the upgrade enforces, and a plain
 * GET (no upgrade) is answered 426 by the HTTP side.
 */
export const wsRoute = defineRoute({
  method: 'get',
  path: WS_PATH,
  summary: 'The WebSocket event stream (upgrade only)',
  description:
    'Authenticate with X-Session-Token or Authorization: Bearer, or (browsers) `?ticket=` from POST /api/v1/auth/ticket. A stream opened with an access token or ticket is closed with 4401 when that token expires; reconnect with a fresh one and `since`. See docs/protocol.md.',
  tags: ['events'],
  // OpenAPI cannot describe a WebSocket (and would want a 2xx): docs/protocol.md does.
  hidden: true,
  policy: { role: 'viewer', readOnly: 'allowed', ticket: true },
  errors: [401, 403, 426, 429, 503],
  responses: { 101: { description: 'Switching protocols' } },
  handler: () => {
    throw new LookoutError('upgrade_required', 'this is a WebSocket endpoint: connect with a WebSocket client');
  },
});

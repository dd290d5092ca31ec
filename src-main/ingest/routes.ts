import { z } from 'zod';
import { OTLP_PATHS } from '../../src-shared/protocol.ts';
import type { EventBus } from '../events/bus.ts';
import { defineRoute } from '../http/route.ts';
import type { Signal } from './otlp-codec.ts';
import { receive } from './otlp-receiver.ts';

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
      auth: true,
      errors: [400, 413, 415],
      responses: { 200: { description: 'Accepted (see partialSuccess)', schema: ExportResponse } },
      handler: async ({ ctx }) => {
        const reply = await receive(ctx, signal, options);
        ctx.status = 200;
        ctx.type = reply.contentType;
        ctx.body = reply.body;
        return undefined;
      },
    }),
  );

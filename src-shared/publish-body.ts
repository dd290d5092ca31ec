import { z } from 'zod';
import { CLIENT_EVENT_TYPES, EVENT_EXAMPLES } from './event-examples.ts';
import { CATALOGUE, MAX_EVENT_TYPE_LENGTH } from './events.ts';
import { MAX_BATCH } from './protocol.ts';

const JsonObject = z.record(z.string(), z.unknown());
const metadata = JsonObject.optional().describe('free-form object, e.g. {"agent": "claude"}');

/**
 * The body of `POST /api/v1/events` exactly as the server accepts it, for /openapi.json:
 * one event of a catalogued client type (its `data` as the catalogue says) or of the open
 * `x.*` namespace, or `{"events": [...]}`. The server checks the same things in the event
 * bus, with messages that name the offending field; a test keeps the two in step.
 */
const cataloguedEvent = (type: (typeof CLIENT_EVENT_TYPES)[number]) => {
  const data = CATALOGUE[type] as z.ZodType;
  // A type whose data has no required field may leave `data` out (it defaults to {}).
  const optional = data.safeParse({}).success;
  return z
    .strictObject({ type: z.literal(type), data: optional ? data.optional() : data, metadata })
    .meta({ title: type, examples: [{ type, data: EVENT_EXAMPLES[type] }] });
};

const CUSTOM_TYPE = /^x(?:\.[A-Za-z0-9_-]+)+$/;
const customEvent = z
  .strictObject({
    type: z.string().max(MAX_EVENT_TYPE_LENGTH).regex(CUSTOM_TYPE).describe('x.<anything>: the open namespace'),
    data: JsonObject.optional().describe('any JSON object (default {})'),
    metadata,
  })
  .meta({ title: 'x.*', examples: [{ type: 'x.deploy.done', data: { env: 'staging' } }] });

let built: z.ZodType | undefined;

/**
 * The documented body, built on first use (when /openapi.json is generated): some forty
 * schemas that a CLI start has no use for.
 */
export function publishBodyDocument(): z.ZodType {
  if (built) return built;
  const eventInput = z
    .xor([...CLIENT_EVENT_TYPES.map(cataloguedEvent), customEvent])
    .meta({ id: 'EventInput', description: 'One event: a catalogued type with its data, or x.<anything>' });

  built = z.xor([
    eventInput,
    z
      .strictObject({
        events: z.array(eventInput).max(MAX_BATCH).describe(`up to ${MAX_BATCH} events, stored all or nothing`),
      })
      .meta({ title: 'batch' }),
  ]);
  return built;
}

/** Named examples for the docs: one per client type, then a batch. */
export const PUBLISH_EXAMPLES: Record<string, { summary: string; value: unknown }> = {
  ...Object.fromEntries(
    CLIENT_EVENT_TYPES.map((type) => [type, { summary: type, value: { type, data: EVENT_EXAMPLES[type] } }]),
  ),
  'x.custom': {
    summary: 'x.* (any data)',
    value: { type: 'x.deploy.done', data: { env: 'staging' }, metadata: { agent: 'claude' } },
  },
  batch: {
    summary: 'a batch (all or nothing)',
    value: {
      events: [
        { type: 'workflow.started', data: EVENT_EXAMPLES['workflow.started'] },
        { type: 'workflow.finished', data: EVENT_EXAMPLES['workflow.finished'] },
      ],
    },
  },
};

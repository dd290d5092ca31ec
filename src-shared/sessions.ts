import { z } from 'zod';

/**
 * Agent sessions as the dashboard's Sessions view shows them: events from OpenTelemetry
 * (otel.span, otel.log) and from Claude Code's hooks (tool.*, agent_session.*,
 * chat.message_sent) grouped by their session id (a trace id when a span has none), with
 * duration, tool calls, tokens and cost per session and per model.
 */

/** USD per million tokens, per model; a key ending in `*` covers every model that starts with it. */
export const ModelPrice = z.object({
  input_per_mtok: z.number().nonnegative().max(10_000),
  output_per_mtok: z.number().nonnegative().max(10_000),
});
export type ModelPrice = z.infer<typeof ModelPrice>;

export const PriceTable = z.object({
  prices: z.record(z.string().min(1).max(256), ModelPrice).refine((prices) => Object.keys(prices).length <= 500, {
    error: 'at most 500 models',
  }),
});
export type PriceTable = z.infer<typeof PriceTable>;

export const ModelUsage = z.object({
  model: z.string(),
  requests: z.number().int(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  /** Reported by the producer (cost_usd) where it did, else from the price table; null when neither knows. */
  cost_usd: z.number().nullable(),
});
export type ModelUsage = z.infer<typeof ModelUsage>;

export const SessionSummary = z.object({
  id: z.string(),
  kind: z.enum(['session', 'trace']),
  agent: z.string().nullable(),
  started_at: z.string(),
  ended_at: z.string(),
  duration_ms: z.number(),
  events: z.number().int(),
  tool_calls: z.number().int(),
  errors: z.number().int(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: z.number().nullable(),
  models: z.array(ModelUsage),
  trace_ids: z.array(z.string()),
  first_sequence_number: z.number().int(),
  last_sequence_number: z.number().int(),
});
export type SessionSummary = z.infer<typeof SessionSummary>;

export const SessionsPage = z.object({
  sessions: z.array(SessionSummary),
  /** How many of the newest matching events were read (older ones are not in these figures). */
  scanned_events: z.number().int(),
});
export type SessionsPage = z.infer<typeof SessionsPage>;

export const TraceSpan = z.object({
  span_id: z.string(),
  parent_span_id: z.string().nullable(),
  name: z.string(),
  kind: z.string(),
  service_name: z.string().nullable(),
  start_time: z.string(),
  end_time: z.string(),
  duration_ms: z.number(),
  status: z.string(),
  /** Depth in the tree (0 for a root or an orphan whose parent was not received). */
  depth: z.number().int(),
  /** Start offset from the trace's first span, in ms: a waterfall draws from these. */
  offset_ms: z.number(),
  gen_ai: z.record(z.string(), z.unknown()).nullable(),
  sequence_number: z.number().int(),
});
export const TraceWaterfall = z.object({
  trace_id: z.string(),
  started_at: z.string(),
  duration_ms: z.number(),
  spans: z.array(TraceSpan),
});
export type TraceWaterfall = z.infer<typeof TraceWaterfall>;

/** The price of a model: an exact key first, else the longest `prefix*` key that matches. */
export function priceFor(prices: PriceTable['prices'], model: string): ModelPrice | undefined {
  if (Object.hasOwn(prices, model)) return prices[model];
  let best: [string, ModelPrice] | undefined;
  for (const [key, price] of Object.entries(prices)) {
    if (key.endsWith('*') && model.startsWith(key.slice(0, -1)) && (!best || key.length > best[0].length)) {
      best = [key, price];
    }
  }
  return best?.[1];
}

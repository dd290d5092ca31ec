import fs from 'node:fs';
import type { EventEnvelope } from '../../src-shared/events.ts';
import {
  type ModelUsage,
  PriceTable,
  priceFor,
  type SessionSummary,
  type TraceWaterfall,
} from '../../src-shared/sessions.ts';
import type { EventLog } from '../events/event-log.ts';
import { writeAtomic } from './settings-file.ts';

/**
 * The Sessions view's figures, computed from the stored events on request (no table of
 * its own: the events are the record, and a request reads at most SCAN_LIMIT of the
 * newest relevant ones). The price table is a small JSON file in .lookout/.
 */

export const SESSION_PATTERNS = ['otel.span', 'otel.log', 'tool.*', 'agent_session.*', 'chat.message_sent'];
export const SCAN_LIMIT = 50_000;
const PAGE = 1000;

type Data = Record<string, unknown>;
interface GenAi {
  model?: string;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
  operation?: string;
  tool_name?: string;
}

interface Accumulator {
  id: string;
  kind: 'session' | 'trace';
  agent: string | null;
  start: number;
  end: number;
  events: number;
  hookToolCalls: number;
  otelToolCalls: number;
  errors: number;
  models: Map<string, { requests: number; input: number; output: number; reported: number; unreported: number }>;
  traces: Set<string>;
  first: number;
  last: number;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const time = (value: unknown): number | undefined => {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
};

/** Reads the newest matching events, oldest first (at most SCAN_LIMIT). */
async function* recentEvents(log: EventLog, patterns: readonly string[]): AsyncGenerator<EventEnvelope> {
  const last = log.lastSequenceNumber;
  const oldest = await log.seqFromEnd(0, last, patterns, SCAN_LIMIT - 1);
  let after = oldest === null ? 0 : oldest - 1;
  for (;;) {
    const rows = await log.read({ after, upTo: last, patterns, limit: PAGE });
    for (const row of rows) yield JSON.parse(row.json) as EventEnvelope;
    if (rows.length < PAGE) return;
    after = rows.at(-1)!.seq;
  }
}

function sessionKey(event: EventEnvelope): { id: string; kind: 'session' | 'trace' } | undefined {
  const session = text(event.data.session_id);
  if (session) return { id: session, kind: 'session' };
  const trace = event.type === 'otel.span' ? text(event.data.trace_id) : undefined;
  return trace ? { id: trace, kind: 'trace' } : undefined;
}

function isToolCall(event: EventEnvelope, genAi: GenAi | undefined): 'hook' | 'otel' | undefined {
  if (event.type === 'tool.call_started') return 'hook';
  if (event.type === 'otel.span' && (genAi?.operation === 'execute_tool' || genAi?.tool_name)) return 'otel';
  if (event.type === 'otel.log' && event.data.event_name === 'claude_code.tool_result') return 'otel';
  return undefined;
}

function isError(event: EventEnvelope): boolean {
  if (event.type === 'tool.call_failed') return true;
  if (event.type === 'otel.span') return (event.data.status as Data | undefined)?.code === 'error';
  if (event.type === 'otel.log') {
    const severity = event.data.severity_number;
    return (typeof severity === 'number' && severity >= 17) || event.data.event_name === 'claude_code.api_error';
  }
  return false;
}

export async function summarizeSessions(log: EventLog, prices: PriceTable['prices'], limit: number) {
  const sessions = new Map<string, Accumulator>();
  let scanned = 0;
  for await (const event of recentEvents(log, SESSION_PATTERNS)) {
    scanned += 1;
    const key = sessionKey(event);
    if (!key) continue;
    let acc = sessions.get(key.id);
    if (!acc) {
      acc = {
        ...key,
        agent: null,
        start: Number.POSITIVE_INFINITY,
        end: Number.NEGATIVE_INFINITY,
        events: 0,
        hookToolCalls: 0,
        otelToolCalls: 0,
        errors: 0,
        models: new Map(),
        traces: new Set(),
        first: event.sequence_number,
        last: event.sequence_number,
      };
      sessions.set(key.id, acc);
    }
    const data = event.data;
    acc.events += 1;
    acc.last = event.sequence_number;
    acc.agent ??= text(data.agent) ?? text(data.service_name) ?? null;
    const start = time(data.start_time) ?? time(data.time) ?? time(event.timestamp)!;
    const end = time(data.end_time) ?? start;
    acc.start = Math.min(acc.start, start);
    acc.end = Math.max(acc.end, end);
    const traceId = text(data.trace_id);
    if (traceId && acc.traces.size < 100) acc.traces.add(traceId);
    const genAi = data.gen_ai as GenAi | undefined;
    const tool = isToolCall(event, genAi);
    if (tool === 'hook') acc.hookToolCalls += 1;
    else if (tool === 'otel') acc.otelToolCalls += 1;
    if (isError(event)) acc.errors += 1;
    const tokens = (genAi?.input_tokens ?? 0) + (genAi?.output_tokens ?? 0);
    if (genAi && (tokens > 0 || genAi.cost_usd !== undefined)) {
      const model = genAi.model ?? 'unknown';
      const usage = acc.models.get(model) ?? { requests: 0, input: 0, output: 0, reported: 0, unreported: 0 };
      usage.requests += 1;
      usage.input += genAi.input_tokens ?? 0;
      usage.output += genAi.output_tokens ?? 0;
      if (genAi.cost_usd !== undefined) usage.reported += genAi.cost_usd;
      else {
        // No cost from the producer: the price table's, for this request's own tokens.
        const price = priceFor(prices, model);
        usage.unreported = price
          ? usage.unreported +
            ((genAi.input_tokens ?? 0) * price.input_per_mtok + (genAi.output_tokens ?? 0) * price.output_per_mtok) /
              1e6
          : Number.NaN;
      }
      acc.models.set(model, usage);
    }
  }

  const summaries: SessionSummary[] = [...sessions.values()]
    .sort((a, b) => b.last - a.last)
    .slice(0, limit)
    .map((acc) => {
      const models: ModelUsage[] = [...acc.models].map(([model, u]) => ({
        model,
        requests: u.requests,
        input_tokens: u.input,
        output_tokens: u.output,
        cost_usd: Number.isNaN(u.unreported) ? null : round(u.reported + u.unreported),
      }));
      const costs = models.map((m) => m.cost_usd);
      return {
        id: acc.id,
        kind: acc.kind,
        agent: acc.agent,
        started_at: new Date(acc.start).toISOString(),
        ended_at: new Date(acc.end).toISOString(),
        duration_ms: Math.max(0, acc.end - acc.start),
        events: acc.events,
        // Hooks and OpenTelemetry may both report the same calls: the hooks' count wins.
        tool_calls: acc.hookToolCalls > 0 ? acc.hookToolCalls : acc.otelToolCalls,
        errors: acc.errors,
        input_tokens: models.reduce((sum, m) => sum + m.input_tokens, 0),
        output_tokens: models.reduce((sum, m) => sum + m.output_tokens, 0),
        cost_usd: costs.includes(null) ? null : round(costs.reduce<number>((sum, c) => sum + (c ?? 0), 0)),
        models,
        trace_ids: [...acc.traces],
        first_sequence_number: acc.first,
        last_sequence_number: acc.last,
      };
    });
  return { sessions: summaries, scanned_events: scanned };
}

const round = (usd: number): number => Math.round(usd * 1e6) / 1e6;

/** A trace's spans as a waterfall: depth-first from the roots, offsets from the first start. */
export async function traceWaterfall(log: EventLog, traceId: string): Promise<TraceWaterfall | undefined> {
  const spans: EventEnvelope[] = [];
  for await (const event of recentEvents(log, ['otel.span'])) if (event.data.trace_id === traceId) spans.push(event);
  if (spans.length === 0) return undefined;
  const start = Math.min(...spans.map((s) => time(s.data.start_time) ?? 0));
  const end = Math.max(...spans.map((s) => time(s.data.end_time) ?? 0));
  const ids = new Set(spans.map((s) => s.data.span_id));
  const children = new Map<string | null, EventEnvelope[]>();
  for (const span of spans) {
    const parent = text(span.data.parent_span_id);
    const key = parent && ids.has(parent) ? parent : null; // orphans are drawn as roots
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const ordered: TraceWaterfall['spans'] = [];
  const visit = (parent: string | null, depth: number) => {
    const level = (children.get(parent) ?? []).sort(
      (a, b) => (time(a.data.start_time) ?? 0) - (time(b.data.start_time) ?? 0),
    );
    for (const span of level) {
      const d = span.data;
      ordered.push({
        span_id: String(d.span_id),
        parent_span_id: text(d.parent_span_id) ?? null,
        name: String(d.name),
        kind: String(d.kind),
        service_name: text(d.service_name) ?? null,
        start_time: String(d.start_time),
        end_time: String(d.end_time),
        duration_ms: Number(d.duration_ms),
        status: String((d.status as Data | undefined)?.code ?? 'unset'),
        depth,
        offset_ms: (time(d.start_time) ?? start) - start,
        gen_ai: (d.gen_ai as Record<string, unknown> | undefined) ?? null,
        sequence_number: span.sequence_number,
      });
      if (depth < 64) visit(String(d.span_id), depth + 1);
    }
  };
  visit(null, 0);
  return { trace_id: traceId, started_at: new Date(start).toISOString(), duration_ms: end - start, spans: ordered };
}

/** The price table, kept in `.lookout/prices.json` (absent: empty, costs come from the producers). */
export class PriceStore {
  readonly #file: string;
  constructor(file: string) {
    this.#file = file;
  }

  read(): PriceTable {
    try {
      const parsed = PriceTable.safeParse(JSON.parse(fs.readFileSync(this.#file, 'utf8')));
      return parsed.success ? parsed.data : { prices: {} };
    } catch {
      return { prices: {} };
    }
  }

  write(table: PriceTable): void {
    writeAtomic(this.#file, `${JSON.stringify(table, null, 2)}\n`, 0o600);
  }
}

import { type GenAiFields, SPAN_KINDS, SPAN_STATUS_CODES, validateEventInput } from '../../src-shared/events.ts';
import { MAX_EVENT_BYTES } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import type { Signal } from './otlp-codec.ts';

/**
 * OTLP requests (in the OTLP/JSON form, see otlp-codec.ts) become catalogued events:
 * each span an `otel.span`, each log record an `otel.log`, each metrics request one
 * `otel.metrics` summary per resource. Items that cannot become a valid event are counted
 * as rejected (OTLP's partial success) and the rest go on; items too large are shortened
 * and the response says which.
 */

export interface EventDraft {
  type: string;
  data: Record<string, unknown>;
}

export interface MappedBatch {
  /** Checked against the catalogue and within MAX_EVENT_BYTES (for EventBus.publishChecked). */
  events: EventDraft[];
  rejected: number;
  /** Human notes for the partial_success error_message (why rejected, what was shortened). */
  notes: string[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Nested AnyValues deeper than this are cut (a producer's recursion must not become ours). */
const MAX_VALUE_DEPTH = 16;

/** An OTLP AnyValue as plain JSON: kvlists become objects, arrays arrays, int64 a number when it fits. */
export function anyValue(value: unknown, depth = 0): unknown {
  if (!isObject(value)) return null;
  if (depth > MAX_VALUE_DEPTH) return '[nested too deep]';
  if ('stringValue' in value) return str(value.stringValue) ?? '';
  if ('boolValue' in value) return value.boolValue === true;
  if ('intValue' in value) return integer(value.intValue);
  if ('doubleValue' in value)
    return typeof value.doubleValue === 'number' ? value.doubleValue : Number(value.doubleValue);
  if ('bytesValue' in value) return str(value.bytesValue) ?? '';
  if ('arrayValue' in value)
    return list((value.arrayValue as Json | undefined)?.values).map((v) => anyValue(v, depth + 1));
  if ('kvlistValue' in value) return keyValues((value.kvlistValue as Json | undefined)?.values, depth + 1);
  return null;
}

function integer(value: unknown): number | string | null {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

/** A KeyValue list as an object (the last of duplicate keys wins, as in most SDKs). */
export function keyValues(values: unknown, depth = 0): Json {
  const out: Json = {};
  for (const item of list(values)) {
    if (isObject(item) && typeof item.key === 'string') out[item.key] = anyValue(item.value, depth);
  }
  return out;
}

/** Unix nanoseconds (a decimal string, or a number in lax JSON) as BigInt; undefined if absent or bad. */
function nanos(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return BigInt(Math.trunc(value));
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  return undefined;
}

const isoFromNanos = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();

/** Lower-case hex of the given length, or undefined (all zeros means "absent" in OTLP). */
function hexId(value: unknown, length: number): string | undefined {
  if (typeof value !== 'string' || value.length !== length || !/^[0-9a-fA-F]+$/.test(value)) return undefined;
  const id = value.toLowerCase();
  return /^0+$/.test(id) ? undefined : id;
}

function enumIndex(value: unknown, names: readonly string[], prefix: string): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') {
    const index = names.indexOf(value.replace(prefix, '').toLowerCase());
    if (index >= 0) return index;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// GenAI semantic conventions

const num = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
};
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value.slice(0, 256) : undefined;
const first = <T>(...values: (T | undefined)[]): T | undefined => values.find((v) => v !== undefined);

/**
 * The gen_ai.* attributes (OpenTelemetry GenAI semantic conventions, including the older
 * prompt/completion token names) and Claude Code's own (`model`, `input_tokens`,
 * `cost_usd`, `tool_name` on its `claude_code.*` log events). Undefined when none is present.
 */
export function liftGenAi(attributes: Json): GenAiFields | undefined {
  const a = attributes;
  const requestModel = text(a['gen_ai.request.model']);
  const responseModel = text(a['gen_ai.response.model']);
  const fields: GenAiFields = {
    system: first(text(a['gen_ai.system']), text(a['gen_ai.provider.name'])),
    operation: text(a['gen_ai.operation.name']),
    model: first(responseModel, requestModel, text(a['model'])),
    request_model: requestModel,
    response_model: responseModel,
    input_tokens: first(
      num(a['gen_ai.usage.input_tokens']),
      num(a['gen_ai.usage.prompt_tokens']),
      num(a['input_tokens']),
    ),
    output_tokens: first(
      num(a['gen_ai.usage.output_tokens']),
      num(a['gen_ai.usage.completion_tokens']),
      num(a['output_tokens']),
    ),
    cache_read_tokens: first(num(a['gen_ai.usage.cache_read_input_tokens']), num(a['cache_read_tokens'])),
    cache_creation_tokens: first(num(a['gen_ai.usage.cache_creation_input_tokens']), num(a['cache_creation_tokens'])),
    cost_usd: first(num(a['gen_ai.usage.cost']), num(a['cost_usd'])),
    tool_name: first(text(a['gen_ai.tool.name']), text(a['tool_name'])),
  };
  const present = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return Object.keys(present).length === 0 ? undefined : present;
}

const sessionId = (attributes: Json, resource: Json): string | undefined =>
  first(
    text(attributes['session.id']),
    text(attributes['gen_ai.conversation.id']),
    text(resource['session.id']),
    text(resource['gen_ai.conversation.id']),
  );

// ---------------------------------------------------------------------------------------
// The 64 KiB bound

/** How many changed fields `truncated` names one by one. */
const NAMED_DROPS = 100;
/** Longest attribute string kept once an event is over the bound. */
const CLIPPED_STRING = 1024;

const byteSize = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * Keeps an event within MAX_EVENT_BYTES by shortening what producers make large
 * (attribute values, the log body, span events), naming what was changed in `truncated`.
 * Returns undefined if even the skeleton does not fit.
 */
export function bound(draft: EventDraft): EventDraft | undefined {
  // Leave room for the envelope the bus adds (type, sequence number, timestamp).
  const limit = MAX_EVENT_BYTES - 512;
  if (byteSize(draft) <= limit) return draft;
  const data = { ...draft.data };
  const truncated: string[] = [];
  const shorten = (holder: 'attributes' | 'resource') => {
    const record = { ...(data[holder] as Json) };
    for (const [key, value] of Object.entries(record)) {
      const size = byteSize(value);
      if (size > CLIPPED_STRING) {
        record[key] = typeof value === 'string' ? `${value.slice(0, CLIPPED_STRING)}…` : `[${size} bytes dropped]`;
        truncated.push(`${holder}.${key}`);
      }
    }
    data[holder] = record;
  };
  if (data.events !== undefined) {
    delete data.events;
    truncated.push('events');
  }
  if (data.body !== undefined && byteSize(data.body) > CLIPPED_STRING * 8) {
    const body = typeof data.body === 'string' ? data.body : JSON.stringify(data.body);
    data.body = `${body.slice(0, CLIPPED_STRING * 8)}…`;
    truncated.push('body');
  }
  shorten('attributes');
  shorten('resource');
  // Still too large (thousands of small attributes): drop attributes, largest first.
  // Sizes are measured once and subtracted (a key, its value, a colon and a comma), so
  // thousands of attributes cost one pass, not one serialisation each.
  let excess = byteSize({ ...draft, data: { ...data, truncated } }) - limit + 32;
  let unnamed = 0;
  for (const holder of ['attributes', 'resource'] as const) {
    const entries = Object.entries(data[holder] as Json)
      .map(([key, value]) => ({ key, value, size: byteSize(key) + byteSize(value) + 2 }))
      .sort((a, b) => a.size - b.size);
    while (excess > 0 && entries.length > 0) {
      const dropped = entries.pop()!;
      const name = `${holder}.${dropped.key}`;
      // Past NAMED_DROPS the names would cost as much as what they replace: only counted.
      if (truncated.length < NAMED_DROPS) {
        truncated.push(name);
        excess += byteSize(name) + 1;
      } else unnamed += 1;
      excess -= dropped.size;
    }
    data[holder] = Object.fromEntries(entries.map((entry) => [entry.key, entry.value]));
  }
  if (unnamed > 0) truncated.push(`… and ${unnamed} more attributes dropped`);
  const result = { type: draft.type, data: { ...data, truncated } };
  return byteSize(result) <= limit ? result : undefined;
}

// ---------------------------------------------------------------------------------------
// Signals

interface Collector {
  events: EventDraft[];
  rejected: number;
  reasons: Map<string, number>;
  truncated: number;
}

function accept(collector: Collector, draft: EventDraft): void {
  const bounded = bound(draft);
  if (bounded === undefined) return reject(collector, `larger than ${MAX_EVENT_BYTES} bytes even when shortened`);
  const result = validateEventInput(bounded);
  if (!result.ok) {
    const issue = result.issues[0]!;
    return reject(collector, `${issue.path}: ${issue.message}`);
  }
  if (bounded !== draft) collector.truncated += 1;
  collector.events.push(result.event);
}

function reject(collector: Collector, reason: string): void {
  collector.rejected += 1;
  collector.reasons.set(reason, (collector.reasons.get(reason) ?? 0) + 1);
}

interface ResourceContext {
  resource: Json;
  serviceName: string | undefined;
}

function resourceOf(entry: Json): ResourceContext {
  const resource = keyValues((entry.resource as Json | undefined)?.attributes);
  return { resource, serviceName: text(resource['service.name']) };
}

function scopeOf(entry: Json): { name?: string; version?: string } | undefined {
  const scope = entry.scope;
  if (!isObject(scope)) return undefined;
  const out = { name: text(scope.name), version: text(scope.version) };
  return out.name === undefined && out.version === undefined ? undefined : out;
}

/** Drops undefined fields, so a producer's silence stays silence in the stored JSON. */
const compact = (data: Json): Json => Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));

/** What every span and log record carries about where it came from, and its lifted GenAI fields. */
function where(attributes: Json, context: ResourceContext, scope: ReturnType<typeof scopeOf>): Json {
  return {
    attributes,
    resource: context.resource,
    scope,
    service_name: context.serviceName,
    session_id: sessionId(attributes, context.resource),
    gen_ai: liftGenAi(attributes),
  };
}

function spanData(span: Json, context: ResourceContext, scope: ReturnType<typeof scopeOf>): Json | string {
  const traceId = hexId(span.traceId, 32);
  const spanId = hexId(span.spanId, 16);
  if (traceId === undefined) return 'traceId: a span needs a 32-digit hexadecimal trace id';
  if (spanId === undefined) return 'spanId: a span needs a 16-digit hexadecimal span id';
  const start = nanos(span.startTimeUnixNano);
  const end = nanos(span.endTimeUnixNano);
  if (start === undefined || end === undefined) return 'startTimeUnixNano/endTimeUnixNano: a span needs both times';
  const attributes = keyValues(span.attributes);
  const status = isObject(span.status) ? span.status : {};
  const statusCode = SPAN_STATUS_CODES[enumIndex(status.code, SPAN_STATUS_CODES, 'status_code_')] ?? 'unset';
  const events = list(span.events)
    .filter(isObject)
    .slice(0, 128)
    .map((event) => {
      const time = nanos(event.timeUnixNano);
      return compact({
        name: str(event.name) ?? '',
        time: time === undefined ? undefined : isoFromNanos(time),
        attributes: keyValues(event.attributes),
      });
    });
  return compact({
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: hexId(span.parentSpanId, 16) ?? null,
    name: (str(span.name) ?? '').slice(0, 1024),
    kind: SPAN_KINDS[enumIndex(span.kind, SPAN_KINDS, 'span_kind_')] ?? 'unspecified',
    start_time: isoFromNanos(start),
    end_time: isoFromNanos(end),
    duration_ms: end > start ? Number(end - start) / 1e6 : 0,
    status: compact({ code: statusCode, message: text(status.message) }),
    ...where(attributes, context, scope),
    events: events.length === 0 ? undefined : events,
  });
}

const SEVERITY_TEXT_MAX = 64;

function logData(record: Json, context: ResourceContext, scope: ReturnType<typeof scopeOf>): Json | string {
  const time = nanos(record.timeUnixNano) || nanos(record.observedTimeUnixNano);
  const attributes = keyValues(record.attributes);
  const severity = typeof record.severityNumber === 'number' ? record.severityNumber : undefined;
  return compact({
    // A record without either time is still an observation: it happened about now.
    time: time ? isoFromNanos(time) : new Date().toISOString(),
    severity_number: severity !== undefined && severity >= 0 && severity <= 24 ? severity : undefined,
    severity_text: text(record.severityText)?.slice(0, SEVERITY_TEXT_MAX),
    body: record.body === undefined ? undefined : anyValue(record.body),
    event_name: first(text(record.eventName), text(attributes['event.name'])),
    trace_id: hexId(record.traceId, 32),
    span_id: hexId(record.spanId, 16),
    ...where(attributes, context, scope),
  });
}

const METRIC_TYPES = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** One OTLP signal that maps item by item: where its items sit, and how one becomes event data. */
interface ItemSignal {
  resources: string;
  scopes: string;
  items: string;
  /** Said when an item is not an object. */
  what: string;
  type: 'otel.span' | 'otel.log';
  toData: (item: Json, context: ResourceContext, scope: ReturnType<typeof scopeOf>) => Json | string;
}

const SPANS: ItemSignal = {
  resources: 'resourceSpans',
  scopes: 'scopeSpans',
  items: 'spans',
  what: 'a span is an object',
  type: 'otel.span',
  toData: spanData,
};
const LOGS: ItemSignal = {
  resources: 'resourceLogs',
  scopes: 'scopeLogs',
  items: 'logRecords',
  what: 'a log record is an object',
  type: 'otel.log',
  toData: logData,
};

/** Resource → scope → item, each item one event (or one rejection, counted for partial success). */
function mapItems(signal: ItemSignal, request: Json, collector: Collector): void {
  for (const entry of list(request[signal.resources]).filter(isObject)) {
    const context = resourceOf(entry);
    for (const scoped of list(entry[signal.scopes]).filter(isObject)) {
      const scope = scopeOf(scoped);
      for (const item of list(scoped[signal.items])) {
        if (!isObject(item)) {
          reject(collector, signal.what);
          continue;
        }
        const data = signal.toData(item, context, scope);
        if (typeof data === 'string') reject(collector, data);
        else accept(collector, { type: signal.type, data });
      }
    }
  }
}

const mapTraces = (request: Json, collector: Collector): void => mapItems(SPANS, request, collector);
const mapLogs = (request: Json, collector: Collector): void => mapItems(LOGS, request, collector);

/** Metrics are kept as one summary per resource: which metrics, of what kind, how many points. */
function mapMetrics(request: Json, collector: Collector): void {
  for (const entry of list(request.resourceMetrics).filter(isObject)) {
    const context = resourceOf(entry);
    const metrics: Json[] = [];
    let points = 0;
    for (const scopeMetrics of list(entry.scopeMetrics).filter(isObject)) {
      for (const metric of list(scopeMetrics.metrics).filter(isObject)) {
        const kind = METRIC_TYPES.find((name) => isObject(metric[name]));
        const count = kind === undefined ? 0 : list((metric[kind] as Json).dataPoints).length;
        points += count;
        if (metrics.length < 1000) {
          metrics.push(
            compact({
              name: (str(metric.name) ?? '').slice(0, 1024),
              type: kind ?? 'unknown',
              unit: text(metric.unit)?.slice(0, 64),
              data_points: count,
            }),
          );
        }
      }
    }
    if (metrics.length === 0) continue;
    accept(collector, {
      type: 'otel.metrics',
      data: compact({ resource: context.resource, metrics, data_points: points, service_name: context.serviceName }),
    });
  }
}

const TOP_LEVEL: Record<Signal, string> = {
  traces: 'resourceSpans',
  logs: 'resourceLogs',
  metrics: 'resourceMetrics',
};

/** Maps one decoded request; a body that is not an Export*ServiceRequest at all is a 400. */
export function mapRequest(signal: Signal, request: unknown): MappedBatch {
  const field = TOP_LEVEL[signal];
  if (!isObject(request) || (request[field] !== undefined && !Array.isArray(request[field]))) {
    throw new LookoutError('invalid_input', `the body is not an OTLP ${signal} request: expected {"${field}": [...]}`);
  }
  const collector: Collector = { events: [], rejected: 0, reasons: new Map(), truncated: 0 };
  if (signal === 'traces') mapTraces(request, collector);
  else if (signal === 'logs') mapLogs(request, collector);
  else mapMetrics(request, collector);
  const notes = [...collector.reasons].map(([reason, count]) => `${count} rejected: ${reason}`);
  if (collector.truncated > 0) {
    notes.push(
      `${collector.truncated} shortened to fit ${MAX_EVENT_BYTES / 1024} KiB (see data.truncated on each event)`,
    );
  }
  return { events: collector.events, rejected: collector.rejected, notes };
}

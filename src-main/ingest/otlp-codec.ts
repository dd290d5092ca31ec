import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type protobuf from 'protobufjs';
import { LookoutError } from '../errors.ts';

/**
 * OTLP's two encodings, read into one shape: the OTLP/JSON form (lowerCamelCase names,
 * trace and span ids as hex, 64-bit integers as decimal strings, bytes as base64). JSON
 * requests arrive in it already; protobuf requests are decoded by protobufjs from the
 * OpenTelemetry project's own .proto files (proto/ at the package root) and converted.
 */

export type Signal = 'traces' | 'logs' | 'metrics';
export type Encoding = 'json' | 'protobuf';

const MESSAGES: Record<Signal, { request: string; response: string; rejected: string }> = {
  traces: {
    request: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
    response: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
    rejected: 'rejectedSpans',
  },
  logs: {
    request: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
    response: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse',
    rejected: 'rejectedLogRecords',
  },
  metrics: {
    request: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
    response: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
    rejected: 'rejectedDataPoints',
  },
};

const PROTO_FILES = [
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  'google/rpc/status.proto',
];

/** proto/ in the package root: the nearest folder above this file that has it (src-main/ or dist/src-main/). */
function protoDir(): string {
  let dir = import.meta.dirname;
  for (;;) {
    const candidate = path.join(dir, 'proto');
    if (fs.existsSync(path.join(candidate, 'opentelemetry'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`the OTLP .proto files were not found above ${import.meta.dirname}`);
    dir = parent;
  }
}

/**
 * protobufjs (and its long.js) is required at the first protobuf use, not at start: an idle
 * server, or one fed only OTLP/JSON, never loads it (issue 19, docs/benchmarks.md "Idle memory").
 * A synchronous require keeps the codec synchronous for the error replies that need it.
 */
let library: typeof protobuf | undefined;
const protobufjs = (): typeof protobuf => (library ??= createRequire(import.meta.url)('protobufjs') as typeof protobuf);

let root: protobuf.Root | undefined;

/** Parsed once, at the first use: a server that never sees protobuf never pays for it. */
function protoRoot(): protobuf.Root {
  if (root) return root;
  const dir = protoDir();
  const loaded = new (protobufjs().Root)();
  loaded.resolvePath = (_origin, target) => path.join(dir, target);
  loaded.loadSync(PROTO_FILES);
  loaded.resolveAll();
  root = loaded;
  return root;
}

const type = (name: string): protobuf.Type => protoRoot().lookupType(name);

// ---------------------------------------------------------------------------------------
// Requests

/** Fields holding ids, which OTLP/JSON writes as hex where protobuf's JSON mapping says base64. */
const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** Turns protobufjs' plain object (ids as base64) into the OTLP/JSON form (ids as hex), in place. */
function idsToHex(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) idsToHex(item);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const [key, field] of Object.entries(record)) {
    if (ID_FIELDS.has(key) && typeof field === 'string') record[key] = Buffer.from(field, 'base64').toString('hex');
    else if (key !== 'attributes' && key !== 'body') idsToHex(field);
  }
}

/** The inverse of idsToHex, on a copy: for encoding an OTLP/JSON request as protobuf. */
function idsToBase64(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(idsToBase64);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      key,
      ID_FIELDS.has(key) && typeof field === 'string'
        ? Buffer.from(field, 'hex').toString('base64')
        : idsToBase64(field),
    ]),
  );
}

/** Encodes an OTLP/JSON-form request as protobuf (benchmarks and clients of our own). */
export function encodeProtobufRequest(signal: Signal, request: Record<string, unknown>): Uint8Array {
  const requestType = type(MESSAGES[signal].request);
  return requestType.encode(requestType.fromObject(idsToBase64(request) as Record<string, unknown>)).finish();
}

/** Decodes a protobuf Export*ServiceRequest; a body that is not one is a 400. */
export function decodeProtobuf(signal: Signal, body: Buffer): Record<string, unknown> {
  const requestType = type(MESSAGES[signal].request);
  let message: protobuf.Message;
  try {
    message = requestType.decode(body);
  } catch (error) {
    throw new LookoutError(
      'invalid_input',
      `the body is not a protobuf ${requestType.name} (${(error as Error).message})`,
    );
  }
  try {
    const object = requestType.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false });
    idsToHex(object);
    return object;
  } catch (error) {
    // AnyValues nested thousands deep decode, then overflow any recursive walk.
    if (error instanceof RangeError) throw new LookoutError('invalid_input', 'the request nests values too deep');
    throw error;
  }
}

// ---------------------------------------------------------------------------------------
// Responses

/** What the receiver tells the exporter: how many items it refused and why (OTLP "partial success"). */
export interface ExportResult {
  rejected: number;
  /** Empty when everything was accepted as sent; otherwise why some were refused or changed. */
  message: string;
}

export interface EncodedBody {
  contentType: string;
  body: Buffer | string;
}

/**
 * An Export*ServiceResponse in the request's encoding. `partial_success` is left unset
 * when everything was accepted as sent, as the specification asks; it carries a warning
 * with zero rejected when something was accepted but shortened.
 */
export function encodeResponse(signal: Signal, encoding: Encoding, result: ExportResult): EncodedBody {
  const { response, rejected } = MESSAGES[signal];
  const partial =
    result.rejected > 0 || result.message !== ''
      ? { partialSuccess: { [rejected]: result.rejected, errorMessage: result.message } }
      : {};
  if (encoding === 'json') {
    // proto3's JSON mapping writes int64 as a decimal string.
    const json =
      'partialSuccess' in partial
        ? { partialSuccess: { [rejected]: String(result.rejected), errorMessage: result.message } }
        : {};
    return { contentType: 'application/json', body: JSON.stringify(json) };
  }
  const responseType = type(response);
  return {
    contentType: 'application/x-protobuf',
    body: Buffer.from(responseType.encode(responseType.fromObject(partial)).finish()),
  };
}

/**
 * A failure as OTLP/HTTP answers it: a google.rpc.Status in the request's encoding. The
 * JSON form also carries Lookout's own error body under `error` (OTLP clients ignore
 * fields they do not know), so every client of this server reads errors one way.
 */
export function encodeStatus(encoding: Encoding, grpcCode: number, error: LookoutError): EncodedBody {
  if (encoding === 'json') {
    return {
      contentType: 'application/json',
      body: JSON.stringify({ code: grpcCode, message: error.message, ...error.toBody() }),
    };
  }
  const status = type('google.rpc.Status');
  return {
    contentType: 'application/x-protobuf',
    body: Buffer.from(status.encode(status.fromObject({ code: grpcCode, message: error.message })).finish()),
  };
}

/** Decodes a google.rpc.Status (for tests and clients of our own). */
export function decodeStatus(body: Uint8Array): { code: number; message: string } {
  const status = type('google.rpc.Status');
  return status.toObject(status.decode(body), { defaults: true }) as { code: number; message: string };
}

/** Decodes an Export*ServiceResponse (for tests). */
export function decodeResponse(signal: Signal, body: Uint8Array): Record<string, unknown> {
  const responseType = type(MESSAGES[signal].response);
  return responseType.toObject(responseType.decode(body), { longs: Number, defaults: false });
}

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Context } from 'koa';
import { LookoutError } from '../errors.ts';
import { assertJsonTextDepth } from '../transport/json-depth.ts';
import type { EventBus } from '../events/bus.ts';
import {
  decodeProtobuf,
  type EncodedBody,
  type Encoding,
  encodeResponse,
  encodeStatus,
  type Signal,
} from './otlp-codec.ts';
import { mapRequest } from './otlp-map.ts';

/**
 * OTLP/HTTP (specification: "OTLP/HTTP"): a POST of an Export*ServiceRequest, protobuf
 * or JSON, possibly gzipped, answered with an Export*ServiceResponse in the same
 * encoding, or a google.rpc.Status for a failure.
 */

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/** The request's encoding from its Content-Type; anything else is a 415. */
export function encodingOf(ctx: Context): Encoding {
  if (ctx.is('application/x-protobuf', 'application/protobuf')) return 'protobuf';
  if (ctx.is('application/json')) return 'json';
  throw new LookoutError(
    'unsupported_media_type',
    `OTLP/HTTP takes application/x-protobuf or application/json (got ${ctx.get('content-type') || 'no Content-Type'})`,
  );
}

/** Encoding for an error reply: the request's when it has a known one, else JSON. */
export function replyEncodingOf(ctx: Context): Encoding {
  return ctx.is('application/x-protobuf', 'application/protobuf') ? 'protobuf' : 'json';
}

const tooLarge = (limit: number) =>
  new LookoutError(
    'payload_too_large',
    `the OTLP request is over ${limit} bytes once decompressed (LOOKOUT_OTLP_MAX_BODY_BYTES); export smaller batches`,
  );

async function readRaw(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The body, decompressed within the limit (a small gzip bomb is a 413, never an allocation of gigabytes). */
async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const raw = await readRaw(ctx, limit);
  const encoding = (ctx.get('content-encoding') || 'identity').trim().toLowerCase();
  if (encoding === 'identity') return raw;
  const decompress = encoding === 'gzip' || encoding === 'x-gzip' ? gunzip : encoding === 'deflate' ? inflate : null;
  if (decompress === null) {
    throw new LookoutError(
      'unsupported_media_type',
      `Content-Encoding ${encoding} is not supported: send gzip, deflate or no compression`,
    );
  }
  try {
    return await decompress(raw, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw new LookoutError('invalid_input', `the body is not valid ${encoding} data (${(error as Error).message})`);
  }
}

function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  // Before parsing: deep JSON parses, but every walk after it would overflow the stack.
  assertJsonTextDepth(text, 'body');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LookoutError('invalid_json', `the body is not valid JSON (${(error as Error).message})`);
  }
}

export interface ReceiverOptions {
  bus: EventBus;
  maxBodyBytes: number;
}

/** Handles one export; returns the reply (the route writes it). */
export async function receive(ctx: Context, signal: Signal, options: ReceiverOptions): Promise<EncodedBody> {
  const encoding = encodingOf(ctx);
  const body = await readBody(ctx, options.maxBodyBytes);
  const request = body.length === 0 ? {} : encoding === 'json' ? parseJson(body) : decodeProtobuf(signal, body);
  const mapped = mapRequest(signal, request);
  // One append for the whole request: a reader never sees half of an export.
  await options.bus.publishChecked(mapped.events);
  return encodeResponse(signal, encoding, { rejected: mapped.rejected, message: mapped.notes.join('; ') });
}

/** gRPC status codes for the Status body (OTLP says a receiver MAY omit it; clients log it). */
const GRPC_CODE: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  404: 12, // UNIMPLEMENTED
  405: 12,
  413: 8, // RESOURCE_EXHAUSTED
  415: 3,
  429: 8,
  503: 14, // UNAVAILABLE
};

/** A failure under /v1/ as OTLP answers it (the error handler calls this for those paths). */
export function renderOtlpError(ctx: Context, error: LookoutError): void {
  const reply = encodeStatus(replyEncodingOf(ctx), GRPC_CODE[error.status] ?? 13, error);
  ctx.type = reply.contentType;
  ctx.body = reply.body;
}

import { z } from 'zod';
import { EventEnvelope } from './events.ts';
import { SessionState } from './session.ts';

/**
 * The wire contract's constants and shapes (REST, WebSocket and SSE), shared by the
 * server, the dashboard and the CLI: a client never restates one of these by hand.
 */

/** Where the REST API lives; health, docs and the dashboard sit outside it. */
export const API_PREFIX = '/api/v1';
/** The WebSocket endpoint (the event stream). */
export const WS_PATH = '/ws';

/**
 * Header names as the contract spells them. HTTP names are case-insensitive; Node's
 * `req.headers` keys are lower case, so index it with `.toLowerCase()`.
 */
export const HEADERS = {
  /** The owner token, for programs (or `Authorization: Bearer`). */
  sessionToken: 'X-Session-Token',
  /** The lock holder's id: lets it write while everyone else is read-only. */
  lockId: 'X-Lock-Id',
  /** Echoed when sane, else minted; on every response and refused upgrade. */
  requestId: 'X-Request-Id',
  /** Where an SSE stream resumes (browsers send it on reconnect). */
  lastEventId: 'Last-Event-ID',
  /** The page's half of the refresh credential (the cookie is the other half). */
  refreshBinding: 'X-Refresh-Binding',
} as const;

/** Where the access routes live; the refresh cookie is sent nowhere else. */
export const AUTH_PATH = '/auth';
/** Cookies are not isolated by port, so the refresh cookie's name carries it: two servers never clash. */
export const refreshCookieName = (port: number): string => `lookout_refresh_${port}`;
/**
 * OTLP/HTTP's own paths (the OpenTelemetry specification's defaults, which exporters
 * append to OTEL_EXPORTER_OTLP_ENDPOINT), outside /api/v1 but behind the same token.
 */
export const OTLP_PREFIX = '/v1';
export const OTLP_PATHS = { traces: '/v1/traces', logs: '/v1/logs', metrics: '/v1/metrics' } as const;

/** The cookie's name as the API documents it. */
export const REFRESH_COOKIE_PATTERN = 'lookout_refresh_<port>';

/** Largest event accepted, in bytes of JSON (larger is 413). */
export const MAX_EVENT_BYTES = 64 * 1024;
/** Most events in one published batch (stored all or nothing). */
export const MAX_BATCH = 1000;
/** Most events one page of `GET /events` returns. */
export const MAX_HISTORY_PAGE = 1000;

/** `GET /status`: what `lookout status` shows. */
export const ServerStatus = z.object({
  url: z.string(),
  pid: z.number().int(),
  version: z.string(),
  workspace: z.string(),
  started_at: z.string(),
  uptime_s: z.number(),
  clients: z.object({ websocket: z.number().int(), sse: z.number().int() }),
  last_sequence_number: z.number().int(),
  epoch: z.string(),
  session: SessionState,
});
export type ServerStatus = z.infer<typeof ServerStatus>;

export const PublishResponse = z.object({
  events: z.array(z.object({ sequence_number: z.number().int(), timestamp: z.string() })),
});
export type PublishResponse = z.infer<typeof PublishResponse>;

export const EventsPage = z.object({
  events: z.array(EventEnvelope),
  last_sequence_number: z.number().int(),
  oldest_sequence_number: z.number().int(),
});
export type EventsPage = z.infer<typeof EventsPage>;

export const GapReason = z.enum(['retention', 'overflow', 'limit']);
export type GapReason = z.infer<typeof GapReason>;

// Server → client control messages: a one-word `type`, never a `sequence_number`.
/**
 * The handshake: everything a page needs for its first frame, as of the stream's
 * boundary (`last_sequence_number`): later changes arrive as events after it.
 */
export const ConnectedMessage = z.object({
  type: z.literal('connected'),
  client_id: z.string(),
  epoch: z.string(),
  /** Newest number stored when the stream began: the boundary between replay and live. */
  last_sequence_number: z.number().int(),
  /** Oldest number still stored then (last_sequence_number + 1 when nothing is). */
  oldest_sequence_number: z.number().int(),
  types: z.array(z.string()),
  /** The server's version, the workspace it serves, and who holds the lock. */
  version: z.string(),
  workspace: z.string(),
  session: SessionState,
});
export const SnapshotMessage = z.object({
  type: z.literal('snapshot'),
  state: z.unknown(),
  sequence_number_at: z.number().int(),
});
export const ReplayCompleteMessage = z.object({
  type: z.literal('replay_complete'),
  last_sequence_number: z.number().int(),
});
export const GapMessage = z.object({
  type: z.literal('gap'),
  from: z.number().int(),
  to: z.number().int(),
  reason: GapReason,
});
export const SubscribedMessage = z.object({ type: z.literal('subscribed'), types: z.array(z.string()) });
export const PongMessage = z.object({ type: z.literal('pong'), id: z.union([z.string(), z.number()]).optional() });
export const ErrorMessage = z.object({ type: z.literal('error'), code: z.string(), message: z.string() });

export const ControlMessage = z.discriminatedUnion('type', [
  ConnectedMessage,
  SnapshotMessage,
  ReplayCompleteMessage,
  GapMessage,
  SubscribedMessage,
  PongMessage,
  ErrorMessage,
]);
export type ControlMessage = z.infer<typeof ControlMessage>;
export type GapMessage = z.infer<typeof GapMessage>;
export type ConnectedMessage = z.infer<typeof ConnectedMessage>;

/** A server frame is an event (it has a sequence_number) or a control message. */
export type ServerMessage = EventEnvelope | ControlMessage;
export const isEventMessage = (message: ServerMessage): message is EventEnvelope =>
  typeof (message as { sequence_number?: unknown }).sequence_number === 'number';

// Client → server.
export const SubscribeRequest = z
  .object({ type: z.literal('subscribe'), types: z.array(z.string()).min(1).max(100) })
  .strict();
export const PingRequest = z
  .object({ type: z.literal('ping'), id: z.union([z.string().max(128), z.number()]).optional() })
  .strict();
export const ClientMessage = z.discriminatedUnion('type', [SubscribeRequest, PingRequest]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Largest client frame accepted (larger closes the connection with 1009). */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

/** WebSocket close codes used by the server. */
export const CLOSE_CODES = { goingAway: 1001, tooBig: 1009, policy: 1008, tryAgainLater: 1013 } as const;

/**
 * Deepest nesting of arrays and objects accepted anywhere JSON enters the server (request
 * bodies, event data and metadata, WebSocket frames, state sections): deeper input is a 400
 * `invalid_input` before anything is stored. `{}` is 1 level, `{"a":[1]}` is 2. Far beyond
 * what any real payload needs, and far below what the runtime's recursive JSON.stringify and
 * structuredClone can walk (a few thousand levels overflow the stack).
 */
export const MAX_JSON_DEPTH = 64;

import { z } from 'zod';
import { EventEnvelope } from './events.ts';

/** Wire shapes of the event API (REST pages, WebSocket and SSE), shared by every client. */

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
export const ConnectedMessage = z.object({
  type: z.literal('connected'),
  client_id: z.string(),
  epoch: z.string(),
  last_sequence_number: z.number().int(),
  types: z.array(z.string()),
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
export const CLOSE_CODES = { goingAway: 1001, tooBig: 1009, policy: 1008 } as const;

/**
 * Deepest nesting of arrays and objects accepted anywhere JSON enters the server (request
 * bodies, event data and metadata, WebSocket frames, state sections): deeper input is a 400
 * `invalid_input` before anything is stored. `{}` is 1 level, `{"a":[1]}` is 2. Far beyond
 * what any real payload needs, and far below what the runtime's recursive JSON.stringify and
 * structuredClone can walk (a few thousand levels overflow the stack).
 */
export const MAX_JSON_DEPTH = 64;

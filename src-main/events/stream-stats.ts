import type { GapReason } from './event-stream.ts';

/**
 * Running totals of the event core, kept as plain numbers where the work happens (a
 * field increment costs nothing on the hot path) and read by whoever reports them:
 * /metrics renders them, the domain never knows it is being measured.
 */
export class StreamStats {
  /** Events committed to the store and fanned out. */
  published = 0;
  /** Events handed to a client's transport (WebSocket frame or SSE message), replayed or live. */
  delivered = 0;
  /** Events dropped from a slow consumer's full queue. */
  dropped = 0;
  /** Gap notices handed to clients, by reason. */
  readonly gaps: Record<GapReason, number> = { retention: 0, overflow: 0, limit: 0 };
  /** The most events ever waiting in one subscriber's queue (its bound is the queue size). */
  queueHighWater = 0;
}

import { CLOSE_TOKEN_EXPIRED } from './access.ts';
import type { EventEnvelope } from './events.ts';
import {
  type ConnectedMessage,
  type ControlMessage,
  type GapMessage,
  isEventMessage,
  type ServerMessage,
} from './protocol.ts';

/** The part of a WebSocket the client needs: the browser's, Node's global one, or `ws`. */
export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'stopped';

export interface LiveStatus {
  state: LiveState;
  /** Consecutive failed attempts since the last successful connection. */
  attempt: number;
  /** When the next attempt happens (epoch ms), while reconnecting or offline. */
  retryAt: number | null;
  /** Why the last connection ended, if it did. */
  lastError: string | null;
}

export interface LiveClientOptions {
  /** ws:// or wss:// URL of /ws, without query; a function is asked again on every attempt. */
  url: string | (() => string);
  connect: (url: string) => WebSocketLike;
  /**
   * Extra query parameters for each attempt, e.g. a fresh single-use `ticket` (browsers
   * cannot set headers on a WebSocket). A rejection counts as a failed attempt.
   */
  query?: () => Promise<Record<string, string>>;
  types?: readonly string[];
  /** Resume after this number (e.g. persisted from an earlier run). */
  since?: number;
  /**
   * With no resume point (the first connection, or after the store was recreated):
   * start with the newest `tail` events, then live ones. Reconnects resume after the
   * last event delivered instead, so nothing is shown twice.
   */
  tail?: number;
  /** The epoch `since` belongs to; a different server epoch discards it. */
  epoch?: string;
  onEvent: (event: EventEnvelope) => void;
  onGap?: (gap: GapMessage) => void;
  onControl?: (message: ControlMessage) => void;
  onStatus?: (status: LiveStatus) => void;
  /** The store was recreated: numbers restart, anything held from the old epoch is stale. */
  onEpochChange?: (previous: string, next: string) => void;
  backoff?: { initialMs?: number; maxMs?: number; factor?: number; jitter?: number };
  /** Attempts shown as `reconnecting` before the state reads `offline`. */
  offlineAfter?: number;
  /** Client-side liveness: a ping every interval, the connection dropped if nothing arrives in timeout. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  random?: () => number;
}

const OPEN = 1;

/**
 * A resuming live client for /ws, shared by the dashboard and the CLI. It reconnects
 * with exponential backoff and jitter, resumes after the last sequence number it
 * delivered (so a reconnect never duplicates or skips silently), checks the epoch, and
 * surfaces gaps the server reports.
 */
export class LiveClient {
  #o: LiveClientOptions;
  #socket: WebSocketLike | undefined;
  #last: number | undefined;
  #epoch: string | undefined;
  #types: readonly string[];
  #status: LiveStatus = { state: 'connecting', attempt: 0, retryAt: null, lastError: null };
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  #stopped = true;
  /** This connection asked for a tail: its boundary, once `connected` named it. */
  #tailBoundary: number | undefined;

  constructor(options: LiveClientOptions) {
    this.#o = options;
    this.#last = options.since;
    this.#epoch = options.epoch;
    this.#types = options.types ?? ['*'];
  }

  get status(): LiveStatus {
    return this.#status;
  }

  /** Last sequence number delivered to onEvent (the resume point). */
  get lastSequenceNumber(): number | undefined {
    return this.#last;
  }

  get epoch(): string | undefined {
    return this.#epoch;
  }

  /** The current connection is sending the tail it asked for (until `replay_complete`). */
  get inTail(): boolean {
    return this.#tailBoundary !== undefined;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#open();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000, 'client stopped');
    this.#setStatus({ state: 'stopped', retryAt: null });
  }

  /** Replaces the filter now and for every reconnect. */
  subscribe(types: readonly string[]): void {
    this.#types = types;
    if (this.#socket?.readyState === OPEN) this.#socket.send(JSON.stringify({ type: 'subscribe', types }));
  }

  /** Connect now instead of waiting for the backoff timer. */
  retryNow(): void {
    if (this.#stopped || this.#opening || this.#status.state === 'live' || this.#status.state === 'connecting') return;
    clearTimeout(this.#retryTimer);
    this.#open();
  }

  #setStatus(patch: Partial<LiveStatus>): void {
    this.#status = { ...this.#status, ...patch };
    this.#o.onStatus?.(this.#status);
  }

  #url(extra: Record<string, string>): string {
    const query = [`types=${encodeURIComponent(this.#types.join(','))}`];
    if (this.#last !== undefined) query.push(`since=${this.#last}`);
    else if (this.#o.tail !== undefined) query.push(`tail=${this.#o.tail}`);
    for (const [name, value] of Object.entries(extra)) query.push(`${name}=${encodeURIComponent(value)}`);
    const base = typeof this.#o.url === 'function' ? this.#o.url() : this.#o.url;
    return `${base}?${query.join('&')}`;
  }

  #opening = false;

  #open(): void {
    if (this.#stopped || this.#opening) return;
    this.#tailBoundary = undefined;
    if (this.#status.attempt === 0) this.#setStatus({ state: 'connecting', retryAt: null });
    if (!this.#o.query) return this.#connect({});
    this.#opening = true;
    this.#o.query().then(
      (extra) => {
        this.#opening = false;
        if (!this.#stopped) this.#connect(extra);
      },
      (error: unknown) => {
        this.#opening = false;
        this.#scheduleRetry(error instanceof Error ? error.message : String(error));
      },
    );
  }

  #connect(extra: Record<string, string>): void {
    let socket: WebSocketLike;
    try {
      socket = this.#o.connect(this.#url(extra));
    } catch (error) {
      this.#scheduleRetry(String(error));
      return;
    }
    this.#socket = socket;
    socket.onmessage = (message) => this.#onMessage(socket, message.data);
    socket.onerror = () => undefined; // onclose follows and carries the outcome
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      clearInterval(this.#pingTimer);
      // The stream outlived its access token (see docs/protocol.md): reconnect at once
      // with a fresh credential, resuming after the last event; not a failure.
      if (event.code === CLOSE_TOKEN_EXPIRED && this.#status.state === 'live') {
        this.#status = { ...this.#status, attempt: 0 };
        this.#open();
        return;
      }
      this.#scheduleRetry(event.reason || `closed (${event.code})`);
    };
  }

  #scheduleRetry(reason: string): void {
    if (this.#stopped) return;
    const attempt = this.#status.attempt + 1;
    const { initialMs = 500, maxMs = 15_000, factor = 2, jitter = 0.3 } = this.#o.backoff ?? {};
    const base = Math.min(maxMs, initialMs * factor ** (attempt - 1));
    const delay = Math.round(base * (1 - jitter + 2 * jitter * (this.#o.random ?? Math.random)()));
    const state: LiveState = attempt > (this.#o.offlineAfter ?? 3) ? 'offline' : 'reconnecting';
    this.#setStatus({ state, attempt, retryAt: Date.now() + delay, lastError: reason });
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  #startPinging(socket: WebSocketLike): void {
    const interval = this.#o.pingIntervalMs ?? 20_000;
    const timeout = this.#o.pingTimeoutMs ?? 5_000;
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      if (Date.now() - this.#lastHeard > interval + timeout) {
        // Nothing at all (not even our pong) for too long: the link is dead.
        socket.close(4000, 'no answer to ping');
        socket.onclose?.({ code: 4000, reason: 'no answer to ping' });
        return;
      }
      if (socket.readyState === OPEN) socket.send(JSON.stringify({ type: 'ping' }));
    }, interval);
  }

  #onMessage(socket: WebSocketLike, raw: unknown): void {
    this.#lastHeard = Date.now();
    let message: ServerMessage;
    try {
      message = JSON.parse(String(raw)) as ServerMessage;
    } catch {
      return;
    }
    if (isEventMessage(message)) {
      // A reconnect resumes after #last, so this only guards against a misbehaving peer.
      if (this.#last !== undefined && message.sequence_number <= this.#last) return;
      this.#last = message.sequence_number;
      this.#o.onEvent(message);
      return;
    }
    const control = message;
    if (control.type === 'connected') this.#onConnected(socket, control);
    else if (control.type === 'gap') this.#o.onGap?.(control);
    else if (control.type === 'replay_complete' && this.#tailBoundary !== undefined) {
      // Everything matching up to the boundary that the tail covers has arrived; what
      // is older was not asked for. A reconnect from here resumes exactly at the seam.
      this.#last = Math.max(this.#last ?? 0, this.#tailBoundary);
      this.#tailBoundary = undefined;
    }
    this.#o.onControl?.(control);
  }

  #onConnected(socket: WebSocketLike, message: ConnectedMessage): void {
    const previous = this.#epoch;
    this.#epoch = message.epoch;
    if (previous !== undefined && previous !== message.epoch) {
      // Our `since` counted another history: start over from the beginning of this one.
      this.#o.onEpochChange?.(previous, message.epoch);
      this.#socket = undefined;
      socket.onclose = null;
      socket.close(1000, 'epoch changed');
      this.#status = { ...this.#status, attempt: 0 };
      // A client that asked for a tail gets the tail of the new history; others all of it.
      this.#last = this.#o.tail === undefined ? 0 : undefined;
      this.#tailBoundary = undefined;
      this.#open();
      return;
    }
    if (this.#last === undefined) {
      // Without a resume point the stream starts at the boundary (or, with a tail, just
      // before it): a reconnect before the first event must still resume from there.
      if (this.#o.tail !== undefined && this.#o.tail > 0) this.#tailBoundary = message.last_sequence_number;
      else this.#last = message.last_sequence_number;
    }
    this.#setStatus({ state: 'live', attempt: 0, retryAt: null, lastError: null });
    this.#startPinging(socket);
  }
}

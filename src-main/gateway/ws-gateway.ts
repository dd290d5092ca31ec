import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { fieldIssues } from '../../src-shared/errors.ts';
import { parsePatterns } from '../../src-shared/events.ts';
import {
  ClientMessage,
  CLOSE_CODES,
  type ControlMessage,
  HEADERS,
  MAX_CLIENT_FRAME_BYTES,
  WS_PATH,
} from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { StoredEvent } from '../events/event-log.ts';
import { EventStream } from '../events/event-stream.ts';
import type { Logger } from '../logger.ts';
import type { RefusalCounter } from '../transport/refusal-counter.ts';
import { CLOSE_REVOKED, CLOSE_TOKEN_EXPIRED } from '../../src-shared/access.ts';
import { foreignOrigin } from '../transport/origin.ts';
import type { AuthPrincipal } from '../transport/principal.ts';
import { assertJsonTextDepth } from '../transport/json-depth.ts';
import { writeRawError } from '../transport/raw-response.ts';
import { loggablePath } from '../transport/loggable-path.ts';
import { acceptableRequestId } from '../transport/request-id.ts';
import {
  connectedMessage,
  controlJson,
  parseStreamParams,
  type ServerHello,
  type StreamParams,
} from './stream-params.ts';
import { eventFrame, textFrame } from './text-frame.ts';
import { OutgoingFrames } from './write-coalescing.ts';

/** Close codes that usually come without a reason, in words for the log. */
const CLOSE_REASONS = new Map<number, string>([
  [1000, 'normal closure'],
  [1001, 'going away'],
  [1005, 'no status'],
  [1006, 'connection lost (no close frame)'],
  [CLOSE_CODES.tooBig, 'message too big'],
  [CLOSE_CODES.tryAgainLater, 'history unavailable'],
]);

/** Stop pulling from a client's queue while this much is unsent on its socket. */
const HIGH_WATER_BYTES = 512 * 1024;
/**
 * Everything queued for one client counts: events stop at HIGH_WATER_BYTES, and a
 * control frame (pong, error, subscribed) that finds more than this unsent closes the
 * client (1008) instead of growing its buffer. A client that sends pings and never reads
 * cost the server 2 GB before.
 */
const MAX_UNSENT_BYTES = 2 * HIGH_WATER_BYTES;
/** After closing a client over its limit, how long the close handshake may take (it is not reading). */
const OVERFLOW_TERMINATE_MS = 1000;

export interface GatewayOptions {
  bus: EventBus;
  logger: Logger;
  /** The route policy, applied to the upgrade request: the principal, or a typed refusal. */
  authorize: (req: http.IncomingMessage) => Promise<AuthPrincipal | null>;
  /** Upgrades refused for their Host are counted here, never logged one by one. */
  hostRefusals?: RefusalCounter;
  maxClients: number;
  queueSize: number;
  replayLimit: number;
  heartbeatMs: number;
  getAllowedHosts: () => Set<string>;
  getAllowedOrigins: () => Set<string>;
  getSnapshot: () => unknown;
  /** Server facts for the `connected` message (version, workspace, session as of now). */
  getHello: () => ServerHello;
}

interface Client {
  id: string;
  ws: WebSocket;
  /** This tick's frames for the client, written to its socket as one buffer (write-coalescing.ts). */
  out: OutgoingFrames;
  stream: EventStream;
  alive: boolean;
  /** The payload of our last ping: only a pong echoing it proves the client alive. */
  pingPayload: Buffer | undefined;
  waitingForDrain: boolean;
  overflowed: boolean;
  /** Why `ws` gave up on the connection (a frame it refused), for the disconnect log. */
  failure?: string;
  principal: AuthPrincipal | null;
  expiry: NodeJS.Timeout | undefined;
}

/** Bytes made for the client and not yet read by the kernel: ws's buffer and the socket's, plus the batch's. */
function unsent(client: Client): number {
  return client.ws.bufferedAmount + client.out.bytes;
}

/** The request id of each upgrade, for the refusal or the 101 that answers it. */
const UPGRADE_REQUEST_IDS = new WeakMap<http.IncomingMessage, string>();

/**
 * The WebSocket side of the bus on `/ws`. Every refusal (path, Host, Origin, token,
 * client limit, bad query) is decided on the HTTP upgrade request, before a handshake.
 * Each client pulls from its own EventStream only while its socket drains, so a slow
 * reader costs at most its bounded queue plus HIGH_WATER_BYTES.
 */
export class WsGateway {
  #options: GatewayOptions;
  #wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    // Also what lets events go out as shared pre-built frames (#sendEvent): with
    // compression, ws would queue its own frames and ours could overtake them.
    perMessageDeflate: false,
    clientTracking: false,
  });
  #clients = new Map<string, Client>();
  #sweep: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: GatewayOptions) {
    this.#options = options;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Per-client figures, for `lookout status` and tests. */
  stats(): { client_id: string; queued: number; dropped: number; buffered_bytes: number }[] {
    return [...this.#clients.values()].map((c) => ({
      client_id: c.id,
      queued: c.stream.queued,
      dropped: c.stream.dropped,
      buffered_bytes: unsent(c),
    }));
  }

  attach(server: http.Server): void {
    // The 101 carries the request id like every other response.
    this.#wss.on('headers', (headers, req) =>
      headers.push(`${HEADERS.requestId}: ${UPGRADE_REQUEST_IDS.get(req) ?? randomUUID()}`),
    );
    server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    // One timer for all clients: a client that has not answered the previous ping by
    // the next sweep is gone (half-open TCP, sleeping laptop) and is terminated.
    this.#sweep = setInterval(() => this.#heartbeat(), this.#options.heartbeatMs);
    this.#sweep.unref();
  }

  /**
   * Every upgrade gets a client id at once, so a refusal in the log and the connection
   * it would have become are named the same way.
   */
  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const requestId = acceptableRequestId(req.headers[HEADERS.requestId.toLowerCase()]) ?? randomUUID();
    const clientId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const o = this.#options;
    UPGRADE_REQUEST_IDS.set(req, requestId);
    const refuse = (error: LookoutError, headers: Record<string, string> = {}, log = true) => {
      if (log)
        o.logger.warn(
          {
            client_id: clientId,
            request_id: requestId,
            remote: req.socket.remoteAddress,
            status: error.status,
            code: error.code,
            reason: error.message,
          },
          'websocket upgrade refused',
        );
      writeRawError(socket, error, requestId, headers);
    };
    if (url.pathname !== WS_PATH) {
      // The path is the client's: percent-encoded and capped, like in the access log.
      return refuse(new LookoutError('not_found', `no WebSocket endpoint at ${loggablePath(url.pathname)}; use /ws`));
    }
    if (this.#closing) {
      return refuse(new LookoutError('unavailable', 'the server is shutting down'), {
        'Retry-After': '2',
      });
    }
    if (!o.getAllowedHosts().has((req.headers.host ?? '').toLowerCase())) {
      // Counted, never logged one by one: a rebinding page in a loop must not fill the log.
      o.hostRefusals?.note();
      return refuse(
        new LookoutError(
          'forbidden_host',
          `Host ${JSON.stringify((req.headers.host ?? '').slice(0, 100))} is not allowed`,
        ),
        {},
        o.hostRefusals === undefined,
      );
    }
    const foreign = foreignOrigin(req, o.getAllowedOrigins());
    if (foreign) return refuse(foreign);
    // Authentication is asynchronous (JWT verification); the socket waits for it, paused
    // so no early frame is read before ws takes the socket over.
    socket.pause();
    o.authorize(req).then(
      (principal) => {
        if (socket.destroyed) return;
        if (this.#closing)
          return refuse(new LookoutError('unavailable', 'the server is shutting down'), { 'Retry-After': '2' });
        this.#accept(req, socket, head, url, clientId, refuse, principal);
      },
      (error: unknown) => {
        if (!(error instanceof LookoutError)) {
          o.logger.error({ err: error }, 'websocket authorization failed');
          return refuse(new LookoutError('internal', 'internal error'));
        }
        refuse(error, { ...error.headers });
      },
    );
  }

  #accept(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    clientId: string,
    refuse: (error: LookoutError, headers?: Record<string, string>) => void,
    principal: AuthPrincipal | null,
  ): void {
    const o = this.#options;
    if (this.#clients.size >= o.maxClients) {
      return refuse(new LookoutError('unavailable', `too many clients (limit ${o.maxClients}, LOOKOUT_MAX_CLIENTS)`), {
        'Retry-After': '5',
      });
    }
    let params: StreamParams;
    try {
      params = parseStreamParams(url.searchParams);
    } catch (error) {
      return refuse(error as LookoutError);
    }
    // Resumed in the same tick as ws attaches its reader, so no frame is missed.
    socket.resume();
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, socket, clientId, params, principal));
  }

  #onConnection(
    ws: WebSocket,
    socket: Duplex,
    id: string,
    params: StreamParams,
    principal: AuthPrincipal | null,
  ): void {
    const o = this.#options;
    const connectedAt = Date.now();
    const client: Client = {
      id,
      ws,
      alive: true,
      pingPayload: undefined,
      waitingForDrain: false,
      overflowed: false,
      principal,
      out: new OutgoingFrames(
        socket,
        (error) => this.#onWritten(client, error),
        () => ws.readyState === WebSocket.OPEN,
      ),
      // A stream lives as long as the credential it was opened with; the client
      // reconnects with a fresh one and resumes with `since` (no hole, no duplicate).
      expiry:
        principal?.expiresAt === undefined
          ? undefined
          : setTimeout(
              () => this.#close(client, CLOSE_TOKEN_EXPIRED, 'token_expired'),
              Math.max(0, principal.expiresAt - Date.now()),
            ).unref(),
      stream: new EventStream(o.bus, {
        since: params.since,
        tail: params.tail,
        patterns: params.patterns,
        capacity: o.queueSize,
        replayLimit: o.replayLimit,
        onReadable: () => this.#pump(client),
      }),
    };
    this.#clients.set(id, client);
    // Read synchronously with the subscription: the session and the snapshot describe the
    // world exactly at the boundary, and every later change arrives as an event after it.
    this.#control(client, connectedMessage(id, client.stream, o.bus.log.epoch, o.getHello()));
    this.#control(client, { type: 'snapshot', state: o.getSnapshot(), sequence_number_at: client.stream.boundary });
    ws.on('pong', (data) => {
      // An unsolicited pong (or one echoing an old ping) proves nothing.
      if (client.pingPayload && data.equals(client.pingPayload)) client.alive = true;
    });
    ws.on('message', (data, isBinary) => this.#onMessage(client, data, isBinary));
    ws.on('error', (error: Error & { code?: string }) => {
      // ws reports a frame it will not accept (too big, bad UTF-8, protocol) here, then closes.
      client.failure = error.message;
      o.logger.warn({ client_id: id, code: error.code, reason: error.message }, 'websocket client sent a bad frame');
    });
    ws.on('close', (code, reason) => {
      clearTimeout(client.expiry);
      client.stream.close();
      this.#clients.delete(id);
      o.logger.info(
        {
          client_id: id,
          code,
          reason: reason.toString() || client.failure || (CLOSE_REASONS.get(code) ?? `code ${code}`),
          duration_ms: Date.now() - connectedAt,
          dropped: client.stream.dropped,
        },
        'websocket client disconnected',
      );
    });
    o.logger.info(
      { client_id: id, since: params.since, tail: params.tail, types: params.patterns },
      'websocket client connected',
    );
    this.#pump(client);
  }

  /**
   * Control messages are never dropped, but they count against the client's limit: one
   * that finds more than MAX_UNSENT_BYTES unsent closes the client instead. The snapshot
   * goes first on an empty socket, so it always fits.
   */
  #control(client: Client, message: ControlMessage): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (unsent(client) > MAX_UNSENT_BYTES) return this.#overflow(client);
    this.#send(client, JSON.stringify(message));
  }

  #overflow(client: Client): void {
    if (client.overflowed) return;
    client.overflowed = true;
    this.#options.logger.warn(
      { client_id: client.id, buffered_bytes: unsent(client) },
      'websocket client does not read what it asks for; closing it',
    );
    client.stream.close();
    client.out.drop();
    client.ws.close(CLOSE_CODES.policy, `more than ${MAX_UNSENT_BYTES} bytes unread`);
    // It is not reading, so the close handshake may never finish: cut it.
    setTimeout(() => client.ws.terminate(), OVERFLOW_TERMINATE_MS).unref();
  }

  /**
   * Control messages go through the client's batch like events, so the two stay in the
   * order they were made. The batch's one write per flush carries the callback that
   * resumes a pump waiting for the socket to drain.
   */
  #send(client: Client, json: string): void {
    client.out.push(textFrame(json));
  }

  /**
   * An event goes out as its shared, pre-built frame (see text-frame.ts), written straight
   * to the socket with the rest of the tick's frames. That is safe beside ws's own writes
   * (pings, pongs, close): without compression ws writes each of its frames whole and at
   * once, so frames never interleave; the batch writes only while the connection is OPEN
   * (never after a close frame); and unsent() adds what the batch holds to ws's
   * bufferedAmount, so the high-water checks see every byte.
   */
  #sendEvent(client: Client, event: StoredEvent): void {
    client.out.push(eventFrame(event));
  }

  /** Our close frame comes after every frame already made for the client. */
  #close(client: Client, code: number, reason: string): void {
    client.out.flush();
    client.ws.close(code, reason);
  }

  #onWritten(client: Client, error: Error | null | undefined): void {
    if (error || !client.waitingForDrain) return;
    if (unsent(client) <= HIGH_WATER_BYTES / 2) {
      client.waitingForDrain = false;
      this.#pump(client);
    }
  }

  #pump(client: Client): void {
    const { ws, stream } = client;
    if (client.waitingForDrain) return;
    while (ws.readyState === WebSocket.OPEN) {
      // Over the mark only because of what the batch holds: let the bytes go and look again.
      if (unsent(client) > HIGH_WATER_BYTES && client.out.flush()) continue;
      if (unsent(client) > HIGH_WATER_BYTES) {
        // Resumed by the write callback of a frame already in flight (below).
        client.waitingForDrain = true;
        return;
      }
      const item = stream.next();
      if (!item) return;
      if (item.kind === 'event') this.#sendEvent(client, item.event);
      else this.#send(client, controlJson(item));
      if (item.kind === 'error') {
        // The store failed mid-replay: end cleanly; the client resumes with since.
        stream.close();
        this.#close(client, CLOSE_CODES.tryAgainLater, 'history unavailable');
        return;
      }
    }
  }

  #onMessage(client: Client, data: RawData, isBinary: boolean): void {
    let parsed: unknown;
    const text = isBinary ? undefined : data.toString();
    try {
      if (text !== undefined) assertJsonTextDepth(text, 'message');
    } catch (error) {
      return this.#badFrame(client, 'invalid_input', (error as LookoutError).message);
    }
    try {
      if (text === undefined) throw new Error('binary');
      parsed = JSON.parse(text);
    } catch {
      return this.#badFrame(client, 'invalid_json', 'messages must be JSON text frames');
    }
    const result = ClientMessage.safeParse(parsed);
    if (!result.success) {
      const issue = fieldIssues(result.error)[0];
      return this.#badFrame(
        client,
        'invalid_input',
        `unknown or malformed message (${issue?.path}: ${issue?.message}); send {"type":"subscribe","types":[...]} or {"type":"ping"}`,
      );
    }
    const message = result.data;
    if (message.type === 'ping') {
      return this.#control(client, { type: 'pong', ...(message.id === undefined ? {} : { id: message.id }) });
    }
    const patterns = parsePatterns(message.types.join(','));
    if (!patterns.ok) return this.#badFrame(client, 'invalid_input', patterns.error);
    client.stream.setPatterns(patterns.patterns);
    this.#control(client, { type: 'subscribed', types: patterns.patterns });
  }

  /** A client message the server cannot act on: told to the client, logged, connection kept. */
  #badFrame(client: Client, code: string, message: string): void {
    this.#options.logger.warn({ client_id: client.id, code, reason: message }, 'websocket client sent a bad frame');
    this.#control(client, { type: 'error', code, message });
  }

  #heartbeat(): void {
    for (const client of this.#clients.values()) {
      if (!client.alive) {
        this.#options.logger.info({ client_id: client.id }, 'websocket client missed a heartbeat; terminating');
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.pingPayload = randomBytes(8);
      client.ws.ping(client.pingPayload);
    }
  }

  /** Closes the streams of a principal whose sessions were revoked (every stream opened with a token: undefined). */
  closePrincipal(subject: string | undefined): void {
    for (const client of this.#clients.values()) {
      const p = client.principal;
      if (!p || p.via === 'owner_token') continue;
      if (subject === undefined || p.id === subject) this.#close(client, CLOSE_REVOKED, 'revoked');
    }
  }

  /** Closes every client with 1001 and waits (bounded) for them to go. */
  async close(timeoutMs = 1000): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweep);
    const closed = [...this.#clients.values()].map(
      (client) =>
        new Promise<void>((resolve) => {
          client.ws.once('close', () => resolve());
          this.#close(client, CLOSE_CODES.goingAway, 'server shutting down');
        }),
    );
    const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([Promise.all(closed), timer]);
    for (const client of this.#clients.values()) client.ws.terminate();
    this.#wss.close();
  }
}

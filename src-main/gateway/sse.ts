import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { HEADERS } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import { type AuthPrincipal, principalOf } from '../transport/principal.ts';
import type { EventBus } from '../events/bus.ts';
import { EventStream } from '../events/event-stream.ts';
import type { Logger } from '../logger.ts';
import { connectedMessage, controlJson, parseStreamParams, type ServerHello } from './stream-params.ts';
import { OutgoingFrames } from './write-coalescing.ts';

interface SseClient {
  id: string;
  end: () => void;
  revoke: () => void;
  principal: AuthPrincipal | undefined;
}

/**
 * Server-Sent Events on GET /api/v1/sse: the same stream as /ws (replay, gaps, live),
 * framed as `id:` (the sequence number, so the browser's Last-Event-ID resumes),
 * `event:` (the type) and `data:` (the envelope). Control items travel as named events
 * without an id, so they never move the resume point.
 */
export class SseHub {
  #clients = new Map<string, SseClient>();
  #bus: EventBus;
  #logger: Logger;
  #keepAliveMs: number;
  #queueSize: number;
  #replayLimit: number;
  #getHello: () => ServerHello;

  #maxClients: number;

  constructor(options: {
    bus: EventBus;
    logger: Logger;
    keepAliveMs: number;
    queueSize: number;
    replayLimit: number;
    /** Like WebSockets, SSE clients are capped: each holds a socket, a queue and a timer. */
    maxClients: number;
    getHello: () => ServerHello;
  }) {
    this.#maxClients = options.maxClients;
    this.#getHello = options.getHello;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#keepAliveMs = options.keepAliveMs;
    this.#queueSize = options.queueSize;
    this.#replayLimit = options.replayLimit;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Takes over the response of a Koa request; validation errors are thrown before. */
  handle(ctx: Context): void {
    if (this.#clients.size >= this.#maxClients) {
      throw new LookoutError(
        'unavailable',
        `too many SSE clients (limit ${this.#maxClients}, LOOKOUT_MAX_SSE_CLIENTS); try again shortly`,
        { headers: { 'Retry-After': '5' } },
      );
    }
    const params = parseStreamParams(new URLSearchParams(ctx.querystring), ctx.get(HEADERS.lastEventId) || undefined);
    const principal = principalOf(ctx);
    const { req, res } = ctx;
    ctx.respond = false;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      [HEADERS.requestId]: ctx.state.requestId as string,
      'X-Content-Type-Options': 'nosniff',
    });
    req.socket.setNoDelay(true);

    const id = randomUUID();
    let waiting = false;
    // Like /ws: a turn's messages leave in one write after the publishers' answers
    // (write-coalescing.ts), one chunk of the chunked body instead of one per event.
    // Everything this stream sends goes through `out`, so it stays in order.
    const out = new OutgoingFrames(
      res,
      () => {
        // The write that leaves the response below half its mark resumes a waiting pump.
        if (!waiting || res.writableLength > res.writableHighWaterMark / 2) return;
        waiting = false;
        pump();
      },
      () => !res.writableEnded && !res.destroyed,
    );
    const send = (text: string) => out.push(Buffer.from(text));
    const pump = () => {
      if (waiting || res.writableEnded) return;
      for (let item = stream.next(); item; item = stream.next()) {
        send(
          item.kind === 'event'
            ? `id: ${item.event.seq}\nevent: ${item.event.type}\ndata: ${item.event.json}\n\n`
            : `event: ${item.kind}\ndata: ${controlJson(item)}\n\n`,
        );
        if (item.kind === 'error') {
          end('history unavailable');
          return;
        }
        if (res.writableLength + out.bytes > res.writableHighWaterMark) {
          // Over the mark only because of what the batch holds, or because Node corks the
          // socket until the tick ends: let the bytes go to the kernel and look again.
          out.flush();
          if (res.socket?.writableCorked) res.socket.uncork();
          if (res.writableLength <= res.writableHighWaterMark) continue;
          // Resumed by the write callback above once the reader catches up.
          waiting = true;
          return;
        }
      }
    };
    const stream = new EventStream(this.#bus, {
      since: params.since,
      tail: params.tail,
      patterns: params.patterns,
      capacity: this.#queueSize,
      replayLimit: this.#replayLimit,
      onReadable: pump,
    });
    const connected = connectedMessage(id, stream, this.#bus.log.epoch, this.#getHello());
    send(`retry: 2000\nevent: connected\ndata: ${JSON.stringify(connected)}\n\n`);
    const keepAlive = setInterval(() => send(': keep-alive\n\n'), this.#keepAliveMs);
    keepAlive.unref();

    // Like /ws: the stream lasts as long as its credential. At expiry it says so and
    // ends; the client reconnects with a fresh token (or ticket) and Last-Event-ID.
    const finish = (code: 'token_expired' | 'revoked', message: string) => {
      if (!res.writableEnded) send(`event: error\ndata: ${JSON.stringify({ type: 'error', code, message })}\n\n`);
      end(code);
    };
    const expiry =
      principal?.expiresAt === undefined
        ? undefined
        : setTimeout(
            () => finish('token_expired', 'the access token expired: reconnect with a fresh one'),
            Math.max(0, principal.expiresAt - Date.now()),
          ).unref();

    const connectedAt = Date.now();
    const end = (reason: string) => {
      if (!this.#clients.has(id)) return;
      clearTimeout(expiry);
      clearInterval(keepAlive);
      stream.close();
      this.#clients.delete(id);
      // What was made for the client (the error that ends it, say) goes before the end.
      out.flush();
      if (!res.writableEnded) res.end();
      this.#logger.info(
        {
          client_id: id,
          reason,
          duration_ms: Date.now() - connectedAt,
          dropped: stream.dropped,
        },
        'sse client disconnected',
      );
    };
    this.#clients.set(id, {
      id,
      principal,
      end: () => end('server shutting down'),
      revoke: () => finish('revoked', 'the credential was revoked: sign in again'),
    });
    res.on('close', () => end('client went away'));
    this.#logger.info(
      { client_id: id, since: params.since, tail: params.tail, types: params.patterns },
      'sse client connected',
    );
    pump();
  }

  /** Ends the streams of a principal whose sessions were revoked (undefined: every token-opened stream). */
  closePrincipal(subject: string | undefined): void {
    for (const client of [...this.#clients.values()]) {
      const p = client.principal;
      if (p && p.via !== 'owner_token' && (subject === undefined || p.id === subject)) client.revoke();
    }
  }

  close(): void {
    for (const client of [...this.#clients.values()]) client.end();
  }
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { HEADERS } from '../../src-shared/protocol.ts';
import { LookoutError, StartupError } from '../errors.ts';
import { acceptableRequestId } from '../transport/request-id.ts';
import { http } from '../transport/node-http.ts';
import { writeRawError } from '../transport/raw-response.ts';

/**
 * Requests Node's parser refuses never reach Koa; Node would answer them with a bare
 * status line. Answer with the contract's error body instead, as Node would choose the status.
 */
function onClientError(error: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Duplex): void {
  // A response already under way on this socket, or a peer that is gone: nothing to answer.
  if (error.code === 'ECONNRESET' || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const reason = error.code ?? 'parse error';
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new LookoutError('headers_too_large', 'the request headers are too large (the limit is 16 KiB)')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new LookoutError('request_timeout', 'the request was not received in time')
        : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? new LookoutError('payload_too_large', 'the chunk extensions of the request are too large')
          : new LookoutError('malformed_request', `the request is not valid HTTP/1.1 (${reason})`);
  writeRawError(socket, refusal, randomUUID());
}

/** This server is not a proxy: CONNECT gets a 405 with what it does accept, not a silent close. */
function onConnect(req: IncomingMessage, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  const allow = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';
  writeRawError(
    socket,
    new LookoutError('method_not_allowed', `CONNECT is not supported: Lookout is not a proxy (${req.url ?? ''})`, {
      headers: { Allow: allow },
    }),
    acceptableRequestId(req.headers[HEADERS.requestId.toLowerCase()]) ?? randomUUID(),
  );
}

export interface HttpServer {
  readonly server: Server;
  readonly port: number;
  /** True once close() has begun: responses then carry `Connection: close`. */
  readonly draining: boolean;
  /**
   * Stops accepting, lets in-flight requests finish for at most `timeoutMs`, then cuts
   * whatever is left. Resolves when the socket is closed.
   */
  close(timeoutMs: number): Promise<void>;
}

/** Starts an http.Server for `handler` and resolves once it accepts connections. */
export async function listen(
  handler: RequestListener,
  options: {
    host: string;
    port: number;
    /** A request whose headers are not complete by then gets 408 and is closed (slowloris). */
    headersTimeoutMs?: number;
    /** Open connections one remote address may hold; more are closed at once. */
    maxConnectionsPerAddress?: number;
  },
): Promise<HttpServer> {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  let idle: (() => void) | undefined;
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const server = http.createServer(
    {
      keepAliveTimeout: 5000,
      headersTimeout,
      // The whole request (headers and body) must arrive within this; a response (SSE)
      // may last as long as it likes.
      requestTimeout: Math.max(headersTimeout, 60_000),
      // How often Node looks for expired headers/requests (its default is 30 s).
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
    },
    (req, res) => {
      inFlight.add(res);
      if (draining) res.setHeader('Connection', 'close');
      res.once('close', () => {
        inFlight.delete(res);
        if (inFlight.size === 0) idle?.();
      });
      handler(req, res);
    },
  );

  // Each connection holds a file descriptor: without a cap, ~1000 idle sockets from one
  // client exhaust a 1024-file limit and lock everyone out (and the server out of its files).
  const perAddress = new Map<string, number>();
  const maxPerAddress = options.maxConnectionsPerAddress ?? Number.POSITIVE_INFINITY;
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (perAddress.get(address) ?? 0) + 1;
    if (count > maxPerAddress) {
      socket.destroy();
      return;
    }
    perAddress.set(address, count);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });

  server.on('clientError', onClientError);
  server.on('connect', onConnect);

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(
          new StartupError(
            `port ${options.port} is already in use on ${options.host}; pick another with --port N (or LOOKOUT_PORT; 0 picks a free one)`,
            { cause: error },
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(
          new StartupError(`not allowed to listen on ${options.host}:${options.port}; use a port above 1023`, {
            cause: error,
          }),
        );
      } else if (error.code === 'EADDRNOTAVAIL') {
        reject(new StartupError(`cannot bind ${options.host}: no such address on this machine`, { cause: error }));
      } else {
        reject(
          new StartupError(`cannot listen on ${options.host}:${options.port}: ${error.message}`, { cause: error }),
        );
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: options.host, port: options.port, exclusive: true });
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    get draining() {
      return draining;
    },
    close(timeoutMs) {
      closing ??= new Promise<void>((resolve) => {
        draining = true;
        // Requests already running finish, but their connections end with them.
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        server.close(() => resolve());
        // Keep-alive sockets with no request in progress would hold close() open.
        server.closeIdleConnections();
        const cut = () => server.closeAllConnections();
        const timer = setTimeout(cut, timeoutMs);
        timer.unref();
        const finish = () => {
          clearTimeout(timer);
          server.closeAllConnections();
        };
        if (inFlight.size === 0) finish();
        else idle = finish;
      });
      return closing;
    },
  };
}

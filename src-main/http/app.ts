import cors from '@koa/cors';
import Router from '@koa/router';
import Koa from 'koa';
import compose from 'koa-compose';
import { API_PREFIX, HEADERS } from '../../src-shared/protocol.ts';
import type { Logger } from '../logger.ts';
import { RefusalCounter } from '../transport/refusal-counter.ts';
import { accessLog } from './middleware/access-log.ts';
import { type ErrorRenderer, errorHandler } from './middleware/error-handler.ts';
import { hostCheck } from './middleware/host-check.ts';
import { jsonBody } from './middleware/json-body.ts';
import { methodNotAllowed } from './middleware/method-not-allowed.ts';
import { requestId } from './middleware/request-id.ts';
import { type RequestObserver, requestTiming } from './middleware/request-timing.ts';
import { requireToken } from './middleware/require-token.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { buildOpenApi } from './openapi.ts';
import { mountRoutes, type Route } from './route.ts';
import { docsRoutes } from './routes/docs.ts';

/** Bodies outside the API (the sign-in token) are tiny. */
const PUBLIC_BODY_LIMIT_BYTES = 4096;

export interface AppOptions {
  logger: Logger;
  token: string;
  version: string;
  maxBodyBytes: number;
  corsOrigins: readonly string[];
  getPort: () => number;
  getAllowedHosts: () => Set<string>;
  /**
   * Routes outside /api/v1 (health, docs, dashboard, metrics): served without a token
   * unless they declare `auth: true` (/metrics).
   */
  publicRoutes: readonly Route[];
  /** Routes under /api/v1, behind the token. */
  apiRoutes: readonly Route[];
  /** Middleware run for /api/v1 after authentication (e.g. the read-only guard). */
  apiGuards?: readonly Koa.Middleware[];
  /**
   * Routes outside /api/v1 that still need the token (OTLP ingest under /v1): every path
   * under `prefix` is guarded, matched or not, and its errors rendered by `renderError`
   * when that protocol has its own error body. They read their own bodies.
   */
  protectedRoutes?: { prefix: string; routes: readonly Route[]; renderError?: ErrorRenderer };
  /** Where Host-refused requests are counted (shared with the WebSocket upgrade check). */
  hostRefusals?: RefusalCounter;
  /** Told each request's duration and route template (for /metrics). */
  observeRequest?: RequestObserver;
}

const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);

/**
 * The Koa application. Everything a request passes through is listed here, in order,
 * so one reading of this function tells the whole request path.
 */
export function createApp(options: AppOptions): Koa {
  const app = new Koa();
  app.silent = true; // errors are rendered and logged by errorHandler

  app.use(requestId());
  app.use(
    accessLog(
      options.logger,
      options.hostRefusals ?? new RefusalCounter(options.logger, 'refused requests with a foreign Host header'),
    ),
  );
  if (options.observeRequest) app.use(requestTiming(options.observeRequest));
  const protectedRoutes = options.protectedRoutes;
  app.use(
    errorHandler(
      options.logger,
      protectedRoutes?.renderError
        ? [
            {
              matches: (path) => under(path.toLowerCase(), protectedRoutes.prefix),
              render: protectedRoutes.renderError,
            },
          ]
        : [],
    ),
  );
  app.use(securityHeaders());
  app.use(hostCheck(options.getAllowedHosts));
  if (options.corsOrigins.length > 0) {
    const allowed = new Set(options.corsOrigins.map((origin) => origin.replace(/\/$/, '')));
    app.use(
      cors({
        origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''),
        allowHeaders: ['Content-Type', 'Authorization', ...Object.values(HEADERS)],
        exposeHeaders: [HEADERS.requestId],
      }),
    );
  }

  const routes: { prefix: string; route: Route }[] = [];
  const document = () => buildOpenApi(routes, { version: options.version, port: options.getPort() });

  // Case-sensitive and strict: a path either is ours exactly or is a 404, so the
  // prefix check for the guards below can never disagree with the routing.
  const root = new Router({ sensitive: true, strict: true });
  const publicRoutes = [...options.publicRoutes, ...(docsRoutes(document) as Route[])];
  const tokenGuard = requireToken({ token: options.token, getPort: options.getPort });
  // Routes outside /api/v1 that take a body (sign-in) read it with the same reader, smaller.
  mountRoutes(root, publicRoutes, {
    bodyReader: jsonBody({ limitBytes: PUBLIC_BODY_LIMIT_BYTES }),
    authGuard: tokenGuard,
  });
  routes.push(...publicRoutes.map((route) => ({ prefix: '', route })));

  // Guards run for every path under the prefix, matched or not, so an unknown API
  // path answers 401 to a stranger rather than revealing what exists.
  const apiGuards = compose([tokenGuard, ...(options.apiGuards ?? []), jsonBody({ limitBytes: options.maxBodyBytes })]);
  app.use((ctx, next) => (under(ctx.path.toLowerCase(), API_PREFIX) ? apiGuards(ctx, next) : next()));

  if (protectedRoutes) {
    app.use((ctx, next) => (under(ctx.path.toLowerCase(), protectedRoutes.prefix) ? tokenGuard(ctx, next) : next()));
    mountRoutes(root, protectedRoutes.routes);
    routes.push(...protectedRoutes.routes.map((route) => ({ prefix: '', route })));
  }

  const api = new Router({ prefix: API_PREFIX, sensitive: true, strict: true });
  mountRoutes(api, options.apiRoutes);
  routes.push(...options.apiRoutes.map((route) => ({ prefix: API_PREFIX, route })));

  app.use(root.routes());
  app.use(api.routes());
  app.use(methodNotAllowed([root, api]));
  return app;
}

import cors from '@koa/cors';
import Koa from 'koa';
import { Router } from './koa-router.ts';
import compose from 'koa-compose';
import { API_PREFIX, HEADERS } from '../../src-shared/protocol.ts';
import type { Logger } from '../logger.ts';
import { RefusalCounter } from '../transport/refusal-counter.ts';
import { accessLog } from './middleware/access-log.ts';
import { type ErrorRenderer, errorHandler } from './middleware/error-handler.ts';
import { hostCheck } from './middleware/host-check.ts';
import { jsonBody } from './middleware/json-body.ts';
import { methodNotAllowed } from './middleware/method-not-allowed.ts';
import { refuseForeignWrites } from './middleware/origin-check.ts';
import { requestId } from './middleware/request-id.ts';
import { type RequestObserver, requestTiming } from './middleware/request-timing.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { buildOpenApi } from './openapi.ts';
import { mountRoutes, type PolicyGuard, type Route } from './route.ts';
import { docsRoutes } from './routes/docs.ts';

/** Bodies outside the API are tiny (none today; the sign-in lives under /api/v1). */
const PUBLIC_BODY_LIMIT_BYTES = 4096;

export interface AppOptions {
  logger: Logger;
  version: string;
  maxBodyBytes: number;
  corsOrigins: readonly string[];
  getPort: () => number;
  getAllowedHosts: () => Set<string>;
  /** Our own origins and the trusted CORS ones: writes from any other are refused. */
  getAllowedOrigins: () => ReadonlySet<string>;
  /** Routes at the root (health, dashboard, the /ws fallback). */
  rootRoutes: readonly Route[];
  /** Routes under /api/v1. */
  apiRoutes: readonly Route[];
  /** Everything under /api/v1 first passes this (a stranger gets 401 before the body is read). */
  authenticateApi: Koa.Middleware;
  /** Each route's declared policy, enforced before its handler. */
  policyGuard: PolicyGuard;
  /**
   * Routes outside /api/v1 that still need a credential (OTLP ingest under /v1): every
   * path under `prefix` is authenticated by `authenticate`, matched or not, and its errors
   * rendered by `renderError` when that protocol has its own error body. They read their own bodies.
   */
  protectedRoutes?: {
    prefix: string;
    routes: readonly Route[];
    authenticate: Koa.Middleware;
    renderError?: ErrorRenderer;
  };
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
export type App = Koa & {
  /** Every mounted route with its prefix: what /openapi.json shows and the policy tests walk. */
  readonly routes: readonly { prefix: string; route: Route }[];
};

export function createApp(options: AppOptions): App {
  const app = new Koa();
  app.silent = true; // errors are rendered and logged by errorHandler
  // Client addresses come from access/client-address.ts (last X-Forwarded-For entry
  // only behind a trusted proxy); Koa's own ctx.ip is never used for decisions.

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
  app.use(refuseForeignWrites(options.getAllowedOrigins));
  if (options.corsOrigins.length > 0) {
    const allowed = new Set(options.corsOrigins.map((origin) => origin.replace(/\/$/, '')));
    app.use(
      cors({
        origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''),
        allowHeaders: ['Content-Type', 'Authorization', ...Object.values(HEADERS)],
        exposeHeaders: [HEADERS.requestId],
        credentials: true,
      }),
    );
  }

  const routes: { prefix: string; route: Route }[] = [];
  const document = () => buildOpenApi(routes, { version: options.version, port: options.getPort() });

  // Case-sensitive and strict: a path either is ours exactly or is a 404, so the
  // prefix check for the guards below can never disagree with the routing.
  const root = new Router({ sensitive: true, strict: true });
  const rootRoutes = [...options.rootRoutes, ...(docsRoutes(document) as Route[])];
  // Routes outside /api/v1 that take a body read it with the same reader, smaller.
  mountRoutes(root, rootRoutes, {
    guard: options.policyGuard,
    bodyReader: jsonBody({ limitBytes: PUBLIC_BODY_LIMIT_BYTES }),
  });
  routes.push(...rootRoutes.map((route) => ({ prefix: '', route })));

  // Authentication runs for every path under the prefix, matched or not, so an unknown
  // API path answers 401 to a stranger rather than revealing what exists. Each route's
  // own policy (role, rate limit, read-only) is enforced when it is matched.
  const apiGuards = compose([options.authenticateApi, jsonBody({ limitBytes: options.maxBodyBytes })]);
  app.use((ctx, next) => {
    const path = ctx.path.toLowerCase();
    return path === API_PREFIX || path.startsWith(`${API_PREFIX}/`) ? apiGuards(ctx, next) : next();
  });

  if (protectedRoutes) {
    app.use((ctx, next) =>
      under(ctx.path.toLowerCase(), protectedRoutes.prefix) ? protectedRoutes.authenticate(ctx, next) : next(),
    );
    mountRoutes(root, protectedRoutes.routes, { guard: options.policyGuard });
    routes.push(...protectedRoutes.routes.map((route) => ({ prefix: '', route })));
  }

  const api = new Router({ prefix: API_PREFIX, sensitive: true, strict: true });
  mountRoutes(api, options.apiRoutes, { guard: options.policyGuard });
  routes.push(...options.apiRoutes.map((route) => ({ prefix: API_PREFIX, route })));

  app.use(root.routes());
  app.use(api.routes());
  app.use(methodNotAllowed([root, api]));
  return Object.assign(app, { routes });
}

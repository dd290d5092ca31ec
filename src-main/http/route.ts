import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { REQUIRED_ROLES, type RequiredRole } from '../../src-shared/access.ts';
import { fieldIssues } from '../../src-shared/errors.ts';
import { LookoutError } from '../errors.ts';
import { isPlainJson, setJsonBody } from './json-response.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteInput<Q, B> {
  query: Q;
  body: B;
  params: Record<string, string>;
  ctx: Context;
}

export interface RouteResult {
  status?: number;
  body?: unknown;
}

/**
 * Who may call a route, declared once beside it: mounting, the guards (authentication,
 * role, read-only mode, rate limits) and /openapi.json all read this, so no path list
 * elsewhere can disagree with it.
 */
export interface RoutePolicy {
  /** The least role that may call it; `public` needs no credential at all. */
  role: RequiredRole;
  /** `blocked`: refused with 423 while another process holds the workspace lock. */
  readOnly: 'blocked' | 'allowed';
  /** Streams only: also accepts a one-use `?ticket=` (browsers cannot set headers on WebSocket or EventSource). */
  ticket?: boolean;
  /** The refresh only: a public route that reads the refresh cookie (with its binding header). */
  refreshCookie?: boolean;
}

/**
 * A route declared with its schemas. The same declaration validates requests and
 * generates /openapi.json, so the docs cannot drift from the code.
 */
export interface Route<Q = unknown, B = unknown> {
  method: Method;
  /** Koa-router path with `:param` segments, relative to the router's prefix. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** Who may call it (see RoutePolicy). */
  policy: RoutePolicy;
  /** Defaults to `<method><Path>` (getEvents, putStateCalendar): unique because method + path are. */
  operationId?: string;
  /** Mounted but left out of /openapi.json (a catch-all that only explains a 404). */
  hidden?: boolean;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /**
   * The exact body shown in /openapi.json when the handler checks the body in depth
   * itself (events: the catalogue, with field-precise messages) and `body` stays loose.
   * A function is called only when the document is built (keeps large schemas off start-up).
   */
  documentedBody?: z.ZodType | (() => z.ZodType);
  /** Named examples of the request body for the docs (the first is the one shown). */
  bodyExamples?: Record<string, { summary: string; value: unknown }>;
  /** Path parameters' schemas for the docs (default: any string). */
  params?: Record<string, z.ZodType>;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string | string[] }>;
  /** Errors this route can answer besides the ones every route can (for the docs). */
  errors?: number[];
  /** Return a result for JSON routes; return nothing when the handler wrote ctx itself. */
  handler: (input: RouteInput<Q, B>) => RouteResult | undefined | Promise<RouteResult | undefined>;
}

/** Identity function that gives a route declaration its types. */
export const defineRoute = <Q = undefined, B = undefined>(route: Route<Q, B>): Route<Q, B> => route;

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'query' | 'body'): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new LookoutError(
      'invalid_input',
      `invalid request ${where}: ${result.error.issues[0]?.message ?? ''}`.trim(),
      {
        details: fieldIssues(result.error, [where]),
      },
    );
  }
  return result.data;
}

/** Turns a route's declared policy into the middleware that enforces it. */
export type PolicyGuard = (route: Route) => Middleware;

export function mountRoutes(
  router: Router,
  routes: readonly Route<never, never>[] | readonly Route[],
  options: { guard: PolicyGuard; bodyReader?: Middleware },
): void {
  for (const route of routes as readonly Route[]) {
    // A route without a declared policy must never be served (plain JS or a cast could slip one through).
    if (
      !route.policy ||
      !REQUIRED_ROLES.includes(route.policy.role) ||
      !['blocked', 'allowed'].includes(route.policy.readOnly)
    )
      throw new Error(`${route.method.toUpperCase()} ${route.path} has no valid policy (role and readOnly)`);
    // Routes outside /api/v1 read their JSON body here, only when they declare one, and
    // only once the policy let the request through.
    const readers = route.body && options.bodyReader ? [options.bodyReader] : [];
    router[route.method](route.path, options.guard(route), ...readers, async (ctx) => {
      const query = parse(route.query, ctx.query, 'query');
      const body = parse(route.body, (ctx.request as { body?: unknown }).body, 'body');
      const result = await route.handler({ query, body, params: ctx.params as Record<string, string>, ctx });
      if (result) {
        ctx.status = result.status ?? 200;
        if (isPlainJson(result.body)) setJsonBody(ctx, result.body);
        else if (result.body !== undefined) ctx.body = result.body;
      }
    });
  }
}

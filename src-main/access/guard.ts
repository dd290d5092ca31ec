import type { IncomingMessage } from 'node:http';
import type { Context, Middleware } from 'koa';
import { roleAllows } from '../../src-shared/access.ts';
import { HEADERS } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import type { PolicyGuard, Route, RoutePolicy } from '../http/route.ts';
import type { AccessService, AuthPrincipal, RequestOrigin } from './access-service.ts';
import { clientAddress, isLoopbackAddress, type ProxyTrust } from './client-address.ts';

export interface GuardOptions {
  access: AccessService;
  trustProxy: ProxyTrust;
  /** Throws 423 unless the workspace is writable (or the request shows the lock holder's id). */
  assertWritable: (lockId: string | undefined) => void;
  /**
   * Runs a lock-bound request found writable, counted until it is answered, so a handover
   * of the workspace waits for it (SessionService.admitWrite).
   */
  admitWrite?: <T>(run: () => Promise<T>) => Promise<T>;
}

const needCredential = () =>
  new LookoutError(
    'unauthorized',
    'this needs a credential: X-Session-Token or Authorization: Bearer (the owner token from .lookout/server.json, or an access token from POST /api/v1/auth/sign-in)',
    { headers: { 'WWW-Authenticate': 'Bearer realm="lookout"' } },
  );

export function requestOrigin(req: IncomingMessage, trustProxy: ProxyTrust): RequestOrigin {
  const address = clientAddress(req, trustProxy);
  return { address, loopback: isLoopbackAddress(address) };
}

interface AuthState {
  origin?: RequestOrigin;
  principal?: AuthPrincipal | null;
}

/** The request's origin and principal, worked out once per request (null: no credential). */
async function resolve(
  ctx: Context,
  options: GuardOptions,
  acceptTicket: boolean,
  lenient: boolean,
): Promise<{ origin: RequestOrigin; principal: AuthPrincipal | null }> {
  const state = ctx.state as AuthState;
  state.origin ??= requestOrigin(ctx.req, options.trustProxy);
  if (state.principal === undefined) {
    const ticket = acceptTicket && typeof ctx.query.ticket === 'string' ? ctx.query.ticket : undefined;
    try {
      state.principal = (await options.access.authenticate(ctx.req, { origin: state.origin, ticket })) ?? null;
    } catch (error) {
      // A stale credential on the way to sign-in or refresh is no reason to refuse them.
      if (!lenient) throw error;
      state.principal = null;
    }
  }
  return { origin: state.origin, principal: state.principal };
}

/** Role, rate limit and read-only checks for one principal against one policy. */
export async function enforce(
  policy: RoutePolicy,
  principal: AuthPrincipal | null,
  origin: RequestOrigin,
  options: GuardOptions,
  lockId: string | undefined,
): Promise<void> {
  if (policy.role === 'public') return;
  if (!principal) throw needCredential();
  if (!roleAllows(principal.role, policy.role))
    throw new LookoutError('forbidden', `this needs the ${policy.role} role; ${principal.name} is ${principal.role}`, {
      details: { required_role: policy.role, role: principal.role },
    });
  await options.access.checkRate(principal, origin);
  if (policy.readOnly === 'blocked') options.assertWritable(lockId);
}

/**
 * For everything under the API prefix, before the body is read: a request without a
 * valid credential gets 401 unless the path is one of the declared public routes, so a
 * stranger learns nothing about which paths exist.
 */
export function authenticateApi(options: GuardOptions & { prefix: string; routes: readonly Route[] }): Middleware {
  const open = new Set(
    options.routes
      .filter((r) => r.policy.role === 'public')
      .map((r) => `${r.method.toUpperCase()} ${options.prefix}${r.path}`),
  );
  const ticketed = new Set(options.routes.filter((r) => r.policy.ticket).map((r) => `${options.prefix}${r.path}`));
  return async (ctx, next) => {
    const isOpen = open.has(`${ctx.method} ${ctx.path}`);
    const { principal } = await resolve(ctx, options, ctx.method === 'GET' && ticketed.has(ctx.path), isOpen);
    if (!principal && !isOpen) throw needCredential();
    await next();
  };
}

/** The middleware each mounted route runs first: its own declared policy, enforced. */
export function policyGuard(options: GuardOptions): PolicyGuard {
  return (route: Route) => {
    if (route.policy.role === 'public') return (_ctx, next) => next();
    return async (ctx, next) => {
      const { origin, principal } = await resolve(ctx, options, Boolean(route.policy.ticket), false);
      const lockId = ctx.get(HEADERS.lockId) || undefined;
      await enforce(route.policy, principal, origin, options, lockId);
      if (route.policy.readOnly !== 'blocked' || !options.admitWrite) return next();
      // Checked again and admitted in one turn: a handover in between cannot miss it.
      options.assertWritable(lockId);
      await options.admitWrite(next);
    };
  };
}

/** The same checks for a WebSocket upgrade, which never reaches Koa. */
export async function authorizeUpgrade(
  req: IncomingMessage,
  policy: RoutePolicy,
  options: GuardOptions,
): Promise<AuthPrincipal | null> {
  const origin = requestOrigin(req, options.trustProxy);
  const ticket = policy.ticket
    ? (new URL(req.url ?? '/', 'http://localhost').searchParams.get('ticket') ?? undefined)
    : undefined;
  const principal = (await options.access.authenticate(req, { origin, ticket })) ?? null;
  await enforce(policy, principal, origin, options, undefined);
  return principal;
}

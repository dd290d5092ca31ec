import type { Context } from 'koa';
import { z } from 'zod';
import {
  CodeResponse,
  CreateUserRequest,
  Principal,
  SignInRequest,
  SignInResponse,
  TicketResponse,
  UpdateUserRequest,
  User,
  UsersList,
} from '../../src-shared/access.ts';
import { HEADERS, refreshCookieName } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import { cookieValue } from '../transport/credentials.ts';
import { defineRoute } from '../http/route.ts';
import type { AccessService, IssuedSession } from './access-service.ts';
import { isHttps, type ProxyTrust } from './client-address.ts';
import { principalOf } from '../transport/principal.ts';
import { requestOrigin } from './guard.ts';

export interface AccessRoutesOptions {
  getPort: () => number;
  /** Where the refresh cookie is sent: the auth routes only. */
  cookiePath: string;
  trustProxy: ProxyTrust;
}

const USER_ID = z.object({ id: z.string() });

/**
 * The access routes: sign-in, refresh, sign-out, tickets and codes, and users. The
 * refresh cookie is HttpOnly, SameSite=Strict, limited to the auth path, and only half
 * of the refresh credential: the other half (the binding) lives in the page's
 * origin-scoped storage and comes as a header, which no other port can read or send.
 */
export const accessRoutes = (access: AccessService, options: AccessRoutesOptions) => {
  const cookieName = () => refreshCookieName(options.getPort());
  const secure = (ctx: Context) => (isHttps(ctx.req, options.trustProxy) ? '; Secure' : '');
  const setCookie = (ctx: Context, value: string, maxAgeS: number) =>
    ctx.set(
      'Set-Cookie',
      `${cookieName()}=${value}; Path=${options.cookiePath}; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure(ctx)}`,
    );
  const issued = (ctx: Context, session: IssuedSession) => {
    setCookie(ctx, session.refreshToken, session.refreshMaxAgeS);
    ctx.set('Cache-Control', 'no-store');
    return { body: session.response };
  };
  const origin = (ctx: Context) => requestOrigin(ctx.req, options.trustProxy);
  const principal = (ctx: Context) => {
    const who = principalOf(ctx);
    if (!who) throw new LookoutError('unauthorized', 'sign in first');
    return who;
  };

  return [
    defineRoute({
      method: 'post',
      path: '/auth/sign-in',
      summary: "Sign in: a user name and password, the owner's one-time code, or the owner token",
      description:
        'Answers the access token (keep it in memory; send as Authorization: Bearer) and the refresh binding (keep it in origin-scoped storage; send as X-Refresh-Binding to /auth/refresh), and sets the HttpOnly refresh cookie. The owner (code or token) signs in from this machine only. Wrong name or password: the same 401 invalid_credentials. Repeated failures slow down, then 429 with Retry-After.',
      tags: ['auth'],
      policy: { role: 'public', readOnly: 'allowed' },
      body: SignInRequest,
      errors: [401, 429],
      responses: { 200: { description: 'Signed in', schema: SignInResponse } },
      handler: async ({ body, ctx }) => issued(ctx, await access.signIn(body, origin(ctx))),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/refresh',
      summary: 'A new access token, binding and refresh cookie (needs the cookie and X-Refresh-Binding)',
      description:
        'Rotates the refresh token: each one works once. A token presented twice revokes its whole sign-in (auth.refresh_reuse_detected). Either half alone: 401.',
      tags: ['auth'],
      policy: { role: 'public', readOnly: 'allowed', refreshCookie: true },
      errors: [401],
      responses: { 200: { description: 'Refreshed', schema: SignInResponse } },
      handler: async ({ ctx }) =>
        issued(
          ctx,
          await access.refresh(
            cookieValue(ctx.get('cookie'), cookieName()),
            ctx.get(HEADERS.refreshBinding) || undefined,
            origin(ctx),
          ),
        ),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/sign-out',
      summary: 'End this sign-in (its refresh family) and clear the cookie',
      tags: ['auth'],
      policy: { role: 'public', readOnly: 'allowed' },
      responses: { 204: { description: 'Signed out' } },
      handler: async ({ ctx }) => {
        await access.signOut(
          cookieValue(ctx.get('cookie'), cookieName()),
          ctx.get(HEADERS.refreshBinding) || undefined,
        );
        setCookie(ctx, '', 0);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/auth/me',
      summary: 'Who the credential belongs to',
      tags: ['auth'],
      policy: { role: 'viewer', readOnly: 'allowed' },
      responses: { 200: { description: 'The principal', schema: Principal } },
      handler: ({ ctx }) => {
        const { id, name, role } = principal(ctx);
        return { body: { id, name, role } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/ticket',
      summary: 'A single-use, 30-second ticket for /ws?ticket=… or /api/v1/sse?ticket=…',
      description:
        'Browsers cannot set headers on a WebSocket or EventSource; a ticket stands in for the access token once.',
      tags: ['auth'],
      policy: { role: 'viewer', readOnly: 'allowed' },
      responses: { 200: { description: 'A ticket', schema: TicketResponse } },
      handler: async ({ ctx }) => ({ body: await access.mintTicket(principal(ctx)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/codes',
      summary: 'A one-time owner sign-in code (60 s, one use) for `lookout open` and the desktop window',
      description: 'Only the owner token may mint one; the code signs in as the owner from this machine.',
      tags: ['auth'],
      policy: { role: 'admin', readOnly: 'allowed' },
      responses: { 201: { description: 'A code', schema: CodeResponse } },
      handler: async ({ ctx }) => {
        if (principal(ctx).kind !== 'owner')
          throw new LookoutError('forbidden', 'only the owner token mints sign-in codes');
        ctx.set('Cache-Control', 'no-store');
        return { status: 201, body: await access.mintCode() };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/rotate-key',
      summary: 'Replace the signing key: every access token and refresh dies, everyone signs in again',
      tags: ['auth'],
      policy: { role: 'admin', readOnly: 'allowed' },
      responses: {
        200: {
          description: 'Rotated',
          schema: z.object({ revoked_sessions: z.number().int() }),
        },
      },
      handler: async () => ({ body: { revoked_sessions: await access.rotateKey() } }),
    }),
    defineRoute({
      method: 'get',
      path: '/users',
      summary: 'Every user',
      tags: ['users'],
      policy: { role: 'admin', readOnly: 'allowed' },
      responses: { 200: { description: 'Users', schema: UsersList } },
      handler: async () => ({ body: { users: await access.listUsers() } }),
    }),
    defineRoute({
      method: 'post',
      path: '/users',
      summary: 'Create a user',
      tags: ['users'],
      policy: { role: 'admin', readOnly: 'allowed' },
      body: CreateUserRequest,
      errors: [409],
      responses: { 201: { description: 'Created', schema: User } },
      handler: async ({ body, ctx }) => ({ status: 201, body: await access.createUser(body, principal(ctx)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id',
      summary: 'One user (by id or name)',
      tags: ['users'],
      policy: { role: 'admin', readOnly: 'allowed' },
      errors: [404],
      responses: { 200: { description: 'The user', schema: User } },
      handler: async ({ params }) => ({ body: await access.getUser(USER_ID.parse(params).id) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/users/:id',
      summary: "Change a user's role or password, or disable / enable them",
      description: "A change of role or password, and disabling, end the user's sign-ins and close their streams.",
      tags: ['users'],
      policy: { role: 'admin', readOnly: 'allowed' },
      body: UpdateUserRequest,
      errors: [404],
      responses: { 200: { description: 'The user', schema: User } },
      handler: async ({ params, body, ctx }) => ({
        body: await access.updateUser(USER_ID.parse(params).id, body, principal(ctx)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id',
      summary: 'Remove a user (their sign-ins end)',
      tags: ['users'],
      policy: { role: 'admin', readOnly: 'allowed' },
      errors: [404],
      responses: { 204: { description: 'Removed' } },
      handler: async ({ params }) => {
        await access.removeUser(USER_ID.parse(params).id);
        return { status: 204 };
      },
    }),
  ];
};

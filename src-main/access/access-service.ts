import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CodeResponse,
  CreateUserRequest,
  type Principal,
  type Role,
  type SignInRequest,
  type SignInResponse,
  type TicketResponse,
  type UpdateUserRequest,
  type User,
} from '../../src-shared/access.ts';
import { fieldIssues } from '../../src-shared/errors.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import { tokensEqual } from '../transport/credentials.ts';
import type { AuthPrincipal } from '../transport/principal.ts';
import type { Logger } from '../logger.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { isUniqueViolation } from '../store/unique-violation.ts';
import { AccessStore, secretHash, toUser, type UserRow } from './access-store.ts';
import { AccessTokens, looksLikeJwt, tokenKid } from './access-tokens.ts';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import {
  type ApiRateLimiter,
  type SignInLimiter,
  SignInThrottle,
  StoredSignInThrottle,
  StoredTokenBuckets,
  TokenBuckets,
} from './rate-limits.ts';
import {
  currentSharedSigningKey,
  loadSharedSigningKey,
  loadSigningKey,
  replaceSharedSigningKey,
  replaceSigningKey,
} from './signing-key.ts';
import { type OneUseSecrets, SingleUseSecrets, StoredSingleUseSecrets } from './single-use.ts';

export const OWNER_ID = 'owner';

export type { AuthPrincipal };

export interface AccessOptions {
  store: SqlStore;
  bus: EventBus;
  logger: Logger;
  signingKeyFile: string;
  ownerToken: string;
  accessTokenTtlS: number;
  refreshTokenTtlDays: number;
  signInAttempts: number;
  apiRatePerSecond: number;
  apiRateBurst: number;
}

export interface RequestOrigin {
  /** The client's address (see clientAddress). */
  address: string;
  loopback: boolean;
}

/** A sign-in or refresh: the body for the page, and the cookie value that goes beside it. */
export interface IssuedSession {
  response: SignInResponse;
  refreshToken: string;
  refreshMaxAgeS: number;
}

const CODE_TTL_MS = 60_000;
const TICKET_TTL_MS = 30_000;
/** Servers sharing the store look at most this often whether another one rotated the signing key. */
const KEY_CHECK_MS = 1000;
/** …and at most this often when a token names a newer key than the one they hold. */
const KEY_CATCH_UP_MS = 100;

interface CachedUser {
  name: string;
  role: Role;
  disabled: boolean;
  validFromMs: number;
}

const owner = (via: AuthPrincipal['via'], expiresAt?: number): AuthPrincipal => ({
  id: OWNER_ID,
  name: OWNER_ID,
  role: 'admin',
  kind: 'owner',
  via,
  ...(expiresAt === undefined ? {} : { expiresAt }),
});

const invalidCredentials = () =>
  new LookoutError('invalid_credentials', 'the name or password is wrong (or the code or token is)');

const refreshRefused = (why: string) =>
  new LookoutError('unauthorized', `cannot refresh: ${why}; sign in again`, {
    headers: { 'WWW-Authenticate': 'Bearer realm="lookout"' },
  });

/**
 * The access layer's rules: who may sign in and how, tokens (access JWTs, rotating
 * refresh families, one-time codes and stream tickets), users, and rate limits.
 * Transport (cookies, headers, routes) lives in routes.ts and guard.ts.
 */
export class AccessService {
  readonly #o: AccessOptions;
  readonly #store: AccessStore;
  readonly #tokens: AccessTokens;
  /**
   * Several servers share the store (PostgreSQL): users, the signing key, codes and
   * tickets are read from it, since another server may have changed them a moment ago.
   * A single server (SQLite) is the only writer, so it keeps users in memory.
   */
  readonly #shared: boolean;
  readonly #codes: OneUseSecrets<true>;
  readonly #tickets: OneUseSecrets<AuthPrincipal>;
  readonly #throttle: SignInLimiter;
  readonly #buckets: ApiRateLimiter;
  /** Users by id, for the per-request check (disabled, current role) without a query (single server). */
  #users = new Map<string, CachedUser>();
  #revokeListeners: ((subject: string | undefined) => void)[] = [];
  #keyCheckedAt = 0;
  #keyCheck: Promise<void> | undefined;

  private constructor(options: AccessOptions, tokens: AccessTokens) {
    this.#o = options;
    this.#store = new AccessStore(options.store);
    this.#shared = options.store.dialect === 'postgres';
    this.#tokens = tokens;
    this.#keyCheckedAt = Date.now();
    this.#codes = this.#shared
      ? new StoredSingleUseSecrets<true>(options.store, 'code', CODE_TTL_MS)
      : new SingleUseSecrets<true>(CODE_TTL_MS);
    this.#tickets = this.#shared
      ? new StoredSingleUseSecrets<AuthPrincipal>(options.store, 'ticket', TICKET_TTL_MS)
      : new SingleUseSecrets<AuthPrincipal>(TICKET_TTL_MS);
    // Shared counters when servers share the store: N servers allow what one does.
    const buckets = { perSecond: options.apiRatePerSecond, burst: options.apiRateBurst };
    this.#throttle = this.#shared
      ? new StoredSignInThrottle(options.store, { blockAfter: options.signInAttempts })
      : new SignInThrottle({ blockAfter: options.signInAttempts });
    this.#buckets = this.#shared ? new StoredTokenBuckets(options.store, buckets) : new TokenBuckets(buckets);
  }

  /** Loads the signing key (the workspace file, or the store's when servers share it) and the users. */
  static async open(options: AccessOptions): Promise<AccessService> {
    const tokens =
      options.store.dialect === 'postgres'
        ? await loadSharedSigningKey(options.store).then(
            ({ key, generation }) => new AccessTokens(key, options.accessTokenTtlS, String(generation)),
          )
        : new AccessTokens(loadSigningKey(options.signingKeyFile), options.accessTokenTtlS);
    const service = new AccessService(options, tokens);
    // A user disabled on another server: its streams here close too (the event reaches every server).
    if (service.#shared)
      options.bus.listen(['auth.user_disabled'], (event) => {
        const subject = (event.data as { user_id?: unknown }).user_id;
        if (typeof subject === 'string') service.#revoked(subject);
      });
    const store = new AccessStore(options.store);
    if (!service.#shared) for (const row of await store.users()) service.#cache(row, 0);
    await store.prune(Date.now());
    return service;
  }

  /**
   * The key another server may have rotated: looked up at most once a second, or at once
   * (at most every 100 ms) when a token names a newer generation than the one held.
   */
  async #freshKey(kid?: string): Promise<void> {
    if (!this.#shared) return;
    const now = Date.now();
    const behind = kid !== undefined && Number(kid) > Number(this.#tokens.kid);
    if (now - this.#keyCheckedAt < (behind ? KEY_CATCH_UP_MS : KEY_CHECK_MS)) return;
    this.#keyCheck ??= (async () => {
      try {
        const { key, generation } = await currentSharedSigningKey(this.#o.store);
        // (The rotating server cleared the shared tickets; clearing again here could drop newer ones.)
        if (String(generation) !== this.#tokens.kid) this.#tokens.replaceKey(key, String(generation));
        this.#keyCheckedAt = Date.now();
      } finally {
        this.#keyCheck = undefined;
      }
    })();
    await this.#keyCheck;
  }

  /** A user's current standing: from memory (single server) or the store (shared). */
  async #user(id: string): Promise<CachedUser | undefined> {
    if (!this.#shared) return this.#users.get(id);
    const row = await this.#store.userById(id);
    return (
      row && {
        name: row.name,
        role: row.role,
        disabled: row.disabled_at !== null,
        validFromMs: Number(row.tokens_valid_from_ms),
      }
    );
  }

  get accessTokenTtlS(): number {
    return this.#tokens.ttlSeconds;
  }

  /** Called with a subject whose sessions were revoked (undefined: everyone's), e.g. to close its streams. */
  onRevoke(listener: (subject: string | undefined) => void): void {
    this.#revokeListeners.push(listener);
  }

  #revoked(subject: string | undefined): void {
    for (const listener of this.#revokeListeners) listener(subject);
  }

  #cache(row: UserRow, validFromMs: number): void {
    const previous = this.#users.get(row.id);
    this.#users.set(row.id, {
      name: row.name,
      role: row.role,
      disabled: row.disabled_at !== null,
      validFromMs: Math.max(validFromMs, Number(row.tokens_valid_from_ms ?? 0), previous?.validFromMs ?? 0),
    });
  }

  // -- authentication ------------------------------------------------------------------

  /**
   * The principal a request presents: the owner token (`X-Session-Token`, or as Bearer),
   * an access JWT (Bearer), or, where streams allow it, a one-use ticket. Cookies are
   * never read here. No credential: undefined. A wrong one: a typed 401.
   */
  async authenticate(
    req: IncomingMessage,
    options: { origin: RequestOrigin; ticket?: string | undefined },
  ): Promise<AuthPrincipal | undefined> {
    const header = req.headers['x-session-token'];
    const bearer = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    const presented = typeof header === 'string' && header !== '' ? header : bearer;
    if (presented !== undefined) {
      if (presented === header || !looksLikeJwt(presented)) return this.#ownerToken(presented, options.origin);
      return this.verifyAccessToken(presented);
    }
    if (options.ticket !== undefined) {
      const principal = await this.#tickets.consume(options.ticket);
      if (!principal) throw new LookoutError('unauthorized', 'the ticket is unknown, used or expired: get a new one');
      return { ...principal, via: 'ticket' };
    }
    return undefined;
  }

  #ownerToken(presented: string, origin: RequestOrigin): AuthPrincipal {
    if (!tokensEqual(presented, this.#o.ownerToken))
      throw new LookoutError(
        'unauthorized',
        'missing or wrong session token: send X-Session-Token or Authorization: Bearer with the token from .lookout/server.json, or an access token',
        { headers: { 'WWW-Authenticate': 'Bearer realm="lookout"' } },
      );
    if (!origin.loopback)
      throw new LookoutError('unauthorized', 'the owner token is accepted from this machine only: sign in as a user');
    return owner('owner_token');
  }

  /** An access JWT's principal, with the user's current role (a disabled user's tokens stop at once). */
  async verifyAccessToken(token: string): Promise<AuthPrincipal> {
    await this.#freshKey(tokenKid(token));
    const claims = await this.#tokens.verify(token);
    const expiresAt = claims.exp * 1000;
    if (claims.sub === OWNER_ID) return owner('access_token', expiresAt);
    const user = await this.#user(claims.sub);
    if (!user || user.disabled || claims.iatMs <= user.validFromMs)
      throw new LookoutError(
        'unauthorized',
        'this access token was revoked (user disabled, removed or changed): sign in again',
      );
    return { id: claims.sub, name: user.name, role: user.role, kind: 'user', via: 'access_token', expiresAt };
  }

  /** API rate limit per principal; the owner on loopback is exempt. */
  async checkRate(principal: AuthPrincipal, origin: RequestOrigin): Promise<void> {
    if (principal.kind === 'owner' && origin.loopback) return;
    const retryAfter = await this.#buckets.take(principal.id);
    if (retryAfter > 0)
      throw new LookoutError(
        'rate_limited',
        `too many requests for ${principal.name}: at most ${this.#buckets.perSecond}/s (burst ${this.#buckets.burst}); retry in ${retryAfter} s`,
        { headers: { 'Retry-After': String(retryAfter) } },
      );
  }

  // -- sign-in, refresh, sign-out --------------------------------------------------------

  async signIn(request: SignInRequest, origin: RequestOrigin): Promise<IssuedSession> {
    const method = 'password' in request ? 'password' : 'code' in request ? 'code' : 'token';
    const row = 'name' in request ? await this.#store.userByName(request.name) : undefined;
    const keys = [
      `addr:${origin.address}`,
      ...('name' in request ? [`name:${request.name.normalize('NFC').toLowerCase()}`] : []),
    ];
    const audit = { method, address: origin.address, ...(row ? { name: row.name } : {}) } as const;

    const verdict = await this.#throttle.check(keys);
    if (verdict.retryAfterS !== undefined) {
      await this.#emit('auth.sign_in_failed', { ...audit, reason: 'rate_limited' });
      throw new LookoutError('rate_limited', `too many failed sign-ins: try again in ${verdict.retryAfterS} s`, {
        headers: { 'Retry-After': String(verdict.retryAfterS) },
      });
    }
    if (verdict.delayMs > 0) await sleep(verdict.delayMs);

    const fail = async (reason: 'invalid_credentials' | 'disabled' | 'remote_owner', error = invalidCredentials()) => {
      await this.#throttle.failed(keys);
      await this.#emit('auth.sign_in_failed', { ...audit, reason });
      return error;
    };

    if ('password' in request) {
      // Always hash, even for an unknown name, so timing says nothing about who exists.
      const ok = await verifyPassword(request.password, row?.password_hash ?? (await decoyHash()));
      if (!row || !ok) throw await fail('invalid_credentials');
      if (row.disabled_at !== null)
        throw await fail(
          'disabled',
          new LookoutError('invalid_credentials', `the account ${row.name} is disabled: ask an admin`),
        );
      await this.#throttle.succeeded(keys[1]!);
      const at = new Date().toISOString();
      await this.#store.recordSignIn(row.id, at);
      const principal: Principal = { id: row.id, name: row.name, role: row.role };
      await this.#emit('auth.signed_in', {
        user_id: row.id,
        name: row.name,
        role: row.role,
        method,
        address: origin.address,
      });
      return this.#issue(principal, randomUUID(), true);
    }

    // The owner: from this machine only, whatever the credential.
    if (!origin.loopback)
      throw await fail(
        'remote_owner',
        new LookoutError(
          'invalid_credentials',
          'the owner signs in from this machine only: use a user name and password',
        ),
      );
    const ok =
      'code' in request
        ? (await this.#codes.consume(request.code)) === true
        : tokensEqual(request.token, this.#o.ownerToken);
    if (!ok)
      throw await fail(
        'invalid_credentials',
        new LookoutError(
          'invalid_credentials',
          'code' in request
            ? 'that sign-in code is unknown, used or expired (codes last 60 s): run `lookout open` again'
            : 'that token is not valid: take the current one from .lookout/server.json, or run `lookout open --print`',
        ),
      );
    await this.#emit('auth.signed_in', {
      user_id: OWNER_ID,
      name: OWNER_ID,
      role: 'admin',
      method,
      address: origin.address,
    });
    return this.#issue({ id: OWNER_ID, name: OWNER_ID, role: 'admin' }, randomUUID(), true);
  }

  /** A new access token and a new refresh token + binding in `familyId` (created if new). */
  async #issue(principal: Principal, familyId: string, newFamily: boolean): Promise<IssuedSession> {
    const now = Date.now();
    const refreshToken = randomBytes(32).toString('base64url');
    const binding = randomBytes(32).toString('base64url');
    const maxAgeS = this.#o.refreshTokenTtlDays * 86_400;
    await this.#store.transaction(async (tx) => {
      if (newFamily) await tx.insertFamily(familyId, principal.id, new Date(now).toISOString());
      await tx.insertToken({
        tokenHash: secretHash(refreshToken),
        bindingHash: secretHash(binding),
        familyId,
        now,
        expiresAt: now + maxAgeS * 1000,
      });
    });
    await this.#freshKey();
    const { token } = await this.#tokens.sign(principal.id, principal.role);
    return {
      refreshToken,
      refreshMaxAgeS: maxAgeS,
      response: {
        access_token: token,
        token_type: 'Bearer',
        expires_in: this.#tokens.ttlSeconds,
        refresh_binding: binding,
        user: principal,
      },
    };
  }

  /**
   * Rotates a refresh token: both halves are needed (the cookie and the page's binding).
   * A token presented a second time means a copy exists elsewhere: its whole family is
   * revoked and `auth.refresh_reuse_detected` published.
   */
  async refresh(
    cookieToken: string | undefined,
    binding: string | undefined,
    origin: RequestOrigin,
  ): Promise<IssuedSession> {
    if (!cookieToken) throw refreshRefused('no refresh cookie was sent');
    if (!binding) throw refreshRefused('the X-Refresh-Binding header is missing');
    const tokenHash = secretHash(cookieToken);
    const row = await this.#store.token(tokenHash);
    const now = Date.now();
    if (!row) throw refreshRefused('the refresh token is unknown or expired');
    if (!tokensEqual(secretHash(binding), row.binding_hash)) throw refreshRefused('the refresh binding does not match');
    if (row.family_revoked_at !== null) throw refreshRefused('this sign-in was ended');
    if (row.expires_at_ms <= now) throw refreshRefused('the refresh token has expired');
    if (row.used_at_ms !== null || !(await this.#store.useToken(tokenHash, now))) {
      await this.#store.revokeFamily(row.family_id, 'reuse', new Date(now).toISOString());
      await this.#emit('auth.refresh_reuse_detected', {
        subject: row.subject,
        family_id: row.family_id,
        address: origin.address,
      });
      this.#o.logger.warn({ subject: row.subject, family_id: row.family_id }, 'refresh token reuse: family revoked');
      throw refreshRefused('this refresh token was already used, so the sign-in was revoked');
    }
    const principal = await this.#principalFor(row.subject);
    if (!principal) {
      await this.#store.revokeFamily(row.family_id, 'user gone', new Date(now).toISOString());
      throw refreshRefused('the user is disabled or removed');
    }
    return this.#issue(principal, row.family_id, false);
  }

  async #principalFor(subject: string): Promise<Principal | undefined> {
    if (subject === OWNER_ID) return { id: OWNER_ID, name: OWNER_ID, role: 'admin' };
    const user = await this.#user(subject);
    return user && !user.disabled ? { id: subject, name: user.name, role: user.role } : undefined;
  }

  /** Ends the sign-in the refresh cookie belongs to (with the binding; anything less is ignored). */
  async signOut(cookieToken: string | undefined, binding: string | undefined): Promise<void> {
    if (!cookieToken || !binding) return;
    const row = await this.#store.token(secretHash(cookieToken));
    if (row && tokensEqual(secretHash(binding), row.binding_hash))
      await this.#store.revokeFamily(row.family_id, 'sign-out', new Date().toISOString());
  }

  /** A one-time owner sign-in code (`lookout open`, the desktop window). */
  async mintCode(): Promise<CodeResponse> {
    return { code: await this.#codes.mint(true), expires_in: CODE_TTL_MS / 1000 };
  }

  /** A one-use ticket that opens /ws or SSE as this principal (browsers cannot set headers there). */
  async mintTicket(principal: AuthPrincipal): Promise<TicketResponse> {
    return { ticket: await this.#tickets.mint(principal), expires_in: TICKET_TTL_MS / 1000 };
  }

  /**
   * A new signing key: every access token and every refresh family dies, so everyone
   * signs in again (the owner's programs, which use the owner token, are unaffected).
   */
  async rotateKey(): Promise<number> {
    if (this.#shared) {
      const { key, generation } = await replaceSharedSigningKey(this.#o.store);
      this.#tokens.replaceKey(key, String(generation));
      this.#keyCheckedAt = Date.now();
    } else this.#tokens.replaceKey(replaceSigningKey(this.#o.signingKeyFile));
    const revoked = await this.#store.revokeAll('key rotated', new Date().toISOString());
    await this.#tickets.clear();
    this.#o.logger.info({ revoked_sessions: revoked }, 'signing key rotated');
    this.#revoked(undefined);
    return revoked;
  }

  // -- users -------------------------------------------------------------------------

  async listUsers(): Promise<User[]> {
    return (await this.#store.users()).map(toUser);
  }

  async getUser(id: string): Promise<User> {
    return toUser(await this.#requireUser(id));
  }

  async #requireUser(id: string): Promise<UserRow> {
    const row = (await this.#store.userById(id)) ?? (await this.#store.userByName(id));
    if (!row) throw new LookoutError('not_found', `no user ${JSON.stringify(id.slice(0, 80))}`);
    return row;
  }

  async createUser(input: unknown, by: Principal): Promise<User> {
    const parsed = CreateUserRequest.safeParse(input);
    if (!parsed.success)
      throw new LookoutError('invalid_input', parsed.error.issues[0]?.message ?? 'invalid user', {
        details: fieldIssues(parsed.error, ['body']),
      });
    const { name, role, password } = parsed.data;
    if (name.toLowerCase() === OWNER_ID)
      throw new LookoutError('name_taken', '"owner" is the owner token\'s name; pick another');
    if (await this.#store.userByName(name)) throw new LookoutError('name_taken', `a user named ${name} exists already`);
    const hash = await hashPassword(password);
    const id = `u_${randomBytes(9).toString('base64url')}`;
    const at = new Date().toISOString();
    try {
      await this.#store.insertUser({ id, name, role, password_hash: hash, at });
    } catch (error) {
      // Another request (here or on another server) took the name while this one hashed.
      if (isUniqueViolation(error)) throw new LookoutError('name_taken', `a user named ${name} exists already`);
      throw error;
    }
    const row = (await this.#store.userById(id))!;
    this.#cache(row, 0);
    await this.#emit('auth.user_created', { user_id: id, name, role, by: by.name });
    return toUser(row);
  }

  async updateUser(id: string, patch: UpdateUserRequest, by: Principal): Promise<User> {
    const row = await this.#requireUser(id);
    const at = new Date().toISOString();
    const nowMs = Date.now();
    const hash = patch.password === undefined ? undefined : await hashPassword(patch.password);
    let revoke = false;
    await this.#store.transaction(async (tx) => {
      if (patch.role !== undefined && patch.role !== row.role) {
        await tx.setRole(row.id, patch.role, at);
        revoke = true;
      }
      if (hash !== undefined) {
        await tx.setPassword(row.id, hash, at);
        revoke = true;
      }
      if (patch.disabled !== undefined && patch.disabled !== (row.disabled_at !== null)) {
        await tx.setDisabled(row.id, patch.disabled ? at : null, at);
        revoke ||= patch.disabled;
      }
      if (revoke) {
        await tx.revokeSubject(row.id, 'user changed', at);
        await tx.setTokensValidFrom(row.id, nowMs);
      }
    });
    const updated = (await this.#store.userById(row.id))!;
    // Tokens issued before a change of role or password no longer count.
    this.#cache(updated, revoke ? nowMs : 0);
    if (patch.disabled === true && row.disabled_at === null)
      await this.#emit('auth.user_disabled', { user_id: row.id, name: row.name, role: row.role, by: by.name });
    if (revoke) this.#revoked(row.id);
    return toUser(updated);
  }

  async removeUser(id: string): Promise<void> {
    const row = await this.#requireUser(id);
    await this.#store.transaction((tx) => tx.deleteUser(row.id));
    this.#users.delete(row.id);
    this.#revoked(row.id);
  }

  async #emit(type: string, data: Record<string, unknown>): Promise<void> {
    try {
      await this.#o.bus.emit(type, data);
    } catch (error) {
      // An audit event that cannot be stored must not turn a sign-in into a 500.
      this.#o.logger.error({ err: error, type }, 'could not record an audit event');
    }
  }
}

import { randomUUID, type KeyObject, type webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { Role } from '../../src-shared/access.ts';
import { LookoutError } from '../errors.ts';

/**
 * jose is imported at the first sign or verify, not at start: a server nobody signs in to
 * (the owner token is not a JWT) never loads it (issue 19, docs/benchmarks.md "Idle memory").
 */
let library: Promise<typeof import('jose')> | undefined;
const jose = (): Promise<typeof import('jose')> => (library ??= import('jose'));

const ISSUER = 'lookout';
const AUDIENCE = 'lookout-api';
const ALGORITHM = 'HS256';

export interface AccessClaims {
  sub: string;
  role: Role;
  jti: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** Issued at, epoch ms (a private claim: revocation compares it with a change made in the same second). */
  iatMs: number;
}

/**
 * Short-lived access JWTs (HS256; claims sub, role, jti). Verification pins the
 * algorithm, issuer and audience, so `alg: none`, another key, a tampered payload or a
 * token meant for something else are all refused.
 */
export class AccessTokens {
  #key: CryptoKey;
  #kid: string | undefined;
  readonly ttlSeconds: number;

  /** `kid`: the key's generation when servers share it (team mode); tokens name it, and only it verifies. */
  constructor(key: KeyObject, ttlSeconds: number, kid?: string) {
    this.#key = asCryptoKey(key);
    this.#kid = kid;
    this.ttlSeconds = ttlSeconds;
  }

  get kid(): string | undefined {
    return this.#kid;
  }

  replaceKey(key: KeyObject, kid?: string): void {
    this.#key = asCryptoKey(key);
    this.#kid = kid;
  }

  async sign(subject: string, role: Role): Promise<{ token: string; claims: AccessClaims }> {
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    const claims: AccessClaims = { sub: subject, role, jti: randomUUID(), iatMs: nowMs, exp: now + this.ttlSeconds };
    const { SignJWT } = await jose();
    const token = await new SignJWT({ role, iat_ms: nowMs })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', ...(this.#kid === undefined ? {} : { kid: this.#kid }) })
      .setSubject(subject)
      .setJti(claims.jti)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(claims.exp)
      .sign(this.#key);
    return { token, claims };
  }

  /** The claims of a valid token; a typed 401 otherwise (`token_expired` when only the time is wrong). */
  async verify(token: string): Promise<AccessClaims> {
    const { errors, jwtVerify } = await jose();
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.#key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      });
      if (this.#kid !== undefined && protectedHeader.kid !== this.#kid)
        throw new LookoutError(
          'unauthorized',
          'the access token was signed with a key that was replaced: sign in again',
          {
            headers: { 'WWW-Authenticate': 'Bearer realm="lookout", error="invalid_token"' },
          },
        );
      const role = Role.safeParse(payload.role);
      if (!role.success) throw new LookoutError('unauthorized', 'the access token names no valid role');
      return {
        sub: payload.sub!,
        role: role.data,
        jti: payload.jti!,
        exp: payload.exp!,
        iatMs: typeof payload.iat_ms === 'number' ? payload.iat_ms : payload.iat! * 1000,
      };
    } catch (error) {
      if (error instanceof LookoutError) throw error;
      if (error instanceof errors.JWTExpired)
        throw new LookoutError(
          'token_expired',
          'the access token has expired: refresh it (POST /api/v1/auth/refresh)',
          {
            headers: { 'WWW-Authenticate': 'Bearer realm="lookout", error="invalid_token"' },
          },
        );
      throw new LookoutError('unauthorized', 'the access token is not valid: sign in again', {
        headers: { 'WWW-Authenticate': 'Bearer realm="lookout", error="invalid_token"' },
      });
    }
  }
}

/**
 * jose works on WebCrypto keys; handed a KeyObject it imports it again on every call
 * (about 4× the cost of the check itself), so the key is converted once, here.
 */
const asCryptoKey = (key: KeyObject): CryptoKey =>
  key.toCryptoKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']) as CryptoKey;

/** The `kid` a token's header names, read without verifying anything (undefined when there is none). */
export function tokenKid(token: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/** A JWT is three base64url parts; the owner token is one. */
export const looksLikeJwt = (value: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(value);

import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { currentSharedSigningKey } from '../../src-main/access/signing-key.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { addUser, bearer, refresh, signedFrom, signIn, userSession } from '../helpers/access.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { SECRET_IN_LOG, tempWorkspace } from '../helpers/workspace.ts';

/** The key a token signs with, as the runtime holds it, and (team mode) its generation, which tokens name as `kid`. */
interface Signer {
  key: KeyObject;
  kid?: string;
  /** The stored form, to compare across a restart or a rotation. */
  stored: string;
}

/**
 * The runtime's signing key, read where its store keeps it: `.lookout/signing.key` on
 * SQLite, the `signing_keys` table when servers share PostgreSQL (LOOKOUT_TEST_STORE=postgres).
 */
async function signerOf(runtime: Runtime): Promise<Signer> {
  if (runtime.store.dialect === 'postgres') {
    const { key, generation } = await currentSharedSigningKey(runtime.store);
    return { key, kid: String(generation), stored: key.export().toString('base64url') };
  }
  const stored = fs.readFileSync(runtime.paths.signingKey, 'utf8');
  return { key: createSecretKey(Buffer.from(stored.trim(), 'base64url')), stored };
}

async function forge(
  signer: Pick<Signer, 'key' | 'kid'>,
  claims: { sub?: string; role?: string; aud?: string; exp?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: claims.role ?? 'admin' })
    .setProtectedHeader({ alg: 'HS256', ...(signer.kid === undefined ? {} : { kid: signer.kid }) })
    .setSubject(claims.sub ?? 'owner')
    .setJti('j1')
    .setIssuer('lookout')
    .setAudience(claims.aud ?? 'lookout-api')
    .setIssuedAt(now - 5)
    .setExpirationTime(claims.exp ?? now + 60)
    .sign(signer.key);
}

const events = async (runtime: Awaited<ReturnType<typeof startRuntime>>, types: string) =>
  (
    (await (await api(runtime, `/api/v1/events?types=${types}&limit=1000`)).json()) as {
      events: { type: string; data: Record<string, unknown> }[];
    }
  ).events;

function wsOpen(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
    ws.once('error', () => undefined);
  });
}

const closeOf = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );

describe('access: sign-in, tokens and refresh', () => {
  it('signs the owner in with the pasted token: an access JWT for Bearer and a refresh cookie bound to the auth path', async () => {
    const runtime = await startRuntime();
    const response = await signIn(runtime, { token: runtime.token });
    const signed = await signedFrom(response);
    expect(signed.body).toMatchObject({ token_type: 'Bearer', expires_in: 600, user: { id: 'owner', role: 'admin' } });
    expect(signed.setCookie).toMatch(new RegExp(`^lookout_refresh_${runtime.port}=`));
    expect(signed.setCookie).toContain('HttpOnly');
    expect(signed.setCookie).toContain('SameSite=Strict');
    expect(signed.setCookie).toContain('Path=/api/v1/auth;');
    expect(signed.setCookie).not.toContain('Secure');
    expect(response.headers.get('cache-control')).toBe('no-store');

    const me = await fetch(`${runtime.url}/api/v1/auth/me`, { headers: bearer(signed.access) });
    expect(await me.json()).toEqual({ id: 'owner', name: 'owner', role: 'admin' });

    // The cookie alone opens nothing: not a read, not a write, not the refresh.
    for (const [method, path] of [
      ['GET', '/api/v1/events'],
      ['POST', '/api/v1/session/handover'],
      ['GET', '/'],
    ] as const) {
      const res = await fetch(`${runtime.url}${path}`, { method, headers: { cookie: signed.cookie } });
      if (path === '/') expect(await res.text()).not.toContain(runtime.token);
      else expect(res.status).toBe(401);
    }
    expect((await refresh(runtime, { cookie: signed.cookie })).status).toBe(401);
    expect((await refresh(runtime, { binding: signed.binding })).status).toBe(401);
  });

  it('rotates the refresh token on every use and revokes the family when a used one comes back', async () => {
    const runtime = await startRuntime();
    const first = await signedFrom(await signIn(runtime, { token: runtime.token }));
    const second = await signedFrom(await refresh(runtime, first));
    expect(second.cookie).not.toBe(first.cookie);
    expect(second.binding).not.toBe(first.binding);
    expect((await fetch(`${runtime.url}/api/v1/auth/me`, { headers: bearer(second.access) })).status).toBe(200);
    const third = await signedFrom(await refresh(runtime, second));

    // The first pair again: someone kept a copy. The whole family dies, even the newest.
    const replay = await refresh(runtime, first);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: { message: string } }).error.message).toMatch(/already used/);
    expect((await refresh(runtime, third)).status).toBe(401);
    const reuse = await events(runtime, 'auth.refresh_reuse_detected');
    expect(reuse).toHaveLength(1);
    expect(reuse[0]!.data).toMatchObject({ subject: 'owner' });

    // A wrong binding with the right cookie is refused and rotates nothing.
    const other = await signedFrom(await signIn(runtime, { token: runtime.token }));
    expect((await refresh(runtime, { cookie: other.cookie, binding: first.binding })).status).toBe(401);
    expect((await refresh(runtime, other)).status).toBe(200);
  });

  it('signs out: the family is revoked and the cookie cleared', async () => {
    const runtime = await startRuntime();
    const signed = await signedFrom(await signIn(runtime, { token: runtime.token }));
    const out = await fetch(`${runtime.url}/api/v1/auth/sign-out`, {
      method: 'POST',
      headers: { cookie: signed.cookie, 'x-refresh-binding': signed.binding },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await refresh(runtime, signed)).status).toBe(401);
  });

  it('answers 401 token_expired for an expired token and 401 for forged ones (alg none, wrong key, tampered, wrong audience)', async () => {
    const runtime = await startRuntime();
    const key = await signerOf(runtime);
    const now = Math.floor(Date.now() / 1000);
    const expired = await forge(key, { exp: now - 1 });
    const res = await fetch(`${runtime.url}/api/v1/events`, { headers: bearer(expired) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('token_expired');

    const valid = await forge(key, { role: 'viewer' });
    const [header, payload, signature] = valid.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), role: 'admin' })).toString('base64url')}.${signature}`;
    const forged = [
      new UnsecuredJWT({ role: 'admin' })
        .setSubject('owner')
        .setIssuer('lookout')
        .setAudience('lookout-api')
        .setExpirationTime('1h')
        .encode(),
      // Another key, naming the current generation when there is one.
      await forge({ key: createSecretKey(randomBytes(32)), kid: key.kid }),
      tampered,
      await forge(key, { aud: 'something-else' }),
      'a.b.c',
      // Team mode: the right key under another generation's name is refused too.
      ...(key.kid === undefined ? [] : [await forge({ key: key.key, kid: String(Number(key.kid) + 1) })]),
    ];
    for (const token of forged) {
      const response = await fetch(`${runtime.url}/api/v1/users`, { headers: bearer(token) });
      expect(response.status, token).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    expect((await fetch(`${runtime.url}/api/v1/events`, { headers: bearer(valid) })).status).toBe(200);
  });

  it('keeps the signing key where its store lives (SQLite: .lookout, 0600; team mode: the database, never on disk): tokens and refreshes outlive a restart; rotate-key ends them', async () => {
    const workspace = tempWorkspace();
    const first = await startRuntime({ workspace });
    const signed = await signedFrom(await signIn(first, { token: first.token }));
    const key = (await signerOf(first)).stored;
    if (first.store.dialect === 'postgres') expect(fs.existsSync(first.paths.signingKey)).toBe(false);
    else expect(fs.statSync(first.paths.signingKey).mode & 0o777).toBe(0o600);
    await first.stop();

    // A restart: the same workspace and, in team mode, the same database.
    const databaseUrl = first.config.databaseUrl;
    const second = await startRuntime({ workspace, ...(databaseUrl === undefined ? {} : { databaseUrl }) });
    expect((await signerOf(second)).stored).toBe(key);
    expect((await fetch(`${second.url}/api/v1/auth/me`, { headers: bearer(signed.access) })).status).toBe(200);
    // The cookie is named after the port; the value is what counts.
    const value = signed.cookie.split('=')[1];
    const again = await signedFrom(
      await refresh(second, { cookie: `lookout_refresh_${second.port}=${value}`, binding: signed.binding }),
    );

    const rotated = await api(second, '/api/v1/auth/rotate-key', { method: 'POST' });
    expect(await rotated.json()).toEqual({ revoked_sessions: 1 });
    expect((await signerOf(second)).stored).not.toBe(key);
    expect((await fetch(`${second.url}/api/v1/auth/me`, { headers: bearer(again.access) })).status).toBe(401);
    expect((await refresh(second, again)).status).toBe(401);
    // Programs with the owner token carry on.
    expect((await api(second, '/api/v1/session')).status).toBe(200);
    if (second.store.dialect === 'postgres') expect(fs.existsSync(second.paths.signingKey)).toBe(false);
  });

  it('mints one-time codes for the owner only: each works once', async () => {
    const runtime = await startRuntime();
    const minted = await api(runtime, '/api/v1/auth/codes', { method: 'POST' });
    expect(minted.status).toBe(201);
    const { code, expires_in } = (await minted.json()) as { code: string; expires_in: number };
    expect(expires_in).toBe(60);
    expect((await signIn(runtime, { code })).status).toBe(200);
    const again = await signIn(runtime, { code });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('invalid_credentials');

    const admin = await userSession(runtime, 'ada', 'admin');
    expect(
      (await fetch(`${runtime.url}/api/v1/auth/codes`, { method: 'POST', headers: bearer(admin.access) })).status,
    ).toBe(403);
  });
});

describe('access: users', () => {
  it('creates users (unicode names, one name however it is cased or composed), refuses duplicates and bad input', async () => {
    const runtime = await startRuntime();
    const zoe = await addUser(runtime, 'Zoë', 'viewer');
    expect(zoe).toMatchObject({ name: 'Zoë', role: 'viewer', disabled: false, last_sign_in_at: null });
    expect(zoe.id).toMatch(/^u_/);
    await addUser(runtime, '李雷', 'operator');

    for (const [body, status, code] of [
      [{ name: 'zoë', role: 'viewer', password: 'long enough' }, 409, 'name_taken'],
      [{ name: 'Zoe\u0308', role: 'viewer', password: 'long enough' }, 409, 'name_taken'], // decomposed ë
      [{ name: 'owner', role: 'viewer', password: 'long enough' }, 409, 'name_taken'],
      [{ name: 'a b', role: 'viewer', password: 'long enough' }, 400, 'invalid_input'],
      [{ name: '', role: 'viewer', password: 'long enough' }, 400, 'invalid_input'],
      [{ name: 'x'.repeat(65), role: 'viewer', password: 'long enough' }, 400, 'invalid_input'],
      [{ name: 'bob', role: 'root', password: 'long enough' }, 400, 'invalid_input'],
      [{ name: 'bob', role: 'viewer', password: 'short' }, 400, 'invalid_input'],
      [{ name: 'bob', role: 'viewer', password: 'p'.repeat(1024 * 1024) }, 400, 'invalid_input'],
    ] as const) {
      const response = await api(runtime, '/api/v1/users', { method: 'POST', json: body });
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const list = (await (await api(runtime, '/api/v1/users')).json()) as { users: { name: string }[] };
    expect(list.users.map((u) => u.name)).toEqual(['Zoë', '李雷']);
    expect(JSON.stringify(list)).not.toMatch(/scrypt|password/);

    // Sign-in by name compares the same way; a 1 MB password is refused before any hashing.
    expect((await signIn(runtime, { name: 'ZOË', password: 'correct horse battery' })).status).toBe(200);
    const huge = await signIn(runtime, { name: 'Zoë', password: 'p'.repeat(1024 * 1024) });
    expect(huge.status).toBe(400);
  });

  it('gives the same 401 for an unknown name and a wrong password, and records both without secrets', async () => {
    const runtime = await startRuntime();
    await addUser(runtime, 'ada', 'operator');
    const unknown = await signIn(runtime, { name: 'nobody', password: 'correct horse battery' });
    const wrong = await signIn(runtime, { name: 'ada', password: 'hunter2hunter2' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await unknown.json()).toEqual(await wrong.json());
    const failed = await events(runtime, 'auth.sign_in_failed');
    expect(failed.map((e) => e.data.name)).toEqual([undefined, 'ada']);
    expect(JSON.stringify(failed)).not.toMatch(/hunter2|correct horse|nobody/);
    const created = await events(runtime, 'auth.user_created');
    expect(created[0]!.data).toMatchObject({ name: 'ada', role: 'operator', by: 'owner' });
  });

  it('disabling a user ends their access tokens, refreshes and streams at once, and their sign-in', async () => {
    const runtime = await startRuntime();
    const ada = await userSession(runtime, 'ada', 'operator');
    const { ws } = await wsOpen(`${runtime.url.replace('http', 'ws')}/ws`, bearer(ada.access));
    const closed = closeOf(ws);
    const patched = await api(runtime, '/api/v1/users/ada', { method: 'PATCH', json: { disabled: true } });
    expect(await patched.json()).toMatchObject({ name: 'ada', disabled: true });
    expect((await closed).code).toBe(4403);
    expect((await fetch(`${runtime.url}/api/v1/events`, { headers: bearer(ada.access) })).status).toBe(401);
    expect((await refresh(runtime, ada)).status).toBe(401);
    const again = await signIn(runtime, { name: 'ada', password: 'correct horse battery' });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/disabled/);
    expect((await events(runtime, 'auth.user_disabled'))[0]!.data).toMatchObject({ name: 'ada', by: 'owner' });

    await api(runtime, '/api/v1/users/ada', { method: 'PATCH', json: { disabled: false } });
    expect((await signIn(runtime, { name: 'ada', password: 'correct horse battery' })).status).toBe(200);
    expect((await api(runtime, '/api/v1/users/ada', { method: 'DELETE' })).status).toBe(204);
    expect((await api(runtime, '/api/v1/users/ada')).status).toBe(404);
  });

  it('a role change takes effect on the next request', async () => {
    const runtime = await startRuntime();
    const ada = await userSession(runtime, 'ada', 'operator');
    const post = () =>
      fetch(`${runtime.url}/api/v1/events`, {
        method: 'POST',
        headers: { ...bearer(ada.access), 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'x.test', data: {} }),
      });
    expect((await post()).status).toBe(201);
    await api(runtime, '/api/v1/users/ada', { method: 'PATCH', json: { role: 'viewer' } });
    // Tokens from before the change are void; a fresh sign-in carries the new role.
    expect((await post()).status).toBe(401);
    const again = await signedFrom(await signIn(runtime, { name: 'ada', password: 'correct horse battery' }));
    expect(again.body.user.role).toBe('viewer');
    ada.access = again.access;
    expect((await post()).status).toBe(403);
  });
});

describe('access: limits and origins', () => {
  it('slows down, then refuses repeated failed sign-ins with 429 and Retry-After (per name and per address)', async () => {
    const runtime = await startRuntime({ signInAttempts: 3 });
    await addUser(runtime, 'ada', 'viewer');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await signIn(runtime, { name: 'ada', password: `wrong-${i}-password` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const limited = await signIn(runtime, { name: 'ada', password: 'correct horse battery' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    // The owner's token from the same address is limited too (sign-in is never exempt).
    expect((await signIn(runtime, { token: runtime.token })).status).toBe(429);
  });

  it('limits API requests per principal with a token bucket; the owner on loopback is exempt', async () => {
    const runtime = await startRuntime({ apiRateBurst: 3, apiRatePerSecond: 0.5 });
    const ada = await userSession(runtime, 'ada', 'viewer');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${runtime.url}/api/v1/session`, { headers: bearer(ada.access) });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.at(-1)).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 10; i++) expect((await api(runtime, '/api/v1/session')).status).toBe(200);
  });

  it('refuses every write from another origin or another port, body or no body', async () => {
    const runtime = await startRuntime();
    const foreign = `http://127.0.0.1:${runtime.port + 1}`;
    for (const headers of [
      { origin: foreign },
      { origin: 'null' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
    ]) {
      const response = await api(runtime, '/api/v1/session/handover', { method: 'POST', headers });
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('forbidden_origin');
    }
    expect((await api(runtime, '/api/v1/session')).status).toBe(200);
    // Our own origin writes.
    const own = await api(runtime, '/api/v1/events', {
      method: 'POST',
      headers: { origin: runtime.url, 'sec-fetch-site': 'same-origin' },
      json: { type: 'x.ok', data: {} },
    });
    expect(own.status).toBe(201);
    const { status } = await wsOpen(`${runtime.url.replace('http', 'ws')}/ws`, {
      origin: foreign,
      'x-session-token': runtime.token,
    });
    expect(status).toBe(403);
  });

  it('from a non-loopback address (behind a trusted proxy) accepts user sign-ins only, and marks the cookie Secure over https', async () => {
    const runtime = await startRuntime({ trustProxy: true });
    await addUser(runtime, 'ada', 'viewer');
    const remote = { 'x-forwarded-for': '127.0.0.1, 203.0.113.7', 'x-forwarded-proto': 'https' };
    expect((await signIn(runtime, { token: runtime.token }, remote)).status).toBe(401);
    const { code } = (await (await api(runtime, '/api/v1/auth/codes', { method: 'POST' })).json()) as { code: string };
    expect((await signIn(runtime, { code }, remote)).status).toBe(401);
    expect((await api(runtime, '/api/v1/session', { headers: remote })).status).toBe(401);
    const user = await signedFrom(await signIn(runtime, { name: 'ada', password: 'correct horse battery' }, remote));
    expect(user.setCookie).toContain('Secure');
    expect(
      (await fetch(`${runtime.url}/api/v1/session`, { headers: { ...remote, ...bearer(user.access) } })).status,
    ).toBe(200);
    const failed = await events(runtime, 'auth.sign_in_failed');
    expect(failed.map((e) => [e.data.reason, e.data.address])).toEqual([
      ['remote_owner', '203.0.113.7'],
      ['remote_owner', '203.0.113.7'],
    ]);
  });
});

describe('access: streams', () => {
  it('opens /ws and SSE with a single-use ticket; a used ticket is refused', async () => {
    const runtime = await startRuntime();
    const ada = await userSession(runtime, 'ada', 'viewer');
    const ticket = async () =>
      (
        (await (
          await fetch(`${runtime.url}/api/v1/auth/ticket`, { method: 'POST', headers: bearer(ada.access) })
        ).json()) as {
          ticket: string;
        }
      ).ticket;
    const t1 = await ticket();
    const opened = await wsOpen(`${runtime.url.replace('http', 'ws')}/ws?ticket=${t1}`);
    expect(opened.status).toBeUndefined();
    opened.ws.close();
    expect((await wsOpen(`${runtime.url.replace('http', 'ws')}/ws?ticket=${t1}`)).status).toBe(401);
    expect((await wsOpen(`${runtime.url.replace('http', 'ws')}/ws`)).status).toBe(401);

    const t2 = await ticket();
    const controller = new AbortController();
    const sse = await fetch(`${runtime.url}/api/v1/sse?ticket=${t2}`, { signal: controller.signal });
    expect(sse.status).toBe(200);
    controller.abort();
    expect((await fetch(`${runtime.url}/api/v1/sse?ticket=${t2}`)).status).toBe(401);
    // Tickets open streams only.
    expect((await fetch(`${runtime.url}/api/v1/events?ticket=${await ticket()}`)).status).toBe(401);
  });

  it('closes a stream when its access token expires (WS 4401, SSE an error event), and the owner token never expires', async () => {
    const runtime = await startRuntime();
    const key = await signerOf(runtime);
    const soon = await forge(key, { exp: Math.floor(Date.now() / 1000) + 2 });
    const { ws } = await wsOpen(`${runtime.url.replace('http', 'ws')}/ws`, bearer(soon));
    const owner = await wsOpen(`${runtime.url.replace('http', 'ws')}/ws`, { 'x-session-token': runtime.token });
    const closed = await closeOf(ws);
    expect(closed).toEqual({ code: 4401, reason: 'token_expired' });
    expect(owner.ws.readyState).toBe(WebSocket.OPEN);
    owner.ws.close();

    const sseToken = await forge(key, { exp: Math.floor(Date.now() / 1000) + 2 });
    const sse = await fetch(`${runtime.url}/api/v1/sse`, { headers: bearer(sseToken) });
    const text = await sse.text(); // ends when the server ends the stream
    expect(text).toMatch(/event: error\ndata: \{"type":"error","code":"token_expired"/);
  });
});

describe('access: nothing secret in the log', () => {
  it('logs every access flow at trace level without a token, password, hash, binding, code or ticket', async () => {
    const runtime = await startRuntime({ logLevel: 'trace' });
    const secrets = [runtime.token, 'correct horse battery', 'p'.repeat(64)];
    const ada = await userSession(runtime, 'ada', 'admin');
    secrets.push(ada.access, ada.binding, ada.cookie.split('=')[1]!);
    const next = await signedFrom(await refresh(runtime, ada));
    secrets.push(next.access, next.binding);
    await refresh(runtime, ada); // reuse
    await signIn(runtime, { name: 'ada', password: 'p'.repeat(64) });
    await signIn(runtime, { name: 'p'.repeat(64), password: 'correct horse battery' });
    await signIn(runtime, { token: `${runtime.token}x` });
    const { code } = (await (await api(runtime, '/api/v1/auth/codes', { method: 'POST' })).json()) as { code: string };
    secrets.push(code);
    await signIn(runtime, { code });
    const { ticket } = (await (
      await fetch(`${runtime.url}/api/v1/auth/ticket`, { method: 'POST', headers: bearer(runtime.token) })
    ).json()) as { ticket: string };
    secrets.push(ticket);
    const { ws } = await wsOpen(`${runtime.url.replace('http', 'ws')}/ws?ticket=${ticket}`);
    ws.close();
    await wsOpen(`${runtime.url.replace('http', 'ws')}/ws?ticket=${ticket}`);
    await api(runtime, '/api/v1/users/ada', { method: 'PATCH', json: { password: 'another password' } });
    secrets.push('another password');
    await runtime.stop();

    const log = fs.readFileSync(runtime.paths.log, 'utf8');
    expect(log.split('\n').length).toBeGreaterThan(10);
    for (const secret of secrets) expect(log.includes(secret), secret.slice(0, 12)).toBe(false);
    expect(log).not.toMatch(SECRET_IN_LOG);
  });
});

import { createSecretKey } from 'node:crypto';
import fs from 'node:fs';
import Router from '@koa/router';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Role, roleAllows } from '../../src-shared/access.ts';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { defineRoute, mountRoutes, type Route } from '../../src-main/http/route.ts';
import { addUser } from '../helpers/access.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/**
 * Every role against every mounted route (HTTP, /ws, SSE), generated from the routes'
 * own declarations: a route added tomorrow is covered without touching this file.
 */

type Who = 'nobody' | Role | 'owner';
const WHO: readonly Who[] = ['nobody', 'viewer', 'operator', 'admin', 'owner'];
const roleOf = (who: Who): Role | undefined => (who === 'nobody' ? undefined : who === 'owner' ? 'admin' : who);

const SAMPLE_PARAMS: Record<string, string> = { id: 'nobody-here', section: 'priorities', file: 'nothing.js' };
const concretePath = (prefix: string, route: Route) =>
  `${prefix}${route.path}`.replace(/:(\w+)/g, (_m, name: string) => SAMPLE_PARAMS[name] ?? 'x');

const keyOf = (file: string) => createSecretKey(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url'));

async function accessToken(runtime: Runtime, sub: string, role: Role): Promise<string> {
  return new SignJWT({ role, iat_ms: Date.now() })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setJti(`${sub}-${role}`)
    .setIssuer('lookout')
    .setAudience('lookout-api')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(keyOf(runtime.paths.signingKey));
}

interface Principals {
  headers(who: Who): Promise<Record<string, string>>;
}

/** Users for each role in a template workspace, copied for every runtime that needs fresh state. */
async function templateWorkspace(): Promise<{ dir: string; ids: Record<Role, string> }> {
  const dir = tempWorkspace();
  const runtime = await createRuntime({ workspace: dir, port: 0, logLevel: 'warn' });
  const ids = {} as Record<Role, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const)
    ids[role] = (await addUser(runtime, `the-${role}`, role)).id;
  await runtime.stop();
  return { dir, ids };
}

function principals(runtime: Runtime, ids: Record<Role, string>): Principals {
  return {
    async headers(who): Promise<Record<string, string>> {
      if (who === 'nobody') return {};
      if (who === 'owner') return { 'x-session-token': runtime.token };
      return { authorization: `Bearer ${await accessToken(runtime, ids[who], who)}` };
    },
  };
}

/** A refusal by the policy guard itself (not a handler's own 401, like a refresh without its cookie). */
interface Outcome {
  status: number;
  guard: boolean;
}

async function call(runtime: Runtime, prefix: string, route: Route, headers: Record<string, string>): Promise<Outcome> {
  const url = `${runtime.url}${concretePath(prefix, route)}`;
  const write = route.method !== 'get';
  const controller = new AbortController();
  const response = await fetch(url, {
    method: route.method.toUpperCase(),
    headers: { ...headers, ...(write ? { 'content-type': 'application/json' } : {}) },
    body: write ? '{}' : undefined,
    signal: controller.signal,
  });
  const type = response.headers.get('content-type') ?? '';
  const text = type.includes('json') && response.status >= 400 ? await response.text() : '';
  controller.abort(); // streams (SSE) would run forever
  const guard = response.status === 403 ? /"required_role"/.test(text) : /this needs a credential/.test(text);
  return { status: response.status, guard };
}

function upgrade(runtime: Runtime, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${runtime.url.replace('http', 'ws')}/ws`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => undefined);
  });
}

describe('route policies', () => {
  it('every mounted route declares a policy, and mounting refuses one that does not', async () => {
    const runtime = await startRuntime();
    const mounted = runtime.routes.map(({ prefix, route }) => `${route.method.toUpperCase()} ${prefix}${route.path}`);
    // The streams are declared like any route.
    expect(mounted).toContain('GET /ws');
    expect(mounted).toContain('GET /api/v1/sse');
    expect(mounted).toContain('GET /openapi.json');
    for (const { route } of runtime.routes) {
      expect(['public', 'viewer', 'operator', 'admin']).toContain(route.policy.role);
      expect(['blocked', 'allowed']).toContain(route.policy.readOnly);
    }
    // Everything under /api/v1 but sign-in, refresh and sign-out needs a role.
    const open = runtime.routes.filter((r) => r.prefix === '/api/v1' && r.route.policy.role === 'public');
    expect(open.map((r) => r.route.path).sort()).toEqual(['/auth/refresh', '/auth/sign-in', '/auth/sign-out']);

    const undeclared = {
      ...defineRoute({
        method: 'get',
        path: '/x',
        summary: 'x',
        policy: { role: 'viewer', readOnly: 'allowed' },
        responses: {},
        handler: () => undefined,
      }),
    } as Partial<Route>;
    delete undeclared.policy;
    expect(() => mountRoutes(new Router(), [undeclared as Route], { guard: () => (_ctx, next) => next() })).toThrow(
      /GET \/x has no valid policy/,
    );

    // /openapi.json carries each operation's policy and its security.
    const doc = (await (await fetch(`${runtime.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          { security: unknown[]; 'x-lookout-policy': { role: string }; responses: Record<string, unknown> }
        >
      >;
    };
    for (const { prefix, route } of runtime.routes) {
      if (route.hidden) continue; // /ws and 404 explainers: mounted and guarded, not in the document
      const op = doc.paths[`${prefix}${route.path}`.replace(/:(\w+)/g, '{$1}') || '/']![route.method]!;
      expect(op['x-lookout-policy'].role).toBe(route.policy.role);
      if (route.policy.refreshCookie) expect(op.security).toEqual([{ refreshCookie: [] }]);
      else if (route.policy.role === 'public') expect(op.security).toEqual([]);
      else {
        expect(op.security).toContainEqual({ bearer: [] });
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
      }
      if (route.policy.readOnly === 'blocked') expect(op.responses).toHaveProperty('423');
    }
  });

  it('every role against every route: refused below the declared role (401 without a credential, 403 with too low a role)', async () => {
    const template = await templateWorkspace();
    const runtime = await createRuntime({ workspace: template.dir, port: 0, logLevel: 'warn' });
    try {
      const who = principals(runtime, template.ids);
      const seen: string[] = [];
      for (const { prefix, route } of runtime.routes) {
        for (const principal of WHO) {
          if (roleAllows(roleOf(principal), route.policy.role)) continue;
          const { status, guard } = await call(runtime, prefix, route, await who.headers(principal));
          seen.push(`${route.method} ${prefix}${route.path} as ${principal}: ${status}`);
          expect(status, seen.at(-1)).toBe(principal === 'nobody' ? 401 : 403);
          expect(guard, seen.at(-1)).toBe(true);
        }
      }
      for (const principal of WHO) {
        const status = await upgrade(runtime, await who.headers(principal));
        expect(status, `/ws as ${principal}`).toBe(principal === 'nobody' ? 401 : 101);
      }
      expect(seen.length).toBeGreaterThan(40);
    } finally {
      await runtime.stop();
    }
  });

  it('every role against every route: allowed at and above the declared role (a fresh server for each write)', async () => {
    const template = await templateWorkspace();
    const shared = await createRuntime({ workspace: template.dir, port: 0, logLevel: 'warn' });
    const checked: string[] = [];
    try {
      const who = principals(shared, template.ids);
      for (const { prefix, route } of shared.routes) {
        if (route.method !== 'get') continue;
        for (const principal of WHO) {
          if (!roleAllows(roleOf(principal), route.policy.role)) continue;
          const { status, guard } = await call(shared, prefix, route, await who.headers(principal));
          checked.push(`${route.method} ${prefix}${route.path} as ${principal}: ${status}`);
          expect(guard, checked.at(-1)).toBe(false);
          expect(status, checked.at(-1)).toBeLessThan(500);
        }
      }
    } finally {
      await shared.stop();
    }
    // Writes change things (rotate the key, hand the lock over, delete users), so each
    // allowed (route, principal) pair runs against its own copy of the template.
    const writes = (await startRuntime()).routes.filter((r) => r.route.method !== 'get');
    for (const { prefix, route } of writes) {
      for (const principal of WHO) {
        if (!roleAllows(roleOf(principal), route.policy.role)) continue;
        const dir = tempWorkspace();
        fs.cpSync(`${template.dir}/.lookout`, `${dir}/.lookout`, { recursive: true });
        const runtime = await createRuntime({ workspace: dir, port: 0, logLevel: 'warn' });
        try {
          const { status, guard } = await call(
            runtime,
            prefix,
            route,
            await principals(runtime, template.ids).headers(principal),
          );
          checked.push(`${route.method} ${prefix}${route.path} as ${principal}: ${status}`);
          expect(guard, checked.at(-1)).toBe(false);
          expect(status, checked.at(-1)).toBeLessThan(500);
        } finally {
          await runtime.stop();
        }
      }
    }
    expect(checked.length).toBeGreaterThan(60);
  }, 120_000);
});

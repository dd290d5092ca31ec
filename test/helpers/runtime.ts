import { afterEach } from 'vitest';
import type { ConfigInput } from '../../src-main/config.ts';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { createTestDatabase } from './postgres.ts';
import { tempWorkspace } from './workspace.ts';

/**
 * `LOOKOUT_TEST_STORE=postgres` runs every runtime of a suite in team mode, each on a fresh
 * PostgreSQL database: the same suites, the other store (see docs/team-mode.md).
 */
const onPostgres = process.env.LOOKOUT_TEST_STORE === 'postgres';

const running: Runtime[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((runtime) => runtime.stop()));
});

/** A real runtime on port 0 in a temporary workspace, stopped after the test. */
export async function startRuntime(overrides: ConfigInput = {}): Promise<Runtime> {
  const database =
    onPostgres && overrides.databaseUrl === undefined ? { databaseUrl: (await createTestDatabase()).url } : {};
  const runtime = await createRuntime({
    workspace: tempWorkspace(),
    port: 0,
    logLevel: 'warn',
    ...database,
    ...overrides,
  });
  running.push(runtime);
  return runtime;
}

/** fetch against a runtime with its token. */
export function api(runtime: Runtime, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('x-session-token') && !headers.has('authorization')) headers.set('x-session-token', runtime.token);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return fetch(`${runtime.url}${path}`, { ...init, headers, body });
}

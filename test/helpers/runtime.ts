import { afterEach } from 'vitest';
import type { ConfigInput } from '../../src-main/config.ts';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { tempWorkspace } from './workspace.ts';

const running: Runtime[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((runtime) => runtime.stop()));
});

/** A real runtime on port 0 in a temporary workspace, stopped after the test. */
export async function startRuntime(overrides: ConfigInput = {}): Promise<Runtime> {
  const runtime = await createRuntime({ workspace: tempWorkspace(), port: 0, logLevel: 'warn', ...overrides });
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

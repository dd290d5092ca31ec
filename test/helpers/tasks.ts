import { expect } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Task, TaskStatus } from '../../src-shared/tasks.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { AGENT_SCRIPT } from './git-repo.ts';
import { api } from './runtime.ts';

/** JSON body of a request that must answer `status`. */
export async function call<T>(
  runtime: Runtime,
  method: string,
  path: string,
  json?: unknown,
  status?: number,
): Promise<T> {
  const res = await api(runtime, path, { method, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  if (status !== undefined) expect(res.status, `${method} ${path}: ${text}`).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** An agent running the fixture script in `mode`. */
export function scriptAgent(runtime: Runtime, mode: string, extra: Record<string, unknown> = {}): Promise<Agent> {
  return call<Agent>(
    runtime,
    'POST',
    '/api/v1/agents',
    {
      name: `${mode}-${Math.random().toString(36).slice(2, 8)}`,
      command: [process.execPath, AGENT_SCRIPT, mode, '{prompt_file}'],
      ...extra,
    },
    201,
  );
}

export function createTask(runtime: Runtime, body: Record<string, unknown> = {}): Promise<Task> {
  return call<Task>(runtime, 'POST', '/api/v1/tasks', { title: 'Do the thing', ...body }, 201);
}

export function startTask(runtime: Runtime, agent: Agent, task: Task): Promise<Task> {
  return call<Task>(runtime, 'POST', `/api/v1/agents/${agent.id}/start-task`, { task_id: task.id }, 202);
}

/** Polls the task until `done(task)`; the test's own timeout bounds the wait. */
export async function waitForTask(runtime: Runtime, id: string, done: (task: Task) => boolean): Promise<Task> {
  for (;;) {
    const task = await call<Task>(runtime, 'GET', `/api/v1/tasks/${id}`, undefined, 200);
    if (done(task)) return task;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const FINAL: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];
export const settled = (task: Task): boolean => FINAL.includes(task.status);

export async function runTask(
  runtime: Runtime,
  mode: string,
  agentExtra: Record<string, unknown> = {},
  taskBody: Record<string, unknown> = {},
) {
  const agent = await scriptAgent(runtime, mode, agentExtra);
  const task = await createTask(runtime, taskBody);
  await startTask(runtime, agent, task);
  return { agent, task: await waitForTask(runtime, task.id, settled) };
}

export async function output(runtime: Runtime, id: string, offset = 0): Promise<string> {
  const res = await api(runtime, `/api/v1/tasks/${id}/output?offset=${Math.max(0, offset)}`);
  expect(res.status).toBe(200);
  return res.text();
}

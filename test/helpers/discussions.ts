import path from 'node:path';
import type { Agent } from '../../src-shared/agents.ts';
import type { Discussion, Message } from '../../src-shared/discussions.ts';
import type { EventEnvelope } from '../../src-shared/events.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { call } from './tasks.ts';

export const DISCUSSION_AGENT = path.resolve(import.meta.dirname, '../fixtures/discussion-agent.mjs');

/** A command agent running the discussion fixture in `mode`. */
export function commandAgent(
  runtime: Runtime,
  mode: string,
  arg?: string,
  extra: Record<string, unknown> = {},
): Promise<Agent> {
  return call<Agent>(
    runtime,
    'POST',
    '/api/v1/agents',
    {
      name: `${mode}-${Math.random().toString(36).slice(2, 8)}`,
      command: [process.execPath, DISCUSSION_AGENT, mode, ...(arg === undefined ? [] : [arg])],
      ...extra,
    },
    201,
  );
}

export function externalAgent(runtime: Runtime, name: string): Promise<Agent> {
  return call<Agent>(runtime, 'POST', '/api/v1/agents', { name }, 201);
}

export function newDiscussion(runtime: Runtime, body: Record<string, unknown>): Promise<Discussion> {
  return call<Discussion>(runtime, 'POST', '/api/v1/discussions', { topic: 'Offline mode', ...body }, 201);
}

export async function allMessages(runtime: Runtime, id: string): Promise<Message[]> {
  const page = await call<{ messages: Message[] }>(
    runtime,
    'GET',
    `/api/v1/discussions/${id}/messages?limit=500`,
    undefined,
    200,
  );
  return page.messages;
}

/** Polls the discussion until `done`; the test's own timeout bounds the wait. */
export async function waitForDiscussion(
  runtime: Runtime,
  id: string,
  done: (discussion: Discussion, messages: Message[]) => boolean,
): Promise<{ discussion: Discussion; messages: Message[] }> {
  for (;;) {
    const discussion = await call<Discussion>(runtime, 'GET', `/api/v1/discussions/${id}`, undefined, 200);
    const messages = await allMessages(runtime, id);
    if (done(discussion, messages)) return { discussion, messages };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Records every discussion.* event the bus publishes (in-process, in order). */
export function recordDiscussionEvents(runtime: Runtime): EventEnvelope[] {
  const events: EventEnvelope[] = [];
  runtime.bus.listen(['discussion.*'], (event) => events.push(event));
  return events;
}

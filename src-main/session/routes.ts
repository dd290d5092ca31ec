import { ServerStatus } from '../../src-shared/protocol.ts';
import { HandoverResponse, SessionState } from '../../src-shared/session.ts';
import type { SessionService } from './session.ts';
import { defineRoute } from '../http/route.ts';

export const HANDOVER_PATH = '/session/handover';
export const RECHECK_PATH = '/session/recheck';

export const sessionRoutes = (session: SessionService, status: () => ServerStatus) => [
  defineRoute({
    method: 'get',
    path: '/session',
    summary: 'Who holds the workspace lock, and whether this server is read-only',
    tags: ['session'],
    policy: { role: 'viewer', readOnly: 'allowed' },
    responses: { 200: { description: 'The session state', schema: SessionState } },
    handler: () => ({ body: session.state }),
  }),
  defineRoute({
    method: 'post',
    path: HANDOVER_PATH,
    summary: 'Ask the server to release the workspace lock (used by `lookout run`)',
    description:
      'The server releases the lock if it holds it and stays away for 10 s so the caller can take it; it re-takes the lock when the caller releases it or dies. Allowed in read-only mode.',
    tags: ['session'],
    policy: { role: 'operator', readOnly: 'allowed' },
    responses: {
      200: { description: 'released is false when the server did not hold the lock', schema: HandoverResponse },
    },
    handler: async () => {
      const released = await session.handover();
      return { body: { released, session: session.state } };
    },
  }),
  defineRoute({
    method: 'post',
    path: RECHECK_PATH,
    summary: 'Ask the server to look at the workspace lock now (used by `lookout run` after taking or releasing it)',
    description:
      'Ends the handover grace period: the server publishes the current holder at once, and takes the lock back if it is free. Allowed in read-only mode.',
    tags: ['session'],
    policy: { role: 'operator', readOnly: 'allowed' },
    responses: { 200: { description: 'The session state after the check', schema: SessionState } },
    handler: async () => {
      await session.recheck();
      return { body: session.state };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/status',
    summary: 'Server overview for `lookout status`: clients, last sequence number, lock',
    tags: ['server'],
    policy: { role: 'viewer', readOnly: 'allowed' },
    responses: { 200: { description: 'Server status', schema: ServerStatus } },
    handler: () => ({ body: status() }),
  }),
];

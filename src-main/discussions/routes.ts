import { API_PREFIX } from '../../src-shared/protocol.ts';
import {
  Discussion,
  DiscussionCreate,
  DiscussionList,
  DiscussionListQuery,
  MessageListQuery,
  MessagePage,
  MessagePost,
  MessagePosted,
} from '../../src-shared/discussions.ts';
import { defineRoute, type Route } from '../http/route.ts';
import type { DiscussionService } from './discussion-service.ts';

const read = { role: 'viewer', readOnly: 'allowed' } as const;
const write = { role: 'operator', readOnly: 'blocked' } as const;

const lifecycle = (
  discussions: DiscussionService,
  action: 'pause' | 'resume' | 'complete',
  summary: string,
  description: string,
) =>
  defineRoute({
    method: 'post',
    path: `/discussions/:id/${action}`,
    policy: write,
    summary,
    description,
    tags: ['discussions'],
    errors: [404, 409, 423],
    responses: { 200: { description: 'The discussion', schema: Discussion } },
    handler: async ({ params }) => ({ body: await discussions[action](params.id ?? '') }),
  });

export const discussionRoutes = (discussions: DiscussionService): Route[] =>
  [
    defineRoute({
      method: 'get',
      path: '/discussions',
      policy: read,
      summary: 'Discussions, newest first; `status` filters',
      tags: ['discussions'],
      query: DiscussionListQuery,
      responses: { 200: { description: 'The discussions', schema: DiscussionList } },
      handler: async ({ query }) => ({ body: { discussions: await discussions.list(query.status) } }),
    }),
    defineRoute({
      method: 'post',
      path: '/discussions',
      policy: write,
      summary: 'Start a discussion between agents (and you)',
      description:
        'Participants are agent ids in speaking order. `strategy`: `round_robin` (default), `moderated` (the `moderator`, by default the first participant, names who speaks next after each turn), `mention` (whoever the last message @-mentions, round robin otherwise). Unless `start` is false, the first speaker opens on the topic right away; each reply streams as `discussion.message_delta` events and is stored (`discussion.message_created`); turns go on until `max_turns` (default 20), a pause, or completion. Agent or document ids that name nothing: 404 with the fields in `details`. Publishes `discussion.created`.',
      tags: ['discussions'],
      body: DiscussionCreate,
      errors: [404, 423],
      responses: { 201: { description: 'The discussion', schema: Discussion } },
      handler: async ({ body, ctx }) => {
        const discussion = await discussions.create(body);
        ctx.set('Location', `${API_PREFIX}/discussions/${discussion.id}`);
        return { status: 201, body: discussion };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/discussions/:id',
      policy: read,
      summary: 'One discussion: status, whose turn it is, participants',
      tags: ['discussions'],
      errors: [404],
      responses: { 200: { description: 'The discussion', schema: Discussion } },
      handler: async ({ params }) => ({ body: await discussions.get(params.id ?? '') }),
    }),
    defineRoute({
      method: 'get',
      path: '/discussions/:id/messages',
      policy: read,
      summary: 'The transcript, oldest first, a page at a time',
      description:
        "Pass the previous page's `next_after` (a message id) as `after` for the next page; `next_after` is null on the last page. A message still `streaming` holds the text saved so far; follow `discussion.message_delta` events for the rest.",
      tags: ['discussions'],
      query: MessageListQuery,
      errors: [404],
      responses: { 200: { description: 'A page of messages', schema: MessagePage } },
      handler: async ({ params, query }) => ({
        body: await discussions.messages(params.id ?? '', { after: query.after, limit: query.limit }),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/discussions/:id/messages',
      policy: write,
      summary: 'Say something (as the person, or as an external agent answering its turn)',
      description:
        'Without `author` the person speaks; with it, a participant (an external agent answering `discussion.turn_assigned`). The turn logic then picks the next speaker. 409 while the discussion is paused or completed.',
      tags: ['discussions'],
      body: MessagePost,
      errors: [404, 409, 423],
      responses: { 201: { description: 'The stored message and the discussion after it', schema: MessagePosted } },
      handler: async ({ params, body }) => ({ status: 201, body: await discussions.post(params.id ?? '', body) }),
    }),
    lifecycle(
      discussions,
      'pause',
      'Pause: a reply streaming now is stopped (its process killed, its request aborted)',
      'The stopped reply is kept as `failed` with the error `paused`; on resume its speaker gets the turn again. Publishes `discussion.status_changed`.',
    ),
    lifecycle(
      discussions,
      'resume',
      'Resume a paused discussion',
      'Turns go on where they stopped (an interrupted speaker first). Publishes `discussion.status_changed`.',
    ),
    lifecycle(
      discussions,
      'complete',
      'End a discussion for good',
      'A reply streaming now is stopped. Nothing more can be posted. Publishes `discussion.status_changed`.',
    ),
  ] as Route[];

import type { Context } from 'koa';
import type { z } from 'zod';
import { CommandRequestDocument, CommandResponse } from '../../src-shared/commands.ts';
import {
  Collection,
  CollectionList,
  CommandRequest,
  SECTION_SCHEMAS,
  STATE_SECTIONS,
  StateDocument,
  type StateSection,
  SystemState,
  SystemStatusUpdate,
} from '../../src-shared/state.ts';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import type { StateService } from './state-service.ts';
import { defineRoute, type Route } from '../http/route.ts';

const SECTION_HELP: Record<StateSection, string> = {
  calendar: 'An array of `{id, title, start, end?, kind}`; ids are unique.',
  priorities: 'An array of `{id, title, status: open|approved|done, rank?, owner?}`; ids (like `P7`) are unique.',
  commitments: '`{owe: [...], owed: [...]}` of `{id, text, counterparty, due?}`; ids are unique across both lists.',
  active_brief: '`{target, summary, created_at}`, or `null` to clear it.',
};

function unknownSection(section: string): LookoutError {
  const system =
    section === 'system'
      ? `; the system status lives at ${API_PREFIX}/system/status (GET to read, POST to change)`
      : '';
  return new LookoutError(
    'not_found',
    `no state section ${JSON.stringify(section)}: the sections are ${STATE_SECTIONS.join(', ')}${system}`,
    {
      details: { section, sections: STATE_SECTIONS },
    },
  );
}

/**
 * Koa answers 204 for a null body; the brief section is legitimately `null`, and a
 * client reading a section must get JSON either way.
 */
function sectionBody(ctx: Context, value: unknown): undefined {
  ctx.status = 200;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = JSON.stringify(value);
  return undefined;
}

function getSection<S extends StateSection>(state: StateService, section: S): Route {
  return defineRoute({
    method: 'get',
    path: `/state/${section}`,
    summary: `The ${section} section`,
    description: SECTION_HELP[section],
    tags: ['state'],
    policy: { role: 'viewer', readOnly: 'allowed' },
    responses: { 200: { description: `The ${section} section`, schema: SECTION_SCHEMAS[section] } },
    handler: async ({ ctx }) => {
      await state.synced();
      return sectionBody(ctx, state.section(section));
    },
  }) as Route;
}

function putSection<S extends StateSection>(state: StateService, section: S): Route {
  const schema = SECTION_SCHEMAS[section] as unknown as z.ZodType<StateDocument[S]>;
  return defineRoute<undefined, StateDocument[S]>({
    method: 'put',
    path: `/state/${section}`,
    summary: `Replace the ${section} section`,
    description: `${SECTION_HELP[section]} Publishes \`system.state_changed\` with \`{"section": "${section}"}\`.`,
    tags: ['state'],
    policy: { role: 'operator', readOnly: 'blocked' },
    body: schema,
    errors: [423],
    responses: { 200: { description: 'The section as stored', schema } },
    handler: async ({ body, ctx }) => sectionBody(ctx, await state.replaceSection(section, body)),
  }) as Route;
}

export const stateRoutes = (state: StateService): Route[] =>
  [
    defineRoute({
      method: 'get',
      path: '/state',
      summary: 'The state document: system status, calendar, priorities, commitments, active brief',
      description: 'The same document the WebSocket `snapshot` carries.',
      tags: ['state'],
      policy: { role: 'viewer', readOnly: 'allowed' },
      responses: { 200: { description: 'The state document', schema: StateDocument } },
      handler: async () => {
        await state.synced(); // team mode: a change whose event this server has seen is in it
        return { body: state.document() };
      },
    }),
    // One path per section, each with its own schema; the parameterised routes below
    // (left out of the document, so no path overlaps another) only explain a 404.
    ...STATE_SECTIONS.map((section) => getSection(state, section)),
    defineRoute({
      method: 'get',
      path: '/state/:section',
      summary: 'Any other section: 404 naming the sections there are',
      tags: ['state'],
      policy: { role: 'viewer', readOnly: 'allowed' },
      hidden: true,
      errors: [404],
      responses: {},
      handler: ({ params }) => {
        throw unknownSection(params.section ?? '');
      },
    }),
    ...STATE_SECTIONS.map((section) => putSection(state, section)),
    defineRoute({
      method: 'put',
      path: '/state/:section',
      summary: 'Any other section: 404 naming the sections there are',
      tags: ['state'],
      policy: { role: 'operator', readOnly: 'blocked' },
      // The sections have their own paths above; this only explains a 404.
      hidden: true,
      errors: [404],
      responses: {},
      handler: ({ params }) => {
        throw unknownSection(params.section ?? '');
      },
    }),
    defineRoute({
      method: 'get',
      path: '/system/status',
      summary: 'What the system is doing: status, progress, last sync',
      tags: ['state'],
      policy: { role: 'viewer', readOnly: 'allowed' },
      responses: { 200: { description: 'The system status', schema: SystemState } },
      handler: async () => {
        await state.synced();
        return { body: state.system() };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/system/status',
      summary: 'Set the status and/or progress',
      description:
        'A field not given keeps its value, except that entering COLLECTING or PROCESSING without a progress starts at 0; `message` is cleared unless given. Publishes `system.status_changed` with the new value.',
      tags: ['state'],
      policy: { role: 'operator', readOnly: 'blocked' },
      body: SystemStatusUpdate,
      errors: [423],
      responses: { 200: { description: 'The new system status', schema: SystemState } },
      handler: async ({ body }) => ({ body: await state.updateSystem(body) }),
    }),
    defineRoute({
      method: 'post',
      path: '/commands',
      summary: 'Run a command: approve <id>, brief <target>, refresh, help',
      description:
        'Command names ignore case; targets keep theirs. A line that is not a command is 400 `unknown_command` whose details list the commands (`known`, `usage`) and say what was wrong (`reason`). An unknown target is 404; approving a done priority is 409; `refresh` while a collection runs is 409.',
      tags: ['state'],
      policy: { role: 'operator', readOnly: 'blocked' },
      body: CommandRequest,
      documentedBody: CommandRequestDocument,
      errors: [404, 409, 423],
      responses: { 200: { description: 'What the command did', schema: CommandResponse } },
      handler: async ({ body }) => ({ body: await state.execute(body.command) }),
    }),
    defineRoute({
      method: 'post',
      path: '/collections',
      summary: 'Start a collection (git commits and file changes since the last sync)',
      description:
        'Answers at once; the system status goes COLLECTING with progress published every tenth (`system.status_changed`), then IDLE with `last_sync`, or ERROR with the reason. One at a time: 409 while one runs (`details.collection`); in team mode one at a time in the whole team, and a start while another server collects is 409 naming it (`details.running`: `server`, `id`, `started_at`).',
      tags: ['collections'],
      policy: { role: 'operator', readOnly: 'blocked' },
      errors: [409, 423],
      responses: {
        202: { description: 'Started; poll GET /api/v1/collections/{id} or watch the events', schema: Collection },
      },
      handler: async ({ ctx }) => {
        const collection = await state.collections.start();
        ctx.set('Location', `${API_PREFIX}/collections/${collection.id}`);
        return { status: 202, body: collection };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/collections',
      summary: 'Recent collections, newest first (kept in memory: the last 20 and the running one)',
      tags: ['collections'],
      policy: { role: 'viewer', readOnly: 'allowed' },
      responses: { 200: { description: 'Recent collections', schema: CollectionList } },
      handler: () => ({ body: { collections: state.collections.list() } }),
    }),
    defineRoute({
      method: 'get',
      path: '/collections/:id',
      summary: 'One collection: status, progress, results per collector',
      tags: ['collections'],
      policy: { role: 'viewer', readOnly: 'allowed' },
      errors: [404],
      responses: { 200: { description: 'The collection', schema: Collection } },
      handler: ({ params }) => {
        const collection = state.collections.get(params.id ?? '');
        if (!collection)
          throw new LookoutError(
            'not_found',
            `no collection has the id ${params.id ?? ''} (the server keeps the last 20 since it started)`,
          );
        return { body: collection };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/collections/:id/cancel',
      summary: 'Cancel a running collection',
      description:
        'The collection ends `cancelled` at once and nothing it had not yet reported is published; the system returns to IDLE with a message. 409 when it has already finished.',
      tags: ['collections'],
      policy: { role: 'operator', readOnly: 'blocked' },
      errors: [404, 409, 423],
      responses: { 200: { description: 'The cancelled collection', schema: Collection } },
      handler: async ({ params }) => ({ body: await state.collections.cancel(params.id ?? '') }),
    }),
  ] as Route[];

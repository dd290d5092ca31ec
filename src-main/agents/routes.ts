import { API_PREFIX } from '../../src-shared/protocol.ts';
import { Agent, AgentCreate, AgentList, AgentPresetList, AgentUpdate } from '../../src-shared/agents.ts';
import { StartTaskBody, Task } from '../../src-shared/tasks.ts';
import { defineRoute, type Route } from '../http/route.ts';
import { listPresets } from './presets.ts';
import type { AgentRegistry } from './registry.ts';

/** What starting a task needs from the tasks domain (declared here so agents never import tasks). */
export interface TaskStarter {
  start(agentId: string, taskId: string): Promise<Task>;
}

const CREATE_HELP =
  '`command` is an argv array run without a shell; `{prompt}`, `{prompt_file}` and `{workdir}` are replaced in every element. Or give `preset` (see /agents/presets). The program is a name on PATH or an absolute path; an agent whose program is missing is listed `offline` with the reason.';

export const agentRoutes = (agents: AgentRegistry, tasks: TaskStarter): Route[] =>
  [
    defineRoute({
      method: 'get',
      path: '/agents',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'Every agent, with its status and current task',
      tags: ['agents'],
      responses: { 200: { description: 'The agents', schema: AgentList } },
      handler: async () => ({ body: { agents: await agents.list() } }),
    }),
    defineRoute({
      method: 'get',
      path: '/agents/presets',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'Ready-made commands for real agent CLIs, and whether each is installed here',
      tags: ['agents'],
      responses: { 200: { description: 'The presets', schema: AgentPresetList } },
      handler: () => ({ body: { presets: listPresets() } }),
    }),
    defineRoute({
      method: 'post',
      path: '/agents',
      policy: { role: 'admin', readOnly: 'blocked' },
      summary: 'Add an agent',
      description: `${CREATE_HELP} Publishes \`agent.created\`.`,
      tags: ['agents'],
      body: AgentCreate,
      errors: [409, 423],
      responses: { 201: { description: 'The agent', schema: Agent } },
      handler: async ({ body }) => ({ status: 201, body: await agents.create(body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/agents/:id',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'One agent',
      tags: ['agents'],
      errors: [404],
      responses: { 200: { description: 'The agent', schema: Agent } },
      handler: async ({ params }) => ({ body: await agents.get(params.id ?? '') }),
    }),
    defineRoute({
      method: 'patch',
      path: '/agents/:id',
      policy: { role: 'admin', readOnly: 'blocked' },
      summary: 'Change an agent (a running task keeps the command it started with)',
      tags: ['agents'],
      body: AgentUpdate,
      errors: [404, 409, 423],
      responses: { 200: { description: 'The agent', schema: Agent } },
      handler: async ({ params, body }) => ({ body: await agents.update(params.id ?? '', body) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/agents/:id',
      policy: { role: 'admin', readOnly: 'blocked' },
      summary: 'Remove an agent (409 while it works on a task)',
      tags: ['agents'],
      errors: [404, 409, 423],
      responses: { 204: { description: 'Removed' } },
      handler: async ({ params }) => {
        await agents.delete(params.id ?? '');
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/agents/:id/start-task',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary: 'Start a pending task on this agent',
      description:
        'The task is `queued`, then `running` as soon as the global limit of running tasks allows. The agent must be free (409 when it works on another task) and its program installed (409 `offline`). The program runs in a git worktree on branch `lookout/task-<id>` with `LOOKOUT_URL`, `LOOKOUT_TOKEN` and `LOOKOUT_TASK_ID` in its environment.',
      tags: ['agents', 'tasks'],
      body: StartTaskBody,
      errors: [404, 409, 423],
      responses: { 202: { description: 'The task, queued or running', schema: Task } },
      handler: async ({ params, body, ctx }) => {
        const task = await tasks.start(params.id ?? '', body.task_id);
        ctx.set('Location', `${API_PREFIX}/tasks/${task.id}`);
        return { status: 202, body: task };
      },
    }),
  ] as Route[];

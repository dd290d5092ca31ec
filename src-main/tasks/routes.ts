import fs from 'node:fs';
import { z } from 'zod';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import {
  GitOperationList,
  GitOperationQuery,
  MergeBody,
  MergeResult,
  OutputQuery,
  parseStatusList,
  Sandbox,
  SandboxList,
  Task,
  TaskCreate,
  TaskList,
  TaskListQuery,
  TaskUpdate,
} from '../../src-shared/tasks.ts';
import { defineRoute, type Route } from '../http/route.ts';
import type { GitRunner } from './git-runner.ts';
import type { Sandboxes } from './sandbox/sandboxes.ts';
import type { TaskService } from './task-service.ts';

const DeleteQuery = z.strictObject({
  delete_branch: z.enum(['true', 'false'], { error: 'delete_branch is true or false' }).optional(),
});

export const taskRoutes = (tasks: TaskService, sandboxes: Sandboxes, git: GitRunner): Route[] =>
  [
    defineRoute({
      method: 'get',
      path: '/tasks',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'Tasks, newest first; `status` filters (comma-separated)',
      tags: ['tasks'],
      query: TaskListQuery,
      responses: { 200: { description: 'The tasks', schema: TaskList } },
      handler: async ({ query }) => ({
        body: { tasks: await tasks.list({ status: parseStatusList(query.status), agentId: query.agent_id }) },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/tasks',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary: 'Create a task (pending until started on an agent)',
      description:
        'The prompt an agent gets is the title, a blank line, and the description. `base` (a branch, tag or sha; default the branch checked out now) must name a commit (404 otherwise; a malformed ref is 400). Publishes `task.created`.',
      tags: ['tasks'],
      body: TaskCreate,
      errors: [404, 423],
      responses: { 201: { description: 'The task', schema: Task } },
      handler: async ({ body, ctx }) => {
        const task = await tasks.create(body);
        ctx.set('Location', `${API_PREFIX}/tasks/${task.id}`);
        return { status: 201, body: task };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/tasks/:id',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'One task',
      tags: ['tasks'],
      errors: [404],
      responses: { 200: { description: 'The task', schema: Task } },
      handler: async ({ params }) => ({ body: await tasks.get(params.id ?? '') }),
    }),
    defineRoute({
      method: 'patch',
      path: '/tasks/:id',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary: 'Change a task (title and priority any time; the rest while pending)',
      tags: ['tasks'],
      body: TaskUpdate,
      errors: [404, 409, 423],
      responses: { 200: { description: 'The task', schema: Task } },
      handler: async ({ params, body }) => ({ body: await tasks.update(params.id ?? '', body) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/tasks/:id',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary:
        'Delete a task that is not running, with its log and sandbox (its branch stays unless delete_branch=true)',
      tags: ['tasks'],
      query: DeleteQuery,
      errors: [404, 409, 423],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ params, query }) => {
        await tasks.delete(params.id ?? '', { deleteBranch: query.delete_branch === 'true' });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/tasks/:id/cancel',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary: 'Cancel a task: a running one gets SIGTERM to its process group, SIGKILL after the grace period',
      description:
        'Answers at once; the task ends `cancelled` (watch `task.status_changed`). 409 when it has already ended.',
      tags: ['tasks'],
      errors: [404, 409, 423],
      responses: { 202: { description: 'The task', schema: Task } },
      handler: async ({ params }) => ({ status: 202, body: await tasks.cancel(params.id ?? '') }),
    }),
    defineRoute({
      method: 'post',
      path: '/tasks/:id/merge',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary: "Merge a succeeded task's branch into its base",
      description:
        'The merge is made in a scratch worktree, then the base moves to it: where the base is checked out, by a fast-forward there (git refuses if it would overwrite uncommitted changes: 409). Conflicts: 409 `merge_conflict` with `details.files`. `{"push": true}` then pushes the base to its remote. 423 while the CLI holds the workspace.',
      tags: ['tasks'],
      body: MergeBody,
      errors: [404, 409, 423],
      responses: { 200: { description: 'Merged', schema: MergeResult } },
      handler: async ({ params, body }) => ({ body: await tasks.merge(params.id ?? '', body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/tasks/:id/output',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: "The task's complete output (stdout and stderr lines as they came), as text",
      description:
        'Events carry the output live but stop after a budget; this is all of it. `offset` (bytes) returns only what follows; the response header `X-Output-Size` is the offset to ask for next, and `X-Task-Status` says whether more can come.',
      tags: ['tasks'],
      query: OutputQuery,
      errors: [404, 409],
      responses: { 200: { description: 'The output', contentType: 'text/plain' } },
      handler: async ({ params, query, ctx }) => {
        // 409 in team mode when another server ran it (its log is there).
        const task = await tasks.withLocalOutput(params.id ?? '');
        const file = tasks.logFile(task.id);
        // No file yet: the task has not started (or printed nothing).
        const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
        ctx.status = 200;
        ctx.type = 'text/plain; charset=utf-8';
        ctx.set('X-Output-Size', String(size));
        ctx.set('X-Task-Status', task.status);
        ctx.set('Cache-Control', 'no-store');
        // A snapshot up to the size measured now, so the header and the body agree.
        ctx.body = query.offset >= size ? '' : fs.createReadStream(file, { start: query.offset, end: size - 1 });
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/sandboxes',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'Sandboxes (git worktrees under .lookout/sandboxes/), newest first',
      tags: ['sandboxes'],
      responses: { 200: { description: 'The sandboxes', schema: SandboxList } },
      handler: async () => ({ body: { sandboxes: await sandboxes.list() } }),
    }),
    defineRoute({
      method: 'get',
      path: '/sandboxes/:id',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'One sandbox',
      tags: ['sandboxes'],
      errors: [404],
      responses: { 200: { description: 'The sandbox', schema: Sandbox } },
      handler: async ({ params }) => ({ body: await sandboxes.get(params.id ?? '') }),
    }),
    defineRoute({
      method: 'delete',
      path: '/sandboxes/:id',
      policy: { role: 'operator', readOnly: 'blocked' },
      summary: "Remove a sandbox's worktree; its branch and commits stay (409 while its task runs)",
      tags: ['sandboxes'],
      errors: [404, 409, 423],
      responses: { 200: { description: 'The sandbox, now destroyed', schema: Sandbox } },
      handler: async ({ params }) => ({ body: await sandboxes.destroy(params.id ?? '') }),
    }),
    defineRoute({
      method: 'get',
      path: '/git-operations',
      policy: { role: 'viewer', readOnly: 'allowed' },
      summary: 'Every git command the orchestrator ran, oldest first (the newest `limit`)',
      tags: ['tasks'],
      query: GitOperationQuery,
      responses: { 200: { description: 'The operations', schema: GitOperationList } },
      handler: async ({ query }) => ({
        body: { git_operations: await git.list({ taskId: query.task_id, limit: query.limit }) },
      }),
    }),
  ] as Route[];

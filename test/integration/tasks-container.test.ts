import { describe, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import type { Task } from '../../src-shared/tasks.ts';
import { containerProvider } from '../../src-main/tasks/sandbox/providers.ts';
import { git, tempRepo } from '../helpers/git-repo.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { call, createTask, settled, waitForTask } from '../helpers/tasks.ts';

// A real container run needs a runtime whose daemon answers and an image that is already
// present (tests never pull): LOOKOUT_TEST_IMAGE, e.g. node:24-slim.
const unavailable = await containerProvider().unavailable();
const image = process.env.LOOKOUT_TEST_IMAGE;
const skipReason = unavailable ?? (image ? null : 'LOOKOUT_TEST_IMAGE is not set (an image already present locally)');

describe('the container sandbox provider', () => {
  it.runIf(unavailable !== null)(
    `is refused with the reason when no runtime answers (here: ${unavailable})`,
    async () => {
      const runtime = await startRuntime({ workspace: tempRepo() });
      const agent = await call<Agent>(
        runtime,
        'POST',
        '/api/v1/agents',
        { name: 'boxed', command: ['node', '-e', '1'], provider: 'container', image: 'node:24-slim' },
        201,
      );
      const task = await createTask(runtime);
      const res = await api(runtime, `/api/v1/agents/${agent.id}/start-task`, {
        method: 'POST',
        json: { task_id: task.id },
      });
      expect(res.status).toBe(409);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toContain(unavailable!);
      expect((await call<Task>(runtime, 'GET', `/api/v1/tasks/${task.id}`)).status).toBe('pending');
    },
  );

  it.skipIf(skipReason !== null)(
    `runs the agent in a container on the worktree, without network${skipReason ? ` (skipped: ${skipReason})` : ''}`,
    async () => {
      const repo = tempRepo();
      const runtime = await startRuntime({ workspace: repo });
      const script =
        "require('fs').writeFileSync('from-container.txt', 'hi\\n'); require('dns').lookup('example.com', (e) => console.log(e ? 'no network' : 'network'))";
      const agent = await call<Agent>(
        runtime,
        'POST',
        '/api/v1/agents',
        { name: 'boxed', command: ['node', '-e', script], provider: 'container', image },
        201,
      );
      const task = await createTask(runtime);
      await call(runtime, 'POST', `/api/v1/agents/${agent.id}/start-task`, { task_id: task.id }, 202);
      const done = await waitForTask(runtime, task.id, settled);
      expect(done.status).toBe('succeeded');
      expect(git(repo, 'show', `${done.git_branch}:from-container.txt`)).toBe('hi');
      const output = await (await api(runtime, `/api/v1/tasks/${task.id}/output`)).text();
      expect(output).toContain('no network');
    },
  );
});

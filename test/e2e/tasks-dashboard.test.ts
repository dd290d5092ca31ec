import { describe, expect, it } from 'vitest';
import { spawnLookout } from '../helpers/cli.ts';
import { git, tempRepo } from '../helpers/git-repo.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { createTask, scriptAgent, settled, waitForTask } from '../helpers/tasks.ts';
import { useChromium } from './use-chromium.ts';

const chromium = useChromium();

describe('dashboard: agents and tasks', () => {
  it('shows agents and tasks live, starts a task, shows its output and git operations, merges it', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo });
    const agent = await scriptAgent(runtime, 'write', { name: 'writer' });
    const task = await createTask(runtime, { title: 'Write from the dashboard' });
    const { page, errors } = await chromium.open(runtime);

    const agents = page.getByRole('region', { name: 'Agents' });
    const tasks = page.getByRole('region', { name: 'Tasks' });
    await agents.getByText('writer').waitFor({ timeout: 8000 });
    await expect.poll(() => agents.locator('.pill').first().textContent()).toBe('idle');
    const item = tasks.locator(`[data-task="${task.id}"]`);
    await item.getByText('Write from the dashboard').waitFor({ timeout: 8000 });
    expect(await tasks.locator('.task-group[data-status="pending"]').count()).toBe(1);

    await item.getByRole('button', { name: 'Start' }).click();
    const done = await waitForTask(runtime, task.id, settled);
    expect(done.status).toBe('succeeded');
    await tasks.locator(`.task-group[data-status="succeeded"] [data-task="${task.id}"]`).waitFor({ timeout: 8000 });

    await tasks.locator(`[data-task="${task.id}"]`).getByRole('button', { name: 'Write from the dashboard' }).click();
    const drawer = page.getByRole('dialog', { name: /Write from the dashboard/ });
    await drawer.getByLabel('Task output').getByText('first line').waitFor({ timeout: 8000 });
    await drawer.getByRole('table', { name: 'Git operations' }).getByText('commit').waitFor({ timeout: 8000 });
    expect(await drawer.textContent()).toContain('2 files');

    await drawer.getByRole('button', { name: 'Merge' }).click();
    await drawer.getByText('merged', { exact: true }).waitFor({ timeout: 8000 });
    await drawer.getByText('Merged', { exact: true }).waitFor({ timeout: 8000 });
    expect(git(repo, 'log', '-1', '--format=%s')).toBe(`Merge task ${task.id}: Write from the dashboard`);
    expect(agent.id).toBeTruthy();
    expect(errors).toEqual([]);
  }, 60_000);

  it('disables start, cancel and merge while the CLI holds the workspace, saying why', async () => {
    const repo = tempRepo();
    const runtime = await startRuntime({ workspace: repo });
    await scriptAgent(runtime, 'write', { name: 'writer' });
    const task = await createTask(runtime, { title: 'Blocked task' });
    const { page } = await chromium.open(runtime);
    const item = page.getByRole('region', { name: 'Tasks' }).locator(`[data-task="${task.id}"]`);
    await item.getByRole('button', { name: 'Start' }).waitFor({ timeout: 8000 });
    expect(await item.getByRole('button', { name: 'Start' }).isEnabled()).toBe(true);
    const holder = spawnLookout([
      'run',
      '--workspace',
      repo,
      '--',
      process.execPath,
      '-e',
      "process.stdin.resume(); process.stdin.on('end', () => process.exit(0)); console.log('ready')",
    ]);
    await holder.waitFor(/ready/);
    await expect.poll(() => item.getByRole('button', { name: 'Start' }).isDisabled(), { timeout: 10_000 }).toBe(true);
    expect(await item.getByRole('button', { name: 'Cancel' }).getAttribute('title')).toMatch(/^Read-only/);
    holder.child.stdin!.end();
    await holder.exited;
    await expect.poll(() => item.getByRole('button', { name: 'Start' }).isEnabled(), { timeout: 10_000 }).toBe(true);
  }, 60_000);
});

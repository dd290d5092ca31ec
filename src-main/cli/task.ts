import fs from 'node:fs';
import type { Command } from 'commander';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import type { ServerInfo } from '../../src-shared/server-info.ts';
import {
  isFinalTaskStatus,
  type MergeResult,
  type Task,
  type TaskList,
  TASK_PRIORITIES,
  type TaskStatus,
} from '../../src-shared/tasks.ts';
import { connect, resolveAgent, table } from './agent.ts';
import { callApi } from './connection.ts';
import { findByIdPrefix } from './id-prefix.ts';
import { CliError, commandAction as action } from './output.ts';
import { positiveInt } from './agent.ts';

const FOLLOW_INTERVAL_MS = 300;

/** A task named by its id or an unambiguous prefix of it. */
async function resolveTask(server: ServerInfo, ref: string): Promise<Task> {
  const { tasks } = await callApi<TaskList>(server, 'GET', '/tasks');
  return findByIdPrefix(tasks, ref, 'task', 'lookout task list');
}

/** Output from `offset`, and where to read next. */
async function readOutput(server: ServerInfo, id: string, offset: number) {
  let res: Response;
  try {
    res = await fetch(`${server.url}${API_PREFIX}/tasks/${id}/output?offset=${offset}`, {
      headers: { 'x-session-token': server.token },
      signal: AbortSignal.timeout(60_000),
    });
  } catch (error) {
    throw new CliError(
      `the server at ${server.url} is not answering (${(error as Error).message}); restart it with \`lookout serve\``,
    );
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    throw new CliError(`the server refused: ${body?.error?.message ?? `HTTP ${res.status}`}`);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    bytes,
    next: Number(res.headers.get('x-output-size') ?? offset + bytes.length),
    status: (res.headers.get('x-task-status') ?? 'pending') as TaskStatus,
  };
}

const exitFor = (status: TaskStatus): number => (status === 'succeeded' ? 0 : 1);

function describe(task: Task): string {
  const end =
    task.exit_code === null
      ? task.reason
        ? ` (${task.reason})`
        : ''
      : ` (exit ${task.exit_code}${task.reason ? `, ${task.reason}` : ''})`;
  return `task ${task.id} ${task.status}${end}: ${task.title}`;
}

export function registerTask(program: Command): void {
  const task = program.command('task').description('create tasks, run them on agents, follow their output, merge them');

  task
    .command('list')
    .description('tasks, newest first')
    .option('--status <list>', 'only these statuses (comma-separated)')
    .option('--json', 'print {"tasks": [...]} as JSON')
    .action(
      action(async (options: { status?: string; json?: boolean }, cmd: Command) => {
        const query = options.status ? `?status=${encodeURIComponent(options.status)}` : '';
        const { tasks } = await callApi<TaskList>(connect(cmd), 'GET', `/tasks${query}`);
        if (options.json) process.stdout.write(`${JSON.stringify({ tasks })}\n`);
        else if (tasks.length === 0) process.stdout.write('no tasks; create one: lookout task create "TITLE"\n');
        else
          process.stdout.write(
            table(
              ['ID', 'STATUS', 'PRIORITY', 'AGENT', 'TITLE'],
              tasks.map((t) => [t.id, t.status, t.priority, t.assigned_agent_id ?? '-', t.title]),
            ),
          );
        return 0;
      }),
    );

  task
    .command('create')
    .description('create a pending task; its prompt is the title, a blank line and the description')
    .argument('<title>', 'what to do, in one line')
    .option('--description <text>', 'the details')
    .option('--description-file <file>', 'read the details from a file (- for stdin)')
    .option('--priority <p>', `one of ${TASK_PRIORITIES.join(', ')}`, 'medium')
    .option('--base <ref>', 'branch, tag or commit to start from (default: the branch checked out)')
    .option('--timeout <seconds>', 'end it as timed_out after this long')
    .option('--json', 'print the task as JSON')
    .action(
      action(
        async (
          title: string,
          options: {
            description?: string;
            descriptionFile?: string;
            priority: string;
            base?: string;
            timeout?: string;
            json?: boolean;
          },
          cmd: Command,
        ) => {
          if (options.description !== undefined && options.descriptionFile !== undefined)
            throw new CliError('give --description or --description-file, not both', 2);
          let description = options.description;
          if (options.descriptionFile !== undefined) {
            try {
              description = fs.readFileSync(options.descriptionFile === '-' ? 0 : options.descriptionFile, 'utf8');
            } catch (error) {
              throw new CliError(
                `cannot read --description-file ${options.descriptionFile}: ${(error as NodeJS.ErrnoException).code ?? error}`,
                2,
              );
            }
          }
          const timeout = options.timeout === undefined ? undefined : positiveInt('--timeout')(options.timeout);
          const created = await callApi<Task>(connect(cmd), 'POST', '/tasks', {
            title,
            priority: options.priority,
            ...(description === undefined ? {} : { description }),
            ...(options.base === undefined ? {} : { base: options.base }),
            ...(timeout === undefined ? {} : { timeout_s: timeout }),
          });
          process.stdout.write(options.json ? `${JSON.stringify(created)}\n` : `${created.id}\n`);
          return 0;
        },
      ),
    );

  task
    .command('start')
    .description('run a pending task on an agent (queued while the running-task limit is reached)')
    .argument('<task>', 'task id (or a unique prefix)')
    .requiredOption('--agent <agent>', 'agent id or name')
    .option('-f, --follow', 'then print its output until it ends (exit code 0 only if it succeeded)')
    .action(
      action(async (ref: string, options: { agent: string; follow?: boolean }, cmd: Command) => {
        const server = connect(cmd);
        const found = await resolveTask(server, ref);
        const agent = await resolveAgent(server, options.agent);
        const started = await callApi<Task>(server, 'POST', `/agents/${agent.id}/start-task`, { task_id: found.id });
        process.stderr.write(`${describe(started)} on agent ${agent.name} (branch ${started.git_branch ?? '-'})\n`);
        return options.follow ? follow(server, found.id) : 0;
      }),
    );

  task
    .command('cancel')
    .description('cancel a task (SIGTERM to its process group, SIGKILL after the grace period)')
    .argument('<task>', 'task id (or a unique prefix)')
    .action(
      action(async (ref: string, _options: unknown, cmd: Command) => {
        const server = connect(cmd);
        const found = await resolveTask(server, ref);
        await callApi<Task>(server, 'POST', `/tasks/${found.id}/cancel`);
        process.stdout.write(`cancelling task ${found.id}\n`);
        return 0;
      }),
    );

  task
    .command('logs')
    .description("print a task's complete output; -f follows it until the task ends")
    .argument('<task>', 'task id (or a unique prefix)')
    .option('-f, --follow', 'keep printing until the task ends (exit code 0 only if it succeeded)')
    .action(
      action(async (ref: string, options: { follow?: boolean }, cmd: Command) => {
        const server = connect(cmd);
        const found = await resolveTask(server, ref);
        if (options.follow) return follow(server, found.id);
        const { bytes } = await readOutput(server, found.id, 0);
        process.stdout.write(bytes);
        return 0;
      }),
    );

  task
    .command('merge')
    .description("merge a succeeded task's branch into its base")
    .argument('<task>', 'task id (or a unique prefix)')
    .option('--push', 'then push the base to its remote')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (ref: string, options: { push?: boolean; json?: boolean }, cmd: Command) => {
        const server = connect(cmd);
        const found = await resolveTask(server, ref);
        const result = await callApi<MergeResult>(server, 'POST', `/tasks/${found.id}/merge`, {
          push: options.push ?? false,
        });
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else
          process.stdout.write(
            `merged ${found.git_branch ?? found.id} into ${result.base} as ${result.merge_sha.slice(0, 12)}${result.checkout_updated ? ' (your checkout fast-forwarded)' : ''}${result.pushed ? ', pushed' : ''}\n`,
          );
        return 0;
      }),
    );
}

/** Prints output as it grows until the task has ended and everything is printed. */
async function follow(server: ServerInfo, id: string): Promise<number> {
  let offset = 0;
  for (;;) {
    const { bytes, next, status } = await readOutput(server, id, offset);
    if (bytes.length > 0 && !process.stdout.write(bytes)) await new Promise((r) => process.stdout.once('drain', r));
    offset = next;
    if (isFinalTaskStatus(status)) {
      const rest = await readOutput(server, id, offset);
      process.stdout.write(rest.bytes);
      const final = await callApi<Task>(server, 'GET', `/tasks/${id}`);
      process.stderr.write(`${describe(final)}\n`);
      return exitFor(final.status);
    }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS));
  }
}

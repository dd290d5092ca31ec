import type { Command } from 'commander';
import type { Agent, AgentList } from '../../src-shared/agents.ts';
import type { ServerInfo } from '../../src-shared/server-info.ts';
import { callApi, findWorkspace, requireServer } from './connection.ts';
import { CliError, reportAndExit } from './output.ts';
import { NON_NEGATIVE_INTEGER_HINT, parseNonNegativeInteger } from '../../src-shared/non-negative-integer.ts';

export function connect(cmd: Command): ServerInfo {
  return requireServer(findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace));
}

/** An agent named by id or by name (names are unique). */
export async function resolveAgent(server: ServerInfo, ref: string): Promise<Agent> {
  const { agents } = await callApi<AgentList>(server, 'GET', '/agents');
  const agent = agents.find((a) => a.id === ref) ?? agents.find((a) => a.name === ref);
  if (!agent)
    throw new CliError(
      `no agent ${JSON.stringify(ref)}; \`lookout agent list\` shows them, \`lookout agent add\` adds one`,
    );
  return agent;
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--env ${JSON.stringify(pair)} is not NAME=VALUE`, 2);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Whole seconds, read the one strict way numbers are read everywhere (no 1e3, 0x10, +5). */
export function positiveInt(flag: string) {
  return (value: string): number => {
    const n = parseNonNegativeInteger(value);
    if (n === undefined || n < 1)
      throw new CliError(`${flag} must be a whole number of seconds (${NON_NEGATIVE_INTEGER_HINT}), got ${value}`, 2);
    return n;
  };
}

const row = (cells: string[], widths: number[]): string =>
  cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [row(header, widths), ...rows.map((r) => row(r, widths))].join('\n') + '\n';
}

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('list, add and remove the agents tasks run on');

  agent
    .command('list')
    .description('every agent with its status (offline: its program is not installed), current task, and what it runs')
    .option('--json', 'print {"agents": [...]} as JSON')
    .action(async (options: { json?: boolean }, cmd: Command) => {
      try {
        const { agents } = await callApi<AgentList>(connect(cmd), 'GET', '/agents');
        if (options.json) process.stdout.write(`${JSON.stringify({ agents })}\n`);
        else if (agents.length === 0)
          process.stdout.write('no agents yet; add one: lookout agent add NAME --preset claude-code\n');
        else
          process.stdout.write(
            table(
              ['ID', 'NAME', 'STATUS', 'TASK', 'COMMAND OR MODEL'],
              agents.map((a) => [
                a.id,
                a.name,
                a.status_reason ? `${a.status} (${a.status_reason})` : a.status,
                a.current_task_id ?? '-',
                a.model
                  ? `${a.model.model} @ ${a.model.base_url}`
                  : a.command.length > 0
                    ? JSON.stringify(a.command)
                    : '(external)',
              ]),
            ),
          );
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });

  agent
    .command('add')
    .description('add an agent: a preset (claude-code, codex, aider, gemini-cli) or a command after --')
    .argument('<name>', 'a unique name')
    .argument('[command...]', 'the argv after --, with {prompt}, {prompt_file}, {workdir} placeholders')
    .option('--preset <id>', 'a preset instead of a command (see GET /api/v1/agents/presets)')
    .option('--role <role>', 'what the agent is for', 'coder')
    .option('--timeout <seconds>', 'default timeout of its tasks', positiveInt('--timeout'))
    .option('--env <NAME=VALUE>', 'an environment variable for its program (repeatable)', collect)
    .option('--pass-env <NAME>', "copy this variable from the server's environment (repeatable)", collect)
    .option(
      '--model-url <url>',
      'speak in discussions through this OpenAI-compatible endpoint (e.g. http://127.0.0.1:11434/v1)',
    )
    .option('--model <name>', 'with --model-url: the model (e.g. llama3.2)')
    .option('--api-key-env <NAME>', "with --model-url: the server's environment variable holding the API key")
    .option('--system <text>', 'with --model-url: its system prompt')
    .option('--external', 'no command or model: it answers discussions through the API (lookout discuss say --as)')
    .option('--json', 'print the agent as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  lookout agent add claude --preset claude-code\n  lookout agent add lint -- /usr/bin/node scripts/fix.mjs {prompt_file}\n  lookout agent add llama --model-url http://127.0.0.1:11434/v1 --model llama3.2',
    )
    .action(
      async (
        name: string,
        command: string[],
        options: {
          preset?: string;
          role: string;
          timeout?: number;
          env?: string[];
          passEnv?: string[];
          modelUrl?: string;
          model?: string;
          apiKeyEnv?: string;
          system?: string;
          external?: boolean;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        try {
          if ((options.modelUrl === undefined) !== (options.model === undefined))
            throw new CliError(
              '--model-url and --model go together (e.g. --model-url http://127.0.0.1:11434/v1 --model llama3.2)',
              2,
            );
          if (options.modelUrl === undefined && (options.apiKeyEnv !== undefined || options.system !== undefined))
            throw new CliError('--api-key-env and --system describe a model: give --model-url and --model too', 2);
          if (!options.preset && command.length === 0 && options.modelUrl === undefined && !options.external)
            throw new CliError(
              'give a command after --, --preset ID (e.g. --preset claude-code), --model-url URL --model NAME, or --external',
              2,
            );
          const model =
            options.modelUrl === undefined
              ? undefined
              : {
                  base_url: options.modelUrl,
                  model: options.model,
                  ...(options.apiKeyEnv === undefined ? {} : { api_key_env: options.apiKeyEnv }),
                  ...(options.system === undefined ? {} : { system: options.system }),
                };
          const created = await callApi<Agent>(connect(cmd), 'POST', '/agents', {
            name,
            role: options.role,
            ...(options.preset ? { preset: options.preset } : command.length > 0 ? { command } : {}),
            ...(model === undefined ? {} : { model }),
            ...(options.timeout === undefined ? {} : { timeout_s: options.timeout }),
            ...(options.env ? { env: parseEnv(options.env) } : {}),
            ...(options.passEnv ? { pass_env: options.passEnv } : {}),
          });
          if (options.json) process.stdout.write(`${JSON.stringify(created)}\n`);
          else {
            process.stdout.write(
              `added agent ${created.name} (${created.id}): ${created.status}${created.speaker === 'command' ? '' : `, speaks through ${created.speaker === 'model' ? `${created.model?.model ?? ''} at ${created.model?.base_url ?? ''}` : 'the API (external)'}`}\n`,
            );
            if (created.status === 'offline') process.stderr.write(`lookout: note: ${created.status_reason ?? ''}\n`);
          }
          process.exit(0);
        } catch (error) {
          reportAndExit(error);
        }
      },
    );

  agent
    .command('remove')
    .description('remove an agent (refused while it works on a task)')
    .argument('<agent>', 'id or name')
    .action(async (ref: string, _options: unknown, cmd: Command) => {
      try {
        const server = connect(cmd);
        const found = await resolveAgent(server, ref);
        await callApi(server, 'DELETE', `/agents/${found.id}`);
        process.stdout.write(`removed agent ${found.name} (${found.id})\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });
}

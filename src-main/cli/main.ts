import { Command, CommanderError } from 'commander';
import { EXIT_USAGE } from '../errors.ts';
import { VERSION } from '../version.ts';
import { registerAgent } from './agent.ts';
import { registerDb } from './db.ts';
import { registerEmit } from './emit.ts';
import { registerHooks } from './hooks.ts';
import { registerKnowledge } from './knowledge.ts';
import { registerOpen } from './open.ts';
import { registerRun } from './run.ts';
import { registerServe } from './serve.ts';
import { registerStatus } from './status.ts';
import { registerTail } from './tail.ts';
import { registerAuth, registerUsers } from './users.ts';
import { registerTask } from './task.ts';

export function buildProgram(): Command {
  const program = new Command('lookout')
    .description('Lookout: a local control room for AI agents')
    .version(VERSION, '-v, --version')
    .option(
      '-w, --workspace <dir>',
      'workspace directory (default: nearest with .lookout/, else the current directory)',
    )
    // One line, like every other error: what is wrong, and where to look.
    // `run` passes everything after its command through untouched.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // Commander puts its "(Did you mean --port?)" hint on a line of its own: join it.
      outputError: (text, write) =>
        write(
          `lookout: ${text
            .trim()
            .replace(/^error: /, '')
            .replace(/\s*\n\s*/g, ' ')}; see \`lookout --help\`\n`,
        ),
    });
  registerServe(program);
  registerStatus(program);
  registerRun(program);
  registerEmit(program);
  registerTail(program);
  registerOpen(program);
  registerUsers(program);
  registerAuth(program);
  registerHooks(program);
  registerDb(program);
  registerAgent(program);
  registerTask(program);
  registerKnowledge(program);
  // --workspace works before or after the command name (and after a subcommand's).
  const addWorkspace = (command: Command) => {
    if (!command.options.some((option) => option.long === '--workspace'))
      command.option(
        '-w, --workspace <dir>',
        'workspace directory (default: nearest with .lookout/ above the current directory)',
      );
    command.commands.forEach(addWorkspace);
  };
  program.commands.forEach(addWorkspace);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    throw error;
  }
}

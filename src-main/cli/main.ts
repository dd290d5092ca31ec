import { Command, CommanderError } from 'commander';
import { EXIT_USAGE } from '../errors.ts';
import { VERSION } from '../version.ts';
import { registerServe } from './serve.ts';

export function buildProgram(): Command {
  const program = new Command('lookout')
    .description('Lookout: a local control room for AI agents')
    .version(VERSION, '-v, --version')
    .option('-w, --workspace <dir>', 'workspace directory (default: nearest with .lookout/, else the current directory)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text.startsWith('error:') ? `lookout: ${text}` : text) });
  registerServe(program);
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

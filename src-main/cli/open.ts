import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { findWorkspace, requireServer } from './connection.ts';
import { reportAndExit } from './output.ts';

/** The OS command that opens a URL in the default browser. */
function opener(url: string): [string, string[]] {
  if (process.platform === 'darwin') return ['open', [url]];
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""', url.replaceAll('&', '^&')]];
  return ['xdg-open', [url]];
}

export function registerOpen(program: Command): void {
  program
    .command('open')
    .description('open the dashboard in the default browser, signed in')
    .option('--print', 'print the sign-in URL instead of opening a browser')
    .action((options: { print?: boolean }, cmd: Command) => {
      try {
        const server = requireServer(findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace));
        // The server trades the token for an HttpOnly cookie and strips it from the address bar.
        const url = `${server.url}/?token=${encodeURIComponent(server.token)}`;
        if (options.print) {
          process.stdout.write(`${url}\n`);
          process.exit(0);
        }
        const [file, args] = opener(url);
        const child = spawn(file, args, { stdio: 'ignore', detached: true });
        child.once('error', () => {
          process.stderr.write(`lookout: could not start a browser (${file}); open this URL yourself:\n${url}\n`);
          process.exit(1);
        });
        child.once('spawn', () => {
          child.unref();
          process.stdout.write(`opened ${server.url} in the default browser\n`);
          process.exit(0);
        });
      } catch (error) {
        reportAndExit(error);
      }
    });
}

import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { CodeResponse } from '../../src-shared/access.ts';
import { callApi, findWorkspace, requireServer } from './connection.ts';
import { reportAndExit } from './output.ts';

/** The OS command that opens a URL in the default browser. */
export function opener(url: string): [string, string[]] {
  if (process.platform === 'darwin') return ['open', [url]];
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""', url.replaceAll('&', '^&')]];
  return ['xdg-open', [url]];
}

/** How long an opener may run before we take silence for success (some stay until the browser exits). */
const OPENER_GRACE_MS = 10_000;

/**
 * Runs the opener and resolves with why it failed, or undefined once it exited 0 (or is
 * still running after the grace period: some openers wait for the browser).
 */
export function runOpener(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'ignore', detached: true, env });
    const timer = setTimeout(() => {
      child.unref();
      resolve(undefined);
    }, OPENER_GRACE_MS);
    timer.unref();
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(`could not start ${file} (${(error as NodeJS.ErrnoException).code ?? error.message})`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(
        code === 0 ? undefined : `${file} failed (${signal ?? `exit code ${code}`}); is there a desktop session?`,
      );
    });
  });
}

export function registerOpen(program: Command): void {
  program
    .command('open')
    .description('open the dashboard in the default browser, signed in (with a one-time code)')
    .option('--print', 'print a sign-in URL (its code works once, within 60 s) instead of opening a browser')
    .action(async (options: { print?: boolean }, cmd: Command) => {
      try {
        const server = requireServer(findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace));
        // A one-time code, never the token: the URL ends up in the browser's history and
        // in the opener's argv (visible to `ps`), where a code that is spent or 60 s old
        // is worth nothing. The page exchanges it by POST and drops it from the address bar.
        const { code } = await callApi<CodeResponse>(server, 'POST', '/auth/codes');
        const url = `${server.url}/?code=${encodeURIComponent(code)}`;
        if (options.print) {
          process.stdout.write(`${url}\n`);
          process.exit(0);
        }
        const [file, args] = opener(url);
        const failure = await runOpener(file, args);
        if (failure) {
          process.stderr.write(
            `lookout: ${failure}; open this URL yourself within 60 s (or run \`lookout open --print\` later):\n`,
          );
          process.stdout.write(`${url}\n`);
          process.exit(1);
        }
        process.stdout.write(`opened ${server.url} in the default browser\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });
}

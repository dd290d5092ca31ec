import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Command } from 'commander';
import { describeHolder, type HandoverResponse, type LockInfo } from '../../src-shared/session.ts';
import { type HolderRecord, readHolder, WorkspaceLock } from '../session/lock.ts';
import { prepareStateDir, runningServer } from '../workspace.ts';
import { callApi, findWorkspace } from './connection.ts';
import { CliError, reportAndExit } from './output.ts';
import { forTerminal } from './terminal-text.ts';

/** Exit code when another CLI holds the workspace and we may not (or no longer) wait. */
export const EXIT_LOCKED = 3;
const POLL_MS = 250;

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15, SIGKILL: 9 };

/** Our process group id (Linux: /proc; elsewhere ps), or undefined when it cannot be told. */
function ownProcessGroup(): number | undefined {
  try {
    // Field 5 of /proc/self/stat, after the parenthesised command name (which may hold spaces).
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    try {
      return Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], { encoding: 'utf8' }).trim());
    } catch {
      return undefined;
    }
  }
}

/** The `lookout run` of another server of the team, as our server named it when refusing a handover. */
function teamHolder(lock: LockInfo): HolderRecord | undefined {
  if (lock.holder !== 'cli' || lock.pid === null || lock.id === null) return undefined;
  return {
    kind: 'cli',
    pid: lock.pid,
    hostname: lock.hostname ?? '?',
    started_at: lock.since ?? '',
    id: lock.id,
    command: [],
  };
}

function parseWait(value: string | boolean | undefined): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return Number.POSITIVE_INFINITY;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new CliError(`--wait takes a number of seconds; got ${JSON.stringify(value)}`, 2);
  return seconds;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'take the workspace (the dashboard turns read-only), run a command, give the workspace back when it ends',
    )
    .option('--wait [seconds]', 'if another CLI holds the workspace, wait for it (forever, or this many seconds)')
    .argument('<command...>', 'the command to run, after --')
    .passThroughOptions()
    .addHelpText(
      'after',
      '\nThe command gets LOOKOUT_URL, LOOKOUT_TOKEN and LOOKOUT_LOCK_ID (send it as X-Lock-Id to write while others are read-only).\n' +
        "Exit code: the command's own; 3 if another CLI holds the workspace and --wait was not given or ran out.\n\n" +
        'Example: lookout run --wait=60 -- npm test',
    )
    .action(async (argv: string[], options: { wait?: string | boolean }, cmd: Command) => {
      try {
        const waitSeconds = parseWait(options.wait);
        const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace, { mustExist: false });
        const paths = prepareStateDir(workspace);
        // Set once the command runs: losing the lock then means stopping it (rule 5).
        let onLost: ((error: Error) => void) | undefined = undefined;
        const lock = new WorkspaceLock(paths, { onCompromised: (error) => onLost?.(error) });
        const giveUpAt = Date.now() + (waitSeconds ?? 0) * 1000;
        // A server hands over within a second; allow for that even without --wait.
        const serverGraceUntil = Date.now() + 5000;
        let announced = false;
        for (;;) {
          const server = runningServer(paths);
          // Ask a running server to let go; it takes the lock back when we are done. In
          // team mode it refuses while another server's `lookout run` holds the workspace,
          // and names that command: it is the one we wait for, not our own server.
          const handover = server ? await callApi<HandoverResponse>(server, 'POST', '/session/handover') : undefined;
          const result = await lock.acquire('cli', argv);
          if (result.ok) break;
          const team = handover && !handover.released ? teamHolder(handover.session.lock) : undefined;
          const holder = team ?? result.holder;
          const described = holder
            ? describeHolder({
                holder: holder.kind,
                pid: holder.pid,
                hostname: holder.hostname,
                since: holder.started_at,
                id: holder.id,
              })
            : 'another process';
          const now = Date.now();
          if (now >= giveUpAt && (holder?.kind !== 'server' || now >= serverGraceUntil)) {
            throw new CliError(
              waitSeconds === undefined
                ? `the workspace is held by ${described}${holder && holder.command.length > 0 ? ` running \`${holder.command.join(' ')}\`` : ''}; wait for it with \`lookout run --wait -- …\``
                : `gave up after ${waitSeconds} s: the workspace is still held by ${described}`,
              EXIT_LOCKED,
            );
          }
          if (!announced && holder?.kind !== 'server') {
            process.stderr.write(`lookout: waiting for the workspace, held by ${forTerminal(described)}…\n`);
            announced = true;
          }
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }

        const server = runningServer(paths);
        const held = lock.held!;
        // Tell the server at once (it would notice within a second): even a short run is published.
        const notify = async () => {
          const current = runningServer(paths);
          if (current) await callApi(current, 'POST', '/session/recheck').catch(() => undefined);
        };
        await notify();
        const [file, ...args] = argv as [string, ...string[]];
        // The command gets a process group of its own, recorded in the holder record, so
        // whoever takes the lock after us (we were killed, or stopped and went stale) ends
        // it first. In a terminal it must stay in the foreground group (Ctrl+C, reading
        // the tty): there our own group is recorded when we lead it, else the command's pid.
        const interactive = process.stdin.isTTY === true;
        const child = spawn(file, args, {
          stdio: 'inherit',
          detached: !interactive,
          env: {
            ...process.env,
            LOOKOUT_WORKSPACE: workspace,
            LOOKOUT_LOCK_ID: held.id,
            ...(server ? { LOOKOUT_URL: server.url, LOOKOUT_TOKEN: server.token } : {}),
          },
        });
        const running = () => child.exitCode === null && child.signalCode === null;
        if (child.pid !== undefined) {
          if (!interactive) lock.recordCommand({ pgid: child.pid });
          else if (ownProcessGroup() === process.pid) lock.recordCommand({ pgid: process.pid, pid: child.pid });
          else lock.recordCommand({ pid: child.pid });
        }
        const signalCommand = (signal: NodeJS.Signals) => {
          if (!running()) return;
          try {
            if (!interactive && child.pid !== undefined) process.kill(-child.pid, signal);
            else child.kill(signal);
          } catch {
            // Already gone.
          }
        };
        let lost = false;
        onLost = (error) => {
          if (lost) return;
          lost = true;
          process.stderr.write(
            `lookout: the workspace lock was lost (${error.message}); stopping the command so it never runs beside the next holder's\n`,
          );
          signalCommand('SIGTERM');
          setTimeout(() => signalCommand('SIGKILL'), 2000).unref();
        };
        const forward = (signal: NodeJS.Signals) => {
          // Ctrl+C in a terminal already reaches the child (same process group); sending
          // it again would look like a second Ctrl+C, which many tools take as "force".
          if (signal === 'SIGINT' && interactive) return;
          signalCommand(signal);
        };
        for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);

        const code = await new Promise<number>((resolve) => {
          child.once('error', (error: NodeJS.ErrnoException) => {
            process.stderr.write(
              `lookout: cannot run ${file}: ${error.code === 'ENOENT' ? 'command not found' : error.message}\n`,
            );
            resolve(error.code === 'ENOENT' ? 127 : 126);
          });
          child.once('exit', (exitCode, signal) =>
            resolve(exitCode ?? 128 + (SIGNAL_NUMBERS[signal ?? 'SIGTERM'] ?? 15)),
          );
        });
        // Stopped (SIGSTOP) until the lock went stale, we may see the command end (the next
        // holder ended it) before the lock's own check reports the loss: the record on disk
        // says who holds the workspace now.
        if (!lost && readHolder(paths)?.id !== held.id) lost = true;
        await lock.release();
        await notify();
        if (lost) {
          process.stderr.write(`lookout: the command was stopped because the workspace lock was lost\n`);
          process.exit(EXIT_LOCKED);
        }
        process.exit(code);
      } catch (error) {
        reportAndExit(error);
      }
    });
}

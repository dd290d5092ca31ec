import type { Command } from 'commander';
import { describeHolder, NO_LOCK } from '../../src-shared/session.ts';
import type { ServerStatus } from '../../src-shared/protocol.ts';
import { isHeld, readHolder } from '../session/lock.ts';
import { runningServer, workspacePaths } from '../workspace.ts';
import { callApi, findWorkspace } from './connection.ts';
import { reportAndExit } from './output.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show whether a server runs for this workspace, who holds the lock, clients and the last event number')
    .option('--json', 'print one JSON object instead of text')
    .addHelpText('after', '\nExit code: 0 when a server is running, 1 when not.')
    .action(async (options: { json?: boolean }, cmd: Command) => {
      try {
        const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace, { mustExist: false });
        const paths = workspacePaths(workspace);
        const server = runningServer(paths);
        if (!server) {
          const holder = isHeld(paths) ? readHolder(paths) : null;
          const lock = holder
            ? {
                holder: holder.kind,
                pid: holder.pid,
                hostname: holder.hostname,
                since: holder.started_at,
                id: holder.id,
              }
            : NO_LOCK;
          if (options.json) process.stdout.write(`${JSON.stringify({ running: false, workspace, lock })}\n`);
          else {
            process.stdout.write(`Lookout is not running for ${workspace}\n`);
            if (holder) process.stdout.write(`lock        held by ${describeHolder(lock)}\n`);
            process.stdout.write('start it with `lookout serve`\n');
          }
          process.exit(1);
        }
        const status = await callApi<ServerStatus>(server, 'GET', '/status');
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ running: true, ...status })}\n`);
        } else {
          const lock = status.session.lock;
          const mode = status.session.read_only ? 'read-only' : 'writable';
          process.stdout.write(
            [
              `Lookout ${status.version} running at ${status.url} (pid ${status.pid})`,
              `workspace   ${status.workspace}`,
              `lock        ${describeHolder(lock)} (${mode})`,
              `clients     ${status.clients.websocket} WebSocket, ${status.clients.sse} SSE`,
              `events      last #${status.last_sequence_number}`,
              `uptime      ${status.uptime_s} s`,
            ].join('\n') + '\n',
          );
        }
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });
}

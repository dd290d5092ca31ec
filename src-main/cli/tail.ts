import type { Command } from 'commander';
import { parsePatterns, summarize } from '../../src-shared/events.ts';
import { LiveClient } from '../../src-shared/live-client.ts';
import { NON_NEGATIVE_INTEGER_HINT, parseNonNegativeInteger } from '../../src-shared/non-negative-integer.ts';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import { findWorkspace, requireServer, workspaceSocket } from './connection.ts';
import { CliError, reportAndExit } from './output.ts';
import { forTerminal, jsonForTerminal } from './terminal-text.ts';

const time = (iso: string) => iso.slice(11, 19);

export function registerTail(program: Command): void {
  program
    .command('tail')
    .description('follow events live, one per line; resumes by itself after reconnects and server restarts')
    .option('--types <patterns>', 'comma-separated patterns: *, ns.*, or exact types', '*')
    .option('--since <n>', 'first replay stored events after this sequence number')
    .option('-n, --last <n>', 'first show the newest N stored events (matching --types)')
    .option('--json', 'stdout carries only JSON lines (events, and gaps as {"type":"gap",…}); notices go to stderr')
    .addHelpText('after', '\nExit code: 0 on Ctrl+C (SIGINT).')
    .action(async (options: { types: string; since?: string; last?: string; json?: boolean }, cmd: Command) => {
      try {
        const patterns = parsePatterns(options.types);
        if (!patterns.ok) throw new CliError(`--types: ${patterns.error}`, 2);
        let since: number | undefined;
        if (options.since !== undefined) {
          since = parseNonNegativeInteger(options.since);
          if (since === undefined)
            throw new CliError(
              `--since takes a sequence number (${NON_NEGATIVE_INTEGER_HINT}); got ${JSON.stringify(options.since)}`,
              2,
            );
        }
        let last: number | undefined;
        if (options.last !== undefined) {
          if (since !== undefined) throw new CliError('--last and --since both say where to start; give one', 2);
          last = parseNonNegativeInteger(options.last);
          if (last === undefined)
            throw new CliError(
              `--last takes a number of events (${NON_NEGATIVE_INTEGER_HINT}); got ${JSON.stringify(options.last)}`,
              2,
            );
        }
        const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace);
        requireServer(workspace); // fail fast when nothing runs at all
        // Event data is untrusted: nothing in it may act on the terminal (escape sequences,
        // OSC 52 clipboard writes, forged lines), in text or JSON output alike.
        const notice = (text: string) => process.stderr.write(`lookout: ${forTerminal(text)}\n`);
        const out = (line: string) => process.stdout.write(`${forTerminal(line)}\n`);
        const outJson = (value: unknown) => process.stdout.write(`${jsonForTerminal(value)}\n`);

        const client = new LiveClient({
          ...workspaceSocket(workspace),
          types: patterns.patterns,
          ...(since === undefined ? {} : { since }),
          ...(last === undefined ? {} : { tail: last }),
          onEvent: (event) => {
            if (options.json) outJson(event);
            else {
              const agent = typeof event.metadata?.agent === 'string' ? ` [${event.metadata.agent}]` : '';
              out(`#${event.sequence_number} ${time(event.timestamp)} ${event.type}${agent}  ${summarize(event)}`);
            }
          },
          onGap: (gap) => {
            if (options.json) outJson(gap);
            else
              out(
                `-- gap: events ${gap.from}–${gap.to} were not delivered (${gap.reason})${gap.reason === 'limit' ? `; fetch them with GET ${API_PREFIX}/events` : ''}`,
              );
          },
          onEpochChange: () =>
            notice('the server has a new event store (epoch changed); starting over from its first event'),
          onStatus: (status) => {
            if (status.state === 'live' && status.attempt === 0)
              notice(`following ${patterns.patterns.join(',')} (Ctrl+C to stop)`);
            if (status.state === 'reconnecting' || status.state === 'offline') {
              const seconds = Math.max(0, Math.round(((status.retryAt ?? Date.now()) - Date.now()) / 100) / 10);
              notice(
                `${status.state === 'offline' ? 'offline' : 'connection lost'} (${status.lastError}); retrying in ${seconds} s`,
              );
            }
          },
          backoff: { initialMs: 250, maxMs: 5000 },
        });
        process.on('SIGINT', () => {
          client.stop();
          process.exit(0);
        });
        process.on('SIGTERM', () => {
          client.stop();
          process.exit(0);
        });
        client.start();
      } catch (error) {
        reportAndExit(error);
      }
    });
}

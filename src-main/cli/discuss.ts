import fs from 'node:fs';
import type { Command } from 'commander';
import {
  DISCUSSION_STATUSES,
  DISCUSSION_STRATEGIES,
  type Discussion,
  type DiscussionCreateInput,
  type DiscussionList,
  type Message,
  type MessagePage,
  type MessagePosted,
} from '../../src-shared/discussions.ts';
import type { EventEnvelope } from '../../src-shared/events.ts';
import { LiveClient } from '../../src-shared/live-client.ts';
import type { ServerInfo } from '../../src-shared/server-info.ts';
import { connect, resolveAgent, table } from './agent.ts';
import { callApi, findWorkspace, workspaceSocket } from './connection.ts';
import { findByIdPrefix } from './id-prefix.ts';
import { CliError, commandAction as action } from './output.ts';
import { forTerminal } from './terminal-text.ts';

/** A discussion named by its id or an unambiguous prefix of it (4 characters at least). */
async function resolveDiscussion(server: ServerInfo, ref: string): Promise<Discussion> {
  const { discussions } = await callApi<DiscussionList>(server, 'GET', '/discussions');
  return findByIdPrefix(discussions, ref, 'discussion', 'lookout discuss list');
}

/**
 * Message text for a terminal: newlines and tabs are what a transcript is made of and stay;
 * every other control character (escape sequences, OSC 52, bidi overrides) is shown escaped.
 */
export const transcriptText = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.split('\t').map(forTerminal).join('\t'))
    .join('\n');

const heading = (m: Pick<Message, 'turn' | 'author_name'>): string => `[${m.turn}] ${forTerminal(m.author_name)}: `;
const ending = (m: Message): string =>
  m.status === 'failed'
    ? ` [failed: ${forTerminal(m.error ?? 'no reason')}]`
    : m.truncated
      ? ' [cut at the limit]'
      : '';

async function transcript(server: ServerInfo, id: string): Promise<Message[]> {
  const messages: Message[] = [];
  let after: string | null = null;
  do {
    const query: string = `?limit=500${after === null ? '' : `&after=${after}`}`;
    const page: MessagePage = await callApi<MessagePage>(server, 'GET', `/discussions/${id}/messages${query}`);
    messages.push(...page.messages);
    after = page.next_after;
  } while (after !== null);
  return messages;
}

function readStdin(): string {
  try {
    return fs.readFileSync(0, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the message from stdin (${(error as Error).message}); pass it as an argument`);
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerDiscuss(program: Command): void {
  const discuss = program
    .command('discuss')
    .description('discussions between agents (and you): start one, say something, follow it live');

  discuss
    .command('new')
    .description('start a discussion; the first speaker opens on the topic right away (unless --no-start)')
    .requiredOption('--topic <text>', 'what it is about')
    .option('--agent <id-or-name>', 'a participant, in speaking order (repeat it)', collect)
    .option('--strategy <s>', `who speaks next: ${DISCUSSION_STRATEGIES.join(', ')}`, 'round_robin')
    .option(
      '--moderator <id-or-name>',
      'with --strategy moderated: who names the next speaker (default: the first agent)',
    )
    .option('--max-turns <n>', 'complete after this many messages (default 20)')
    .option('--context <text>', 'background every speaker is given')
    .option('--doc <id>', 'a knowledge document whose best passages go into the prompts (repeat it)', collect)
    .option('--no-start', 'wait for your first message (lookout discuss say) instead')
    .option('--json', 'print the discussion as JSON')
    .action(
      action(
        async (
          options: {
            topic: string;
            agent?: string[];
            strategy: string;
            moderator?: string;
            maxTurns?: string;
            context?: string;
            doc?: string[];
            start: boolean;
            json?: boolean;
          },
          cmd: Command,
        ) => {
          if (!options.agent || options.agent.length === 0)
            throw new CliError('name at least one participant: --agent ID (repeat it for more)', 2);
          if (!(DISCUSSION_STRATEGIES as readonly string[]).includes(options.strategy))
            throw new CliError(`--strategy is one of ${DISCUSSION_STRATEGIES.join(', ')}; got ${options.strategy}`, 2);
          let maxTurns: number | undefined;
          if (options.maxTurns !== undefined) {
            maxTurns = /^\d{1,4}$/.test(options.maxTurns) ? Number(options.maxTurns) : NaN;
            if (!(maxTurns >= 1 && maxTurns <= 1000))
              throw new CliError(`--max-turns is a whole number from 1 to 1000; got ${options.maxTurns}`, 2);
          }
          const server = connect(cmd);
          const participants: string[] = [];
          for (const ref of options.agent) participants.push((await resolveAgent(server, ref)).id);
          const body: DiscussionCreateInput = {
            topic: options.topic,
            participants,
            strategy: options.strategy as DiscussionCreateInput['strategy'],
            start: options.start,
            ...(options.moderator === undefined
              ? {}
              : { moderator: (await resolveAgent(server, options.moderator)).id }),
            ...(maxTurns === undefined ? {} : { max_turns: maxTurns }),
            ...(options.context === undefined ? {} : { context: options.context }),
            ...(options.doc === undefined ? {} : { document_ids: options.doc }),
          };
          const discussion = await callApi<Discussion>(server, 'POST', '/discussions', body);
          if (options.json) process.stdout.write(`${JSON.stringify(discussion)}\n`);
          else
            process.stdout.write(
              `discussion ${discussion.id} started (${discussion.strategy}, ${discussion.participant_details.map((p) => forTerminal(p.name)).join(', ')}); follow it: lookout discuss tail ${discussion.id}\n`,
            );
          return 0;
        },
      ),
    );

  discuss
    .command('say')
    .description('say something in a discussion (the text, or stdin when it is - or left out)')
    .argument('<id>', 'the discussion (id or a unique prefix)')
    .argument('[text]', 'what to say')
    .option('--as <agent>', 'post as this participant (an external agent answering its turn)')
    .option('--json', 'print {"message","discussion"} as JSON')
    .action(
      action(async (ref: string, text: string | undefined, options: { as?: string; json?: boolean }, cmd: Command) => {
        const content = text === undefined || text === '-' ? readStdin().replace(/\n$/, '') : text;
        if (content.trim() === '') throw new CliError('nothing to say: give the text, or pipe it on stdin', 2);
        const server = connect(cmd);
        const discussion = await resolveDiscussion(server, ref);
        const author = options.as === undefined ? undefined : (await resolveAgent(server, options.as)).id;
        const posted = await callApi<MessagePosted>(server, 'POST', `/discussions/${discussion.id}/messages`, {
          content,
          ...(author === undefined ? {} : { author }),
        });
        if (options.json) process.stdout.write(`${JSON.stringify(posted)}\n`);
        else {
          const next = posted.discussion.participant_details.find((p) => p.agent_id === posted.discussion.next_speaker);
          process.stdout.write(
            `said (turn ${posted.message.turn})${next ? `; next: ${forTerminal(next.name)}` : ''}\n`,
          );
        }
        return 0;
      }),
    );

  discuss
    .command('list')
    .description('discussions, newest first')
    .option('--status <s>', `only ${DISCUSSION_STATUSES.join(', ')} ones`)
    .option('--json', 'print {"discussions": [...]} as JSON')
    .action(
      action(async (options: { status?: string; json?: boolean }, cmd: Command) => {
        if (options.status !== undefined && !(DISCUSSION_STATUSES as readonly string[]).includes(options.status))
          throw new CliError(`--status is one of ${DISCUSSION_STATUSES.join(', ')}; got ${options.status}`, 2);
        const query = options.status === undefined ? '' : `?status=${options.status}`;
        const { discussions } = await callApi<DiscussionList>(connect(cmd), 'GET', `/discussions${query}`);
        if (options.json) process.stdout.write(`${JSON.stringify({ discussions })}\n`);
        else if (discussions.length === 0)
          process.stdout.write('no discussions; start one: lookout discuss new --topic "…" --agent ID --agent ID\n');
        else
          process.stdout.write(
            table(
              ['ID', 'STATUS', 'STRATEGY', 'TURN', 'PARTICIPANTS', 'TOPIC'],
              discussions.map((d) => [
                d.id,
                d.status,
                d.strategy,
                `${d.current_turn}/${d.max_turns}`,
                d.participant_details.map((p) => forTerminal(p.name)).join(', '),
                forTerminal(d.topic),
              ]),
            ),
          );
        return 0;
      }),
    );

  for (const [verb, description] of [
    ['pause', 'pause a discussion (a reply streaming now is stopped)'],
    ['resume', 'resume a paused discussion'],
    ['complete', 'end a discussion for good'],
  ] as const) {
    discuss
      .command(verb)
      .description(description)
      .argument('<id>', 'the discussion (id or a unique prefix)')
      .action(
        action(async (ref: string, _options: unknown, cmd: Command) => {
          const server = connect(cmd);
          const discussion = await resolveDiscussion(server, ref);
          const after = await callApi<Discussion>(server, 'POST', `/discussions/${discussion.id}/${verb}`);
          process.stdout.write(`discussion ${after.id} ${after.status}\n`);
          return 0;
        }),
      );
  }

  discuss
    .command('tail')
    .description('print the transcript, then follow it live as replies stream in; ends when the discussion completes')
    .argument('<id>', 'the discussion (id or a unique prefix)')
    .addHelpText('after', '\nExit code: 0 when the discussion completes or on Ctrl+C.')
    .action(
      action(async (ref: string, _options: unknown, cmd: Command) => {
        const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace);
        const server = connect(cmd);
        const discussion = await resolveDiscussion(server, ref);
        await followDiscussion(server, workspace, discussion);
        return undefined; // runs until the discussion completes or Ctrl+C
      }),
    );
}

/**
 * The transcript, then live events. The event log's position is read BEFORE the
 * transcript, so every event after it is replayed: messages already printed are skipped
 * by id, and a reply streaming at the start continues from its saved text using each
 * delta's `offset` — no hole, no repeat.
 */
async function followDiscussion(server: ServerInfo, workspace: string, discussion: Discussion): Promise<void> {
  const { last_sequence_number: since } = await callApi<{ last_sequence_number: number }>(server, 'GET', '/status');
  const id = discussion.id;
  const out = (text: string) => process.stdout.write(text);
  const notice = (text: string) => out(`-- ${forTerminal(text)}\n`);
  const printed = new Set<string>();
  /** The reply being written on the open line, and how much of its text is out. */
  let open: { id: string; length: number; heading: string } | undefined;
  const closeLine = () => {
    if (open) out('\n');
    open = undefined;
  };
  const streaming = new Map<string, { length: number; heading: string }>();

  const showFinal = (message: Message) => {
    if (printed.has(message.id)) return;
    printed.add(message.id);
    const partial = streaming.get(message.id);
    streaming.delete(message.id);
    if (partial) {
      if (open?.id !== message.id) {
        closeLine();
        out(`${partial.heading}(cont.) `);
      }
      out(transcriptText(message.content.slice(partial.length)));
      out(`${ending(message)}\n`);
      open = undefined;
      return;
    }
    closeLine();
    out(`${heading(message)}${transcriptText(message.content)}${ending(message)}\n`);
  };
  const showDelta = (messageId: string, offset: number, text: string) => {
    const state = streaming.get(messageId);
    if (!state || offset + text.length <= state.length) return; // already out (in the saved text)
    const fresh = text.slice(Math.max(0, state.length - offset));
    if (open?.id !== messageId) {
      closeLine();
      out(`${state.heading}${state.length > 0 ? '(cont.) ' : ''}`);
      open = { id: messageId, length: state.length, heading: state.heading };
    }
    out(transcriptText(fresh));
    state.length += fresh.length;
  };

  out(
    `${forTerminal(discussion.topic)} — ${discussion.participant_details.map((p) => forTerminal(p.name)).join(', ')} (${discussion.strategy}, ${discussion.status})\n`,
  );
  for (const message of await transcript(server, id)) {
    if (message.status !== 'streaming') showFinal(message);
    else {
      closeLine();
      streaming.set(message.id, { length: message.content.length, heading: heading(message) });
      out(`${heading(message)}${transcriptText(message.content)}`);
      open = { id: message.id, length: message.content.length, heading: heading(message) };
    }
  }
  const current = await callApi<Discussion>(server, 'GET', `/discussions/${id}`);
  if (current.status === 'completed') {
    closeLine();
    notice(`completed${current.status_reason ? ` (${current.status_reason})` : ''}`);
    process.exit(0);
  }

  const client = new LiveClient({
    ...workspaceSocket(workspace),
    types: ['discussion.*'],
    since,
    onEvent: (event: EventEnvelope) => {
      const data = event.data;
      if (data.discussion_id !== id) return;
      switch (event.type) {
        case 'discussion.message_started': {
          const message = data.message as Message;
          if (printed.has(message.id) || streaming.has(message.id)) return;
          streaming.set(message.id, { length: 0, heading: heading(message) });
          closeLine();
          out(heading(message));
          open = { id: message.id, length: 0, heading: heading(message) };
          return;
        }
        case 'discussion.message_delta':
          showDelta(String(data.message_id), Number(data.offset ?? 0), String(data.text ?? ''));
          return;
        case 'discussion.message_created':
          showFinal(data.message as Message);
          return;
        case 'discussion.turn_assigned':
          if (data.speaker === 'external') {
            closeLine();
            notice(`waiting for ${String(data.name)} (external: it answers with lookout discuss say ${id} --as …)`);
          }
          return;
        case 'discussion.status_changed':
          closeLine();
          notice(`${String(data.to)}${data.reason ? ` (${String(data.reason)})` : ''}`);
          if (data.to === 'completed') {
            client.stop();
            process.exit(0);
          }
          return;
        default:
          return;
      }
    },
    onGap: (gap) => {
      closeLine();
      notice(
        `events ${gap.from}–${gap.to} were not delivered (${gap.reason}); \`lookout discuss tail ${id}\` again shows the stored transcript`,
      );
    },
    onStatus: (status) => {
      if (status.state === 'reconnecting' || status.state === 'offline') {
        closeLine();
        notice(`connection lost (${status.lastError ?? 'unknown'}); retrying`);
      }
    },
    backoff: { initialMs: 250, maxMs: 5000 },
  });
  const stop = () => {
    client.stop();
    closeLine();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  client.start();
}

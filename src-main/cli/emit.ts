import fs from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { validateEventInput } from '../../src-shared/events.ts';
import { MAX_BATCH, type PublishResponse } from '../../src-shared/protocol.ts';
import { callApi, findWorkspace, requireServer } from './connection.ts';
import { CliError, reportAndExit } from './output.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${what} is not valid JSON (${(error as Error).message})`, 2);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CliError(`${what} must be a JSON object`, 2);
  return value as Record<string, unknown>;
}

async function readData(spec: string): Promise<Record<string, unknown>> {
  if (spec === '-') return parseJsonObject(await readStdin(), '--data from stdin');
  if (spec.startsWith('@')) {
    const file = spec.slice(1);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read --data file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`, 2);
    }
    return parseJsonObject(text, `--data file ${file}`);
  }
  return parseJsonObject(spec, '--data');
}

/** Checks events with the shared catalogue before they are sent. */
function checkLocally(events: unknown[], label: (index: number) => string, alreadySent = 0): void {
  events.forEach((event, index) => {
    const result = validateEventInput(event);
    if (!result.ok) {
      const issue = result.issues[0]!;
      const outcome =
        alreadySent > 0 ? `the ${alreadySent} events before it were sent, nothing after` : 'nothing was sent';
      throw new CliError(`${label(index)}: ${issue.path}: ${issue.message}; ${outcome}`);
    }
  });
}

/** How long a partial batch from stdin waits for more lines before it is sent. */
const FLUSH_MS = 100;

/**
 * Publishes JSON lines as they arrive (a producer may never close its end: `tail -f`),
 * in batches of up to 1000, each checked locally first. A bad line stops the stream:
 * the batches before it were sent, nothing after it is.
 */
async function streamStdin(send: (batch: unknown[], single: boolean) => Promise<void>): Promise<number> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let batch: unknown[] = [];
  let sent = 0;
  let lineNumber = 0;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return sending;
    const events = batch;
    batch = [];
    sending = sending.then(() => send(events, false));
    sent += events.length;
    return sending;
  };
  try {
    for await (const raw of lines) {
      lineNumber++;
      const line = raw.trim();
      if (!line) continue;
      const event = parseJsonObject(line, `stdin line ${lineNumber}`);
      checkLocally([event], () => `stdin line ${lineNumber}`, sent);
      batch.push(event);
      if (batch.length >= MAX_BATCH) await flush();
      else timer ??= setTimeout(() => void flush().catch((error: unknown) => reportAndExit(error)), FLUSH_MS);
    }
    await flush();
  } finally {
    clearTimeout(timer);
  }
  await sending;
  return sent;
}

export function registerEmit(program: Command): void {
  program
    .command('emit')
    .description('publish an event (or JSON lines from stdin with --stdin)')
    .argument('[type]', 'event type, e.g. workflow.started or x.my-tool.done')
    .option('--data <json>', 'event data: JSON, @FILE, or - for stdin', '{}')
    .option('--metadata <json>', 'event metadata as JSON, e.g. {"agent":"claude"}')
    .option('--stdin', 'read events as JSON lines ({"type","data","metadata"?}) from stdin; sent in batches')
    .addHelpText(
      'after',
      '\nPrints the sequence number of each stored event, one per line.\nExamples:\n  lookout emit workflow.started --data \'{"workflow_id":"w1"}\'\n  tail -f agent.jsonl | lookout emit --stdin',
    )
    .action(
      async (type: string | undefined, options: { data: string; metadata?: string; stdin?: boolean }, cmd: Command) => {
        try {
          const server = requireServer(findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace));
          const send = async (batch: unknown[], single: boolean) => {
            const reply = await callApi<PublishResponse>(
              server,
              'POST',
              '/events',
              single ? batch[0] : { events: batch },
            );
            process.stdout.write(reply.events.map((e) => `${e.sequence_number}\n`).join(''));
          };
          if (options.stdin) {
            if (type) throw new CliError('give either a TYPE or --stdin, not both', 2);
            const sent = await streamStdin(send);
            if (sent === 0) throw new CliError('no events on stdin (expected one JSON object per line)', 2);
          } else {
            if (!type)
              throw new CliError(
                'missing event TYPE (e.g. `lookout emit x.note --data \'{"text":"hi"}\'`), or use --stdin',
                2,
              );
            const event = {
              type,
              data: await readData(options.data),
              ...(options.metadata ? { metadata: parseJsonObject(options.metadata, '--metadata') } : {}),
            };
            checkLocally([event], () => `event ${type}`);
            await send([event], true);
          }
          process.exit(0);
        } catch (error) {
          reportAndExit(error);
        }
      },
    );
}

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

/** What the shared catalogue finds wrong with an event (checked before it is sent), if anything. */
function catalogueProblem(event: unknown): string | undefined {
  const result = validateEventInput(event);
  if (result.ok) return undefined;
  const issue = result.issues[0]!;
  return `${issue.path}: ${issue.message}`;
}

/** How long a partial batch from stdin waits for more lines before it is sent. */
const FLUSH_MS = 100;

/** What `emit --stdin` has published so far, by input line, for messages that stop it. */
class StdinProgress {
  count = 0;
  firstLine = 0;
  lastLine = 0;

  record(lines: readonly number[]): void {
    if (lines.length === 0) return;
    if (this.count === 0) this.firstLine = lines[0]!;
    this.count += lines.length;
    this.lastLine = lines.at(-1)!;
  }

  /** "the 6 events on lines 1–6 were sent (…), nothing from line 7 on" */
  describe(stoppedAt: number): string {
    const rest = `nothing from line ${stoppedAt} on`;
    if (this.count === 0) return `nothing was sent`;
    const lines =
      this.firstLine === this.lastLine ? `line ${this.firstLine}` : `lines ${this.firstLine}–${this.lastLine}`;
    const events = this.count === 1 ? 'the 1 event on' : `the ${this.count} events on`;
    return `${events} ${lines} ${this.count === 1 ? 'was' : 'were'} sent (numbers above), ${rest}`;
  }
}

/**
 * Publishes JSON lines as they arrive (a producer may never close its end: `tail -f`),
 * in batches of up to 1000, each checked locally first. A bad line stops the stream: the
 * good lines before it are sent (none is dropped), nothing after it is, and the message
 * says exactly which lines made it. A batch the server refuses stops it the same way.
 */
async function streamStdin(send: (batch: unknown[]) => Promise<void>): Promise<number> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let batch: { event: unknown; line: number }[] = [];
  const progress = new StdinProgress();
  let lineNumber = 0;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return sending;
    const pending = batch;
    batch = [];
    sending = sending.then(async () => {
      const from = pending[0]!.line;
      const to = pending.at(-1)!.line;
      try {
        await send(pending.map((p) => p.event));
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        const which = from === to ? `stdin line ${from}` : `stdin lines ${from}–${to}`;
        throw new CliError(`${which}: ${error.message}; ${progress.describe(from)}`, error.exitCode);
      }
      progress.record(pending.map((p) => p.line));
    });
    return sending;
  };
  try {
    for await (const raw of lines) {
      lineNumber++;
      const line = raw.trim();
      if (!line) continue;
      let problem: string | undefined;
      let event: Record<string, unknown> | undefined;
      try {
        event = parseJsonObject(line, `stdin line ${lineNumber}`);
        problem = catalogueProblem(event);
        if (problem) problem = `stdin line ${lineNumber}: ${problem}`;
      } catch (error) {
        problem = (error as CliError).message;
      }
      if (problem || !event) {
        // Send the good lines before this one first (none is dropped), so the message can say they made it.
        await flush();
        throw new CliError(`${problem}; ${progress.describe(lineNumber)}`, 2);
      }
      batch.push({ event, line: lineNumber });
      if (batch.length >= MAX_BATCH) await flush();
      else timer ??= setTimeout(() => void flush().catch((error: unknown) => reportAndExit(error)), FLUSH_MS);
    }
    await flush();
  } finally {
    clearTimeout(timer);
  }
  await sending;
  return progress.count;
}

export function registerEmit(program: Command): void {
  program
    .command('emit')
    .description('publish an event (or JSON lines from stdin with --stdin)')
    .argument('[type]', 'event type, e.g. workflow.started or x.my-tool.done')
    .option('--data <json>', 'event data: JSON, @FILE, or - for stdin', '{}')
    .option('--metadata <json>', 'event metadata as JSON, e.g. {"agent":"claude"}')
    .option('--stdin', 'read events as JSON lines ({"type","data","metadata"?}) from stdin; sent in batches')
    .option(
      '--retry-for <seconds>',
      'while the server answers 503 unavailable (team mode: its database is away), keep trying this long; 0: fail at once',
      '30',
    )
    .addHelpText(
      'after',
      '\nPrints the sequence number of each stored event, one per line.\nExamples:\n  lookout emit workflow.started --data \'{"workflow_id":"w1"}\'\n  tail -f agent.jsonl | lookout emit --stdin',
    )
    .action(
      async (
        type: string | undefined,
        options: { data: string; metadata?: string; stdin?: boolean; retryFor: string },
        cmd: Command,
      ) => {
        try {
          const retrySeconds = Number(options.retryFor);
          if (!Number.isFinite(retrySeconds) || retrySeconds < 0 || retrySeconds > 3600)
            throw new CliError(`--retry-for must be a number of seconds from 0 to 3600 (got ${options.retryFor})`, 2);
          const server = requireServer(findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace));
          // Said once per command, not once per batch: a stream keeps going when the database is back.
          let told = false;
          const retry = {
            forMs: retrySeconds * 1000,
            onWait: (message: string) => {
              if (told) return;
              told = true;
              process.stderr.write(`lookout: ${message}; retrying for up to ${retrySeconds} s\n`);
            },
          };
          const send = async (batch: unknown[], single = false) => {
            const reply = await callApi<PublishResponse>(
              server,
              'POST',
              '/events',
              single ? batch[0] : { events: batch },
              {},
              retry,
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
            const problem = catalogueProblem(event);
            if (problem) throw new CliError(`event ${type}: ${problem}; nothing was sent`, 2);
            await send([event], true);
          }
          process.exit(0);
        } catch (error) {
          reportAndExit(error);
        }
      },
    );
}

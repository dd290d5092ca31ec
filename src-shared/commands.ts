import { z } from 'zod';
import {
  ActiveBrief,
  type CalendarItem,
  Collection,
  type Commitment,
  ITEM_ID_PATTERN,
  Priority,
  type StateDocument,
} from './state.ts';

/**
 * The command line of the dashboard (and of `POST /api/v1/commands`): a tiny grammar,
 * parsed here so the dashboard can validate and complete as the user types, and the
 * server runs exactly what the dashboard accepted.
 *
 *   approve <id>       mark priority <id> approved
 *   brief <target>     make a priority, calendar item or commitment the active brief
 *   refresh            start a collection (git and file changes)
 *   help               list the commands
 *
 * Command names are case-insensitive; targets keep their case (`approve p7` names p7).
 */

export const COMMAND_NAMES = ['approve', 'brief', 'refresh', 'help'] as const;
export const CommandName = z.enum(COMMAND_NAMES);
export type CommandName = z.infer<typeof CommandName>;

export const CommandSpec = z.object({
  name: CommandName,
  usage: z.string(),
  summary: z.string(),
  /** What the argument names, or null for a command without one. */
  argument: z.string().nullable(),
});
export type CommandSpec = z.infer<typeof CommandSpec>;

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'approve', usage: 'approve <id>', summary: 'mark a priority approved', argument: 'priority id' },
  {
    name: 'brief',
    usage: 'brief <target>',
    summary: 'make a priority, calendar item or commitment the active brief',
    argument: 'target id',
  },
  {
    name: 'refresh',
    usage: 'refresh',
    summary: 'start a collection: git commits and file changes since the last sync',
    argument: null,
  },
  { name: 'help', usage: 'help', summary: 'list the commands', argument: null },
];

export const MAX_COMMAND_LENGTH = 1024;

export type Command =
  | { action: 'approve'; target: string }
  | { action: 'brief'; target: string }
  | { action: 'refresh' }
  | { action: 'help' };

/** What `POST /api/v1/commands` answers: always `action`, and `target` when there is one. */
export const CommandResponse = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('approve'),
    target: z.string(),
    /** False when the priority was already approved. */
    changed: z.boolean(),
    priority: Priority,
  }),
  z.object({ action: z.literal('brief'), target: z.string(), active_brief: ActiveBrief }),
  z.object({ action: z.literal('refresh'), collection: Collection }),
  z.object({ action: z.literal('help'), commands: z.array(CommandSpec) }),
]);
export type CommandResponse = z.infer<typeof CommandResponse>;

export type CommandErrorReason =
  'empty' | 'unknown_command' | 'missing_argument' | 'unexpected_argument' | 'invalid_target' | 'too_long';

export interface CommandError {
  reason: CommandErrorReason;
  /** One sentence that says what to type instead. */
  message: string;
  /** The command name when it was recognised. */
  command?: CommandName;
}

export type ParseCommandResult = { ok: true; command: Command } | { ok: false; error: CommandError };

const spec = (name: CommandName): CommandSpec => COMMANDS.find((c) => c.name === name)!;

export function isCommandName(word: string): word is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(word);
}

const fail = (reason: CommandErrorReason, message: string, command?: CommandName): ParseCommandResult => ({
  ok: false,
  error: command === undefined ? { reason, message } : { reason, message, command },
});

const knownList = (): string => COMMANDS.map((c) => c.usage).join(', ');

/** Parses one command line. Pure: it knows the grammar, not the state. */
export function parseCommand(text: string): ParseCommandResult {
  if (text.length > MAX_COMMAND_LENGTH)
    return fail('too_long', `a command is at most ${MAX_COMMAND_LENGTH} characters`);
  const words = text
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const [first, ...rest] = words;
  if (first === undefined) return fail('empty', `type a command: ${knownList()}`);
  const name = first.toLowerCase();
  if (!isCommandName(name))
    return fail('unknown_command', `unknown command ${JSON.stringify(clip(first))}; the commands are ${knownList()}`);
  const { argument, usage } = spec(name);

  if (argument === null) {
    if (rest.length > 0) return fail('unexpected_argument', `${name} takes no argument: type just "${usage}"`, name);
    return { ok: true, command: name === 'refresh' ? { action: 'refresh' } : { action: 'help' } };
  }
  const [target, ...extra] = rest;
  if (target === undefined) return fail('missing_argument', `${name} needs a ${argument}: ${usage}`, name);
  if (extra.length > 0)
    return fail(
      'unexpected_argument',
      `${name} takes one ${argument}, e.g. "${name} P7"; got ${rest.length} words`,
      name,
    );
  if (!ITEM_ID_PATTERN.test(target) || target.length > 64) {
    return fail(
      'invalid_target',
      `${JSON.stringify(clip(target))} is not an id: an id starts with a letter, then letters, digits, _ or - (e.g. P7)`,
      name,
    );
  }
  return { ok: true, command: name === 'approve' ? { action: 'approve', target } : { action: 'brief', target } };
}

/** The canonical text of a command (`APPROVE  P7 ` → `approve P7`). */
export function formatCommand(command: Command): string {
  return 'target' in command ? `${command.action} ${command.target}` : command.action;
}

function clip(value: string): string {
  return value.length <= 40 ? value : `${value.slice(0, 39)}…`;
}

// ---------------------------------------------------------------------------------------
// Targets

export type TargetState = Pick<StateDocument, 'priorities' | 'calendar' | 'commitments'>;

export type ResolvedTarget =
  | { kind: 'priority'; item: Priority }
  | { kind: 'calendar'; item: CalendarItem }
  | { kind: 'commitment'; direction: 'owe' | 'owed'; item: Commitment };

/**
 * Finds what an id names. Ids are unique within a section; should two sections share
 * one, priorities win over commitments, and commitments over calendar items.
 */
export function resolveTarget(state: TargetState, id: string): ResolvedTarget | undefined {
  const priority = state.priorities.find((p) => p.id === id);
  if (priority) return { kind: 'priority', item: priority };
  const owe = state.commitments.owe.find((c) => c.id === id);
  if (owe) return { kind: 'commitment', direction: 'owe', item: owe };
  const owed = state.commitments.owed.find((c) => c.id === id);
  if (owed) return { kind: 'commitment', direction: 'owed', item: owed };
  const event = state.calendar.find((c) => c.id === id);
  if (event) return { kind: 'calendar', item: event };
  return undefined;
}

/** Every id `brief` accepts, in resolution order, each once. */
export function briefTargets(state: TargetState): string[] {
  const ids = [
    ...state.priorities.map((p) => p.id),
    ...state.commitments.owe.map((c) => c.id),
    ...state.commitments.owed.map((c) => c.id),
    ...state.calendar.map((c) => c.id),
  ];
  return [...new Set(ids)];
}

/** The one-line summary `brief` stores with the active brief. */
export function describeTarget(target: ResolvedTarget): string {
  switch (target.kind) {
    case 'priority': {
      const { item } = target;
      const owner = item.owner === undefined ? '' : `, owner ${item.owner}`;
      return `Priority ${item.id}: ${item.title} (${item.status}${owner})`;
    }
    case 'commitment': {
      const { item, direction } = target;
      const who = direction === 'owe' ? `Owed to ${item.counterparty}` : `Owed by ${item.counterparty}`;
      return `${who}: ${item.text}${item.due == null ? '' : ` (due ${item.due})`}`;
    }
    case 'calendar': {
      const { item } = target;
      return `${item.kind} ${item.title}: ${item.start}${item.end == null ? '' : ` to ${item.end}`}`;
    }
  }
}

/** Ids that differ from `id` only in case, to suggest when a target is unknown. */
export function similarTargets(state: TargetState, id: string): string[] {
  const lower = id.toLowerCase();
  return briefTargets(state).filter((candidate) => candidate !== id && candidate.toLowerCase() === lower);
}

// ---------------------------------------------------------------------------------------
// Completion

export interface Completion {
  /** The whole command line after accepting this completion. */
  text: string;
  /** What to show in the list (a command usage or an id). */
  label: string;
  /** A hint beside the label: a command's summary or an item's title. */
  detail: string;
}

const MAX_COMPLETIONS = 50;

/**
 * Suggestions for what the user has typed so far: command names while the first word
 * is being typed, then ids for the argument (`approve` offers priorities not yet
 * approved or done; `brief` offers every target). Matching ignores case; the
 * suggestions carry the ids' own case.
 */
export function complete(prefix: string, state: TargetState): Completion[] {
  const text = prefix.trimStart();
  const firstSpace = text.search(/\s/);
  if (firstSpace === -1) {
    const typed = text.toLowerCase();
    return COMMANDS.filter((c) => c.name.startsWith(typed)).map((c) => ({
      text: c.argument === null ? c.name : `${c.name} `,
      label: c.usage,
      detail: c.summary,
    }));
  }
  const name = text.slice(0, firstSpace).toLowerCase();
  const rest = text.slice(firstSpace).trimStart();
  if (!isCommandName(name) || /\s/.test(rest)) return [];
  const typed = rest.toLowerCase();
  const candidates = name === 'approve' ? approvable(state) : name === 'brief' ? briefable(state) : [];
  return candidates
    .filter((candidate) => candidate.id.toLowerCase().startsWith(typed))
    .slice(0, MAX_COMPLETIONS)
    .map((candidate) => ({ text: `${name} ${candidate.id}`, label: candidate.id, detail: candidate.detail }));
}

function approvable(state: TargetState): { id: string; detail: string }[] {
  return state.priorities.filter((p) => p.status === 'open').map((p) => ({ id: p.id, detail: p.title }));
}

function briefable(state: TargetState): { id: string; detail: string }[] {
  return briefTargets(state).map((id) => {
    const target = resolveTarget(state, id)!;
    return { id, detail: target.kind === 'commitment' ? target.item.text : target.item.title };
  });
}

/** `[Aa][Pp]…`: a case-insensitive word in a JSON Schema pattern, which has no `i` flag. */
const anyCase = (word: string): string => [...word].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join('');

/**
 * A command line the grammar accepts, as one pattern for /openapi.json (the server parses
 * with parseCommand, whose messages say what to type instead).
 */
export const COMMAND_LINE_PATTERN = new RegExp(
  [
    `^\\s*(?:${COMMANDS.filter((c) => c.argument !== null)
      .map((c) => anyCase(c.name))
      .join('|')})\\s+[A-Za-z][A-Za-z0-9_-]{0,63}\\s*$`,
    `^\\s*(?:${COMMANDS.filter((c) => c.argument === null)
      .map((c) => anyCase(c.name))
      .join('|')})\\s*$`,
  ].join('|'),
);

/** The body of `POST /api/v1/commands` exactly as the grammar accepts it (the document's view). */
export const CommandRequestDocument = z.strictObject({
  command: z
    .string()
    .max(MAX_COMMAND_LENGTH)
    .regex(COMMAND_LINE_PATTERN)
    .describe('e.g. "approve P7", "brief P7", "refresh", "help" (command names ignore case)'),
});

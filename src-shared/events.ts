import { z } from 'zod';
import { type FieldIssue, fieldIssues } from './errors.ts';

/**
 * The event catalogue: what an event type may be, what its data must hold, how clients
 * select types with patterns, and a one-line rendering for people. The server validates
 * with it before anything is stored; the dashboard and the CLI read it to display.
 */

export const MAX_EVENT_TYPE_LENGTH = 128;
/** More patterns than this in one filter is a mistake, not a use case. */
export const MAX_PATTERNS = 100;

/**
 * `namespace.name[.more]`. The event log matches patterns with SQLite GLOB, so a type
 * must never contain GLOB metacharacters (`*`, `?`, `[`, `]`); the character classes
 * below exclude them by construction. The lookahead bounds the length for anyone who
 * uses the regex alone.
 */
export const EVENT_TYPE_PATTERN = /^(?=.{1,128}$)[a-z][a-z0-9_]*(?:\.[A-Za-z0-9_-]+)+$/;

/** `*`, a namespace wildcard (`workflow.*`), or an exact type. */
export const EVENT_PATTERN_PATTERN = /^(?=.{1,128}$)(?:\*|[a-z][a-z0-9_]*\.\*|[a-z][a-z0-9_]*(?:\.[A-Za-z0-9_-]+)+)$/;

export const EventType = z
  .string()
  .max(MAX_EVENT_TYPE_LENGTH, { abort: true, error: `an event type is at most ${MAX_EVENT_TYPE_LENGTH} characters` })
  .regex(EVENT_TYPE_PATTERN, {
    error:
      'an event type is namespace.name: a lowercase namespace, then dot-separated names of letters, digits, _ or - (e.g. workflow.started, x.my-tool.done)',
  });

const ONE_PATTERN = '(?:\\*|[a-z][a-z0-9_]*\\.\\*|[a-z][a-z0-9_]*(?:\\.[A-Za-z0-9_-]+)+)';
/**
 * A `types` value as parsePatterns reads it: comma-separated patterns, blanks around
 * them and empty items ignored. For /openapi.json; the server also bounds each pattern
 * (128 characters) and their number (100), which a pattern without lookahead cannot say.
 */
export const TYPE_PATTERN_LIST = new RegExp(`^\\s*(?:${ONE_PATTERN})?\\s*(?:,\\s*(?:${ONE_PATTERN})?\\s*)*$`);

export const TypePattern = z.string().regex(EVENT_PATTERN_PATTERN, {
  error: 'a type pattern is *, a namespace wildcard like workflow.*, or an exact type like workflow.started',
});

// Bounds that keep one field from eating the whole 64 KiB event budget by accident.
const id = z.string().min(1).max(256);
const label = z.string().min(1).max(256);
const text = z.string().max(32_768);
const filePath = z.string().min(1).max(4096);
const durationMs = z.number().nonnegative();
// Producers live in other time zones (git dates carry their offset); keep what they send.
const isoTime = z.iso.datetime({ offset: true });

const workflowId = { workflow_id: id };
const conversation = { agent: label.optional(), conversation_id: id.optional() };
const ceremonyId = { ceremony_id: id };

const gitSha = z.string().regex(/^[0-9a-fA-F]{7,64}$/, { error: 'a commit sha is 7 to 64 hexadecimal digits' });

/** Hexadecimal ids as OTLP/JSON writes them (lower case once the receiver has normalised them). */
const traceId = z.string().regex(/^[0-9a-f]{32}$/, { error: 'a trace id is 32 lowercase hexadecimal digits' });
const spanId = z.string().regex(/^[0-9a-f]{16}$/, { error: 'a span id is 16 lowercase hexadecimal digits' });
const attributes = z.record(z.string(), z.unknown());
export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
export const SPAN_STATUS_CODES = ['unset', 'ok', 'error'] as const;

/**
 * GenAI semantic-convention attributes (gen_ai.*, and the names Claude Code's own
 * telemetry uses) lifted out of `attributes` so the dashboard can add up tokens and cost
 * per session and model without knowing every producer's spelling.
 */
export const GenAiFields = z
  .object({
    system: z.string().max(256).optional(),
    operation: z.string().max(256).optional(),
    model: z.string().max(256).optional(),
    request_model: z.string().max(256).optional(),
    response_model: z.string().max(256).optional(),
    input_tokens: z.number().nonnegative().optional(),
    output_tokens: z.number().nonnegative().optional(),
    cache_read_tokens: z.number().nonnegative().optional(),
    cache_creation_tokens: z.number().nonnegative().optional(),
    cost_usd: z.number().nonnegative().optional(),
    tool_name: z.string().max(256).optional(),
  })
  .loose();
export type GenAiFields = z.infer<typeof GenAiFields>;

const otelCommon = {
  scope: z.object({ name: z.string().max(1024).optional(), version: z.string().max(256).optional() }).optional(),
  service_name: z.string().max(256).optional(),
  /** The agent session this belongs to (`session.id`, `gen_ai.conversation.id`), when the producer said. */
  session_id: id.optional(),
  gen_ai: GenAiFields.optional(),
  /** Names of attributes shortened or dropped to keep the event within 64 KiB. */
  truncated: z.array(z.string().max(256)).max(1000).optional(),
};

/** Who and where for events from an agent's hooks (Claude Code's session id, its working directory). */
const agentSession = {
  session_id: id.optional(),
  agent: label.optional(),
  cwd: filePath.optional(),
  transcript_path: filePath.optional(),
};

export const SYSTEM_STATUSES = ['IDLE', 'COLLECTING', 'PROCESSING', 'ERROR'] as const;
export const STATE_SECTIONS = ['calendar', 'priorities', 'commitments', 'active_brief'] as const;
export const LOCK_HOLDERS = ['server', 'cli'] as const;
/** How a principal signed in: a user's password, the owner's one-time code or pasted token. */
export const SIGN_IN_METHODS = ['password', 'code', 'token'] as const;
const authSubject = {
  user_id: id,
  name: label,
  role: z.enum(['viewer', 'operator', 'admin']),
};

// Agents and tasks (CONTRACT Part 2). The lists are repeated from agents.ts/tasks.ts as
// plain literals so the catalogue stays importable on its own.
const agentStatus = z.enum(['idle', 'working', 'error', 'offline']);
const taskStatus = z.enum(['pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out']);
const agentRef = { agent_id: id, name: label };
const taskRef = { task_id: id, title: z.string().max(500) };
const sandboxData = z
  .object({
    sandbox_id: id,
    task_id: id.nullable(),
    agent_id: id.nullable().optional(),
    provider: label,
    path: filePath,
    branch_name: label,
  })
  .loose();
/** One `task.output` event carries at most this many lines (the bus's 64 KiB bounds the rest). */
export const MAX_OUTPUT_LINES_PER_EVENT = 2000;

/**
 * The data schema of every catalogued type. Every object is loose: producers may add
 * fields (kept as sent), but the fields named here are checked.
 */
export const CATALOGUE = {
  'workflow.started': z.object({ ...workflowId, name: label.optional() }).loose(),
  'workflow.step_completed': z
    .object({ ...workflowId, name: label.optional(), step: label, duration_ms: durationMs.optional() })
    .loose(),
  'workflow.finished': z.object({ ...workflowId, name: label.optional(), duration_ms: durationMs.optional() }).loose(),
  'workflow.failed': z
    .object({ ...workflowId, name: label.optional(), step: label.optional(), error: z.string().min(1).max(8192) })
    .loose(),

  'chat.message_sent': z.object({ ...conversation, text }).loose(),
  'chat.message_received': z.object({ ...conversation, text }).loose(),
  'chat.thinking_started': z.object({ ...conversation }).loose(),
  'chat.thinking_finished': z.object({ ...conversation, duration_ms: durationMs.optional() }).loose(),

  'file.created': z.object({ path: filePath }).loose(),
  'file.modified': z.object({ path: filePath }).loose(),
  'file.deleted': z.object({ path: filePath }).loose(),

  'state.epic_created': z.object({ epic_id: id, title: label.optional() }).loose(),
  'state.story_created': z.object({ story_id: id, epic_id: id.optional(), title: label.optional() }).loose(),
  'state.story_transitioned': z.object({ story_id: id, from: label, to: label }).loose(),

  'git.commit_created': z
    .object({
      sha: gitSha,
      message: z.string().max(16_384),
      author: label.optional(),
      branch: label.optional(),
      committed_at: isoTime.optional(),
    })
    .loose(),

  'git.checked_out': z
    .object({
      from: gitSha.optional(),
      to: gitSha,
      branch: label.optional(),
      branch_checkout: z.boolean().optional(),
    })
    .loose(),
  'git.merged': z
    .object({
      sha: gitSha,
      message: z.string().max(16_384).optional(),
      branch: label.optional(),
      squash: z.boolean().optional(),
    })
    .loose(),

  'git.operation_completed': z
    .object({
      operation_id: id,
      operation_type: label,
      status: z.enum(['succeeded', 'failed']),
      task_id: id.nullable(),
      sandbox_id: id.nullable(),
      commit_sha: z.string().max(64).nullable(),
      duration_ms: durationMs,
      error_message: z.string().max(8192).nullable(),
    })
    .loose(),

  'agent.created': z.object({ ...agentRef, agent: z.record(z.string(), z.unknown()) }).loose(),
  'agent.updated': z.object({ ...agentRef, agent: z.record(z.string(), z.unknown()) }).loose(),
  'agent.deleted': z.object({ ...agentRef }).loose(),
  'agent.status_changed': z
    .object({
      ...agentRef,
      from: agentStatus,
      to: agentStatus,
      task_id: id.nullable().optional(),
      reason: z.string().max(1024).nullable().optional(),
    })
    .loose(),

  'task.created': z.object({ ...taskRef, task: z.record(z.string(), z.unknown()) }).loose(),
  'task.updated': z.object({ ...taskRef, task: z.record(z.string(), z.unknown()) }).loose(),
  'task.status_changed': z
    .object({
      ...taskRef,
      from: taskStatus,
      to: taskStatus,
      agent_id: id.nullable().optional(),
      exit_code: z.number().int().nullable().optional(),
      reason: z.string().max(1024).nullable().optional(),
    })
    .loose(),
  'task.output': z
    .object({
      task_id: id,
      stream: z.enum(['stdout', 'stderr']),
      lines: z.array(z.string()).max(MAX_OUTPUT_LINES_PER_EVENT),
      /** Set on the last event of a task whose output went past the event budget. */
      truncated: z.boolean().optional(),
    })
    .loose(),

  'sandbox.created': sandboxData,
  'sandbox.destroyed': sandboxData,

  // The knowledge base (CONTRACT Part 2): a document's text is never in the event, only what it is.
  'knowledge.document_added': z
    .object({
      document_id: id,
      title: label,
      source: z.string().max(2048).nullable(),
      tags: z.array(z.string().max(64)).max(32),
      chunk_count: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      /** True when the document replaced an earlier one with the same source (same id). */
      replaced: z.boolean(),
    })
    .loose(),
  'knowledge.document_deleted': z.object({ document_id: id, title: label }).loose(),

  'ceremony.started': z.object({ ...ceremonyId, name: label.optional() }).loose(),
  'ceremony.message': z.object({ ...ceremonyId, text, speaker: label.optional() }).loose(),
  'ceremony.ended': z.object({ ...ceremonyId }).loose(),

  'kanban.card_moved': z.object({ card_id: id, from: label, to: label, title: label.optional() }).loose(),
  'kanban.card_updated': z.object({ card_id: id, title: label.optional() }).loose(),

  'otel.span': z
    .object({
      trace_id: traceId,
      span_id: spanId,
      parent_span_id: spanId.nullable(),
      name: z.string().max(1024),
      kind: z.enum(SPAN_KINDS),
      start_time: isoTime,
      end_time: isoTime,
      duration_ms: durationMs,
      status: z.object({ code: z.enum(SPAN_STATUS_CODES), message: z.string().max(8192).optional() }).loose(),
      attributes: attributes,
      resource: attributes,
      ...otelCommon,
    })
    .loose(),
  'otel.log': z
    .object({
      time: isoTime,
      severity_number: z.number().int().min(0).max(24).optional(),
      severity_text: z.string().max(64).optional(),
      body: z.unknown().optional(),
      event_name: z.string().max(1024).optional(),
      trace_id: traceId.optional(),
      span_id: spanId.optional(),
      attributes: attributes,
      resource: attributes,
      ...otelCommon,
    })
    .loose(),
  'otel.metrics': z
    .object({
      resource: attributes,
      metrics: z
        .array(
          z
            .object({
              name: z.string().max(1024),
              type: z.string().max(32),
              unit: z.string().max(64).optional(),
              data_points: z.number().int().nonnegative(),
            })
            .loose(),
        )
        .max(1000),
      data_points: z.number().int().nonnegative(),
      service_name: z.string().max(256).optional(),
    })
    .loose(),

  'tool.call_started': z.object({ ...agentSession, tool_name: label, input: z.unknown().optional() }).loose(),
  'tool.call_finished': z
    .object({
      ...agentSession,
      tool_name: label,
      input: z.unknown().optional(),
      output: z.unknown().optional(),
      duration_ms: durationMs.optional(),
    })
    .loose(),
  'tool.call_failed': z
    .object({ ...agentSession, tool_name: label, input: z.unknown().optional(), error: z.string().max(16_384) })
    .loose(),

  'agent_session.started': z.object({ ...agentSession, source: label.optional() }).loose(),
  'agent_session.ended': z.object({ ...agentSession, reason: label.optional() }).loose(),
  'agent_session.stopped': z.object({ ...agentSession, subagent: z.boolean().optional() }).loose(),
  'agent_session.notification': z.object({ ...agentSession, message: text }).loose(),
  'agent_session.compacting': z.object({ ...agentSession, trigger: label.optional() }).loose(),

  'system.started': z.object({ version: z.string().min(1).max(64), pid: z.number().int().positive() }).loose(),
  'system.stopping': z.object({ reason: label.optional() }).loose(),
  'system.status_changed': z
    .object({
      status: z.enum(SYSTEM_STATUSES),
      progress: z.number().int().min(0).max(100),
      last_sync: isoTime.nullable(),
      message: z.string().max(1024).optional(),
    })
    .loose(),
  'system.state_changed': z.object({ section: z.enum(STATE_SECTIONS) }).loose(),

  'session.lock_changed': z
    .object({
      read_only: z.boolean(),
      lock: z
        .object({
          holder: z.enum(LOCK_HOLDERS).nullable(),
          pid: z.number().int().positive().nullable(),
          hostname: z.string().max(256).nullable(),
          // Read from a lock file another process wrote: insisting on ISO here would
          // make the server unable to announce that a stranger holds the workspace.
          since: z.string().max(64).nullable(),
          id: z.string().max(256).nullable(),
        })
        .loose(),
      reason: label.optional(),
    })
    .loose(),

  // The access layer's audit trail. Never a password, hash or token in data.
  'auth.signed_in': z.object({ ...authSubject, method: z.enum(SIGN_IN_METHODS), address: label.optional() }).loose(),
  'auth.sign_in_failed': z
    .object({
      method: z.enum(SIGN_IN_METHODS),
      reason: z.enum(['invalid_credentials', 'disabled', 'rate_limited', 'remote_owner']),
      /** Only a name that belongs to a user: a password typed into the name field is never recorded. */
      name: label.optional(),
      address: label.optional(),
    })
    .loose(),
  'auth.user_created': z.object({ ...authSubject, by: label }).loose(),
  'auth.user_disabled': z.object({ ...authSubject, by: label }).loose(),
  'auth.refresh_reuse_detected': z.object({ subject: label, family_id: id, address: label.optional() }).loose(),
} as const;

export type CataloguedType = keyof typeof CATALOGUE;
export type EventData<T extends CataloguedType> = z.infer<(typeof CATALOGUE)[T]>;

/** The open namespace: `x.<anything>` carries any JSON object, unchecked. */
export const CUSTOM_NAMESPACE = 'x';
export const CustomEventData = z.record(z.string(), z.unknown());

/** Published by the server itself; a client that sends them is refused. */
export const SERVER_NAMESPACES: readonly string[] = [
  'system',
  'session',
  'auth',
  'agent',
  'task',
  'sandbox',
  'knowledge',
];
/** Single server-only types in a namespace clients may otherwise use (git.* is shared). */
export const SERVER_TYPES: readonly string[] = ['git.operation_completed'];

export const CATALOGUED_TYPES: readonly CataloguedType[] = Object.keys(CATALOGUE) as CataloguedType[];

/** Catalogued namespaces in catalogue order, then the open one. */
export const NAMESPACES: readonly string[] = [...new Set(CATALOGUED_TYPES.map(namespaceOf)), CUSTOM_NAMESPACE];

/** The part before the first dot (the whole text when there is none). */
export function namespaceOf(type: string): string {
  const dot = type.indexOf('.');
  return dot === -1 ? type : type.slice(0, dot);
}

export function isCataloguedType(type: string): type is CataloguedType {
  return Object.hasOwn(CATALOGUE, type);
}

// ---------------------------------------------------------------------------------------
// Patterns

/**
 * Must agree with the event log's SQL (`type GLOB pattern`), so history and live
 * delivery select the same events: `ns.*` is a prefix match on `ns.` — the dot keeps
 * `chat.*` from matching `chatter.x`, and the bare namespace `workflow` is not a type.
 */
export function matchesPattern(type: string, pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return type === pattern;
}

/** An empty list matches nothing: a filter the caller emptied selects no events. */
export function matchesAny(type: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesPattern(type, pattern));
}

export type ParsePatternsResult = { ok: true; patterns: string[] } | { ok: false; error: string };

/**
 * Reads a comma-separated `types` value (`chat.*, workflow.failed`). Nothing given means
 * everything; duplicates are dropped so the filter echoed back is the one in effect.
 */
export function parsePatterns(text: string | undefined): ParsePatternsResult {
  const patterns = [
    ...new Set(
      (text ?? '')
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    ),
  ];
  if (patterns.length === 0) return { ok: true, patterns: ['*'] };
  if (patterns.length > MAX_PATTERNS)
    return { ok: false, error: `at most ${MAX_PATTERNS} type patterns; got ${patterns.length}` };
  const bad = patterns.find((pattern) => !EVENT_PATTERN_PATTERN.test(pattern));
  if (bad !== undefined) {
    return {
      ok: false,
      error: `invalid type pattern ${JSON.stringify(clip(bad, 60))}: use *, a namespace wildcard like workflow.*, or an exact type like workflow.started`,
    };
  }
  return { ok: true, patterns };
}

// ---------------------------------------------------------------------------------------
// Envelopes

const JsonObject = z.record(z.string(), z.unknown(), {
  error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined),
});

const strayField = (key: string): string =>
  `unknown field ${key}: an event has only type, data and metadata (the server stamps sequence_number and timestamp)`;

/** What a client sends. The server stamps `sequence_number` and `timestamp`; a client never does. */
export const EventInput = z.strictObject(
  {
    type: EventType,
    data: JsonObject.default({}),
    metadata: JsonObject.optional(),
  },
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return issue.keys.map(strayField).join('; ');
      if (issue.code === 'invalid_type') return 'an event is a JSON object: {"type", "data"?, "metadata"?}';
      return undefined;
    },
  },
);
export type EventInput = z.infer<typeof EventInput>;

/** An event as stored and as every client receives it. */
export const EventEnvelope = z.object({
  type: EventType,
  timestamp: z.iso.datetime(),
  sequence_number: z.number().int().positive(),
  data: JsonObject,
  /** Always present: `{}` when the producer sent none. */
  metadata: JsonObject,
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

export interface ValidEvent {
  type: string;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export type ValidateEventResult = { ok: true; event: ValidEvent } | { ok: false; issues: FieldIssue[] };

export interface ValidateEventOptions {
  /** Only the server's own producers set this: system.*, session.*, agent.*, task.*, sandbox.* and knowledge.* are its voice. */
  allowServerTypes?: boolean;
}

// Zod's default for a missing field ("expected string, received undefined") reads like a
// type mistake; a producer needs to hear that the field is required.
const parseErrors: z.core.ParseContext<z.core.$ZodIssue> = {
  error: (issue) =>
    issue.code === 'invalid_type' && issue.input === undefined ? `required (${issue.expected})` : undefined,
};

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
};

/** A JSON object EventInput takes as it is (zod's record drops an own `__proto__` key: zod decides those). */
const plainRecord = (value: unknown): value is Record<string, unknown> =>
  isPlainObject(value) && !Object.hasOwn(value, '__proto__');

/**
 * The envelope of a well-formed input, exactly as EventInput would parse it, without zod:
 * zod's record walks and copies every key of `data`, which was the larger part of checking
 * an `x.*` event. Anything this does not recognise as well-formed (undefined) goes through
 * EventInput, which accepts or refuses it with field-precise messages.
 */
function wellFormedInput(input: unknown): EventInput | undefined {
  if (!isPlainObject(input)) return undefined;
  for (const key in input) if (key !== 'type' && key !== 'data' && key !== 'metadata') return undefined;
  const { type, data, metadata } = input;
  if (typeof type !== 'string' || type.length > MAX_EVENT_TYPE_LENGTH || !EVENT_TYPE_PATTERN.test(type)) {
    return undefined;
  }
  if (data !== undefined && !plainRecord(data)) return undefined;
  if (metadata !== undefined && !plainRecord(metadata)) return undefined;
  // Like EventInput: a missing data is {}.
  return { type, data: data ?? {}, metadata };
}

/**
 * Checks the envelope, who may publish the type, and the data against the catalogue.
 * Issue paths are relative to the event (`type`, `data.workflow_id`) so a batch can
 * prefix them with its index.
 */
export function validateEventInput(input: unknown, options: ValidateEventOptions = {}): ValidateEventResult {
  let envelope = wellFormedInput(input);
  if (envelope === undefined) {
    const parsed = EventInput.safeParse(input, parseErrors);
    if (!parsed.success) {
      return {
        ok: false,
        // One issue per stray field, at that field, so the path points at what to remove.
        issues: parsed.error.issues.flatMap((issue) =>
          issue.code === 'unrecognized_keys' && issue.path.length === 0
            ? issue.keys.map((key) => ({ path: key, message: strayField(key) }))
            : fieldIssues(new z.ZodError([issue])),
        ),
      };
    }
    envelope = parsed.data;
  }
  const { type, data, metadata } = envelope;
  const namespace = namespaceOf(type);

  if ((SERVER_NAMESPACES.includes(namespace) || SERVER_TYPES.includes(type)) && options.allowServerTypes !== true) {
    return refuse(
      'type',
      `${SERVER_NAMESPACES.map((ns) => `${ns}.*`).join(', ')} and ${SERVER_TYPES.join(', ')} are published by the server only`,
    );
  }

  let checked: Record<string, unknown> = data;
  if (namespace !== CUSTOM_NAMESPACE) {
    if (!isCataloguedType(type)) return refuse('type', notCatalogued(type));
    const result = CATALOGUE[type].safeParse(data, parseErrors);
    if (!result.success) return { ok: false, issues: fieldIssues(result.error, ['data']) };
    checked = result.data;
  }
  return { ok: true, event: metadata === undefined ? { type, data: checked } : { type, data: checked, metadata } };
}

function refuse(path: string, message: string): ValidateEventResult {
  return { ok: false, issues: [{ path, message }] };
}

function notCatalogued(type: string): string {
  const namespace = namespaceOf(type);
  const custom = `use ${CUSTOM_NAMESPACE}.<name> for custom events`;
  const known = CATALOGUED_TYPES.filter((t) => namespaceOf(t) === namespace);
  if (known.length > 0) {
    return `${type} is not catalogued; ${namespace}.* has ${known.map((t) => t.slice(namespace.length + 1)).join(', ')} (or ${custom})`;
  }
  const namespaces = NAMESPACES.filter((ns) => ns !== CUSTOM_NAMESPACE && !SERVER_NAMESPACES.includes(ns));
  return `${type} is not catalogued: namespace ${namespace} is unknown (catalogued: ${namespaces.join(', ')}); ${custom}, e.g. ${CUSTOM_NAMESPACE}.${type}`;
}

// ---------------------------------------------------------------------------------------
// Summaries

const SUMMARY_TEXT_LENGTH = 120;
const SUMMARY_LENGTH = 200;

/** One line, at most `max` characters: a summary must never break a terminal row. */
function clip(value: string, max: number): string {
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return ` (${Math.round(ms)} ms)`;
  if (ms < 60_000) return ` (${(ms / 1000).toFixed(1)} s)`;
  const seconds = Math.round(ms / 1000);
  return ` (${Math.floor(seconds / 60)} min ${seconds % 60} s)`;
}

function genAiSummary(g: GenAiFields | undefined): string {
  if (g === undefined) return '';
  const parts = [
    g.model,
    g.input_tokens === undefined ? undefined : `${g.input_tokens} in`,
    g.output_tokens === undefined ? undefined : `${g.output_tokens} out`,
    g.cost_usd === undefined ? undefined : `$${g.cost_usd.toFixed(4)}`,
  ].filter((part) => part !== undefined);
  return parts.length === 0 ? '' : ` [${parts.join(', ')}]`;
}

const arrow = (from: string, to: string): string => `${from} → ${to}`;

// Mapped over one key type so that indexing both maps with a generic T stays correlated
// (TypeScript loses the link between CATALOGUE[T] and EventData<T> otherwise).
type DataOf = { [T in CataloguedType]: EventData<T> };
type Summarizers = { [T in CataloguedType]: (data: DataOf[T]) => string };
const SCHEMAS: { [T in CataloguedType]: z.ZodType<DataOf[T]> } = CATALOGUE;

const SUMMARIZERS: Summarizers = {
  'workflow.started': (d) => `${d.name ?? d.workflow_id} started`,
  'workflow.step_completed': (d) => `${d.name ?? d.workflow_id}: ${d.step} done${duration(d.duration_ms)}`,
  'workflow.finished': (d) => `${d.name ?? d.workflow_id} finished${duration(d.duration_ms)}`,
  'workflow.failed': (d) =>
    `${d.name ?? d.workflow_id} failed${d.step === undefined ? '' : ` at ${d.step}`}: ${d.error}`,

  'chat.message_sent': (d) => clip(d.text, SUMMARY_TEXT_LENGTH),
  'chat.message_received': (d) => clip(d.text, SUMMARY_TEXT_LENGTH),
  'chat.thinking_started': (d) => `${d.agent ?? 'agent'} is thinking`,
  'chat.thinking_finished': (d) => `${d.agent ?? 'agent'} finished thinking${duration(d.duration_ms)}`,

  'file.created': (d) => d.path,
  'file.modified': (d) => d.path,
  'file.deleted': (d) => d.path,

  'state.epic_created': (d) => (d.title === undefined ? `epic ${d.epic_id}` : `epic ${d.epic_id}: ${d.title}`),
  'state.story_created': (d) => (d.title === undefined ? `story ${d.story_id}` : `story ${d.story_id}: ${d.title}`),
  'state.story_transitioned': (d) => `story ${d.story_id}: ${arrow(d.from, d.to)}`,

  'git.commit_created': (d) =>
    `${d.sha.slice(0, 7)} ${clip(d.message.split('\n', 1)[0] ?? '', SUMMARY_TEXT_LENGTH)}`.trimEnd(),

  'git.checked_out': (d) =>
    `checked out ${d.branch ?? d.to.slice(0, 7)}${d.branch_checkout === false ? ' (files)' : ''}`,
  'git.merged': (d) => `merged into ${d.branch ?? d.sha.slice(0, 7)}${d.squash === true ? ' (squash)' : ''}`,
  'git.operation_completed': (d) =>
    `git ${d.operation_type} ${d.status}${d.commit_sha ? ` ${d.commit_sha.slice(0, 7)}` : ''}${duration(d.duration_ms)}${d.error_message ? `: ${d.error_message}` : ''}`,

  'agent.created': (d) => `agent ${d.name} added`,
  'agent.updated': (d) => `agent ${d.name} updated`,
  'agent.deleted': (d) => `agent ${d.name} removed`,
  'agent.status_changed': (d) => `agent ${d.name}: ${arrow(d.from, d.to)}${d.reason ? ` (${d.reason})` : ''}`,

  'task.created': (d) => `task ${d.title} created`,
  'task.updated': (d) => `task ${d.title} updated`,
  'task.status_changed': (d) =>
    `task ${d.title}: ${arrow(d.from, d.to)}${d.exit_code === null || d.exit_code === undefined ? '' : ` (exit ${d.exit_code})`}${d.reason ? ` ${d.reason}` : ''}`,
  'task.output': (d) =>
    `${d.stream}: ${d.lines.length === 1 ? d.lines[0] : `${d.lines.length} lines, last: ${d.lines.at(-1) ?? ''}`}`,

  'sandbox.created': (d) => `sandbox ${d.branch_name} created at ${d.path}`,
  'sandbox.destroyed': (d) => `sandbox ${d.branch_name} removed (branch kept)`,

  'knowledge.document_added': (d) =>
    `document ${d.title} ${d.replaced ? 'replaced' : 'added'} (${d.chunk_count} chunk${d.chunk_count === 1 ? '' : 's'})`,
  'knowledge.document_deleted': (d) => `document ${d.title} deleted`,

  'ceremony.started': (d) => `${d.name ?? d.ceremony_id} started`,
  'ceremony.message': (d) => clip(d.speaker === undefined ? d.text : `${d.speaker}: ${d.text}`, SUMMARY_TEXT_LENGTH),
  'ceremony.ended': (d) => `${d.ceremony_id} ended`,

  'kanban.card_moved': (d) => `card ${d.title ?? d.card_id}: ${arrow(d.from, d.to)}`,
  'kanban.card_updated': (d) => `card ${d.title ?? d.card_id} updated`,

  'otel.span': (d) =>
    `${d.service_name === undefined ? '' : `${d.service_name}: `}${d.name}${duration(d.duration_ms)}${d.status.code === 'error' ? ' failed' : ''}${genAiSummary(d.gen_ai)}`,
  'otel.log': (d) =>
    `${d.severity_text ?? ''} ${d.event_name ?? ''} ${typeof d.body === 'string' ? d.body : d.body === undefined ? '' : JSON.stringify(d.body)}${genAiSummary(d.gen_ai)}`.trim() ||
    'log record',
  'otel.metrics': (d) =>
    `${d.metrics.length} metric${d.metrics.length === 1 ? '' : 's'}, ${d.data_points} points: ${d.metrics.map((m) => m.name).join(', ')}`,

  'tool.call_started': (d) => `${d.tool_name} started`,
  'tool.call_finished': (d) => `${d.tool_name} finished${duration(d.duration_ms)}`,
  'tool.call_failed': (d) => `${d.tool_name} failed: ${d.error}`,

  'agent_session.started': (d) =>
    `${d.agent ?? 'agent'} session started${d.source === undefined ? '' : ` (${d.source})`}`,
  'agent_session.ended': (d) => `${d.agent ?? 'agent'} session ended${d.reason === undefined ? '' : ` (${d.reason})`}`,
  'agent_session.stopped': (d) => `${d.agent ?? 'agent'} ${d.subagent === true ? 'subagent ' : ''}finished responding`,
  'agent_session.notification': (d) => d.message,
  'agent_session.compacting': (d) => `${d.agent ?? 'agent'} is compacting its context`,

  'system.started': (d) => `Lookout ${d.version} started (pid ${d.pid})`,
  'system.stopping': (d) => (d.reason === undefined ? 'stopping' : `stopping: ${d.reason}`),
  'system.status_changed': (d) => `${d.status} ${d.progress}%${d.message === undefined ? '' : `: ${d.message}`}`,
  'system.state_changed': (d) => `${d.section} updated`,

  'auth.signed_in': (d) => `${d.name} (${d.role}) signed in with ${d.method}`,
  'auth.sign_in_failed': (d) => `sign-in failed (${d.method}${d.name === undefined ? '' : `, ${d.name}`}): ${d.reason}`,
  'auth.user_created': (d) => `user ${d.name} (${d.role}) created by ${d.by}`,
  'auth.user_disabled': (d) => `user ${d.name} disabled by ${d.by}`,
  'auth.refresh_reuse_detected': (d) => `refresh token reused for ${d.subject}: its sign-in was revoked`,
  'session.lock_changed': (d) => {
    const { holder, pid, hostname } = d.lock;
    const where = [pid === null ? '' : `pid ${pid}`, hostname === null ? '' : `on ${hostname}`]
      .filter(Boolean)
      .join(' ');
    const lock = holder === null ? 'lock free' : `${holder} holds the lock${where ? ` (${where})` : ''}`;
    return `${d.read_only ? 'read-only' : 'writable'}: ${lock}${d.reason === undefined ? '' : `, ${d.reason}`}`;
  },
};

function summarizeCatalogued<T extends CataloguedType>(type: T, data: unknown): string | undefined {
  const parsed = SCHEMAS[type].safeParse(data);
  if (!parsed.success) return undefined;
  const summarizer: (data: DataOf[T]) => string = SUMMARIZERS[type];
  return summarizer(parsed.data);
}

/**
 * A one-line description for the CLI's `tail` and the dashboard. Data that does not fit
 * its schema (an event stored by an older version, say) falls back to its JSON rather
 * than failing: a viewer must show every event it is given.
 */
export function summarize(event: { type: string; data: unknown }): string {
  const summary = isCataloguedType(event.type) ? summarizeCatalogued(event.type, event.data) : undefined;
  return clip(
    summary ?? JSON.stringify(event.data) ?? '{}',
    summary === undefined ? SUMMARY_TEXT_LENGTH : SUMMARY_LENGTH,
  );
}

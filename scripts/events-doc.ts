/**
 * Writes docs/events.md, the event catalogue for people, from the zod schemas in
 * src-shared/events.ts (the ones the server validates with), so the page can never
 * disagree with the server. test/unit/scripts/events-doc.test.ts fails when the file is stale.
 * (A development tool: it runs from the checkout, where Prettier is installed.)
 *
 *   npm run docs:events
 */
import fs from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import {
  CATALOGUE,
  CATALOGUED_TYPES,
  CUSTOM_NAMESPACE,
  MAX_EVENT_TYPE_LENGTH,
  namespaceOf,
  SERVER_NAMESPACES,
} from '../src-shared/events.ts';
import { MAX_BATCH, MAX_EVENT_BYTES } from '../src-shared/protocol.ts';

export const EVENTS_DOC = path.resolve(import.meta.dirname, '../docs/events.md');

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

/** What a namespace is for, in one line (the catalogue itself only has schemas). */
const NAMESPACE_PURPOSE: Record<string, string> = {
  workflow: 'runs of a multi-step job (CI, a deploy, an agent task)',
  chat: 'messages between people and agents, and an agent thinking',
  file: 'files created, changed or deleted in the workspace (the files collector publishes these)',
  state: 'planning items: epics and stories',
  git: 'commits, checkouts and merges (the git collector and `lookout hooks install git` publish these)',
  ceremony: 'meetings of agents and people (stand-ups, reviews) and what was said',
  kanban: 'cards on a board',
  otel: 'OpenTelemetry spans, log records and metric summaries received on /v1/traces, /v1/logs, /v1/metrics',
  tool: "an agent's tool calls (Claude Code's hooks publish these)",
  agent_session: "an agent's session: start, end, each finished turn, notifications (Claude Code's hooks)",
  system: "the server's own life and the state document's changes",
  session: 'the workspace lock',
  knowledge:
    'documents added to or deleted from the knowledge base (see knowledge.md); the text itself is never in an event',
};

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function describeType(schema: JsonSchema): string {
  if (schema.anyOf) {
    const options = schema.anyOf.filter((option) => option.type !== 'null');
    const nullable = options.length < schema.anyOf.length;
    return `${options.map(describeType).join(' or ')}${nullable ? ' or `null`' : ''}`;
  }
  if (schema.enum) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(', ');
  if (schema.format === 'date-time') return 'date-time';
  return schema.type ?? 'any JSON';
}

function describeRule(schema: JsonSchema): string {
  const rules: string[] = [];
  const inner = schema.anyOf?.find((option) => option.type !== 'null') ?? schema;
  if (inner.format === 'date-time') rules.push('ISO 8601 with `Z` or an offset, kept as sent');
  else if (inner.pattern) rules.push(`matches \`${inner.pattern}\``);
  const { minLength, maxLength } = inner;
  if (minLength !== undefined && maxLength !== undefined) rules.push(`${minLength}–${maxLength} characters`);
  else if (maxLength !== undefined) rules.push(`at most ${maxLength} characters`);
  else if (minLength !== undefined) rules.push(`at least ${minLength} characters`);
  const low =
    inner.exclusiveMinimum !== undefined
      ? `> ${inner.exclusiveMinimum}`
      : inner.minimum !== undefined
        ? `≥ ${inner.minimum}`
        : '';
  const high = inner.maximum !== undefined && inner.maximum < MAX_SAFE ? inner.maximum : undefined;
  if (inner.minimum !== undefined && high !== undefined) rules.push(`${inner.minimum}–${high}`);
  else if (low) rules.push(low);
  else if (high !== undefined) rules.push(`≤ ${high}`);
  return rules.join('; ');
}

/** One row per field, nested objects flattened as `lock.holder`. */
function fieldRows(schema: JsonSchema, prefix = ''): string[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([name, field]) => {
    const row = `| \`${prefix}${name}\` | ${describeType(field)} | ${required.has(name) ? 'yes' : 'no'} | ${describeRule(field)} |`;
    return field.type === 'object' && field.properties ? [row, ...fieldRows(field, `${prefix}${name}.`)] : [row];
  });
}

export function renderEventsDoc(): string {
  const namespaces = [...new Set(CATALOGUED_TYPES.map(namespaceOf))];
  const lines: string[] = [
    '<!-- Generated from src-shared/events.ts by `npm run docs:events`; do not edit by hand. -->',
    '',
    '# Event catalogue',
    '',
    'A producer sends `{"type", "data"?, "metadata"?}`; the server adds `sequence_number` and',
    '`timestamp` when it stores it, and `metadata: {}` when none was sent (see [protocol.md](protocol.md)).',
    `A type is \`namespace.name\` (at most ${MAX_EVENT_TYPE_LENGTH} characters; lowercase namespace, then`,
    'dot-separated names of letters, digits, `_` or `-`). One event is at most',
    `${MAX_EVENT_BYTES} bytes of JSON, and a batch holds at most ${MAX_BATCH} events.`,
    '',
    '- **Catalogued types** (below): `data` must have the fields marked required, with the',
    '  types and limits shown. Other fields are allowed and kept as sent.',
    `- **\`${CUSTOM_NAMESPACE}.*\`** is the open namespace: \`${CUSTOM_NAMESPACE}.my-tool.done\` carries any JSON object, unchecked.`,
    `- **${SERVER_NAMESPACES.map((ns) => `\`${ns}.*\``).join(' and ')}** are published by the server only; a client that sends them gets \`400\`.`,
    '- Any other type is refused with `400 validation_failed`, naming the types its namespace has.',
    '- `metadata` is free-form (by convention `agent`, `source`, `run_id`); the dashboard shows',
    '  `metadata.agent` or `metadata.source` as the source, else `data.agent`, `data.speaker` or `data.author`.',
    '',
    '`lookout emit` checks events against this catalogue before it sends them (exit code 2',
    'when one does not pass), and so does the server.',
    '',
    '| namespace | for | types |',
    '| --- | --- | --- |',
    ...namespaces.map((ns) => {
      const types = CATALOGUED_TYPES.filter((type) => namespaceOf(type) === ns);
      return `| [\`${ns}\`](#${ns}) | ${NAMESPACE_PURPOSE[ns] ?? ''} | ${types.map((type) => `\`${type.slice(ns.length + 1)}\``).join(', ')} |`;
    }),
    `| \`${CUSTOM_NAMESPACE}\` | your own events | anything |`,
  ];
  for (const ns of namespaces) {
    lines.push('', `## ${ns}`, '');
    if (SERVER_NAMESPACES.includes(ns)) lines.push('Published by the server only.', '');
    for (const type of CATALOGUED_TYPES.filter((t) => namespaceOf(t) === ns)) {
      const schema = z.toJSONSchema(CATALOGUE[type], { io: 'input' }) as JsonSchema;
      const rows = fieldRows(schema);
      lines.push(`### \`${type}\``, '');
      if (rows.length === 0) lines.push('No required fields.', '');
      else lines.push('| field | type | required | rule |', '| --- | --- | --- | --- |', ...rows, '');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The page as it is checked in: rendered, then formatted like every other file. */
export async function formattedEventsDoc(): Promise<string> {
  const options = (await resolveConfig(EVENTS_DOC)) ?? {};
  return format(renderEventsDoc(), { ...options, filepath: EVENTS_DOC });
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  fs.writeFileSync(EVENTS_DOC, await formattedEventsDoc());
  console.log(`wrote ${path.relative(process.cwd(), EVENTS_DOC)}`);
}

import { z } from 'zod';
import { STATE_SECTIONS, SYSTEM_STATUSES } from './events.ts';

/**
 * The state document: what the system is doing, what is scheduled, what awaits the
 * developer's approval, what is owed, and the brief in focus. These schemas are the one
 * definition of it — the server validates writes and stored rows with them, the
 * dashboard renders and completes commands from them, and /openapi.json is generated
 * from them.
 */

export { STATE_SECTIONS, SYSTEM_STATUSES };

export const SystemStatus = z.enum(SYSTEM_STATUSES);
export type SystemStatus = z.infer<typeof SystemStatus>;

export const Progress = z
  .number({ error: 'progress is an integer from 0 to 100' })
  .int({ error: 'progress is an integer from 0 to 100' })
  .min(0, { error: 'progress is an integer from 0 to 100' })
  .max(100, { error: 'progress is an integer from 0 to 100' });

const isoTime = z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time, e.g. 2026-11-23T17:49:02Z' });
/** A day (`2026-11-23`) or a moment (`2026-11-23T17:00:00Z`). */
const dayOrTime = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'an ISO 8601 date (2026-11-23) or date-time (2026-11-23T17:00:00Z)',
});
/**
 * Text that must say something: trimmed, then at least one character. The document says so
 * with a pattern (`\S`: some character that is not white space), which is what a trimmed
 * non-empty string is.
 */
const nonBlank = (max: number) =>
  z.string().trim().min(1, { error: 'must not be empty' }).max(max).meta({ pattern: '\\S' });
const title = nonBlank(512);
const label = nonBlank(256);

/** Extensions of the document for rules JSON Schema cannot state (honoured by the contract fuzzer). */
const UNIQUE_IDS = { 'x-unique-ids': true, description: 'ids are unique' } as const;

export const SystemState = z.object({
  status: SystemStatus,
  progress: Progress,
  /** When the last collection finished successfully; null before the first. */
  last_sync: isoTime.nullable(),
  /** Why the status is what it is: the reason of an ERROR, a cancelled collection. */
  message: z.string().max(1024).optional(),
});
export type SystemState = z.infer<typeof SystemState>;

/**
 * An id the command line can name: a letter, then letters, digits, `_` or `-` (`P7`,
 * `standup-monday`). Ids keep their case; `p7` and `P7` are different ids.
 */
export const ITEM_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;
export const ItemId = z
  .string()
  .max(64, { error: 'an id is at most 64 characters' })
  .regex(ITEM_ID_PATTERN, { error: 'an id starts with a letter, then letters, digits, _ or - (e.g. P7)' });

export const CalendarItem = z
  .object({
    id: ItemId,
    title,
    start: isoTime,
    end: isoTime.nullable().optional(),
    /** What it is, e.g. `ceremony`, `workflow`, `meeting`, `deadline`. */
    kind: nonBlank(64).describe('e.g. ceremony, workflow, meeting, deadline'),
  })
  .loose()
  .refine((item) => item.end == null || Date.parse(item.end) >= Date.parse(item.start), {
    error: 'end must not be before start',
    path: ['end'],
  })
  .meta({ 'x-not-before': { end: 'start' } });
export type CalendarItem = z.infer<typeof CalendarItem>;

export const PRIORITY_STATUSES = ['open', 'approved', 'done'] as const;
export const PriorityStatus = z.enum(PRIORITY_STATUSES);
export type PriorityStatus = z.infer<typeof PriorityStatus>;

export const Priority = z
  .object({
    id: ItemId,
    title,
    status: PriorityStatus,
    /** Lower ranks first; unranked items follow in the order given. */
    rank: z.number().int().min(0).optional(),
    owner: label.optional(),
  })
  .loose();
export type Priority = z.infer<typeof Priority>;

export const Commitment = z
  .object({
    id: ItemId,
    text: nonBlank(2048),
    /** Who it is owed to (in `owe`) or who owes it (in `owed`). */
    counterparty: label,
    due: dayOrTime.nullable().optional(),
  })
  .loose();
export type Commitment = z.infer<typeof Commitment>;

export const ActiveBrief = z
  .object({
    /** The id the brief is about (a priority, a calendar item or a commitment). */
    target: label,
    summary: z.string().max(4096),
    created_at: isoTime,
  })
  .loose();
export type ActiveBrief = z.infer<typeof ActiveBrief>;

/** Adds an issue at `<index>.id` for every id seen before in the same list. */
function uniqueIds(
  items: readonly { id: string }[],
  ctx: z.core.$RefinementCtx<unknown>,
  prefix: PropertyKey[] = [],
  seen = new Map<string, string>(),
): void {
  items.forEach((item, index) => {
    const where = [...prefix, index].join('.');
    const first = seen.get(item.id);
    if (first === undefined) seen.set(item.id, where);
    else
      ctx.addIssue({
        code: 'custom',
        path: [...prefix, index, 'id'],
        message: `duplicate id ${item.id} (also at ${first}); ids are unique`,
      });
  });
}

const MAX_ITEMS = 1000;

export const Calendar = z
  .array(CalendarItem)
  .max(MAX_ITEMS)
  .superRefine((items, ctx) => uniqueIds(items, ctx))
  .meta(UNIQUE_IDS);
export const Priorities = z
  .array(Priority)
  .max(MAX_ITEMS)
  .superRefine((items, ctx) => uniqueIds(items, ctx))
  .meta(UNIQUE_IDS);
export const Commitments = z
  .strictObject({
    /** What the developer owes others. */
    owe: z.array(Commitment).max(MAX_ITEMS),
    /** What others owe the developer. */
    owed: z.array(Commitment).max(MAX_ITEMS),
  })
  .superRefine((value, ctx) => {
    // One id space for both lists, so an id names one commitment.
    const seen = new Map<string, string>();
    uniqueIds(value.owe, ctx, ['owe'], seen);
    uniqueIds(value.owed, ctx, ['owed'], seen);
  })
  .meta(UNIQUE_IDS);
export type Calendar = z.infer<typeof Calendar>;
export type Priorities = z.infer<typeof Priorities>;
export type Commitments = z.infer<typeof Commitments>;

export const StateSection = z.enum(STATE_SECTIONS);
export type StateSection = z.infer<typeof StateSection>;

/** The schema of each replaceable section: the body of `PUT /api/v1/state/{section}`. */
export const SECTION_SCHEMAS = {
  calendar: Calendar,
  priorities: Priorities,
  commitments: Commitments,
  active_brief: ActiveBrief.nullable(),
} as const satisfies Record<StateSection, z.ZodType>;

export const StateDocument = z.object({
  system: SystemState,
  calendar: Calendar,
  priorities: Priorities,
  commitments: Commitments,
  active_brief: ActiveBrief.nullable(),
});
export type StateDocument = z.infer<typeof StateDocument>;
export type SectionValue<S extends StateSection> = StateDocument[S];

export const INITIAL_SYSTEM: SystemState = { status: 'IDLE', progress: 0, last_sync: null };

/** A fresh workspace's document. */
export function initialState(): StateDocument {
  return {
    system: { ...INITIAL_SYSTEM },
    calendar: [],
    priorities: [],
    commitments: { owe: [], owed: [] },
    active_brief: null,
  };
}

// ---------------------------------------------------------------------------------------
// Request bodies

/** `POST /api/v1/system/status`: status and/or progress (and an optional message). */
export const SystemStatusUpdate = z
  .strictObject({
    status: SystemStatus.optional(),
    progress: Progress.optional(),
    message: z.string().max(1024).optional().describe('shown beside the status; cleared when omitted'),
  })
  .refine((body) => body.status !== undefined || body.progress !== undefined, {
    error: 'give status, progress, or both',
  })
  .meta({ anyOf: [{ required: ['status'] }, { required: ['progress'] }] });
export type SystemStatusUpdate = z.infer<typeof SystemStatusUpdate>;

export const CommandRequest = z.strictObject({
  command: z
    .string({ error: 'command is a string, e.g. "approve P7"' })
    .max(1024)
    .describe('e.g. "approve P7", "brief P7", "refresh", "help"'),
});
export type CommandRequest = z.infer<typeof CommandRequest>;

// ---------------------------------------------------------------------------------------
// Collections

export const COLLECTION_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export const CollectionStatus = z.enum(COLLECTION_STATUSES);
export type CollectionStatus = z.infer<typeof CollectionStatus>;

/** A collection run as `GET /api/v1/collections/{id}` reports it. */
export const Collection = z.object({
  id: z.string(),
  status: CollectionStatus,
  progress: Progress,
  started_at: isoTime,
  finished_at: isoTime.nullable(),
  /** The collector working now (while running) or the one that failed. */
  collector: z.string().nullable(),
  /** What went wrong (failed) or who stopped it (cancelled). */
  error: z.string().optional(),
  /** Each finished collector's summary, by name (e.g. `git`: branch, new commits). */
  results: z.record(z.string(), z.record(z.string(), z.unknown())),
});
export type Collection = z.infer<typeof Collection>;

export const CollectionList = z.object({ collections: z.array(Collection) });
export type CollectionList = z.infer<typeof CollectionList>;

import { z } from 'zod';
import { integerParam } from './non-negative-integer.ts';

/**
 * Wire shapes of discussions (CONTRACT Part 2, "Discussions and knowledge"): agents from
 * the registry (and the person) take turns on a topic; replies stream in as
 * `discussion.message_delta` events and are stored as messages.
 */

export const DISCUSSION_STRATEGIES = ['round_robin', 'moderated', 'mention'] as const;
export const DiscussionStrategy = z.enum(DISCUSSION_STRATEGIES, {
  error: `strategy is one of ${DISCUSSION_STRATEGIES.join(', ')}`,
});
export type DiscussionStrategy = z.infer<typeof DiscussionStrategy>;

export const DISCUSSION_STATUSES = ['active', 'paused', 'completed'] as const;
export const DiscussionStatus = z.enum(DISCUSSION_STATUSES);
export type DiscussionStatus = z.infer<typeof DiscussionStatus>;

export const MESSAGE_STATUSES = ['complete', 'streaming', 'failed'] as const;
export const MessageStatus = z.enum(MESSAGE_STATUSES);
export type MessageStatus = z.infer<typeof MessageStatus>;

export const AUTHOR_KINDS = ['user', 'agent'] as const;
export const AuthorKind = z.enum(AUTHOR_KINDS);
export type AuthorKind = z.infer<typeof AuthorKind>;

/** How an agent speaks in a discussion: its `model` wins over its `command`; neither is external. */
export const SPEAKER_KINDS = ['model', 'command', 'external'] as const;
export const SpeakerKind = z.enum(SPEAKER_KINDS);
export type SpeakerKind = z.infer<typeof SpeakerKind>;

/** The `author` of the person's messages (agents are named by their id). */
export const USER_AUTHOR = 'user';

/**
 * Longest message, in characters. A stored message travels whole in one
 * `discussion.message_created` event, which the bus bounds at 64 KiB of JSON; a reply
 * that streams past this is cut there and marked `truncated`.
 */
export const MAX_MESSAGE_LENGTH = 16_000;
export const MAX_TOPIC_LENGTH = 500;
export const MAX_CONTEXT_LENGTH = 16_000;
export const MAX_PARTICIPANTS = 16;
export const MAX_DOCUMENTS = 50;
/** The most turns a discussion may be given; without `max_turns` it gets DEFAULT_MAX_TURNS. */
export const MAX_TURNS_LIMIT = 1000;
export const DEFAULT_MAX_TURNS = 20;
export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 100;

/**
 * Text people write: no control characters but tab, newline and carriage return. They are
 * noise in a transcript, and each would grow sixfold as JSON (`\u0000`) in the events that
 * carry it.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
export const PLAIN_TEXT = /^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$/;

const plain = (what: string, max: number) =>
  z
    .string({ error: `${what} is a string` })
    .max(max, { error: `${what} is at most ${max} characters` })
    .regex(PLAIN_TEXT, { error: `${what} must not contain control characters (tab and newline are fine)` });

const nonBlank = (what: string, max: number) => plain(what, max).regex(/\S/, { error: `${what} must not be empty` });

const idRef = z.string().min(1).max(64);

export const DiscussionCreate = z.strictObject({
  topic: nonBlank('topic', MAX_TOPIC_LENGTH),
  /** Agent ids, in speaking order (round robin follows it). */
  participants: z
    .array(idRef, { error: 'participants is an array of agent ids' })
    .min(1, { error: 'a discussion needs at least one participant (an agent id)' })
    .max(MAX_PARTICIPANTS, { error: `a discussion has at most ${MAX_PARTICIPANTS} participants` }),
  strategy: DiscussionStrategy.default('round_robin'),
  /**
   * `moderated` only (ignored otherwise): the agent who names the next speaker — the first
   * participant when left out; one not listed is added in front of the participants.
   */
  moderator: idRef.optional(),
  /** Background every speaker is given with the topic. */
  context: plain('context', MAX_CONTEXT_LENGTH).optional(),
  /** Knowledge documents whose best chunks go into each speaker's prompt. */
  document_ids: z
    .array(idRef)
    .max(MAX_DOCUMENTS, { error: `at most ${MAX_DOCUMENTS} documents` })
    .optional(),
  /** Messages (the person's and the agents', failed ones included) after which the discussion completes. */
  max_turns: z
    .number({ error: 'max_turns is a whole number' })
    .int({ error: 'max_turns is a whole number' })
    .min(1, { error: 'max_turns is at least 1' })
    .max(MAX_TURNS_LIMIT, { error: `max_turns is at most ${MAX_TURNS_LIMIT}` })
    .optional(),
  /** Let the first speaker open on the topic right away (default); false waits for the person's first message. */
  start: z.boolean().default(true),
});
export type DiscussionCreate = z.infer<typeof DiscussionCreate>;
export type DiscussionCreateInput = z.input<typeof DiscussionCreate>;

export const Participant = z.object({
  agent_id: z.string(),
  /** The agent's name now (or when it was last seen, if it has been removed since). */
  name: z.string(),
  /** 0-based speaking order. */
  position: z.number().int(),
  speaker: SpeakerKind,
});
export type Participant = z.infer<typeof Participant>;

export const Discussion = z.object({
  id: z.string(),
  topic: z.string(),
  context: z.string(),
  /** Agent ids in speaking order. */
  participants: z.array(z.string()),
  /** The same participants with their names and how each speaks. */
  participant_details: z.array(Participant),
  strategy: DiscussionStrategy,
  /** `moderated`: the moderator's agent id; null otherwise. */
  moderator: z.string().nullable(),
  status: DiscussionStatus,
  /** Why it is paused or completed (`max_turns`, `paused by an operator`, …); null while active. */
  status_reason: z.string().nullable(),
  /** The turn number of the latest message (0 before the first). */
  current_turn: z.number().int(),
  /** The agent whose turn it is (speaking now or awaited), or null when it waits for the person. */
  next_speaker: z.string().nullable(),
  /** Whether next_speaker is producing a reply right now (a message is `streaming`). */
  speaking: z.boolean(),
  max_turns: z.number().int(),
  document_ids: z.array(z.string()),
  message_count: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
});
export type Discussion = z.infer<typeof Discussion>;

export const Citation = z.object({
  document_id: z.string(),
  title: z.string(),
  chunk_id: z.string(),
});
export type Citation = z.infer<typeof Citation>;

export const Message = z.object({
  id: z.string(),
  discussion_id: z.string(),
  /** An agent id, or `user` for the person. */
  author: z.string(),
  /** The author's display name (the agent's name, or `you`). */
  author_name: z.string(),
  author_kind: AuthorKind,
  content: z.string(),
  status: MessageStatus,
  /** Why a failed message failed (`exit code 2`, `timed out after 60 s`, `server_restarted`, …). */
  error: z.string().nullable(),
  /** The reply went past MAX_MESSAGE_LENGTH and was cut. */
  truncated: z.boolean(),
  /** 1-based, one per message. */
  turn: z.number().int(),
  /** Knowledge chunks the speaker was given. */
  citations: z.array(Citation),
  created_at: z.string(),
  /** When it stopped streaming (complete or failed); the creation time for a posted message. */
  completed_at: z.string().nullable(),
});
export type Message = z.infer<typeof Message>;

export const MessagePost = z.strictObject({
  content: z
    .string({ error: 'content is a string' })
    .max(MAX_MESSAGE_LENGTH, {
      error: `content is at most ${MAX_MESSAGE_LENGTH} characters; attach long material as a knowledge document`,
    })
    .regex(PLAIN_TEXT, { error: 'content must not contain control characters (tab and newline are fine)' })
    .regex(/\S/, { error: 'content must not be empty' }),
  /** An agent id (a participant) answering its turn; left out, the person posts. */
  author: idRef.optional(),
});
export type MessagePost = z.infer<typeof MessagePost>;

export const MessagePosted = z.object({ message: Message, discussion: Discussion });
export type MessagePosted = z.infer<typeof MessagePosted>;

export const MessageListQuery = z.strictObject({
  /** A message id: only messages after it (the cursor is the last id of the previous page). */
  after: z.string().min(1).max(64).optional(),
  limit: integerParam(1, MAX_PAGE).default(DEFAULT_PAGE),
});

export const MessagePage = z.object({
  messages: z.array(Message),
  /** Pass as `after` for the next page; null when this page reached the end. */
  next_after: z.string().nullable(),
});
export type MessagePage = z.infer<typeof MessagePage>;

export const DiscussionListQuery = z.strictObject({
  status: DiscussionStatus.optional(),
});

export const DiscussionList = z.object({ discussions: z.array(Discussion) });
export type DiscussionList = z.infer<typeof DiscussionList>;

/** What a `command` agent reads on stdin (one JSON document, then end of input). */
export interface CommandAgentInput {
  discussion: {
    id: string;
    topic: string;
    context: string;
    strategy: DiscussionStrategy;
    turn: number;
    participants: { id: string; name: string }[];
  };
  messages: { author: string; author_name: string; author_kind: AuthorKind; content: string; turn: number }[];
  you: { id: string; name: string; role: string; moderator: boolean };
  knowledge: { document_id: string; title: string; chunk_id: string; text: string }[];
}

/** `@name` mentions: an @ not preceded by a word character, then the name (case-insensitive match against agent names or ids). */
export const MENTION_PATTERN = /(?<![\w@])@([\p{L}\p{N}][\p{L}\p{N}._-]*)/gu;

import { randomBytes } from 'node:crypto';
import type { Agent } from '../../src-shared/agents.ts';
import {
  type CommandAgentInput,
  DEFAULT_MAX_TURNS,
  type Discussion,
  type DiscussionCreate,
  type DiscussionStatus,
  MAX_MESSAGE_LENGTH,
  type Message,
  type MessagePage,
  type MessagePost,
  type MessagePosted,
  USER_AUTHOR,
} from '../../src-shared/discussions.ts';
import { MAX_DELTA_LENGTH } from '../../src-shared/events.ts';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { Database } from '../store/database.ts';
import { DeltaStream } from './delta-stream.ts';
import { type DiscussionRow, DiscussionStore } from './discussion-store.ts';
import type { KnowledgeSource, RetrievedChunk } from './knowledge-source.ts';
import type { SpeakerProvider, SpeakOutcome } from './providers/provider.ts';
import { chooseNext, INTERRUPTIONS, type TurnChoice } from './strategies.ts';

/** What discussions need from the agents registry. */
export interface AgentDirectory {
  find(id: string): Agent | undefined;
}

export interface DiscussionSettings {
  /** A reply's time limit when its agent sets no timeout_s. */
  replyTimeoutS: number;
  /** Knowledge chunks put into each prompt. */
  knowledgeChunks: number;
}

/** Messages a speaker is shown (the newest), and their total size at most. */
const TRANSCRIPT_MESSAGES = 60;
const TRANSCRIPT_CHARS = 60_000;

/**
 * The most a stored message may weigh as JSON: it travels whole in
 * `discussion.message_created`, and the bus refuses events over 64 KiB.
 */
const MAX_MESSAGE_JSON_BYTES = 60_000;

const newId = (): string => randomBytes(6).toString('hex');

/** The reply's text cut until the stored message fits in one event (what an agent writes is not checked like a post). */
function fitting(message: Message, content: string): { content: string; cut: boolean } {
  let text = content;
  let cut = false;
  while (Buffer.byteLength(JSON.stringify({ ...message, content: text })) > MAX_MESSAGE_JSON_BYTES) {
    text = text.slice(0, Math.floor(text.length * 0.9));
    cut = true;
  }
  return { content: text, cut };
}
const now = (): string => new Date().toISOString();

interface Reply {
  messageId: string;
  agentId: string;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Discussions: the turn logic (strategies), replies produced by providers and streamed as
 * events, and the lifecycle (pause, resume, complete). Everything that matters is in the
 * store the moment it changes; what lives only in memory (a reply in flight) is marked
 * `failed` with `server_restarted` at the next start and its turn given back.
 */
export class DiscussionService {
  #store: DiscussionStore;
  #bus: EventBus;
  #logger: Logger;
  #agents: AgentDirectory;
  #knowledge: KnowledgeSource;
  #providers: { command: SpeakerProvider; model: SpeakerProvider };
  #settings: DiscussionSettings;
  #replies = new Map<string, Reply>();
  #stopped = false;

  constructor(options: {
    db: Database;
    bus: EventBus;
    logger: Logger;
    agents: AgentDirectory;
    knowledge: KnowledgeSource;
    providers: { command: SpeakerProvider; model: SpeakerProvider };
    settings: DiscussionSettings;
  }) {
    this.#store = new DiscussionStore(options.db);
    this.#bus = options.bus;
    this.#logger = options.logger.child({ domain: 'discussions' });
    this.#agents = options.agents;
    this.#knowledge = options.knowledge;
    this.#providers = options.providers;
    this.#settings = options.settings;
  }

  /** Swaps the knowledge base in (it may be built after this service). */
  set knowledge(source: KnowledgeSource) {
    this.#knowledge = source;
  }

  // ---------------------------------------------------------------------------------
  // Reads

  list(status?: DiscussionStatus): Discussion[] {
    return this.#store.list(status).map((row) => this.#view(row));
  }

  get(id: string): Discussion {
    return this.#view(this.#row(id));
  }

  messages(id: string, options: { after?: string; limit: number }): MessagePage {
    this.#row(id);
    let afterSeq: number | undefined;
    if (options.after !== undefined) {
      afterSeq = this.#store.seqOf(id, options.after);
      if (afterSeq === undefined)
        throw new LookoutError('invalid_input', `after: no message ${options.after} in discussion ${id}`, {
          details: [{ path: 'after', message: 'not a message of this discussion' }],
        });
    }
    // One more than asked tells whether another page follows.
    const rows = this.#store.messages(id, { afterSeq, limit: options.limit + 1 });
    const messages = rows.slice(0, options.limit);
    return { messages, next_after: rows.length > options.limit ? (messages.at(-1)?.id ?? null) : null };
  }

  // ---------------------------------------------------------------------------------
  // Writes

  async create(input: DiscussionCreate): Promise<Discussion> {
    // The knowledge base is asked first (asynchronously); everything after is one synchronous step.
    const knownDocuments = await Promise.all((input.document_ids ?? []).map((id) => this.#knowledge.find(id)));
    this.#assertRunning();
    // A moderator not listed among the participants chairs from the front of the order.
    const moderator = input.strategy === 'moderated' ? (input.moderator ?? input.participants[0]!) : null;
    const ids =
      moderator !== null && !input.participants.includes(moderator)
        ? [moderator, ...input.participants]
        : input.participants;
    // Ids that name nothing are a 404 (what /agents and /knowledge would answer); a list
    // that repeats an agent is a 400.
    const missing: { path: string; message: string }[] = [];
    const unknownAgent = (id: string, path: string) => {
      if (this.#agents.find(id) === undefined)
        missing.push({ path, message: `no agent has the id ${id} (GET ${API_PREFIX}/agents)` });
    };
    if (ids !== input.participants) unknownAgent(moderator!, 'moderator');
    input.participants.forEach((id, index) => unknownAgent(id, `participants.${index}`));
    (input.document_ids ?? []).forEach((id, index) => {
      if (knownDocuments[index] === undefined)
        missing.push({ path: `document_ids.${index}`, message: `no knowledge document has the id ${id}` });
    });
    if (missing.length > 0)
      throw new LookoutError('not_found', missing.map((i) => `${i.path}: ${i.message}`).join('; '), {
        details: missing,
      });
    const twice = ids.findIndex((id, index) => ids.indexOf(id) !== index);
    if (twice >= 0)
      throw new LookoutError('invalid_input', `participants: ${ids[twice]} is listed twice`, {
        details: [{ path: 'participants', message: `${ids[twice]} is listed twice` }],
      });
    const agents = ids.map((id) => this.#agents.find(id)!);

    const at = now();
    const row: DiscussionRow = {
      id: newId(),
      topic: input.topic.trim(),
      context: input.context ?? '',
      strategy: input.strategy,
      moderator,
      status: 'active',
      status_reason: null,
      current_turn: 0,
      next_speaker: null,
      max_turns: input.max_turns ?? DEFAULT_MAX_TURNS,
      document_ids: [...new Set(input.document_ids ?? [])],
      created_at: at,
      updated_at: at,
      completed_at: null,
    };
    this.#store.insert(
      row,
      agents.map((agent, position) => ({ agent_id: agent.id, name: agent.name, position })),
    );
    const discussion = this.#view(row);
    this.#bus.emitLater('discussion.created', { discussion_id: row.id, topic: row.topic, discussion });
    if (input.start) this.#assign(row.id);
    return this.get(row.id);
  }

  post(id: string, body: MessagePost): MessagePosted {
    this.#assertRunning();
    const row = this.#row(id);
    if (row.status !== 'active')
      throw new LookoutError(
        'conflict',
        row.status === 'paused'
          ? `discussion ${id} is paused; resume it first (POST ${API_PREFIX}/discussions/${id}/resume)`
          : `discussion ${id} is completed; start a new one to continue`,
        { details: { status: row.status } },
      );
    let author = USER_AUTHOR;
    let authorName = 'you';
    if (body.author !== undefined && body.author !== USER_AUTHOR) {
      const participant = this.#store.participants(id).find((p) => p.agent_id === body.author);
      if (!participant)
        throw new LookoutError('invalid_input', `author: ${body.author} is not a participant of discussion ${id}`, {
          details: [{ path: 'author', message: 'not a participant (an agent id from participants, or leave it out)' }],
        });
      if (this.#replies.get(id)?.agentId === body.author)
        throw new LookoutError('conflict', `${participant.name} is replying right now; wait for its reply to end`);
      author = participant.agent_id;
      authorName = this.#agents.find(author)?.name ?? participant.name;
    }
    const at = now();
    const turn = row.current_turn + 1;
    const message: Message = {
      id: newId(),
      discussion_id: id,
      author,
      author_name: authorName,
      author_kind: author === USER_AUTHOR ? 'user' : 'agent',
      content: body.content,
      status: 'complete',
      error: null,
      truncated: false,
      turn,
      citations: [],
      created_at: at,
      completed_at: at,
    };
    this.#store.insertMessage(message);
    // An external agent answering its turn hands the turn on; the person's post runs the turn logic anew.
    const answered = row.next_speaker === author || author === USER_AUTHOR;
    this.#store.update(id, {
      current_turn: turn,
      updated_at: at,
      ...(answered && !this.#replies.has(id) ? { next_speaker: null } : {}),
    });
    this.#bus.emitLater('discussion.message_created', { discussion_id: id, message });
    this.#afterTurn(id);
    return { message, discussion: this.get(id) };
  }

  pause(id: string): Discussion {
    const row = this.#row(id);
    if (row.status !== 'active') throw this.#wrongStatus(row, 'pause', 'only an active discussion can be paused');
    this.#setStatus(row, 'paused', 'paused by an operator');
    this.#replies.get(id)?.controller.abort('paused');
    return this.get(id);
  }

  resume(id: string): Discussion {
    this.#assertRunning();
    const row = this.#row(id);
    if (row.status !== 'paused') throw this.#wrongStatus(row, 'resume', 'only a paused discussion can be resumed');
    this.#setStatus(row, 'active', null);
    // A reply that is still winding down from the pause hands over when it ends.
    if (!this.#replies.has(id) && this.#underway(row)) this.#afterTurn(id, { resuming: true });
    return this.get(id);
  }

  complete(id: string): Discussion {
    const row = this.#row(id);
    if (row.status === 'completed') throw this.#wrongStatus(row, 'complete', 'it is completed already');
    this.#finish(row, 'completed by an operator');
    return this.get(id);
  }

  // ---------------------------------------------------------------------------------
  // Start-up and shutdown

  /**
   * Settles what the previous run left: a reply that was streaming when it stopped is
   * `failed` with `server_restarted`, and every active discussion carries on — the
   * interrupted speaker gets its turn again (strategies.ts, INTERRUPTIONS).
   */
  recover(): void {
    for (const message of this.#store.streamingMessages()) {
      this.#store.finishMessage(message.id, {
        content: message.content,
        status: 'failed',
        error: 'server_restarted',
        truncated: false,
        at: now(),
      });
      const stored = this.#store.message(message.id)!;
      this.#bus.emitLater('discussion.message_created', { discussion_id: message.discussion_id, message: stored });
      this.#logger.info({ discussion: message.discussion_id, message: message.id }, 'reply interrupted by a restart');
    }
    for (const id of this.#store.idsWithStatus('active')) {
      const row = this.#store.find(id)!;
      if (this.#underway(row)) this.#afterTurn(id, { resuming: true });
    }
  }

  /** Ends every reply in flight (they are recorded as interrupted) and takes no more work. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const replies = [...this.#replies.values()];
    for (const reply of replies) reply.controller.abort('server_restarted');
    await Promise.all(replies.map((reply) => reply.done));
  }

  // ---------------------------------------------------------------------------------
  // Turn logic

  /** After a message (or a resume): complete at max_turns, else pick and start the next speaker. */
  #afterTurn(id: string, options: { resuming?: boolean } = {}): void {
    const row = this.#store.find(id);
    if (!row || row.status !== 'active' || this.#stopped) return;
    if (row.current_turn >= row.max_turns) {
      this.#finish(row, `max_turns (${row.max_turns}) reached`);
      return;
    }
    if (this.#replies.has(id)) return; // the reply in flight hands over when it ends
    const failing = this.#failingStreak(id);
    if (failing !== undefined && !options.resuming) {
      this.#setStatus(row, 'paused', failing);
      return;
    }
    this.#assign(id);
  }

  #assign(id: string): void {
    const row = this.#store.find(id)!;
    const participants = this.#store.participants(id);
    if (participants.length === 0) return;
    const recent = this.#store.recentMessages(id, participants.length * 2 + 2);
    const last = recent.at(-1);
    const choice: TurnChoice = chooseNext({
      strategy: row.strategy,
      participants,
      moderator: row.moderator,
      last,
      recentAgents: recent
        .filter((m) => m.author_kind === 'agent')
        .map((m) => m.author)
        .reverse(),
    });
    if (choice.fallback !== undefined)
      this.#logger.warn({ discussion: id, reason: choice.fallback }, 'moderator fallback: round robin');
    const agent = this.#agents.find(choice.agent_id);
    const name = agent?.name ?? participants.find((p) => p.agent_id === choice.agent_id)?.name ?? choice.agent_id;
    if (agent && agent.name !== name) this.#store.renameParticipant(id, agent.id, agent.name);
    const speaker = agent?.speaker ?? 'external';
    this.#store.update(id, { next_speaker: choice.agent_id, updated_at: now() });
    this.#bus.emitLater('discussion.turn_assigned', {
      discussion_id: id,
      agent_id: choice.agent_id,
      name,
      turn: row.current_turn + 1,
      speaker,
      reason: choice.reason,
    });
    if (!agent) {
      this.#failTurn(row, choice.agent_id, name, `agent ${choice.agent_id} no longer exists in the registry`);
      return;
    }
    if (speaker === 'external') {
      this.#emitUpdated(id);
      return; // it answers with POST …/messages {author: its id}
    }
    this.#startReply(id, agent);
  }

  /** A turn that cannot even start (its agent was removed): a failed message, then the next. */
  #failTurn(row: DiscussionRow, agentId: string, name: string, error: string): void {
    const at = now();
    const message: Message = {
      id: newId(),
      discussion_id: row.id,
      author: agentId,
      author_name: name,
      author_kind: 'agent',
      content: '',
      status: 'failed',
      error,
      truncated: false,
      turn: row.current_turn + 1,
      citations: [],
      created_at: at,
      completed_at: at,
    };
    this.#store.insertMessage(message);
    this.#store.update(row.id, { current_turn: message.turn, next_speaker: null, updated_at: at });
    this.#bus.emitLater('discussion.message_created', { discussion_id: row.id, message });
    setImmediate(() => this.#safely(row.id, () => this.#afterTurn(row.id)));
  }

  #startReply(id: string, agent: Agent): void {
    // Retrieval is asynchronous (the knowledge base may be in PostgreSQL): the reply's slot
    // is taken now, so no other turn starts meanwhile; its message follows the retrieval.
    const controller = new AbortController();
    const reply: Reply = { messageId: '', agentId: agent.id, controller, done: Promise.resolve() };
    this.#replies.set(id, reply);
    reply.done = this.#retrieveAndReply(id, agent, reply).catch((error: unknown) => {
      this.#logger.error({ err: error, discussion: id }, 'a reply failed unexpectedly');
    });
  }

  async #retrieveAndReply(id: string, agent: Agent, reply: Reply): Promise<void> {
    const chunks = await this.#retrieve(this.#store.find(id)!, this.#transcript(id).at(-1)?.content ?? '');
    if (reply.controller.signal.aborted) {
      // Paused, completed or stopped while retrieving: this turn never began.
      this.#replies.delete(id);
      setImmediate(() => this.#safely(id, () => this.#afterTurn(id)));
      return;
    }
    const row = this.#store.find(id)!;
    const participants = this.#store.participants(id);
    const transcript = this.#transcript(id);
    const at = now();
    const message: Message = {
      id: newId(),
      discussion_id: id,
      author: agent.id,
      author_name: agent.name,
      author_kind: 'agent',
      content: '',
      status: 'streaming',
      error: null,
      truncated: false,
      turn: row.current_turn + 1,
      citations: chunks.map((c) => ({ document_id: c.document_id, title: c.title, chunk_id: c.chunk_id })),
      created_at: at,
      completed_at: null,
    };
    this.#store.insertMessage(message);
    this.#store.update(id, { current_turn: message.turn, next_speaker: agent.id, updated_at: at });
    this.#bus.emitLater('discussion.message_started', { discussion_id: id, message });
    this.#emitUpdated(id);

    const input: CommandAgentInput = {
      discussion: {
        id,
        topic: row.topic,
        context: row.context,
        strategy: row.strategy,
        turn: message.turn,
        participants: participants.map((p) => ({ id: p.agent_id, name: p.name })),
      },
      messages: transcript.map((m) => ({
        author: m.author,
        author_name: m.author_name,
        author_kind: m.author_kind,
        content: m.content,
        turn: m.turn,
      })),
      you: { id: agent.id, name: agent.name, role: agent.role, moderator: row.moderator === agent.id },
      knowledge: chunks.map((c) => ({
        document_id: c.document_id,
        title: c.title,
        chunk_id: c.chunk_id,
        text: c.text,
      })),
    };
    reply.messageId = message.id;
    await this.#runReply(id, agent, message, input, reply.controller);
  }

  async #runReply(
    id: string,
    agent: Agent,
    message: Message,
    input: CommandAgentInput,
    controller: AbortController,
  ): Promise<void> {
    let content = '';
    let truncated = false;
    let published = '';
    const deltas = new DeltaStream((index, offset, text) => {
      // Saved with every delta: a client that reads the message mid-stream gets exactly
      // the text up to the next delta's `offset`, and a crash loses nothing published.
      published += text;
      try {
        this.#store.saveContent(message.id, published);
        this.#bus.emitLater('discussion.message_delta', {
          discussion_id: id,
          message_id: message.id,
          index,
          offset,
          text,
        });
      } catch (error) {
        // Called from a provider's stream handler: a throw here must not take the server down.
        this.#logger.error({ err: error, discussion: id }, 'publishing a delta failed');
      }
    }, MAX_DELTA_LENGTH);
    const onText = (text: string) => {
      if (truncated) return;
      let piece = text;
      if (content.length + piece.length > MAX_MESSAGE_LENGTH) {
        piece = piece.slice(0, MAX_MESSAGE_LENGTH - content.length);
        truncated = true;
      }
      content += piece;
      deltas.push(piece);
      // Enough said: stop the speaker rather than read what cannot be kept.
      if (truncated) controller.abort('truncated');
    };
    const provider = agent.speaker === 'model' ? this.#providers.model : this.#providers.command;
    let outcome: SpeakOutcome;
    try {
      outcome = await provider.speak({
        agent,
        input,
        onText,
        signal: controller.signal,
        timeoutMs: (agent.timeout_s ?? this.#settings.replyTimeoutS) * 1000,
      });
    } catch (error) {
      outcome = { ok: false, error: `the provider failed: ${(error as Error).message}` };
    }
    deltas.flush();
    const fit = fitting(message, content);
    if (fit.cut) truncated = true;
    const ok = outcome.ok || truncated;
    this.#store.finishMessage(message.id, {
      content: fit.content,
      status: ok ? 'complete' : 'failed',
      error: ok || outcome.ok ? null : outcome.error,
      truncated,
      at: now(),
    });
    this.#replies.delete(id);
    const stored = this.#store.message(message.id)!;
    if (!ok) this.#logger.warn({ discussion: id, agent: agent.id, error: stored.error }, 'reply failed');
    const row = this.#store.find(id)!;
    if (row.next_speaker === agent.id) this.#store.update(id, { next_speaker: null, updated_at: now() });
    this.#bus.emitLater('discussion.message_created', { discussion_id: id, message: stored });
    this.#emitUpdated(id);
    // On the next turn of the loop: a stop that aborted this reply must not see a new one start.
    setImmediate(() => this.#safely(id, () => this.#afterTurn(id)));
  }

  /** The transcript a speaker is shown: complete messages, newest last, within the budget. */
  #transcript(id: string): Message[] {
    const recent = this.#store.recentMessages(id, TRANSCRIPT_MESSAGES).filter((m) => m.status === 'complete');
    let total = 0;
    let start = recent.length;
    while (start > 0 && total + recent[start - 1]!.content.length <= TRANSCRIPT_CHARS) {
      total += recent[start - 1]!.content.length;
      start--;
    }
    return recent.slice(start);
  }

  async #retrieve(row: DiscussionRow, lastContent: string): Promise<RetrievedChunk[]> {
    if (this.#settings.knowledgeChunks === 0) return [];
    const query = `${row.topic}\n${lastContent.slice(-1000)}`;
    try {
      return await this.#knowledge.retrieve(query, {
        ...(row.document_ids.length > 0 ? { documentIds: row.document_ids } : {}),
        limit: this.#settings.knowledgeChunks,
      });
    } catch (error) {
      this.#logger.warn({ err: error, discussion: row.id }, 'knowledge retrieval failed; the prompt goes without');
      return [];
    }
  }

  /** Why to stop when every one of the last N agent turns failed on its own (N = participants). */
  #failingStreak(id: string): string | undefined {
    const count = this.#store.participants(id).length;
    const recent = this.#store.recentMessages(id, count);
    if (recent.length < count) return undefined;
    const failedOnTheirOwn = (m: Message) =>
      m.author_kind === 'agent' &&
      m.status === 'failed' &&
      !(INTERRUPTIONS as readonly (string | null)[]).includes(m.error);
    if (!recent.every(failedOnTheirOwn)) return undefined;
    return `the last ${count} replies failed (latest: ${recent.at(-1)?.error ?? 'no reason'}); fix the agents, then resume`;
  }

  /** Whether turns are being taken (or were, before a pause or a stop); false while it waits for the person's opening. */
  #underway(row: DiscussionRow): boolean {
    return row.next_speaker !== null || row.current_turn > 0;
  }

  #finish(row: DiscussionRow, reason: string): void {
    this.#setStatus(row, 'completed', reason);
    this.#replies.get(row.id)?.controller.abort('completed');
  }

  #setStatus(row: DiscussionRow, to: DiscussionStatus, reason: string | null): void {
    const at = now();
    this.#store.update(row.id, {
      status: to,
      status_reason: reason,
      updated_at: at,
      ...(to === 'completed' ? { completed_at: at, next_speaker: null } : {}),
    });
    this.#bus.emitLater('discussion.status_changed', {
      discussion_id: row.id,
      topic: row.topic,
      from: row.status,
      to,
      reason,
    });
    this.#logger.info({ discussion: row.id, from: row.status, to, reason }, 'discussion status changed');
    this.#emitUpdated(row.id);
  }

  #emitUpdated(id: string): void {
    const discussion = this.get(id);
    this.#bus.emitLater('discussion.updated', { discussion_id: id, topic: discussion.topic, discussion });
  }

  #safely(id: string, fn: () => void): void {
    if (this.#stopped) return;
    try {
      fn();
    } catch (error) {
      this.#logger.error({ err: error, discussion: id }, 'turn logic failed');
    }
  }

  #row(id: string): DiscussionRow {
    const row = this.#store.find(id);
    if (!row)
      throw new LookoutError(
        'not_found',
        `no discussion has the id ${id}; list them with GET ${API_PREFIX}/discussions`,
      );
    return row;
  }

  #wrongStatus(row: DiscussionRow, action: string, why: string): LookoutError {
    return new LookoutError('conflict', `cannot ${action} discussion ${row.id}: it is ${row.status}; ${why}`, {
      details: { status: row.status },
    });
  }

  #assertRunning(): void {
    if (this.#stopped) throw new LookoutError('unavailable', 'the server is stopping; try again once it is back');
  }

  #view(row: DiscussionRow): Discussion {
    const participants = this.#store.participants(row.id);
    return {
      id: row.id,
      topic: row.topic,
      context: row.context,
      participants: participants.map((p) => p.agent_id),
      participant_details: participants.map((p) => {
        const agent = this.#agents.find(p.agent_id);
        return {
          agent_id: p.agent_id,
          name: agent?.name ?? p.name,
          position: p.position,
          speaker: agent?.speaker ?? 'external',
        };
      }),
      strategy: row.strategy,
      moderator: row.moderator,
      status: row.status,
      status_reason: row.status_reason,
      current_turn: row.current_turn,
      next_speaker: row.next_speaker,
      speaking: this.#replies.has(row.id),
      max_turns: row.max_turns,
      document_ids: row.document_ids,
      message_count: this.#store.messageCount(row.id),
      created_at: row.created_at,
      updated_at: row.updated_at,
      completed_at: row.completed_at,
    };
  }
}

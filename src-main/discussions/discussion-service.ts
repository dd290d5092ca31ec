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
import type { SqlExecutor, SqlStore } from '../store/sql-store.ts';
import { DeltaStream } from './delta-stream.ts';
import { type DiscussionRow, DiscussionStore, type TurnDue } from './discussion-store.ts';
import type { KnowledgeSource, RetrievedChunk } from './knowledge-source.ts';
import type { SpeakerProvider, SpeakOutcome } from './providers/provider.ts';
import { chooseNext, INTERRUPTIONS, type TurnChoice } from './strategies.ts';

/** What discussions need from the agents registry. */
export interface AgentDirectory {
  find(id: string): Promise<Agent | undefined>;
}

/** Shows an agent `working` while it speaks (the agents registry). */
export interface SpeakerStatus {
  speaking(agentId: string, reason: string): Promise<void>;
  spoke(agentId: string, reason: string): Promise<void>;
}

const speakingIn = (discussionId: string): string => `speaking in discussion ${discussionId}`;

export interface DiscussionSettings {
  /** A reply's time limit when its agent sets no timeout_s. */
  replyTimeoutS: number;
  /** Knowledge chunks put into each prompt. */
  knowledgeChunks: number;
  /**
   * Team mode: how long a server's hold on the discussions it drives lasts without renewal
   * (another server takes them over once it lapses), and how often it renews it, looks for
   * discussions whose driver is gone, and checks for work it missed.
   */
  leaseMs?: number;
  tickMs?: number;
}

const DEFAULT_LEASE_MS = 6000;
const DEFAULT_TICK_MS = 1000;
/** Discussions one server takes over per sweep (the rest at the next). */
const TAKEOVER_BATCH = 20;

/** Messages a speaker is shown (the newest), and their total size at most. */
const TRANSCRIPT_MESSAGES = 60;
const TRANSCRIPT_CHARS = 60_000;

/**
 * The most a stored message may weigh as JSON: it travels whole in
 * `discussion.message_created`, and the bus refuses events over 64 KiB.
 */
const MAX_MESSAGE_JSON_BYTES = 60_000;

/** What a reply left streaming by a server that stopped or died is failed with. */
const RESTARTED = 'server_restarted';

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

/** An event to publish once the transaction that made its change has committed. */
type Pending = [type: string, data: Record<string, unknown>];

/**
 * Discussions: the turn logic (strategies), replies produced by providers and streamed as
 * events, and the lifecycle (pause, resume, complete), on either store.
 *
 * Every change is written first, then its event is published, and a request is answered
 * only once both are done: when the event cannot be stored (a full disk, the database
 * away) the request fails with that error and is never acknowledged.
 *
 * **Driving.** One server takes a discussion's turns at a time: its `driver` (this
 * server's runner id, stable across its restarts) holds a lease on the row. Any server
 * accepts posts, pauses, resumes and completions: each is a locked read-decide-write on
 * the row, and a message or a resume marks the row `turn_due`. The driver hears of it
 * through the shared event stream at once (and, should an event be missed, at its next
 * tick) and runs the turn logic; a pause or completion made elsewhere stops its reply in
 * flight the same way. A single server (SQLite) is always the driver of everything. In
 * team mode a server renews its leases every tick; when a driver dies, its leases lapse
 * and another server takes its discussions over: a reply it left `streaming` is failed
 * with `server_restarted` and its speaker gets the turn again, as after a restart.
 */
export class DiscussionService {
  readonly runnerId: string;
  #store: DiscussionStore;
  #bus: EventBus;
  #logger: Logger;
  #agents: AgentDirectory;
  #status: SpeakerStatus | undefined;
  #knowledge: KnowledgeSource;
  #providers: { command: SpeakerProvider; model: SpeakerProvider };
  #settings: DiscussionSettings;
  #leaseMs: number;
  #replies = new Map<string, Reply>();
  /** Per discussion, the turn logic running or queued here (one at a time). */
  #turns = new Map<string, Promise<void>>();
  /** Discussions this server drives, as of its last claim or renewal (team mode's event filter). */
  #driving = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** The team-mode tick in progress, awaited by `stop` so none runs after the hand-over. */
  #tickRun: Promise<void> | undefined;
  #tickFailing = false;
  #unlisten: (() => void) | undefined;
  #stopped = false;

  constructor(options: {
    store: SqlStore;
    runnerId: string;
    bus: EventBus;
    logger: Logger;
    agents: AgentDirectory;
    status?: SpeakerStatus;
    knowledge: KnowledgeSource;
    providers: { command: SpeakerProvider; model: SpeakerProvider };
    settings: DiscussionSettings;
  }) {
    this.#store = new DiscussionStore(options.store);
    this.runnerId = options.runnerId;
    this.#bus = options.bus;
    this.#logger = options.logger.child({ domain: 'discussions' });
    this.#agents = options.agents;
    this.#status = options.status;
    this.#knowledge = options.knowledge;
    this.#providers = options.providers;
    this.#settings = options.settings;
    this.#leaseMs = options.settings.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Swaps the knowledge base in (it may be built after this service). */
  set knowledge(source: KnowledgeSource) {
    this.#knowledge = source;
  }

  // ---------------------------------------------------------------------------------
  // Reads

  async list(status?: DiscussionStatus): Promise<Discussion[]> {
    return Promise.all((await this.#store.list(status)).map((row) => this.#view(row)));
  }

  async get(id: string): Promise<Discussion> {
    return this.#view(await this.#row(id));
  }

  async messages(id: string, options: { after?: string; limit: number }): Promise<MessagePage> {
    await this.#row(id);
    let afterSeq: number | undefined;
    if (options.after !== undefined) {
      afterSeq = await this.#store.seqOf(id, options.after);
      if (afterSeq === undefined)
        throw new LookoutError('invalid_input', `after: no message ${options.after} in discussion ${id}`, {
          details: [{ path: 'after', message: 'not a message of this discussion' }],
        });
    }
    // One more than asked tells whether another page follows.
    const rows = await this.#store.messages(id, { afterSeq, limit: options.limit + 1 });
    const messages = rows.slice(0, options.limit);
    return { messages, next_after: rows.length > options.limit ? (messages.at(-1)?.id ?? null) : null };
  }

  // ---------------------------------------------------------------------------------
  // Writes

  async create(input: DiscussionCreate): Promise<Discussion> {
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
    const found = new Map<string, Agent>();
    const unknownAgent = async (id: string, path: string) => {
      const agent = await this.#agents.find(id);
      if (agent === undefined) missing.push({ path, message: `no agent has the id ${id} (GET ${API_PREFIX}/agents)` });
      else found.set(id, agent);
    };
    if (ids !== input.participants) await unknownAgent(moderator!, 'moderator');
    for (const [index, id] of input.participants.entries()) await unknownAgent(id, `participants.${index}`);
    for (const [index, id] of (input.document_ids ?? []).entries())
      if ((await this.#knowledge.find(id)) === undefined)
        missing.push({ path: `document_ids.${index}`, message: `no knowledge document has the id ${id}` });
    if (missing.length > 0)
      throw new LookoutError('not_found', missing.map((i) => `${i.path}: ${i.message}`).join('; '), {
        details: missing,
      });
    const twice = ids.findIndex((id, index) => ids.indexOf(id) !== index);
    if (twice >= 0)
      throw new LookoutError('invalid_input', `participants: ${ids[twice]} is listed twice`, {
        details: [{ path: 'participants', message: `${ids[twice]} is listed twice` }],
      });
    const agents = ids.map((id) => found.get(id)!);

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
      // The server that creates a discussion drives it (its agents' programs run here).
      driver: this.runnerId,
      driver_until_ms: 0,
      turn_due: input.start ? 'next' : null,
      speaking: false,
      message_count: 0,
    };
    await this.#store.insert(
      row,
      agents.map((agent, position) => ({ agent_id: agent.id, name: agent.name, position })),
      this.#leaseMs,
    );
    this.#driving.add(row.id);
    const discussion = await this.#view(row);
    await this.#bus.emit('discussion.created', { discussion_id: row.id, topic: row.topic, discussion });
    if (input.start) await this.#turn(row.id);
    return this.get(row.id);
  }

  async post(id: string, body: MessagePost): Promise<MessagePosted> {
    this.#assertRunning();
    let author = USER_AUTHOR;
    let authorName = 'you';
    const agent =
      body.author !== undefined && body.author !== USER_AUTHOR ? await this.#agents.find(body.author) : null;
    const { message, events, driving } = await this.#store.transaction(async (tx) => {
      // Settles first what a dead driver left, so this message follows it.
      const taken = await this.#take(tx, id);
      const row = await this.#rowIn(tx, id);
      if (row.status !== 'active')
        throw new LookoutError(
          'conflict',
          row.status === 'paused'
            ? `discussion ${id} is paused; resume it first (POST ${API_PREFIX}/discussions/${id}/resume)`
            : `discussion ${id} is completed; start a new one to continue`,
          { details: { status: row.status } },
        );
      if (body.author !== undefined && body.author !== USER_AUTHOR) {
        const participant = (await this.#store.participants(id, tx)).find((p) => p.agent_id === body.author);
        if (!participant)
          throw new LookoutError('invalid_input', `author: ${body.author} is not a participant of discussion ${id}`, {
            details: [
              { path: 'author', message: 'not a participant (an agent id from participants, or leave it out)' },
            ],
          });
        const streaming = await this.#store.streamingMessages(id, tx);
        if (streaming.some((m) => m.author === body.author))
          throw new LookoutError('conflict', `${participant.name} is replying right now; wait for its reply to end`);
        author = participant.agent_id;
        authorName = agent?.name ?? participant.name;
      }
      const at = now();
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
        turn: row.current_turn + 1,
        citations: [],
        created_at: at,
        completed_at: at,
      };
      await this.#store.insertMessage(message, tx);
      // An external agent answering its turn hands the turn on; the person's post runs the turn logic anew.
      const answered = row.next_speaker === author || author === USER_AUTHOR;
      await this.#store.update(
        id,
        {
          current_turn: message.turn,
          updated_at: at,
          turn_due: row.turn_due === 'resume' ? 'resume' : 'next',
          ...(answered && !row.speaking ? { next_speaker: null } : {}),
        },
        tx,
      );
      return { message, ...taken };
    });
    await this.#publish(events);
    await this.#bus.emit('discussion.message_created', { discussion_id: id, message });
    // Here when this server drives it; else its driver hears of the message (event, or its tick).
    if (driving) await this.#turn(id);
    return { message, discussion: await this.get(id) };
  }

  async pause(id: string): Promise<Discussion> {
    const row = await this.#changeStatus(id, 'pause', (r) =>
      r.status === 'active'
        ? { to: 'paused', reason: 'paused by an operator' }
        : 'only an active discussion can be paused',
    );
    return this.#view(row);
  }

  async resume(id: string): Promise<Discussion> {
    this.#assertRunning();
    const row = await this.#changeStatus(id, 'resume', (r) =>
      r.status === 'paused'
        ? // A discussion under way carries on (the interrupted speaker first); one waiting for the person's opening keeps waiting.
          { to: 'active', reason: null, turnDue: this.#underway(r) ? 'resume' : r.turn_due }
        : 'only a paused discussion can be resumed',
    );
    if (row.driver === this.runnerId) await this.#turn(id);
    return this.get(id);
  }

  async complete(id: string): Promise<Discussion> {
    const row = await this.#changeStatus(id, 'complete', (r) =>
      r.status === 'completed' ? 'it is completed already' : { to: 'completed', reason: 'completed by an operator' },
    );
    return this.#view(row);
  }

  /**
   * A lifecycle change from any server: decided and written under the row's lock, then a
   * reply in flight here is stopped (on another server, its driver stops it on hearing
   * the event), then published.
   */
  async #changeStatus(
    id: string,
    action: string,
    decide: (row: DiscussionRow) => { to: DiscussionStatus; reason: string | null; turnDue?: TurnDue | null } | string,
  ): Promise<DiscussionRow> {
    const { before, events } = await this.#store.transaction(async (tx) => {
      const taken = await this.#take(tx, id);
      const row = await this.#rowIn(tx, id);
      const decision = decide(row);
      if (typeof decision === 'string')
        throw new LookoutError('conflict', `cannot ${action} discussion ${row.id}: it is ${row.status}; ${decision}`, {
          details: { status: row.status },
        });
      await this.#writeStatus(tx, row, decision.to, decision.reason, decision.turnDue);
      return { before: row, events: taken.events };
    });
    await this.#publish(events);
    const after = await this.#announceStatus(before, await this.#row(id));
    return after;
  }

  // ---------------------------------------------------------------------------------
  // Start-up and shutdown

  /**
   * Settles what the previous run left and starts driving: a reply that was streaming
   * when this server stopped is `failed` with `server_restarted`, and every active
   * discussion carries on — the interrupted speaker gets its turn again (strategies.ts,
   * INTERRUPTIONS). A single server takes every discussion; in team mode a server takes
   * back its own, and the others' as their leases lapse (every tick, with renewals).
   */
  async recover(): Promise<void> {
    const ids = await this.#store.openIds(this.#store.shared ? this.runnerId : undefined);
    for (const id of ids) {
      const events = await this.#store.transaction(async (tx) => (await this.#take(tx, id, true)).events);
      await this.#publish(events);
      this.#spin(id);
    }
    if (this.#store.shared) {
      this.#unlisten = this.#bus.listen(['discussion.message_created', 'discussion.status_changed'], (event) => {
        const data = event.data as { discussion_id: string; to?: DiscussionStatus };
        if (!this.#driving.has(data.discussion_id)) return;
        if (data.to === 'paused' || data.to === 'completed')
          this.#replies.get(data.discussion_id)?.controller.abort(data.to);
        else this.#spin(data.discussion_id);
      });
      this.#timer = setInterval(() => void this.#tick(), this.#settings.tickMs ?? DEFAULT_TICK_MS);
      this.#timer.unref();
      await this.#tick();
    }
  }

  /** Ends every reply in flight (they are recorded as interrupted), takes no more work, and lets other servers take over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#unlisten?.();
    // A tick already running could renew the leases after the release below, or take
    // orphans over: let it finish first (it takes nothing once it sees #stopped).
    await this.#tickRun;
    const replies = [...this.#replies.values()];
    for (const reply of replies) reply.controller.abort(RESTARTED);
    await Promise.all(replies.map((reply) => reply.done));
    await Promise.all([...this.#turns.values()]);
    if (this.#store.shared) {
      await this.#store
        .release(this.runnerId)
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'could not hand the discussions over'));
    }
  }

  /** Team mode, every tick: renew, stop what was decided elsewhere, take over the dead's, run what is due. */
  #tick(): Promise<void> {
    if (this.#tickRun || this.#stopped) return this.#tickRun ?? Promise.resolve();
    this.#tickRun = this.#tickOnce().finally(() => {
      this.#tickRun = undefined;
    });
    return this.#tickRun;
  }

  async #tickOnce(): Promise<void> {
    try {
      this.#driving = new Set(await this.#store.renew(this.runnerId, this.#leaseMs));
      // Stopping meanwhile: take nothing over that this server would never drive.
      if (this.#stopped) return;
      // A reply whose discussion was paused or completed elsewhere (its event missed), or
      // taken over by another server while this one was stalled, stops here.
      if (this.#replies.size > 0) {
        const rows = await this.#store.drivers([...this.#replies.keys()]);
        for (const [id, reply] of this.#replies) {
          const row = rows.find((r) => r.id === id);
          if (!row || row.driver !== this.runnerId) reply.controller.abort(RESTARTED);
          else if (row.status !== 'active') reply.controller.abort(row.status);
        }
      }
      const { taken, events } = await this.#store.transaction(async (tx) => {
        const taken: string[] = [];
        const events: Pending[] = [];
        for (const id of await this.#store.orphans(tx, TAKEOVER_BATCH)) {
          const take = await this.#take(tx, id, true);
          taken.push(id);
          events.push(...take.events);
        }
        return { taken, events };
      });
      for (const id of taken) this.#logger.info({ discussion: id }, 'took over a discussion whose server is gone');
      await this.#publish(events);
      // A reply left streaming by this server itself (its ending could not be stored, the database being away).
      for (const id of await this.#store.strandedBy(
        this.runnerId,
        [...this.#replies.values()].map((r) => r.messageId),
      )) {
        const stranded = await this.#store.transaction(async (tx) => (await this.#take(tx, id, true)).events);
        await this.#publish(stranded);
      }
      for (const id of new Set([...taken, ...(await this.#store.due(this.runnerId))])) this.#spin(id);
      if (this.#tickFailing) this.#logger.info('discussion lease checks work again');
      this.#tickFailing = false;
    } catch (error) {
      // Once per outage, not every second of it.
      if (!this.#tickFailing)
        this.#logger.warn({ err: error }, 'discussion lease check failed; trying again every tick until it works');
      this.#tickFailing = true;
    }
  }

  /**
   * Makes this server the discussion's driver if it may be (nobody else holds a live
   * lease; or `force`: the row is already locked for a takeover or it is our own at a
   * restart), and settles what a previous driver left streaming: failed with
   * `server_restarted`, the turn logic due to give that speaker its turn again. Inside
   * the caller's transaction; the events are the caller's to publish after commit.
   */
  async #take(tx: SqlExecutor, id: string, force = false): Promise<{ driving: boolean; events: Pending[] }> {
    const row = await this.#store.lock(tx, id);
    if (!row) return { driving: false, events: [] };
    if (row.status === 'completed' || !(await this.#store.claim(tx, id, this.runnerId, this.#leaseMs, force)))
      return { driving: false, events: [] };
    this.#driving.add(id);
    const events: Pending[] = [];
    const mine = this.#replies.get(id)?.messageId;
    for (const message of await this.#store.streamingMessages(id, tx)) {
      if (message.id === mine) continue;
      await this.#store.finishMessage(
        message.id,
        { content: message.content, status: 'failed', error: RESTARTED, truncated: false, at: now() },
        tx,
      );
      events.push([
        'discussion.message_created',
        { discussion_id: id, message: await this.#store.message(message.id, tx) },
      ]);
      this.#logger.info({ discussion: id, message: message.id }, 'reply interrupted: its server stopped');
    }
    // Taken over, back after a restart, or a reply settled: an active discussion under way
    // carries on (an interrupted speaker first; one waiting for an external agent tells it again).
    const takenOver = force || row.driver !== this.runnerId || events.length > 0;
    if (takenOver && row.status === 'active' && this.#underway(row) && row.turn_due === null && !mine)
      await this.#store.update(id, { turn_due: 'resume' }, tx);
    return { driving: true, events };
  }

  // ---------------------------------------------------------------------------------
  // Turn logic

  /** Runs the turn logic for a discussion in the background (logged if it fails; the next tick or post retries). */
  #spin(id: string): void {
    void this.#turn(id).catch(() => undefined);
  }

  /**
   * Runs the turn logic if it is due and this server drives the discussion: one run at a
   * time per discussion (a later call waits for the earlier one, then finds what is left).
   */
  #turn(id: string): Promise<void> {
    const previous = this.#turns.get(id) ?? Promise.resolve();
    const run = previous.then(async () => {
      if (this.#stopped) return;
      try {
        // A turn may lead to another (a turn that could not start, whose agent is gone).
        while (!this.#stopped && (await this.#takeTurn(id)));
      } catch (error) {
        this.#logger.error({ err: error, discussion: id }, 'turn logic failed');
      }
    });
    this.#turns.set(id, run);
    void run.finally(() => {
      if (this.#turns.get(id) === run) this.#turns.delete(id);
    });
    return run;
  }

  /**
   * After a message (or a resume): complete at max_turns, pause after a failing streak,
   * else pick the next speaker and start its reply. True when another run is due at once.
   */
  async #takeTurn(id: string): Promise<boolean> {
    if (this.#replies.has(id)) return false; // the reply in flight hands over when it ends
    type Decision =
      | { kind: 'none' }
      | { kind: 'status'; before: DiscussionRow }
      | { kind: 'failed'; message: Message }
      | { kind: 'assigned'; row: DiscussionRow; choice: TurnChoice; agent: Agent | undefined; name: string };
    // The participants' agents are read before the transaction: a transaction awaits only
    // its own statements (on SQLite a registry read inside it would wait for it forever).
    const agents = new Map<string, Agent | undefined>();
    for (const p of await this.#store.participants(id)) agents.set(p.agent_id, await this.#agents.find(p.agent_id));
    const decision = await this.#store.transaction(async (tx): Promise<Decision> => {
      const row = await this.#store.lock(tx, id);
      if (!row || row.driver !== this.runnerId) {
        this.#driving.delete(id);
        return { kind: 'none' };
      }
      if (row.status !== 'active' || row.turn_due === null || row.speaking) return { kind: 'none' };
      if (row.current_turn >= row.max_turns) {
        await this.#writeStatus(tx, row, 'completed', `max_turns (${row.max_turns}) reached`);
        return { kind: 'status', before: row };
      }
      const participants = await this.#store.participants(id, tx);
      if (participants.length === 0) {
        await this.#store.update(id, { turn_due: null }, tx);
        return { kind: 'none' };
      }
      const recent = await this.#store.recentMessages(id, participants.length * 2 + 2, tx);
      const failing = row.turn_due === 'resume' ? undefined : this.#failingStreak(participants.length, recent);
      if (failing !== undefined) {
        await this.#writeStatus(tx, row, 'paused', failing);
        return { kind: 'status', before: row };
      }
      const choice = chooseNext({
        strategy: row.strategy,
        participants,
        moderator: row.moderator,
        last: recent.at(-1),
        recentAgents: recent
          .filter((m) => m.author_kind === 'agent')
          .map((m) => m.author)
          .reverse(),
      });
      const agent = agents.get(choice.agent_id);
      const name = agent?.name ?? participants.find((p) => p.agent_id === choice.agent_id)?.name ?? choice.agent_id;
      if (!agent) {
        // A turn that cannot even start (its agent was removed): a failed message, then the next.
        const at = now();
        const message: Message = {
          id: newId(),
          discussion_id: id,
          author: choice.agent_id,
          author_name: name,
          author_kind: 'agent',
          content: '',
          status: 'failed',
          error: `agent ${choice.agent_id} no longer exists in the registry`,
          truncated: false,
          turn: row.current_turn + 1,
          citations: [],
          created_at: at,
          completed_at: at,
        };
        await this.#store.insertMessage(message, tx);
        await this.#store.update(
          id,
          { current_turn: message.turn, next_speaker: null, updated_at: at, turn_due: 'next' },
          tx,
        );
        return { kind: 'failed', message };
      }
      // What was due is done once an external agent was told (below), or a reply is under way.
      await this.#store.update(id, { next_speaker: choice.agent_id, updated_at: now() }, tx);
      return { kind: 'assigned', row, choice, agent, name };
    });

    if (decision.kind === 'none') return false;
    if (decision.kind === 'status') {
      await this.#announceStatus(decision.before, await this.#row(id));
      return false;
    }
    if (decision.kind === 'failed') {
      await this.#bus.emit('discussion.message_created', { discussion_id: id, message: decision.message });
      return true;
    }
    const { row, choice, agent, name } = decision;
    if (choice.fallback !== undefined)
      this.#logger.warn({ discussion: id, reason: choice.fallback }, 'moderator fallback: round robin');
    if (agent && agent.name !== name) await this.#store.renameParticipant(id, agent.id, agent.name);
    const speaker = agent?.speaker ?? 'external';
    await this.#bus.emit('discussion.turn_assigned', {
      discussion_id: id,
      agent_id: choice.agent_id,
      name,
      turn: row.current_turn + 1,
      speaker,
      reason: choice.reason,
    });
    if (speaker === 'external') {
      await this.#emitUpdated(id);
      await this.#store.clearDue(id, row.turn_due!, row.current_turn);
      return false; // it answers with POST …/messages {author: its id}
    }
    await this.#startReply(row, agent!);
    return false;
  }

  async #startReply(assigned: DiscussionRow, agent: Agent): Promise<void> {
    const id = assigned.id;
    const participants = await this.#store.participants(id);
    const transcript = await this.#transcript(id);
    const chunks = await this.#retrieve(assigned, transcript.at(-1)?.content ?? '');
    // Known here before its message exists, so no settling of a dead driver's replies (a
    // takeover, a post) mistakes it for one.
    const controller = new AbortController();
    const reply: Reply = { messageId: newId(), agentId: agent.id, controller, done: Promise.resolve() };
    this.#replies.set(id, reply);
    const message = await this.#store
      .transaction(async (tx) => {
        // Still this server's, still active, and nothing said meanwhile (a post, a pause):
        // else the turn logic runs again from what is there now.
        const row = await this.#store.lock(tx, id);
        if (
          !row ||
          row.driver !== this.runnerId ||
          row.status !== 'active' ||
          row.current_turn !== assigned.current_turn ||
          row.next_speaker !== agent.id ||
          row.speaking
        )
          return undefined;
        const at = now();
        const message: Message = {
          id: reply.messageId,
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
        await this.#store.insertMessage(message, tx);
        await this.#store.update(
          id,
          { current_turn: message.turn, next_speaker: agent.id, updated_at: at, turn_due: null },
          tx,
        );
        return message;
      })
      .catch((error: unknown) => {
        this.#replies.delete(id);
        throw error;
      });
    if (!message) {
      this.#replies.delete(id);
      return;
    }

    const input: CommandAgentInput = {
      discussion: {
        id,
        topic: assigned.topic,
        context: assigned.context,
        strategy: assigned.strategy,
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
      you: { id: agent.id, name: agent.name, role: agent.role, moderator: assigned.moderator === agent.id },
      knowledge: chunks.map((c) => ({
        document_id: c.document_id,
        title: c.title,
        chunk_id: c.chunk_id,
        text: c.text,
      })),
    };
    try {
      await this.#bus.emit('discussion.message_started', { discussion_id: id, message });
      await this.#emitUpdated(id);
      await this.#showStatus(agent.id, id, true);
    } catch (error) {
      // Nobody was told the reply started: it ends before it begins, with the reason.
      controller.abort(`could not publish the reply: ${(error as Error).message}`);
    }
    reply.done = this.#runReply(id, agent, message, input, controller)
      .catch((error: unknown) => {
        this.#logger.error({ err: error, discussion: id }, 'a reply failed unexpectedly');
      })
      .finally(() => {
        if (this.#replies.get(id) === reply) this.#replies.delete(id);
        // On the next turn of the loop: a stop that aborted this reply must not see a new one start.
        setImmediate(() => this.#spin(id));
      });
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
    const deltas = new DeltaStream({
      publish: async (index, offset, text) => {
        published += text;
        await this.#store.saveContent(message.id, published);
        await this.#bus.emit('discussion.message_delta', {
          discussion_id: id,
          message_id: message.id,
          index,
          offset,
          text,
        });
      },
      maxChars: MAX_DELTA_LENGTH,
      // Nobody would see the rest: the reply stops, failed with why.
      onFailure: (error) => controller.abort(`could not publish the reply: ${error.message}`),
    });
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
    await deltas.flush();
    const fit = fitting(message, content);
    if (fit.cut) truncated = true;
    const unpublished = deltas.failure && `could not publish the reply: ${deltas.failure.message}`;
    const ok = (outcome.ok || truncated) && !unpublished;
    const error = ok ? null : (unpublished ?? (outcome.ok ? null : outcome.error));
    const stored = await this.#store.transaction(async (tx) => {
      // The discussion's row first, as every writer locks them (no deadlock with a takeover).
      const row = await this.#store.lock(tx, id);
      const finished = await this.#store.finishMessage(
        message.id,
        { content: fit.content, status: ok ? 'complete' : 'failed', error, truncated, at: now() },
        tx,
      );
      // Settled by another server meanwhile (it took the discussion over): nothing of ours to tell.
      if (!finished) return undefined;
      if (row)
        await this.#store.update(
          id,
          {
            ...(row.next_speaker === agent.id ? { next_speaker: null } : {}),
            updated_at: now(),
            turn_due: row.turn_due ?? 'next',
          },
          tx,
        );
      return this.#store.message(message.id, tx);
    });
    if (!stored) return;
    await this.#showStatus(agent.id, id, false);
    if (!ok) this.#logger.warn({ discussion: id, agent: agent.id, error: stored.error }, 'reply failed');
    this.#replies.delete(id);
    await this.#bus.emit('discussion.message_created', { discussion_id: id, message: stored });
    await this.#emitUpdated(id);
  }

  /** The transcript a speaker is shown: complete messages, newest last, within the budget. */
  async #transcript(id: string): Promise<Message[]> {
    const recent = (await this.#store.recentMessages(id, TRANSCRIPT_MESSAGES)).filter((m) => m.status === 'complete');
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
  #failingStreak(count: number, messages: readonly Message[]): string | undefined {
    const recent = messages.slice(-count);
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

  async #writeStatus(
    tx: SqlExecutor,
    row: DiscussionRow,
    to: DiscussionStatus,
    reason: string | null,
    turnDue?: TurnDue | null,
  ): Promise<void> {
    const at = now();
    await this.#store.update(
      row.id,
      {
        status: to,
        status_reason: reason,
        updated_at: at,
        ...(turnDue !== undefined ? { turn_due: turnDue } : {}),
        ...(to === 'completed' ? { completed_at: at, next_speaker: null, turn_due: null } : {}),
      },
      tx,
    );
  }

  /** After a status change committed: the reply in flight here stops, and the change is published. */
  async #announceStatus(before: DiscussionRow, after: DiscussionRow): Promise<DiscussionRow> {
    if (after.status !== 'active') this.#replies.get(after.id)?.controller.abort(after.status);
    this.#logger.info(
      { discussion: after.id, from: before.status, to: after.status, reason: after.status_reason },
      'discussion status changed',
    );
    await this.#bus.emit('discussion.status_changed', {
      discussion_id: after.id,
      topic: after.topic,
      from: before.status,
      to: after.status,
      reason: after.status_reason,
    });
    await this.#emitUpdated(after.id);
    return after;
  }

  async #emitUpdated(id: string): Promise<void> {
    const discussion = await this.get(id);
    await this.#bus.emit('discussion.updated', { discussion_id: id, topic: discussion.topic, discussion });
  }

  async #publish(events: readonly Pending[]): Promise<void> {
    for (const [type, data] of events) {
      await this.#bus.emit(type, data);
      // A reply its server left behind: its agent no longer speaks.
      const message = data.message as Message | undefined;
      if (message?.error === RESTARTED) await this.#showStatus(message.author, message.discussion_id, false);
    }
  }

  /** The agent's `working` status while it speaks; never fails the reply (logged). */
  async #showStatus(agentId: string, discussionId: string, speaking: boolean): Promise<void> {
    try {
      if (speaking) await this.#status?.speaking(agentId, speakingIn(discussionId));
      else await this.#status?.spoke(agentId, speakingIn(discussionId));
    } catch (error) {
      this.#logger.warn({ err: error, agent: agentId }, 'could not update the agent status');
    }
  }

  async #row(id: string): Promise<DiscussionRow> {
    return this.#rowIn(undefined, id);
  }

  async #rowIn(tx: SqlExecutor | undefined, id: string): Promise<DiscussionRow> {
    const row = await this.#store.find(id, tx);
    if (!row)
      throw new LookoutError(
        'not_found',
        `no discussion has the id ${id}; list them with GET ${API_PREFIX}/discussions`,
      );
    return row;
  }

  #assertRunning(): void {
    if (this.#stopped) throw new LookoutError('unavailable', 'the server is stopping; try again once it is back');
  }

  async #view(row: DiscussionRow): Promise<Discussion> {
    const participants = await this.#store.participants(row.id);
    const agents = await Promise.all(participants.map((p) => this.#agents.find(p.agent_id)));
    return {
      id: row.id,
      topic: row.topic,
      context: row.context,
      participants: participants.map((p) => p.agent_id),
      participant_details: participants.map((p, index) => ({
        agent_id: p.agent_id,
        name: agents[index]?.name ?? p.name,
        position: p.position,
        speaker: agents[index]?.speaker ?? 'external',
      })),
      strategy: row.strategy,
      moderator: row.moderator,
      status: row.status,
      status_reason: row.status_reason,
      current_turn: row.current_turn,
      next_speaker: row.next_speaker,
      speaking: row.speaking,
      max_turns: row.max_turns,
      document_ids: row.document_ids,
      message_count: row.message_count,
      created_at: row.created_at,
      updated_at: row.updated_at,
      completed_at: row.completed_at,
    };
  }
}

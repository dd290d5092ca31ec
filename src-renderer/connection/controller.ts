import { type Command, type CommandResponse, formatCommand } from '../../src-shared/commands.ts';
import { type EventEnvelope, namespaceOf } from '../../src-shared/events.ts';
import type { Principal, User, UsersList } from '../../src-shared/access.ts';
import type { AuthState } from '../../src-shared/auth-client.ts';
import { LiveClient, type LiveStatus, type WebSocketLike } from '../../src-shared/live-client.ts';
import { type ControlMessage, type EventsPage, WS_PATH } from '../../src-shared/protocol.ts';
import type { Collection } from '../../src-shared/state.ts';
import { ActivityLog } from '../model/activity-log.ts';
import {
  type DashboardAction,
  dashboardReducer,
  type DashboardState,
  initialDashboardState,
  STATE_EVENT_TYPES,
  Store,
} from '../model/dashboard-state.ts';
import { parseFilter } from '../model/filter.ts';
import { FrameBatcher, type FrameScheduler } from '../model/frame-batcher.ts';
import { RateSeries } from '../model/rate-series.ts';
import { DiscussionBoard, TRANSCRIPT_EVENT_TYPES } from '../model/discussion-board.ts';
import { KnowledgeLibrary } from '../model/knowledge-library.ts';
import { Refresher } from '../model/refresher.ts';
import { TaskBoard } from '../model/task-board.ts';
import type { Agent, AgentList } from '../../src-shared/agents.ts';
import type {
  Discussion,
  DiscussionCreateInput,
  DiscussionList,
  MessagePage,
  MessagePosted,
} from '../../src-shared/discussions.ts';
import type {
  KnowledgeChunk,
  KnowledgeDocument,
  KnowledgeDocumentCreate,
  KnowledgeDocumentList,
  KnowledgeSearchResponse,
} from '../../src-shared/knowledge.ts';
import {
  isFinalTaskStatus,
  type GitOperation,
  type MergeResult,
  type Task,
  type TaskList,
} from '../../src-shared/tasks.ts';
import { API, ApiError, auth, del, get, onAuthChange, patch, post } from './api.ts';

/** What the desktop window's preload offers (absent in a browser). */
interface DesktopBridge {
  signInCode?: () => Promise<{ code: string | null }>;
}
const desktop = (): DesktopBridge | undefined => (window as unknown as { lookout?: DesktopBridge }).lookout;

/** Events shown on first load; older ones sit behind a "load" notice. */
export const HISTORY_ON_LOAD = 2000;

const browserScheduler: FrameScheduler = {
  requestFrame: (callback) => requestAnimationFrame(callback),
  cancelFrame: (handle) => cancelAnimationFrame(handle),
  setTimer: (callback, ms) => window.setTimeout(callback, ms),
  clearTimer: (handle) => window.clearTimeout(handle),
};

const STATE_TYPES: readonly string[] = STATE_EVENT_TYPES;
const TRANSCRIPT_TYPES: readonly string[] = TRANSCRIPT_EVENT_TYPES;
/** Messages per page when a transcript is read. */
const MESSAGE_PAGE = 500;

/**
 * The browser's WebSocket behind the shared client's interface. Its handler properties
 * take DOM event types, which strict function types will not pass as `unknown`-taking
 * handlers, so the events are forwarded rather than the socket cast.
 */
function browserSocket(url: string): WebSocketLike {
  const ws = new WebSocket(url);
  const like: WebSocketLike = {
    get readyState() {
      return ws.readyState;
    },
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  ws.onopen = (event) => like.onopen?.(event);
  ws.onmessage = (event) => like.onmessage?.({ data: event.data });
  ws.onclose = (event) => like.onclose?.({ code: event.code, reason: event.reason });
  ws.onerror = (event) => like.onerror?.(event);
  return like;
}

/**
 * The dashboard's one connection to the server: the shared LiveClient for the stream,
 * REST for everything else. It owns the stores the components read, and every action a
 * component can take goes through here.
 */
export class DashboardController {
  readonly log = new ActivityLog();
  readonly rates = new RateSeries(300);
  readonly app = new Store<DashboardState, DashboardAction>(dashboardReducer, initialDashboardState);
  readonly tasks = new TaskBoard();
  readonly knowledge = new KnowledgeLibrary();
  readonly discussions = new DiscussionBoard();
  #client: LiveClient | undefined;
  #batcher = new FrameBatcher<EventEnvelope>((events) => this.#apply(events), browserScheduler);
  #stateFetch: Promise<void> | undefined;
  /** While a tail arrives: the oldest number stored, until the tail's first event is seen. */
  #olderFrom: number | undefined;
  #disposers: (() => void)[] = [];

  async start(): Promise<void> {
    this.#disposers.push(onAuthChange((state) => this.#onAuth(state)));
    await this.#signInFromPage();
  }

  /**
   * How a page signs in by itself: a one-time `?code=` (from `lookout open`; exchanged by
   * POST and dropped from the address bar at once), else the sign-in this origin already
   * has (refresh cookie + stored binding; this is what carries a page across a server
   * restart), else the desktop window's code over IPC. Otherwise it asks.
   */
  async #signInFromPage(): Promise<void> {
    const params = new URLSearchParams(location.search);
    const code = params.get('code');
    const tokenInUrl = params.has('token');
    if (code !== null || tokenInUrl) history.replaceState(history.state, '', location.pathname + location.hash);
    if (code !== null) {
      try {
        await auth.signIn({ code });
        return;
      } catch (error) {
        if (!auth.hasBinding)
          return auth.requireSignIn(
            error instanceof ApiError && error.status === 401
              ? 'That sign-in link was already used or is older than 60 s. Run `lookout open` again, or sign in below.'
              : (error as Error).message,
          );
      }
    }
    if (auth.hasBinding && (await this.#resume())) return;
    const bridge = desktop();
    if (bridge?.signInCode) {
      try {
        const minted = await bridge.signInCode();
        if (minted.code) {
          await auth.signIn({ code: minted.code });
          return;
        }
      } catch {
        // Fall through to the form.
      }
    }
    auth.requireSignIn(
      tokenInUrl
        ? 'Tokens in URLs are not accepted (the browser keeps them in its history). Paste it below, or run `lookout open`.'
        : 'Sign in to see this workspace.',
    );
  }

  /** Refreshes the stored sign-in, waiting out a server that is restarting; false once it is refused. */
  async #resume(): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await auth.refresh();
        return true;
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 0) return false;
        this.app.dispatch({
          type: 'connection',
          status: {
            state: attempt < 3 ? 'reconnecting' : 'offline',
            attempt: attempt + 1,
            retryAt: null,
            lastError: error.message,
          },
        });
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * 2 ** attempt)));
      }
    }
  }

  #onAuth(state: AuthState): void {
    if (state.status === 'signed-in') {
      const fresh = !this.app.state.signedIn || this.app.state.user?.id !== state.user?.id;
      this.app.dispatch({ type: 'signed-in', user: state.user });
      if (fresh || !this.#client) this.#startStream();
    } else if (state.status === 'signed-out') {
      // Nothing retries with a dead credential: the stream stops until a sign-in.
      this.#client?.stop();
      this.#client = undefined;
      this.app.dispatch({ type: 'signed-out', reason: state.reason });
    }
  }

  /** The stream, opened once signed in: the newest events first, or after what the page already holds. */
  #startStream(): void {
    this.#client?.stop();
    const held = this.log.lastSequenceNumber;
    this.#client = new LiveClient({
      url: () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${WS_PATH}`,
      // Browsers cannot set headers on a WebSocket: each attempt gets a single-use ticket.
      query: async () => ({ ticket: await auth.ticket() }),
      connect: browserSocket,
      // The first connection brings the newest events itself; reconnects (and a sign-in
      // again) resume after the last one shown. No REST call is needed to start or to come back.
      ...(held === undefined ? { tail: HISTORY_ON_LOAD } : { since: held }),
      onEvent: (event) => {
        if (this.#olderFrom !== undefined) this.#noteOlder(event.sequence_number);
        this.#batcher.push(event);
      },
      onGap: (gap) => {
        this.#batcher.flush();
        this.log.addGap(gap.from, gap.to, gap.reason);
      },
      onControl: (message) => this.#onControl(message),
      onStatus: (status) => this.#onStatus(status),
      onEpochChange: () => {
        // Another store: nothing held counts the same history any more.
        this.#batcher.flush();
        this.log.clear();
        this.rates.clear();
      },
    });
    this.#client.start();
    // Output past a task's event budget arrives without events: a running task open in
    // the detail view is read once a second as well.
    const outputTimer = window.setInterval(() => {
      const id = this.tasks.selected?.id;
      const task = id === undefined ? undefined : this.tasks.task(id);
      if (task && !isFinalTaskStatus(task.status)) void this.#readOutput();
    }, 1000);
    this.#disposers.push(() => window.clearInterval(outputTimer));
  }

  stop(): void {
    this.#client?.stop();
    auth.dispose();
    this.#batcher.dispose();
    for (const dispose of this.#disposers.splice(0)) dispose();
  }

  /** The handshake carries the session, the server and the state: the page is complete without REST. */
  #onControl(message: ControlMessage): void {
    if (message.type === 'connected') {
      this.#olderFrom = this.#client?.inTail ? message.oldest_sequence_number : undefined;
      const at = message.last_sequence_number;
      // The agents and tasks lists load once per page; after that only an agent.* or
      // task.* event (live, or replayed on a reconnect) fetches them again.
      if (!this.tasks.loaded) void this.refreshTasks();
      this.app.dispatch({ type: 'session', session: message.session, at });
      this.app.dispatch({ type: 'server', server: { version: message.version, workspace: message.workspace } });
    } else if (message.type === 'snapshot') {
      this.app.dispatch({ type: 'state', state: message.state, at: message.sequence_number_at });
      // Only a snapshot this page cannot read sends it to REST.
      if (this.app.state.state === null) void this.refreshState();
    } else if (message.type === 'replay_complete') {
      // An empty tail: nothing older to announce either.
      this.#olderFrom = undefined;
    }
  }

  /** The first event of a tail: what the store holds before it is one `unloaded` notice, a click away. */
  #noteOlder(firstShown: number): void {
    const oldest = this.#olderFrom!;
    this.#olderFrom = undefined;
    if (firstShown > oldest) {
      this.#batcher.flush();
      this.log.addGap(oldest, firstShown - 1, 'unloaded');
    }
  }

  #apply(events: EventEnvelope[]): void {
    const fresh = this.log.ingest(events);
    this.#record(fresh);
    const effects = this.tasks.effects(fresh);
    if (effects.reloadLists) void this.refreshTasks();
    if (effects.readOutput) void this.#readOutput();
    if (effects.reloadGitOperations) void this.#loadGitOperations();
    if (this.knowledge.affectedBy(fresh)) this.#documents.changed();
    if (this.discussions.apply(fresh).reloadList) this.#discussionList.changed();
    const relevant = events.filter((event) => STATE_TYPES.includes(event.type));
    if (relevant.length > 0) {
      this.app.dispatch({ type: 'events', events: relevant });
      if (this.app.state.stateStale) void this.refreshState();
    }
  }

  #record(events: readonly EventEnvelope[]): void {
    for (const event of events) this.rates.record(Date.parse(event.timestamp), namespaceOf(event.type));
  }

  #onStatus(status: LiveStatus): void {
    this.app.dispatch({ type: 'connection', status });
  }

  async #loadSession(at: number): Promise<void> {
    try {
      this.app.dispatch({ type: 'session', session: await get(`${API}/session`), at });
    } catch {
      // The next lock event or reconnect brings it.
    }
  }

  /** Agents and tasks again (one request pair in flight; a change meanwhile asks once more). */
  refreshTasks(): Promise<void> {
    return this.#lists.run();
  }

  #lists = new Refresher(async () => {
    try {
      const [agents, tasks] = await Promise.all([get<AgentList>(`${API}/agents`), get<TaskList>(`${API}/tasks`)]);
      this.tasks.setLists(agents.agents, tasks.tasks);
    } catch {
      // The next agent or task event tries again.
    }
  });

  selectTask(id: string | null): void {
    this.tasks.select(id);
    if (id !== null) {
      void this.#readOutput();
      void this.#loadGitOperations();
    }
  }

  /** Reads the selected task's log from where the last read ended (one read in flight). */
  #readOutput(): Promise<void> {
    return this.#output.run();
  }

  #output = new Refresher(async () => {
    try {
      const selected = this.tasks.selected;
      if (!selected) return;
      const { id, offset } = selected;
      // Plain text, not JSON: read through the signed-in fetch (access token, refresh on 401).
      const res = await auth.fetch(`${API}/tasks/${encodeURIComponent(id)}/output?offset=${offset}`, {
        cache: 'no-store',
      });
      if (!res.ok) return;
      const text = await res.text();
      this.tasks.appendOutput(id, offset, text, Number(res.headers.get('x-output-size') ?? offset));
    } catch {
      // The next event or tick reads again.
    }
  });

  async #loadGitOperations(): Promise<void> {
    const id = this.tasks.selected?.id;
    if (id === undefined) return;
    try {
      const { git_operations } = await get<{ git_operations: GitOperation[] }>(
        `${API}/git-operations?task_id=${encodeURIComponent(id)}`,
      );
      this.tasks.setGitOperations(id, git_operations);
    } catch {
      // Shown as none; the next git event tries again.
    }
  }

  async startTask(agent: Agent, taskId: string): Promise<Task> {
    const task = await post<Task>(`${API}/agents/${encodeURIComponent(agent.id)}/start-task`, { task_id: taskId });
    void this.refreshTasks();
    return task;
  }

  async cancelTask(id: string): Promise<Task> {
    const task = await post<Task>(`${API}/tasks/${encodeURIComponent(id)}/cancel`, {});
    void this.refreshTasks();
    return task;
  }

  async mergeTask(id: string): Promise<MergeResult> {
    const result = await post<MergeResult>(`${API}/tasks/${encodeURIComponent(id)}/merge`, {});
    void this.refreshTasks();
    return result;
  }

  /** Fetches the state document again (coalesced: one request in flight at a time). */
  refreshState(): Promise<void> {
    this.#stateFetch ??= (async () => {
      const at = this.#client?.lastSequenceNumber ?? 0;
      try {
        this.app.dispatch({ type: 'state', state: await get(`${API}/state`), at });
      } catch {
        // Shown as "no state yet"; the next change event tries again.
      } finally {
        this.#stateFetch = undefined;
      }
    })();
    return this.#stateFetch;
  }

  // -- actions -----------------------------------------------------------------------

  /** Refused writes mean our idea of the lock is stale: ask again. */
  #afterWriteError(error: unknown): never {
    if (error instanceof ApiError && error.status === 423)
      void this.#loadSession(this.#client?.lastSequenceNumber ?? 0);
    throw error;
  }

  async startCollection(): Promise<Collection> {
    try {
      return await post<Collection>(`${API}/collections`);
    } catch (error) {
      this.#afterWriteError(error);
    }
  }

  async runCommand(command: Command): Promise<CommandResponse> {
    try {
      return await post<CommandResponse>(`${API}/commands`, { command: formatCommand(command) });
    } catch (error) {
      this.#afterWriteError(error);
    }
  }

  async backfill(gapId: string): Promise<void> {
    const request = this.log.beginBackfill(gapId);
    if (!request) return;
    try {
      const page = await get<EventsPage>(`${API}/events?since=${request.since}&limit=${request.limit}`);
      this.#record(this.log.completeBackfill(gapId, page));
    } catch (error) {
      this.log.failBackfill(gapId, error instanceof Error ? error.message : String(error));
    }
  }

  /** Signs in from the form: a user's name and password, or the owner's pasted token. */
  async signIn(body: { name: string; password: string } | { token: string }): Promise<Principal> {
    return auth.signIn(body);
  }

  async signOut(): Promise<void> {
    await auth.signOut().catch(() => undefined);
  }

  // -- users (admins) ---------------------------------------------------------------

  async listUsers(): Promise<User[]> {
    return (await get<UsersList>(`${API}/users`)).users;
  }

  createUser(body: { name: string; role: string; password: string }): Promise<User> {
    return post<User>(`${API}/users`, body);
  }

  updateUser(id: string, body: { role?: string; password?: string; disabled?: boolean }): Promise<User> {
    return patch<User>(`${API}/users/${encodeURIComponent(id)}`, body);
  }

  removeUser(id: string): Promise<unknown> {
    return del(`${API}/users/${encodeURIComponent(id)}`);
  }

  // -- discussions --------------------------------------------------------------------

  /** The discussions list again (one read in flight); the view asks once when it opens, events after that. */
  refreshDiscussions(): Promise<void> {
    return this.#discussionList.run();
  }

  #discussionList = new Refresher(async () => {
    try {
      this.discussions.setList((await get<DiscussionList>(`${API}/discussions`)).discussions);
    } catch {
      // The next discussion event, or opening the view again, tries again.
    }
  });

  /**
   * Opens a discussion: its transcript starts from the deltas and messages this page's
   * history already holds for it (a reply streaming now continues from its first delta),
   * then every stored page is read and merged; live events keep arriving meanwhile.
   */
  async openDiscussion(id: string | null): Promise<void> {
    if (id === this.discussions.selectedId) return;
    this.#batcher.flush();
    const held: EventEnvelope[] = [];
    if (id !== null)
      for (const row of this.log.rows)
        if (row.kind === 'event' && TRANSCRIPT_TYPES.includes(row.event.type) && row.event.data.discussion_id === id)
          held.push(row.event);
    this.discussions.select(id, held);
    if (id === null) return;
    let after: string | null = null;
    try {
      do {
        const query = new URLSearchParams({ limit: String(MESSAGE_PAGE) });
        if (after !== null) query.set('after', after);
        const page: MessagePage = await get<MessagePage>(
          `${API}/discussions/${encodeURIComponent(id)}/messages?${query.toString()}`,
        );
        after = page.next_after;
        this.discussions.addPage(id, page.messages, after === null);
      } while (after !== null && this.discussions.selectedId === id);
    } catch (error) {
      this.discussions.pageFailed(id, error instanceof Error ? error.message : String(error));
    }
  }

  async createDiscussion(body: DiscussionCreateInput): Promise<Discussion> {
    try {
      const discussion = await post<Discussion>(`${API}/discussions`, body);
      this.discussions.upsert(discussion);
      return discussion;
    } catch (error) {
      this.#afterWriteError(error);
    }
  }

  async postMessage(id: string, content: string): Promise<MessagePosted> {
    try {
      const posted = await post<MessagePosted>(`${API}/discussions/${encodeURIComponent(id)}/messages`, { content });
      this.discussions.upsert(posted.discussion);
      this.discussions.addMessage(id, posted.message);
      return posted;
    } catch (error) {
      this.#afterWriteError(error);
    }
  }

  async discussionAction(id: string, action: 'pause' | 'resume' | 'complete'): Promise<Discussion> {
    try {
      const discussion = await post<Discussion>(`${API}/discussions/${encodeURIComponent(id)}/${action}`, {});
      this.discussions.upsert(discussion);
      return discussion;
    } catch (error) {
      this.#afterWriteError(error);
    }
  }

  // -- knowledge ----------------------------------------------------------------------

  /** The documents list again (one read in flight); the view asks once when it opens, events after that. */
  refreshKnowledge(): Promise<void> {
    return this.#documents.run();
  }

  #documents = new Refresher(async () => {
    try {
      this.knowledge.setDocuments((await get<KnowledgeDocumentList>(`${API}/knowledge/documents`)).documents);
    } catch {
      // The next knowledge event, or opening the view again, tries again.
    }
  });

  searchKnowledge(q: string, limit: number, signal: AbortSignal): Promise<KnowledgeSearchResponse> {
    return get<KnowledgeSearchResponse>(
      `${API}/knowledge/search?${new URLSearchParams({ q, limit: String(limit) }).toString()}`,
      { signal },
    );
  }

  getDocument(id: string, signal?: AbortSignal): Promise<KnowledgeDocument> {
    return get<KnowledgeDocument>(`${API}/knowledge/documents/${encodeURIComponent(id)}`, { signal });
  }

  getChunk(id: string, signal?: AbortSignal): Promise<KnowledgeChunk> {
    return get<KnowledgeChunk>(`${API}/knowledge/chunks/${encodeURIComponent(id)}`, { signal });
  }

  async addDocument(body: KnowledgeDocumentCreate): Promise<KnowledgeDocument> {
    try {
      const document = await post<KnowledgeDocument>(`${API}/knowledge/documents`, body);
      void this.refreshKnowledge();
      return document;
    } catch (error) {
      this.#afterWriteError(error);
    }
  }

  async deleteDocument(id: string): Promise<void> {
    try {
      await del(`${API}/knowledge/documents/${encodeURIComponent(id)}`);
      this.knowledge.remove(id);
    } catch (error) {
      this.#afterWriteError(error);
    }
  }

  retryNow(): void {
    this.#client?.retryNow();
  }

  setFilter(text: string): void {
    this.log.setFilter(parseFilter(text));
  }

  setPaused(paused: boolean): void {
    this.#batcher.flush();
    this.log.setPaused(paused);
  }
}

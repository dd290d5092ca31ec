import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { type Discussion, MENTION_PATTERN, USER_AUTHOR } from '../../src-shared/discussions.ts';
import type { DiscussionBoard } from '../model/discussion-board.ts';
import { formatAge, formatHourMinute } from '../model/format.ts';
import type { TranscriptCitation, TranscriptEntry } from '../model/transcript.ts';
import { Composer } from './Composer.tsx';
import { useController, useLive, useNow, useWriteBlocked } from './hooks.ts';
import { DocumentReader, useLibrary } from './KnowledgeView.tsx';
import { NewDiscussionDialog } from './NewDiscussion.tsx';

/**
 * Discussions: the list, the open one's transcript (replies stream in as they are
 * produced), its participants with whose turn it is, its documents, pause/resume/complete
 * and a composer with @-mention completion. Write controls say why when they are disabled.
 */

function useBoard(): DiscussionBoard {
  const { discussions } = useController();
  useSyncExternalStore(discussions.subscribe, () => discussions.version);
  return discussions;
}

const STATUS_LABEL: Record<Discussion['status'], string> = {
  active: 'active',
  paused: 'paused',
  completed: 'completed',
};

function DiscussionList({ board, onNew }: { board: DiscussionBoard; onNew: () => void }) {
  const controller = useController();
  const blocked = useWriteBlocked();
  const now = useNow(30_000);
  return (
    <section className="panel discussion-list" aria-label="Discussions">
      <h2 className="panel-title">
        Discussions
        {board.discussions.length > 0 && <span className="panel-count">{board.discussions.length}</span>}
        <button
          type="button"
          className="button small push-right"
          disabled={blocked !== null}
          title={blocked ?? 'Start a discussion between agents'}
          onClick={onNew}
        >
          New discussion
        </button>
      </h2>
      {!board.loaded ? (
        <p className="muted">Loading…</p>
      ) : board.discussions.length === 0 ? (
        <p className="muted">
          No discussions yet. Start one here, or <code>lookout discuss new &quot;TOPIC&quot; --with AGENT…</code>.
        </p>
      ) : (
        <ul className="items">
          {board.discussions.map((d) => (
            <li
              key={d.id}
              className={`item discussion-item${board.selectedId === d.id ? ' selected' : ''}`}
              data-discussion={d.id}
              data-status={d.status}
            >
              <span className="item-main">
                <button
                  type="button"
                  className="link item-title"
                  aria-current={board.selectedId === d.id ? 'true' : undefined}
                  onClick={() => void controller.openDiscussion(d.id)}
                >
                  {d.topic}
                </button>
                <span className="item-sub">
                  {d.participant_details.map((p) => p.name).join(', ')}
                  {' · '}
                  turn {d.current_turn}/{d.max_turns}
                  {' · '}
                  {formatAge(d.updated_at, now)}
                </span>
              </span>
              <span className={`pill pill-discussion-${d.status}`} title={d.status_reason ?? d.status}>
                {d.speaking ? 'speaking' : STATUS_LABEL[d.status]}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Message text with `@mentions` set apart (as text, never markup). */
function MessageText({ text }: { text: string }) {
  const parts: (string | { mention: string })[] = [];
  let at = 0;
  for (const match of text.matchAll(MENTION_PATTERN)) {
    if (match.index > at) parts.push(text.slice(at, match.index));
    parts.push({ mention: match[0] });
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return (
    <>
      {parts.map((part, i) =>
        typeof part === 'string' ? (
          part
        ) : (
          <span key={i} className="mention">
            {part.mention}
          </span>
        ),
      )}
    </>
  );
}

const MessageRow = memo(function MessageRow({
  entry,
  names,
  onCite,
}: {
  entry: TranscriptEntry;
  /** Changes with the entry, so the memo re-renders exactly the rows that changed. */
  version: number;
  names: ReadonlyMap<string, string>;
  onCite: (citation: TranscriptCitation) => void;
}) {
  const who =
    entry.authorKind === 'user' || entry.author === USER_AUTHOR
      ? 'you'
      : (entry.authorName ?? (entry.author ? (names.get(entry.author) ?? entry.author) : '…'));
  return (
    <li
      className={`message message-${entry.authorKind ?? 'agent'}`}
      data-message={entry.id}
      data-status={entry.status}
      aria-busy={entry.status === 'streaming'}
    >
      <header className="message-head">
        <span className="message-author">{who}</span>
        {entry.turn !== null && <span className="muted small">turn {entry.turn}</span>}
        {entry.createdAt && <span className="muted small">{formatHourMinute(entry.createdAt)}</span>}
        {entry.status === 'streaming' && <span className="pill pill-streaming">replying…</span>}
        {entry.status === 'failed' && <span className="pill pill-failed">failed</span>}
      </header>
      <div className="message-text">
        <MessageText text={entry.text} />
        {entry.status === 'streaming' && <span className="caret" aria-hidden="true" />}
      </div>
      {entry.status === 'failed' && (
        <p className="message-error" role="note">
          {entry.reason}
        </p>
      )}
      {entry.truncated && <p className="muted small">The reply was cut at the longest message allowed.</p>}
      {entry.citations.length > 0 && (
        <ul className="citations" aria-label="Citations">
          {entry.citations.map((c, i) => (
            <li key={`${c.document_id}-${c.chunk_id}-${i}`}>
              <button type="button" className="citation" title="Show the cited document" onClick={() => onCite(c)}>
                [{i + 1}] {c.title}
              </button>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
});

/** Pixels from the bottom within which the transcript keeps following new text. */
const STICK_PX = 48;

function TranscriptView({
  board,
  names,
  onCite,
}: {
  board: DiscussionBoard;
  names: ReadonlyMap<string, string>;
  onCite: (citation: TranscriptCitation) => void;
}) {
  const transcript = board.transcript!;
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const entries = transcript.entries;
  // Follow the newest text while the reader is at the bottom; leave them be once they scroll up.
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });
  return (
    <ol
      ref={list}
      className="transcript"
      role="log"
      aria-label="Transcript"
      aria-live="off"
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
      }}
    >
      {entries.length === 0 && (
        <li className="muted transcript-empty">
          {board.transcriptError ??
            (board.transcriptLoaded ? 'No messages yet: write the first one below.' : 'Loading messages…')}
        </li>
      )}
      {entries.map((entry) => (
        <MessageRow key={entry.id} entry={entry} version={entry.version} names={names} onCite={onCite} />
      ))}
    </ol>
  );
}

function Controls({ discussion }: { discussion: Discussion }) {
  const controller = useController();
  const blocked = useWriteBlocked();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async (action: 'pause' | 'resume' | 'complete') => {
    if (action === 'complete' && !window.confirm(`Complete “${discussion.topic}”? Nobody can post to it afterwards.`))
      return;
    setBusy(true);
    setError(null);
    try {
      await controller.discussionAction(discussion.id, action);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const disabled = blocked !== null || busy;
  return (
    <span className="discussion-controls">
      {discussion.status === 'active' && (
        <button
          type="button"
          className="button small"
          disabled={disabled}
          title={blocked ?? 'Pause: a reply being produced stops; nobody speaks until resumed'}
          onClick={() => void act('pause')}
        >
          Pause
        </button>
      )}
      {discussion.status === 'paused' && (
        <button
          type="button"
          className="button small"
          disabled={disabled}
          title={blocked ?? 'Resume: the next speaker takes its turn'}
          onClick={() => void act('resume')}
        >
          Resume
        </button>
      )}
      {discussion.status !== 'completed' && (
        <button
          type="button"
          className="button small"
          disabled={disabled}
          title={blocked ?? 'Complete: end the discussion for good'}
          onClick={() => void act('complete')}
        >
          Complete
        </button>
      )}
      {error && (
        <span className="item-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

function Participants({ discussion }: { discussion: Discussion }) {
  return (
    <section className="discussion-side-section" aria-label="Participants">
      <h3>Participants</h3>
      <ul className="items participants">
        {discussion.participant_details.map((p) => {
          const turn = discussion.next_speaker === p.agent_id && discussion.status !== 'completed';
          const state = turn ? (discussion.speaking ? 'speaking' : 'next') : null;
          return (
            <li
              key={p.agent_id}
              className={`item participant${turn ? ' current' : ''}`}
              data-agent={p.agent_id}
              aria-current={turn ? 'step' : undefined}
            >
              <span className="item-main">
                <span className="item-title">
                  {p.name}
                  {discussion.moderator === p.agent_id && <span className="muted small"> · moderator</span>}
                </span>
                <span className="item-sub">{p.speaker}</span>
              </span>
              {state && <span className={`pill pill-${state}`}>{state === 'speaking' ? 'speaking…' : 'next'}</span>}
            </li>
          );
        })}
        {discussion.next_speaker === null && discussion.status === 'active' && (
          <li className="item participant current" aria-current="step">
            <span className="item-main">
              <span className="item-title">you</span>
            </span>
            <span className="pill pill-next">your turn</span>
          </li>
        )}
      </ul>
    </section>
  );
}

function Documents({ discussion, onOpen }: { discussion: Discussion; onOpen: (id: string) => void }) {
  const library = useLibrary();
  if (discussion.document_ids.length === 0) return null;
  return (
    <section className="discussion-side-section" aria-label="Attached documents">
      <h3>Documents</h3>
      <ul className="items">
        {discussion.document_ids.map((id) => (
          <li key={id} className="item">
            <button type="button" className="link item-title" onClick={() => onOpen(id)}>
              {library.documents.find((d) => d.id === id)?.title ?? (library.loaded ? `${id} (deleted)` : id)}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function postBlockedReason(discussion: Discussion, blocked: string | null): string | null {
  if (blocked) return blocked;
  if (discussion.status === 'paused') return 'Paused: resume the discussion to post';
  if (discussion.status === 'completed') return 'Completed: start a new discussion to continue';
  return null;
}

function DiscussionDetail({ board, discussion }: { board: DiscussionBoard; discussion: Discussion }) {
  const controller = useController();
  const blocked = useWriteBlocked();
  const [reading, setReading] = useState<{ id: string; chunkId?: string } | null>(null);
  const names = useMemo(
    () => new Map(discussion.participant_details.map((p) => [p.agent_id, p.name])),
    [discussion.participant_details],
  );
  const targets = useMemo(
    () => discussion.participant_details.map((p) => ({ id: p.agent_id, name: p.name })),
    [discussion.participant_details],
  );
  useEffect(() => setReading(null), [discussion.id]);
  // Stable, so the memoized message rows do not all re-render on every streamed frame.
  const cite = useCallback((c: TranscriptCitation) => setReading({ id: c.document_id, chunkId: c.chunk_id }), []);
  return (
    <div className="discussion-detail">
      <section className="panel discussion-main" aria-label={`Discussion: ${discussion.topic}`}>
        <header className="discussion-header">
          <div className="discussion-heading">
            <h2>{discussion.topic}</h2>
            <span className="muted small">
              <span className={`pill pill-discussion-${discussion.status}`} data-testid="discussion-status">
                {discussion.status}
              </span>{' '}
              {discussion.strategy.replace('_', ' ')} · turn {discussion.current_turn} of {discussion.max_turns}
              {discussion.status_reason ? ` · ${discussion.status_reason}` : ''}
            </span>
          </div>
          <Controls discussion={discussion} />
        </header>
        {discussion.context && <p className="discussion-context">{discussion.context}</p>}
        <TranscriptView board={board} names={names} onCite={cite} />
        <Composer
          targets={targets}
          disabledReason={postBlockedReason(discussion, blocked)}
          onSend={async (text) => {
            await controller.postMessage(discussion.id, text);
          }}
        />
      </section>
      <aside className="panel discussion-side">
        <Participants discussion={discussion} />
        <Documents discussion={discussion} onOpen={(id) => setReading({ id })} />
      </aside>
      {reading && (
        <DocumentReader
          id={reading.id}
          query={discussion.topic}
          chunkId={reading.chunkId}
          onClose={() => setReading(null)}
        />
      )}
    </div>
  );
}

export function DiscussionsView() {
  const controller = useController();
  const board = useBoard();
  const [creating, setCreating] = useState(false);
  const live = useLive();
  // Read when the view opens, and again after a sign-in or a reconnect.
  useEffect(() => {
    if (!live) return;
    void controller.refreshDiscussions();
    void controller.refreshKnowledge();
  }, [controller, live]);
  const selected = board.selected;
  return (
    <div className={`discussions-view${selected ? ' with-detail' : ''}`}>
      <DiscussionList board={board} onNew={() => setCreating(true)} />
      {selected && board.transcript ? (
        <DiscussionDetail board={board} discussion={selected} />
      ) : (
        <section className="panel discussion-empty">
          <p className="muted">
            {board.discussions.length > 0
              ? 'Open a discussion to read and join it.'
              : 'Start a discussion between agents.'}
          </p>
        </section>
      )}
      {creating && (
        <NewDiscussionDialog
          onClose={() => setCreating(false)}
          onCreated={(d) => {
            setCreating(false);
            void controller.openDiscussion(d.id);
          }}
        />
      )}
    </div>
  );
}

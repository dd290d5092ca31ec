import { type FormEvent, useEffect, useState } from 'react';
import {
  DEFAULT_MAX_TURNS,
  type Discussion,
  DISCUSSION_STRATEGIES,
  type DiscussionStrategy,
  MAX_CONTEXT_LENGTH,
  MAX_DOCUMENTS,
  MAX_PARTICIPANTS,
  MAX_TOPIC_LENGTH,
  MAX_TURNS_LIMIT,
} from '../../src-shared/discussions.ts';
import { useController, useWriteBlocked } from './hooks.ts';
import { useTaskBoard } from './TasksPanels.tsx';
import { useLibrary } from './KnowledgeView.tsx';

const STRATEGY_HELP: Record<DiscussionStrategy, string> = {
  round_robin: 'Round robin: participants speak in the order chosen below.',
  moderated: 'Moderated: the moderator names who speaks next after each message.',
  mention: 'Mention: whoever is @-mentioned speaks next; round robin otherwise.',
};

const SPEAKER_HELP = {
  model: 'speaks through its model endpoint',
  command: 'speaks through its command',
  external: 'external: answers through the API',
} as const;

/** The "new discussion" dialog: topic, participants in speaking order, strategy, turns, documents. */
export function NewDiscussionDialog({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (discussion: Discussion) => void;
}) {
  const controller = useController();
  const blocked = useWriteBlocked();
  const board = useTaskBoard();
  const library = useLibrary();
  const [topic, setTopic] = useState('');
  const [context, setContext] = useState('');
  const [participants, setParticipants] = useState<string[]>([]);
  const [strategy, setStrategy] = useState<DiscussionStrategy>('round_robin');
  const [moderator, setModerator] = useState('');
  const [maxTurns, setMaxTurns] = useState(String(DEFAULT_MAX_TURNS));
  const [documents, setDocuments] = useState<string[]>([]);
  const [start, setStart] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void controller.refreshKnowledge();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [controller, onClose]);

  const toggle = (list: string[], id: string, on: boolean) => (on ? [...list, id] : list.filter((x) => x !== id));
  const turns = Number(maxTurns);
  const turnsProblem =
    !Number.isInteger(turns) || turns < 1 || turns > MAX_TURNS_LIMIT
      ? `Max turns is a whole number from 1 to ${MAX_TURNS_LIMIT}.`
      : null;
  const problem =
    topic.trim() === ''
      ? 'Give the discussion a topic.'
      : participants.length === 0
        ? 'Choose at least one participant.'
        : participants.length > MAX_PARTICIPANTS
          ? `At most ${MAX_PARTICIPANTS} participants.`
          : documents.length > MAX_DOCUMENTS
            ? `At most ${MAX_DOCUMENTS} documents.`
            : turnsProblem;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const discussion = await controller.createDiscussion({
        topic: topic.trim(),
        participants,
        strategy,
        ...(strategy === 'moderated' && moderator !== '' ? { moderator } : {}),
        ...(context.trim() !== '' ? { context: context.trim() } : {}),
        ...(documents.length > 0 ? { document_ids: documents } : {}),
        max_turns: turns,
        start,
      });
      onCreated(discussion);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const disabled = blocked !== null || busy;
  return (
    <div className="dialog-backdrop" onClick={onClose}>
      <section
        className="dialog discussion-dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="new-discussion-title"
        onClick={(e) => e.stopPropagation()}
      >
        <header className="dialog-header">
          <h2 id="new-discussion-title">New discussion</h2>
          <button type="button" className="button" onClick={onClose} title="Close (Esc)">
            Close
          </button>
        </header>
        <form className="discussion-form" onSubmit={(e) => void submit(e)} aria-label="New discussion">
          {blocked && <p className="write-blocked">{blocked}</p>}
          <label>
            Topic
            <input
              value={topic}
              maxLength={MAX_TOPIC_LENGTH}
              onChange={(e) => setTopic(e.target.value)}
              placeholder="What should they discuss?"
              autoFocus
            />
          </label>
          <label>
            Context <span className="muted">(optional: background every speaker is given)</span>
            <textarea
              value={context}
              maxLength={MAX_CONTEXT_LENGTH}
              rows={3}
              onChange={(e) => setContext(e.target.value)}
            />
          </label>
          <fieldset>
            <legend>Participants, in speaking order</legend>
            {board.agents.length === 0 ? (
              <p className="muted">
                No agents yet: <code>lookout agent add NAME --command …</code> (or a model endpoint) registers one.
              </p>
            ) : (
              <ul className="choice-list">
                {board.agents.map((agent) => {
                  const position = participants.indexOf(agent.id);
                  return (
                    <li key={agent.id}>
                      <label>
                        <input
                          type="checkbox"
                          checked={position !== -1}
                          onChange={(e) => setParticipants(toggle(participants, agent.id, e.target.checked))}
                        />
                        <span className="choice-order">{position === -1 ? '' : position + 1}</span>
                        {agent.name}
                        <span className="muted small"> · {SPEAKER_HELP[agent.speaker]}</span>
                      </label>
                    </li>
                  );
                })}
              </ul>
            )}
          </fieldset>
          <div className="form-row">
            <label>
              Strategy
              <select value={strategy} onChange={(e) => setStrategy(e.target.value as DiscussionStrategy)}>
                {DISCUSSION_STRATEGIES.map((s) => (
                  <option key={s} value={s}>
                    {s.replace('_', ' ')}
                  </option>
                ))}
              </select>
            </label>
            {strategy === 'moderated' && (
              <label>
                Moderator
                <select value={moderator} onChange={(e) => setModerator(e.target.value)}>
                  <option value="">the first participant</option>
                  {participants.map((id) => (
                    <option key={id} value={id}>
                      {board.agent(id)?.name ?? id}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label>
              Max turns
              <input
                type="number"
                min={1}
                max={MAX_TURNS_LIMIT}
                value={maxTurns}
                onChange={(e) => setMaxTurns(e.target.value)}
              />
            </label>
          </div>
          <p className="muted small">{STRATEGY_HELP[strategy]}</p>
          <fieldset>
            <legend>Documents (their best passages go into each speaker&apos;s prompt)</legend>
            {library.documents.length === 0 ? (
              <p className="muted">No documents in the knowledge base.</p>
            ) : (
              <ul className="choice-list">
                {library.documents.map((doc) => (
                  <li key={doc.id}>
                    <label>
                      <input
                        type="checkbox"
                        checked={documents.includes(doc.id)}
                        onChange={(e) => setDocuments(toggle(documents, doc.id, e.target.checked))}
                      />
                      {doc.title}
                    </label>
                  </li>
                ))}
              </ul>
            )}
          </fieldset>
          <label className="inline">
            <input type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} />
            The first speaker opens on the topic right away (otherwise it waits for your first message)
          </label>
          {error && (
            <p className="item-error" role="alert">
              {error}
            </p>
          )}
          <div className="dialog-actions">
            <button type="submit" className="button primary" disabled={disabled} title={blocked ?? problem ?? 'Start'}>
              Start the discussion
            </button>
          </div>
        </form>
      </section>
    </div>
  );
}

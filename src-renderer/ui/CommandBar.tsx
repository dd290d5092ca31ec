import { type FormEvent, type KeyboardEvent, useMemo, useState } from 'react';
import {
  type Command,
  type CommandResponse,
  COMMANDS,
  type Completion,
  complete,
  parseCommand,
  resolveTarget,
  similarTargets,
} from '../../src-shared/commands.ts';
import type { StateDocument } from '../../src-shared/state.ts';
import { ApiError } from '../connection/api.ts';
import type { WriteBlockCause } from '../model/dashboard-state.ts';
import { COMMAND_INPUT_ID, useController, useDashboard, useWriteBlocked, useWriteBlockedCause } from './hooks.ts';

/** The bar's placeholder says the true reason it is off; the tooltip has the details. */
const DISABLED_PLACEHOLDER: Record<WriteBlockCause, string> = {
  'signed-out': 'Commands are disabled while signed out',
  role: 'Commands need the operator role',
  offline: 'Commands are disabled while offline: not connected to the server',
  waiting: 'Commands are disabled until the server answers',
  'read-only': 'Commands are disabled while the workspace is read-only',
};

type Result = { kind: 'ok' | 'error' | 'info'; text: string; lines?: string[] };

const capitalize = (text: string): string => (text === '' ? text : text[0]!.toUpperCase() + text.slice(1));

function describeResult(response: CommandResponse): Result {
  switch (response.action) {
    case 'approve':
      return response.changed
        ? { kind: 'ok', text: `Approved ${response.target}: ${response.priority.title}` }
        : { kind: 'info', text: `${response.target} was already approved` };
    case 'brief':
      return { kind: 'ok', text: `Active brief: ${response.target}` };
    case 'refresh':
      return { kind: 'ok', text: `Collection ${response.collection.id} started` };
    case 'help':
      return { kind: 'info', text: 'Commands:', lines: response.commands.map((c) => `${c.usage} — ${c.summary}`) };
  }
}

/**
 * Checks a parsed command against the state the page holds, so a typo'd id is caught
 * before a round trip. The server checks again; this is for speed, not authority.
 */
function checkTarget(command: Command, state: StateDocument | null): string | null {
  if (state === null || !('target' in command)) return null;
  const target = resolveTarget(state, command.target);
  const hint = (() => {
    const similar = similarTargets(state, command.target);
    return similar.length > 0 ? ` (did you mean ${similar.join(' or ')}?)` : '';
  })();
  if (command.action === 'approve' && target?.kind !== 'priority') return `No priority ${command.target}${hint}`;
  if (command.action === 'brief' && target === undefined)
    return `Nothing called ${command.target}: brief takes a priority, commitment or calendar id${hint}`;
  return null;
}

export function CommandBar() {
  const controller = useController();
  const state = useDashboard((s) => s.state);
  const blocked = useWriteBlocked();
  const cause = useWriteBlockedCause();
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [result, setResult] = useState<Result | null>(null);
  const [busy, setBusy] = useState(false);
  const [history, setHistory] = useState<string[]>([]);
  const [historyIndex, setHistoryIndex] = useState<number | null>(null);

  const targets = state ?? { priorities: [], calendar: [], commitments: { owe: [], owed: [] } };
  const completions: Completion[] = useMemo(() => (text.trim() === '' ? [] : complete(text, targets)), [text, targets]);
  const showList =
    open && completions.length > 0 && !(completions.length === 1 && completions[0]!.text.trim() === text.trim());
  const parsed = text.trim() === '' ? null : parseCommand(text);
  // While typing, only a mistake that more typing cannot fix is worth showing.
  const hint =
    parsed && !parsed.ok && parsed.error.reason !== 'missing_argument' && completions.length === 0
      ? capitalize(parsed.error.message)
      : null;

  const accept = (completion: Completion) => {
    setText(completion.text);
    setActive(0);
    setOpen(completion.text.endsWith(' '));
  };

  const run = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy) return;
    const line = text.trim();
    const outcome = parseCommand(line);
    if (!outcome.ok) {
      setResult({ kind: 'error', text: capitalize(outcome.error.message) });
      return;
    }
    const problem = checkTarget(outcome.command, state);
    if (problem) {
      setResult({ kind: 'error', text: problem });
      return;
    }
    if (outcome.command.action === 'help') {
      setResult({ kind: 'info', text: 'Commands:', lines: COMMANDS.map((c) => `${c.usage} — ${c.summary}`) });
      setText('');
      return;
    }
    setBusy(true);
    setOpen(false);
    try {
      const response = await controller.runCommand(outcome.command);
      setResult(describeResult(response));
      setHistory((h) => [...h.filter((x) => x !== line), line].slice(-50));
      setHistoryIndex(null);
      setText('');
    } catch (error) {
      setResult({ kind: 'error', text: error instanceof ApiError ? capitalize(error.message) : String(error) });
    } finally {
      setBusy(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (showList && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      setActive((i) => (i + (e.key === 'ArrowDown' ? 1 : completions.length - 1)) % completions.length);
      return;
    }
    if (
      showList &&
      (e.key === 'Tab' ||
        (e.key === 'Enter' &&
          completions[active] &&
          completions[active].text.trim() !== text.trim() &&
          parsed?.ok !== true))
    ) {
      e.preventDefault();
      accept(completions[active]!);
      return;
    }
    if (!showList && (e.key === 'ArrowUp' || e.key === 'ArrowDown') && history.length > 0) {
      e.preventDefault();
      const last = history.length - 1;
      const next =
        e.key === 'ArrowUp'
          ? historyIndex === null
            ? last
            : Math.max(0, historyIndex - 1)
          : historyIndex === null
            ? null
            : historyIndex + 1 > last
              ? null
              : historyIndex + 1;
      setHistoryIndex(next);
      setText(next === null ? '' : history[next]!);
      return;
    }
    if (e.key === 'Escape') {
      if (showList) setOpen(false);
      else e.currentTarget.blur();
    }
  };

  return (
    <form className="command-bar" onSubmit={run} aria-label="Command bar">
      <div className="command-field">
        <span className="command-prompt" aria-hidden>
          ›
        </span>
        <input
          id={COMMAND_INPUT_ID}
          type="text"
          role="combobox"
          aria-label="Command"
          aria-expanded={showList}
          aria-controls="command-completions"
          aria-autocomplete="list"
          aria-activedescendant={showList ? `completion-${active}` : undefined}
          aria-describedby="command-result"
          placeholder={cause ? DISABLED_PLACEHOLDER[cause] : 'Command: approve P7 · brief P7 · refresh · help'}
          title={blocked ?? 'Type a command; Tab completes (: or Ctrl+K to focus)'}
          disabled={blocked !== null}
          spellCheck={false}
          autoComplete="off"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setResult(null);
            setOpen(true);
            setActive(0);
            setHistoryIndex(null);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => setOpen(false)}
          onFocus={() => setOpen(true)}
        />
        <kbd aria-hidden>Ctrl K</kbd>
        <button
          type="submit"
          className="button primary"
          disabled={blocked !== null || busy || text.trim() === ''}
          title={blocked ?? undefined}
        >
          {busy ? 'Running…' : 'Run'}
        </button>
        {showList && (
          <ul id="command-completions" role="listbox" className="completions" aria-label="Completions">
            {completions.map((c, i) => (
              <li
                key={c.text}
                id={`completion-${i}`}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : undefined}
                onMouseDown={(e) => {
                  e.preventDefault(); // keep focus in the input
                  accept(c);
                }}
              >
                <span className="completion-label">{c.label}</span>
                <span className="completion-detail">{c.detail}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div id="command-result" className="command-result" aria-live="polite">
        {hint && !result && <span className="command-hint">{hint}</span>}
        {result && (
          <span className={`command-message ${result.kind}`} role={result.kind === 'error' ? 'alert' : undefined}>
            {result.text}
            {result.lines && (
              <span className="command-lines">
                {result.lines.map((l) => (
                  <span key={l}>{l}</span>
                ))}
              </span>
            )}
          </span>
        )}
      </div>
    </form>
  );
}

import { type KeyboardEvent, useId, useRef, useState } from 'react';
import { MAX_MESSAGE_LENGTH } from '../../src-shared/discussions.ts';
import { applyMention, type MentionMenu, type MentionTarget, menuFor, menuKey } from '../model/mention.ts';

/**
 * The discussion composer: a text area that completes `@` mentions of the participants.
 * With the list open, ↑/↓ move, Enter or Tab choose, Escape closes it (and it stays
 * closed for that `@`); otherwise Enter sends and Shift+Enter starts a new line.
 */
export function Composer({
  targets,
  disabledReason,
  onSend,
}: {
  targets: readonly MentionTarget[];
  /** Why posting is not possible now (the placeholder and tooltip), or null. */
  disabledReason: string | null;
  onSend: (text: string) => Promise<void>;
}) {
  const [text, setText] = useState('');
  const [menu, setMenu] = useState<MentionMenu | null>(null);
  const [dismissedAt, setDismissedAt] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const listId = useId();

  const refresh = (value: string, caret: number, dismissed = dismissedAt) => {
    const next = menuFor(value, caret, targets, dismissed);
    setMenu(next);
    // Typing past a dismissed `@` (into a new one) forgets the dismissal.
    if (dismissed !== null && next === null && value[dismissed] !== '@') setDismissedAt(null);
  };

  const choose = (target: MentionTarget) => {
    if (!menu) return;
    const next = applyMention(text, menu.query, target);
    setText(next.text);
    setMenu(null);
    requestAnimationFrame(() => {
      area.current?.focus();
      area.current?.setSelectionRange(next.caret, next.caret);
    });
  };

  const send = async () => {
    const content = text.trim();
    if (content === '' || busy || disabledReason) return;
    setBusy(true);
    setError(null);
    try {
      await onSend(content);
      setText('');
      setMenu(null);
      setDismissedAt(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (menu) {
      const outcome = menuKey(menu, event.key);
      if (outcome.kind === 'ignore') return;
      event.preventDefault();
      if (outcome.kind === 'move') setMenu(outcome.menu);
      else if (outcome.kind === 'choose') choose(outcome.target);
      else {
        setDismissedAt(menu.query.start);
        setMenu(null);
      }
      return;
    }
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void send();
    }
  };

  const disabled = disabledReason !== null;
  const activeId = menu ? `${listId}-${menu.active}` : undefined;
  return (
    <form
      className="composer"
      aria-label="Post to the discussion"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <div className="composer-field">
        <textarea
          ref={area}
          aria-label="Message"
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={menu !== null}
          aria-controls={listId}
          aria-activedescendant={activeId}
          placeholder={
            disabledReason ?? 'Write to the discussion; @ mentions a participant (Enter sends, Shift+Enter: new line)'
          }
          title={disabledReason ?? undefined}
          disabled={disabled}
          rows={3}
          maxLength={MAX_MESSAGE_LENGTH}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            refresh(e.target.value, e.target.selectionStart);
          }}
          onKeyDown={onKeyDown}
          onKeyUp={(e) => {
            // The caret moved without a change (← →, Home): the menu follows it.
            if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key))
              refresh(e.currentTarget.value, e.currentTarget.selectionStart);
          }}
          onClick={(e) => refresh(e.currentTarget.value, e.currentTarget.selectionStart)}
          onBlur={() => setMenu(null)}
        />
        <ul id={listId} role="listbox" aria-label="Participants to mention" className="mention-menu" hidden={!menu}>
          {menu?.candidates.map((target, i) => (
            <li
              key={target.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === menu.active}
              // mousedown, not click: the text area keeps focus (and its caret).
              onMouseDown={(e) => {
                e.preventDefault();
                choose(target);
              }}
            >
              <span className="mention-name">@{target.name}</span>
            </li>
          ))}
        </ul>
      </div>
      <div className="composer-actions">
        {error && (
          <span className="item-error" role="alert">
            {error}
          </span>
        )}
        <span className="muted small">
          {text.length > MAX_MESSAGE_LENGTH * 0.9 ? `${text.length} / ${MAX_MESSAGE_LENGTH}` : ''}
        </span>
        <button
          type="submit"
          className="button primary"
          disabled={disabled || busy || text.trim() === ''}
          title={disabledReason ?? 'Send (Enter)'}
        >
          Send
        </button>
      </div>
    </form>
  );
}

import { useCallback, useEffect, useState } from 'react';
import { ActivityPanel } from './ActivityPanel.tsx';
import { ReadOnlyBanner } from './Banners.tsx';
import { CommandBar } from './CommandBar.tsx';
import { DetailDrawer } from './DetailDrawer.tsx';
import { DiscussionsView } from './DiscussionsView.tsx';
import { Header } from './Header.tsx';
import { KnowledgeView } from './KnowledgeView.tsx';
import { COMMAND_INPUT_ID, FILTER_INPUT_ID } from './hooks.ts';
import { SessionsView } from './SessionsView.tsx';
import { SidePanels } from './SidePanels.tsx';
import { SignIn } from './SignIn.tsx';
import { TaskDrawer } from './TaskDrawer.tsx';
import { useTaskBoard } from './TasksPanels.tsx';

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return (
    target.isContentEditable ||
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement
  );
}

function focus(id: string): void {
  const element = document.getElementById(id);
  if (element instanceof HTMLInputElement && !element.disabled) {
    element.focus();
    element.select();
  }
}

const VIEWS = ['activity', 'sessions', 'discussions', 'knowledge'] as const;
type View = (typeof VIEWS)[number];
const VIEW_LABELS: Record<View, string> = {
  activity: 'Activity',
  sessions: 'Sessions',
  discussions: 'Discussions',
  knowledge: 'Knowledge',
};
/** `#sessions`, `#discussions`, `#knowledge` open that view (a link to it survives a reload). */
const viewFromHash = (): View => VIEWS.find((v) => v !== 'activity' && window.location.hash === `#${v}`) ?? 'activity';

export function App() {
  const [selected, setSelected] = useState<number | null>(null);
  const [view, setView] = useState<View>(viewFromHash);
  const show = (next: View) => {
    setView(next);
    history.replaceState(
      null,
      '',
      `${window.location.pathname}${window.location.search}${next === 'activity' ? '' : `#${next}`}`,
    );
  };
  const close = useCallback(() => setSelected(null), []);
  const board = useTaskBoard();
  const taskOpen = board.selected !== null && selected === null;

  // `#event=N` opens event N: what the desktop app loads when a notification is clicked.
  useEffect(() => {
    const openFromHash = () => {
      const match = /^#event=(\d+)$/.exec(window.location.hash);
      if (!match) return;
      setSelected(Number(match[1]));
      history.replaceState(null, '', window.location.pathname + window.location.search);
    };
    openFromHash();
    window.addEventListener('hashchange', openFromHash);
    return () => window.removeEventListener('hashchange', openFromHash);
  }, []);

  // Shortcuts: `/` the filter, `:` or Ctrl/Cmd+K the command bar, Esc closes the drawer.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        focus(COMMAND_INPUT_ID);
        return;
      }
      if (e.key === 'Escape' && !isTyping(e.target)) {
        setSelected(null);
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      if (e.key === '/') {
        e.preventDefault();
        focus(FILTER_INPUT_ID);
      } else if (e.key === ':') {
        e.preventDefault();
        focus(COMMAND_INPUT_ID);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className={`app${selected !== null || taskOpen ? ' with-drawer' : ''}`}>
      <Header />
      <ReadOnlyBanner />
      <nav className="view-tabs" aria-label="Views">
        {VIEWS.map((v) => (
          <button key={v} className="button" type="button" aria-pressed={view === v} onClick={() => show(v)}>
            {VIEW_LABELS[v]}
          </button>
        ))}
      </nav>
      {view === 'sessions' ? (
        <main className="main sessions-main">
          <SessionsView />
        </main>
      ) : view === 'discussions' ? (
        <main className="main discussions-main">
          <DiscussionsView />
        </main>
      ) : view === 'knowledge' ? (
        <main className="main knowledge-main">
          <KnowledgeView />
        </main>
      ) : (
        <main className="main">
          <ActivityPanel selected={selected} onSelect={setSelected} />
          <SidePanels />
          {selected !== null && <DetailDrawer seq={selected} onClose={close} />}
          {taskOpen && <TaskDrawer />}
        </main>
      )}
      <CommandBar />
      <SignIn />
    </div>
  );
}

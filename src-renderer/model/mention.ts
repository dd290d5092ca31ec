/**
 * @-mention completion for the discussion composer: which `@word` the caret is in, which
 * participant names fit it, and the text once one is chosen. Pure, so the keyboard rules
 * (arrows move, Enter/Tab choose, Escape closes) are unit-tested without a page.
 */

/** The `@…` being typed: its range in the text (the `@` included) and what follows the `@`. */
export interface MentionQuery {
  start: number;
  end: number;
  prefix: string;
}

/**
 * Characters a mention may span, and what may not precede its `@`: the server's rule
 * (MENTION_PATTERN in src-shared/discussions.ts), so the composer completes exactly what
 * the `mention` strategy will recognise.
 */
const NAME_CHAR = /[\p{L}\p{N}._-]/u;
const WORD_CHAR = /[\w@]/;
const WHOLE_NAME = /^[\p{L}\p{N}][\p{L}\p{N}._-]*$/u;

/** The mention the caret is in, or null; `mail@example.com` opens nothing. */
export function mentionAt(text: string, caret: number): MentionQuery | null {
  let start = caret;
  while (start > 0 && NAME_CHAR.test(text[start - 1]!)) start--;
  if (start === 0 || text[start - 1] !== '@') return null;
  const at = start - 1;
  if (at > 0 && WORD_CHAR.test(text[at - 1]!)) return null;
  let end = caret;
  while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
  return { start: at, end, prefix: text.slice(start, caret) };
}

/** Someone who can be mentioned: an agent's id and name. */
export interface MentionTarget {
  id: string;
  name: string;
}

/** Targets whose name fits a prefix: those starting with it first, then those containing it; case-insensitive. */
export function mentionCandidates(targets: readonly MentionTarget[], prefix: string, limit = 8): MentionTarget[] {
  const p = prefix.toLowerCase();
  const starts: MentionTarget[] = [];
  const contains: MentionTarget[] = [];
  for (const target of targets) {
    const n = target.name.toLowerCase();
    if (n.startsWith(p) || target.id.toLowerCase() === p) starts.push(target);
    else if (p !== '' && n.includes(p)) contains.push(target);
  }
  const byName = (a: MentionTarget, b: MentionTarget) => a.name.localeCompare(b.name);
  return [...starts.sort(byName), ...contains.sort(byName)].slice(0, limit);
}

/** How a target is written: `@name`, or `@id` when the name cannot be written as a mention (it has spaces). */
export function mentionToken(target: MentionTarget): string {
  return `@${WHOLE_NAME.test(target.name) ? target.name : target.id}`;
}

/** The text with the mention replaced by the chosen target (and one space after it), and where the caret goes. */
export function applyMention(
  text: string,
  query: MentionQuery,
  target: MentionTarget,
): { text: string; caret: number } {
  const token = mentionToken(target);
  const after = text.slice(query.end);
  const spaced = after.startsWith(' ') ? after : ` ${after}`;
  return { text: text.slice(0, query.start) + token + spaced, caret: query.start + token.length + 1 };
}

/** The completion menu: open with candidates and a highlighted one, or closed. */
export interface MentionMenu {
  query: MentionQuery;
  candidates: MentionTarget[];
  active: number;
}

/** The menu for this text and caret (null: nothing to complete, or dismissed at this `@`). */
export function menuFor(
  text: string,
  caret: number,
  targets: readonly MentionTarget[],
  dismissedAt: number | null = null,
): MentionMenu | null {
  const query = mentionAt(text, caret);
  if (!query || query.start === dismissedAt) return null;
  const candidates = mentionCandidates(targets, query.prefix);
  return candidates.length === 0 ? null : { query, candidates, active: 0 };
}

export type MenuOutcome =
  | { kind: 'move'; menu: MentionMenu }
  | { kind: 'choose'; target: MentionTarget }
  | { kind: 'dismiss' }
  | { kind: 'ignore' };

/** What a key does while the menu is open; `ignore` leaves the key to the text field. */
export function menuKey(menu: MentionMenu, key: string): MenuOutcome {
  const n = menu.candidates.length;
  switch (key) {
    case 'ArrowDown':
      return { kind: 'move', menu: { ...menu, active: (menu.active + 1) % n } };
    case 'ArrowUp':
      return { kind: 'move', menu: { ...menu, active: (menu.active - 1 + n) % n } };
    case 'Enter':
    case 'Tab':
      return { kind: 'choose', target: menu.candidates[menu.active]! };
    case 'Escape':
      return { kind: 'dismiss' };
    default:
      return { kind: 'ignore' };
  }
}

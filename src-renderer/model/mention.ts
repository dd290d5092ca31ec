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

/** Characters a mention may span (agent names: letters, digits, ".", "_", "-"). */
const NAME_CHAR = /[\p{L}\p{N}._-]/u;

/**
 * The mention the caret is in, or null. An `@` counts at the start of the text or after
 * whitespace or an opening bracket/quote, so `mail@example.com` opens nothing.
 */
export function mentionAt(text: string, caret: number): MentionQuery | null {
  let start = caret;
  while (start > 0 && NAME_CHAR.test(text[start - 1]!)) start--;
  if (start === 0 || text[start - 1] !== '@') return null;
  const at = start - 1;
  if (at > 0 && !/[\s([{"'`]/u.test(text[at - 1]!)) return null;
  let end = caret;
  while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
  return { start: at, end, prefix: text.slice(start, caret) };
}

/** Names that fit a prefix: those starting with it first, then those containing it; case-insensitive. */
export function mentionCandidates(names: readonly string[], prefix: string, limit = 8): string[] {
  const p = prefix.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const name of names) {
    const n = name.toLowerCase();
    if (n.startsWith(p)) starts.push(name);
    else if (p !== '' && n.includes(p)) contains.push(name);
  }
  const byName = (a: string, b: string) => a.localeCompare(b);
  return [...starts.sort(byName), ...contains.sort(byName)].slice(0, limit);
}

/** How a name is written as a mention: `@name`; a name with spaces joins them with `-`, as the server reads it. */
export function mentionToken(name: string): string {
  return `@${name.replace(/\s+/gu, '-')}`;
}

/** The text with the mention replaced by the chosen name (and one space after it), and where the caret goes. */
export function applyMention(text: string, query: MentionQuery, name: string): { text: string; caret: number } {
  const token = mentionToken(name);
  const after = text.slice(query.end);
  const spaced = after.startsWith(' ') ? after : ` ${after}`;
  return { text: text.slice(0, query.start) + token + spaced, caret: query.start + token.length + 1 };
}

/** The completion menu: open with candidates and a highlighted one, or closed. */
export interface MentionMenu {
  query: MentionQuery;
  candidates: string[];
  active: number;
}

/** The menu for this text and caret (null: nothing to complete, or dismissed at this `@`). */
export function menuFor(
  text: string,
  caret: number,
  names: readonly string[],
  dismissedAt: number | null = null,
): MentionMenu | null {
  const query = mentionAt(text, caret);
  if (!query || query.start === dismissedAt) return null;
  const candidates = mentionCandidates(names, query.prefix);
  return candidates.length === 0 ? null : { query, candidates, active: 0 };
}

export type MenuKey = 'ArrowDown' | 'ArrowUp' | 'Enter' | 'Tab' | 'Escape';

export type MenuOutcome =
  { kind: 'move'; menu: MentionMenu } | { kind: 'choose'; name: string } | { kind: 'dismiss' } | { kind: 'ignore' };

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
      return { kind: 'choose', name: menu.candidates[menu.active]! };
    case 'Escape':
      return { kind: 'dismiss' };
    default:
      return { kind: 'ignore' };
  }
}

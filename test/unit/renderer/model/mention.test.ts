import { describe, expect, it } from 'vitest';
import { MENTION_PATTERN } from '../../../../src-shared/discussions.ts';
import {
  applyMention,
  mentionAt,
  mentionCandidates,
  mentionToken,
  menuFor,
  menuKey,
} from '../../../../src-renderer/model/mention.ts';

const target = (name: string, id = `ag_${name.toLowerCase().replace(/\W/g, '')}`) => ({ id, name });
const TARGETS = ['reviewer', 'Researcher', 'planner', 'code-writer', 'Ré.sumé'].map((n) => target(n));
const names = (targets: { name: string }[]) => targets.map((t) => t.name);

describe('@-mention completion', () => {
  it('finds the mention the caret is in, not an address or a finished word', () => {
    expect(mentionAt('@re', 3)).toEqual({ start: 0, end: 3, prefix: 're' });
    expect(mentionAt('hi @pla and', 7)).toEqual({ start: 3, end: 7, prefix: 'pla' });
    // The caret mid-word: the query is what is before it, the range the whole word.
    expect(mentionAt('hi @planner now', 6)).toEqual({ start: 3, end: 11, prefix: 'pl' });
    expect(mentionAt('(@c', 3)).toEqual({ start: 1, end: 3, prefix: 'c' });
    expect(mentionAt('hi,@c', 5)).toEqual({ start: 3, end: 5, prefix: 'c' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, end: 1, prefix: '' });
    expect(mentionAt('mail@example', 12)).toBeNull();
    expect(mentionAt('@@x', 3)).toBeNull();
    expect(mentionAt('hi there', 8)).toBeNull();
    expect(mentionAt('@re view', 8)).toBeNull();
  });

  it('offers names starting with the prefix first, then containing it, case-insensitively', () => {
    expect(names(mentionCandidates(TARGETS, 're'))).toEqual(['Researcher', 'reviewer']);
    expect(names(mentionCandidates(TARGETS, 'ER'))).toEqual(['code-writer', 'planner', 'Researcher', 'reviewer']);
    expect(names(mentionCandidates(TARGETS, ''))).toEqual([
      'code-writer',
      'planner',
      'Ré.sumé',
      'Researcher',
      'reviewer',
    ]);
    expect(names(mentionCandidates(TARGETS, 'rÉ'))).toEqual(['Ré.sumé']);
    expect(names(mentionCandidates(TARGETS, 'ag_planner'))).toEqual(['planner']);
    expect(mentionCandidates(TARGETS, 'zzz')).toEqual([]);
    expect(mentionCandidates(TARGETS, '', 2)).toHaveLength(2);
  });

  it("writes what the server's mention rule reads: the name, or the id for a name with spaces", () => {
    for (const t of [...TARGETS, target('Code Reviewer', 'ag_7f3')]) {
      const token = mentionToken(t);
      const found = [...`please ${token} look`.matchAll(MENTION_PATTERN)].map((m) => m[1]);
      expect(found).toEqual([token.slice(1)]);
      expect([t.name.toLowerCase(), t.id.toLowerCase()]).toContain(found[0]!.toLowerCase());
    }
    expect(mentionToken(target('Code Reviewer', 'ag_7f3'))).toBe('@ag_7f3');
  });

  it('replaces the whole word with the chosen name and one space, caret after it', () => {
    const query = mentionAt('ask @rev about it', 8)!;
    expect(applyMention('ask @rev about it', query, target('reviewer'))).toEqual({
      text: 'ask @reviewer about it',
      caret: 14,
    });
    const end = mentionAt('@pl', 3)!;
    expect(applyMention('@pl', end, target('planner'))).toEqual({ text: '@planner ', caret: 9 });
  });

  it('moves with the arrows (wrapping), chooses with Enter or Tab, closes with Escape', () => {
    expect(names(menuFor('@wr', 3, TARGETS)!.candidates)).toEqual(['code-writer']);
    const menu = menuFor('@re', 3, TARGETS)!;
    expect(names(menu.candidates)).toEqual(['Researcher', 'reviewer']);
    expect(menuKey(menu, 'ArrowDown')).toMatchObject({ kind: 'move', menu: { active: 1 } });
    expect(menuKey({ ...menu, active: 1 }, 'ArrowDown')).toMatchObject({ kind: 'move', menu: { active: 0 } });
    expect(menuKey(menu, 'ArrowUp')).toMatchObject({ kind: 'move', menu: { active: 1 } });
    expect(menuKey({ ...menu, active: 1 }, 'Enter')).toMatchObject({ kind: 'choose', target: { name: 'reviewer' } });
    expect(menuKey(menu, 'Tab')).toMatchObject({ kind: 'choose', target: { name: 'Researcher' } });
    expect(menuKey(menu, 'Escape')).toEqual({ kind: 'dismiss' });
    expect(menuKey(menu, 'a')).toEqual({ kind: 'ignore' });
    // Dismissed at this `@`: stays closed while typing on; a new `@` opens it again.
    expect(menuFor('@re', 3, TARGETS, 0)).toBeNull();
    expect(names(menuFor('@re @p', 6, TARGETS, 0)!.candidates)).toEqual(['planner']);
    expect(menuFor('@zz', 3, TARGETS)).toBeNull();
  });
});

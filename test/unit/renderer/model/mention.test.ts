import { describe, expect, it } from 'vitest';
import {
  applyMention,
  mentionAt,
  mentionCandidates,
  menuFor,
  menuKey,
} from '../../../../src-renderer/model/mention.ts';

const NAMES = ['reviewer', 'Researcher', 'planner', 'code-writer', 'Ré.sumé'];

describe('@-mention completion', () => {
  it('finds the mention the caret is in, not an address or a finished word', () => {
    expect(mentionAt('@re', 3)).toEqual({ start: 0, end: 3, prefix: 're' });
    expect(mentionAt('hi @pla and', 7)).toEqual({ start: 3, end: 7, prefix: 'pla' });
    // The caret mid-word: the query is what is before it, the range the whole word.
    expect(mentionAt('hi @planner now', 6)).toEqual({ start: 3, end: 11, prefix: 'pl' });
    expect(mentionAt('(@c', 3)).toEqual({ start: 1, end: 3, prefix: 'c' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, end: 1, prefix: '' });
    expect(mentionAt('mail@example', 12)).toBeNull();
    expect(mentionAt('hi there', 8)).toBeNull();
    expect(mentionAt('@re view', 8)).toBeNull();
  });

  it('offers names starting with the prefix first, then containing it, case-insensitively', () => {
    expect(mentionCandidates(NAMES, 're')).toEqual(['Researcher', 'reviewer']);
    expect(mentionCandidates(NAMES, 'ER')).toEqual(['code-writer', 'planner', 'Researcher', 'reviewer']);
    expect(mentionCandidates(NAMES, '')).toEqual(['code-writer', 'planner', 'Ré.sumé', 'Researcher', 'reviewer']);
    expect(mentionCandidates(NAMES, 'rÉ')).toEqual(['Ré.sumé']);
    expect(mentionCandidates(NAMES, 'zzz')).toEqual([]);
    expect(mentionCandidates(NAMES, '', 2)).toHaveLength(2);
  });

  it('replaces the whole word with the chosen name and one space, caret after it', () => {
    const query = mentionAt('ask @rev about it', 8)!;
    expect(applyMention('ask @rev about it', query, 'reviewer')).toEqual({ text: 'ask @reviewer about it', caret: 14 });
    const end = mentionAt('@pl', 3)!;
    expect(applyMention('@pl', end, 'planner')).toEqual({ text: '@planner ', caret: 9 });
  });

  it('moves with the arrows (wrapping), chooses with Enter or Tab, closes with Escape', () => {
    const menu = menuFor('@wr', 3, NAMES)!;
    expect(menu.candidates).toEqual(['code-writer']);
    const several = menuFor('@re', 3, NAMES)!;
    expect(several.candidates).toEqual(['Researcher', 'reviewer']);
    expect(menuKey(several, 'ArrowDown')).toMatchObject({ kind: 'move', menu: { active: 1 } });
    expect(menuKey({ ...several, active: 1 }, 'ArrowDown')).toMatchObject({ kind: 'move', menu: { active: 0 } });
    expect(menuKey(several, 'ArrowUp')).toMatchObject({ kind: 'move', menu: { active: 1 } });
    expect(menuKey({ ...several, active: 1 }, 'Enter')).toEqual({ kind: 'choose', name: 'reviewer' });
    expect(menuKey(several, 'Tab')).toEqual({ kind: 'choose', name: 'Researcher' });
    expect(menuKey(menu, 'Escape')).toEqual({ kind: 'dismiss' });
    expect(menuKey(menu, 'a')).toEqual({ kind: 'ignore' });
    // Dismissed at this `@`: stays closed while typing on; a new `@` opens it again.
    expect(menuFor('@re', 3, NAMES, 0)).toBeNull();
    expect(menuFor('@re @p', 6, NAMES, 0)).toMatchObject({ candidates: ['planner'] });
    expect(menuFor('@zz', 3, NAMES)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import {
  describeFilter,
  isEmptyFilter,
  isTypePattern,
  matchesFilter,
  parseFilter,
} from '../../../../src-renderer/model/filter.ts';

const row = (type: string, text: string, data: Record<string, unknown> = {}) => ({
  type,
  text: () => `${type} ${text}`.toLowerCase(),
  data: () => JSON.stringify(data).toLowerCase(),
});

describe('parseFilter', () => {
  it('tells type patterns from free text', () => {
    expect(parseFilter('chat.* workflow.failed deploy')).toEqual({
      include: ['chat.*', 'workflow.failed'],
      exclude: [],
      words: ['deploy'],
      excludeWords: [],
    });
    expect(parseFilter('*')).toMatchObject({ include: ['*'] });
    expect(parseFilter('x.my-tool.done')).toMatchObject({ include: ['x.my-tool.done'] });
  });

  it('reads dotted words that are not types as text', () => {
    // `file.ts` and `chat.message` are not catalogued types: the user means text.
    expect(parseFilter('file.ts chat.message')).toMatchObject({ include: [], words: ['file.ts', 'chat.message'] });
    expect(isTypePattern('file.created')).toBe(true);
    expect(isTypePattern('file.ts')).toBe(false);
    expect(isTypePattern('anything.*')).toBe(true);
  });

  it('splits on commas and whitespace, keeps quoted phrases, lower-cases text', () => {
    expect(parseFilter('chat.*,workflow.*  "Disk Full"  Deploy')).toEqual({
      include: ['chat.*', 'workflow.*'],
      exclude: [],
      words: ['disk full', 'deploy'],
      excludeWords: [],
    });
    expect(parseFilter('"unterminated phrase')).toMatchObject({ words: ['unterminated phrase'] });
  });

  it('reads a leading - as exclusion, for patterns and text', () => {
    expect(parseFilter('-system.* -session.lock_changed -"noisy thing" -ping')).toEqual({
      include: [],
      exclude: ['system.*', 'session.lock_changed'],
      words: [],
      excludeWords: ['noisy thing', 'ping'],
    });
    expect(parseFilter('-')).toMatchObject({ words: ['-'] });
  });

  it('drops duplicates and knows an empty filter', () => {
    expect(parseFilter('chat.* chat.* a a')).toMatchObject({ include: ['chat.*'], words: ['a'] });
    expect(isEmptyFilter(parseFilter('  , '))).toBe(true);
    expect(isEmptyFilter(parseFilter('a'))).toBe(false);
  });
});

describe('matchesFilter', () => {
  it('ORs patterns, ANDs words, and lets exclusions veto', () => {
    const f = parseFilter('chat.* workflow.failed deploy -staging');
    expect(matchesFilter(row('chat.message_sent', 'deploy now'), f)).toBe(true);
    expect(matchesFilter(row('workflow.failed', 'deploy failed'), f)).toBe(true);
    expect(matchesFilter(row('workflow.started', 'deploy'), f)).toBe(false);
    expect(matchesFilter(row('chat.message_sent', 'hello'), f)).toBe(false);
    expect(matchesFilter(row('chat.message_sent', 'deploy to staging'), f)).toBe(false);
  });

  it('finds words in the data when the summary leaves them out', () => {
    expect(
      matchesFilter(row('workflow.started', 'release started', { workflow_id: 'W-42' }), parseFilter('w-42')),
    ).toBe(true);
  });

  it('only computes text when words are given', () => {
    const lazy = {
      type: 'chat.message_sent',
      text: () => {
        throw new Error('not needed');
      },
      data: () => {
        throw new Error('not needed');
      },
    };
    expect(matchesFilter(lazy, parseFilter('chat.*'))).toBe(true);
  });
});

describe('describeFilter', () => {
  it('says what is shown', () => {
    expect(describeFilter(parseFilter('chat.* -system.* deploy -"x y"'))).toBe(
      'types chat.* · not system.* · text “deploy” · without “x y”',
    );
  });
});

import { describe, expect, it } from 'vitest';
import {
  chooseNext,
  mentioned,
  moderatorChoice,
  roundRobin,
  type TurnInput,
} from '../../../src-main/discussions/strategies.ts';

const ada = { agent_id: 'a1', name: 'Ada' };
const bob = { agent_id: 'b2', name: 'Bob Lee' };
const cyd = { agent_id: 'c3', name: 'cyd' };
const all = [ada, bob, cyd];
const said = (
  author: string,
  content: string,
  status: 'complete' | 'failed' = 'complete',
  error: string | null = null,
) => ({
  author,
  content,
  status,
  error,
});
const input = (over: Partial<TurnInput>): TurnInput => ({
  strategy: 'round_robin',
  participants: all,
  moderator: null,
  last: undefined,
  recentAgents: [],
  ...over,
});

describe('round robin', () => {
  it('starts with the first participant and goes on from whoever spoke last', () => {
    expect(roundRobin(all, undefined)).toBe(ada);
    expect(roundRobin(all, 'a1')).toBe(bob);
    expect(roundRobin(all, 'c3')).toBe(ada);
    expect(roundRobin(all, 'gone')).toBe(ada);
    expect(roundRobin(all, 'b2', 'c3')).toBe(ada);
    expect(roundRobin([ada], 'a1', 'a1')).toBe(ada);
  });

  it('continues after the last agent even when the person spoke since', () => {
    expect(chooseNext(input({ last: said('user', 'hm'), recentAgents: ['b2', 'a1'] })).agent_id).toBe('c3');
  });
});

describe('mentions', () => {
  it('match names however they are typed, ids too, in order, and ignore e-mail addresses and strangers', () => {
    expect(mentioned('@bob-lee and @CYD, also @a1', all)).toEqual([bob, cyd, ada]);
    expect(mentioned('@boblee.', all)).toEqual([bob]);
    expect(mentioned('mail me@ada.org or @@ada or @nobody', all)).toEqual([]);
  });

  it('choose the first one mentioned who is not the author; round robin otherwise', () => {
    const pick = (last: ReturnType<typeof said>, recent: string[] = []) =>
      chooseNext(input({ strategy: 'mention', last, recentAgents: recent }));
    expect(pick(said('user', '@cyd, then @ada'))).toEqual({ agent_id: 'c3', reason: 'mentioned as @cyd' });
    expect(pick(said('c3', 'I, @cyd, think @ada is right'), ['c3']).agent_id).toBe('a1');
    expect(pick(said('a1', 'no one named'), ['a1'])).toEqual({
      agent_id: 'b2',
      reason: 'round robin (nobody mentioned)',
    });
    // A failed reply's text names nobody.
    expect(pick(said('a1', '@cyd', 'failed', 'exit code 1'), ['a1']).agent_id).toBe('b2');
  });
});

describe('the moderator', () => {
  it('speaks after everyone else, and its NEXT: line (or last @mention, or a bare name) picks the speaker', () => {
    const m = (last?: ReturnType<typeof said>, recent: string[] = []) =>
      chooseNext(input({ strategy: 'moderated', moderator: 'a1', last, recentAgents: recent }));
    expect(m().agent_id).toBe('a1');
    expect(m(said('user', 'hello')).agent_id).toBe('a1');
    expect(m(said('b2', 'done'), ['b2']).agent_id).toBe('a1');
    expect(m(said('a1', 'Thanks.\nNEXT: Bob Lee'), ['a1'])).toEqual({
      agent_id: 'b2',
      reason: 'named by the moderator',
    });
    expect(moderatorChoice('**Next speaker:** @cyd', all, 'a1')).toBe(cyd);
    expect(moderatorChoice('I would like to hear from @bob-lee first, then @cyd.', all, 'a1')).toBe(cyd);
    expect(moderatorChoice('Over to you:\nBob Lee.', all, 'a1')).toBe(bob);
    // The moderator cannot name itself.
    expect(moderatorChoice('NEXT: Ada', all, 'a1')).toBeUndefined();
  });

  it('falls back to round robin among the others, saying why', () => {
    const choice = chooseNext(
      input({ strategy: 'moderated', moderator: 'a1', last: said('a1', 'Hmm.'), recentAgents: ['a1', 'b2', 'a1'] }),
    );
    expect(choice).toEqual({
      agent_id: 'c3',
      reason: 'round robin: the moderator named no participant',
      fallback: 'the moderator named no participant',
    });
    const failed = chooseNext(
      input({
        strategy: 'moderated',
        moderator: 'a1',
        last: said('a1', '', 'failed', 'exit code 2'),
        recentAgents: ['a1'],
      }),
    );
    expect(failed).toMatchObject({ agent_id: 'b2', fallback: "the moderator's reply failed (exit code 2)" });
  });
});

describe('an interrupted turn', () => {
  it('goes back to its speaker whatever the strategy', () => {
    for (const strategy of ['round_robin', 'mention', 'moderated'] as const)
      for (const error of ['paused', 'server_restarted'])
        expect(
          chooseNext(
            input({ strategy, moderator: 'a1', last: said('c3', 'half', 'failed', error), recentAgents: ['c3'] }),
          ),
        ).toEqual({ agent_id: 'c3', reason: `retrying the turn interrupted by ${error}` });
  });
});

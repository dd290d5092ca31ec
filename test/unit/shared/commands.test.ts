import { describe, expect, it } from 'vitest';
import {
  briefTargets,
  COMMAND_NAMES,
  COMMANDS,
  complete,
  describeTarget,
  formatCommand,
  parseCommand,
  resolveTarget,
  similarTargets,
  type TargetState,
} from '../../../src-shared/commands.ts';
import { Commitments, initialState, Priorities, StateDocument, SystemStatusUpdate } from '../../../src-shared/state.ts';

const state: TargetState = {
  priorities: [
    { id: 'P7', title: 'Ship the release', status: 'open', owner: 'ana' },
    { id: 'P8', title: 'Fix the flaky test', status: 'approved' },
    { id: 'P10', title: 'Write the docs', status: 'done' },
    { id: 'Pq', title: 'Polish', status: 'open' },
  ],
  calendar: [
    {
      id: 'standup',
      title: 'Daily standup',
      start: '2026-11-23T09:00:00Z',
      end: '2026-11-23T09:15:00Z',
      kind: 'ceremony',
    },
  ],
  commitments: {
    owe: [{ id: 'C1', text: 'Review the PR', counterparty: 'bob', due: '2026-11-24' }],
    owed: [{ id: 'C2', text: 'Send the logs', counterparty: 'eve' }],
  },
};

describe('parseCommand', () => {
  it('parses the four commands, ignoring the case of the name and extra spaces, keeping the target case', () => {
    expect(parseCommand('approve P7')).toEqual({ ok: true, command: { action: 'approve', target: 'P7' } });
    expect(parseCommand('  APPROVE   p7  ')).toEqual({ ok: true, command: { action: 'approve', target: 'p7' } });
    expect(parseCommand('Brief standup')).toEqual({ ok: true, command: { action: 'brief', target: 'standup' } });
    expect(parseCommand('refresh')).toEqual({ ok: true, command: { action: 'refresh' } });
    expect(parseCommand('help')).toEqual({ ok: true, command: { action: 'help' } });
    expect(parseCommand('brief\tsome_id-2')).toEqual({ ok: true, command: { action: 'brief', target: 'some_id-2' } });
  });

  it('refuses anything else with a reason and a message that says what to type', () => {
    const cases: [string, string][] = [
      ['', 'empty'],
      ['   ', 'empty'],
      ['deploy now', 'unknown_command'],
      ['approves P7', 'unknown_command'],
      ['approve', 'missing_argument'],
      ['brief', 'missing_argument'],
      ['approve P7 P8', 'unexpected_argument'],
      ['refresh now', 'unexpected_argument'],
      ['help me', 'unexpected_argument'],
      ['approve 7', 'invalid_target'],
      ['approve P7!', 'invalid_target'],
      ['brief "quoted"', 'invalid_target'],
      [`approve P${'1'.repeat(70)}`, 'invalid_target'],
      ['x'.repeat(1025), 'too_long'],
    ];
    for (const [text, reason] of cases) {
      const result = parseCommand(text);
      expect(result.ok, text).toBe(false);
      if (!result.ok) {
        expect(result.error.reason, text).toBe(reason);
        expect(result.error.message.length, text).toBeGreaterThan(10);
      }
    }
    const unknown = parseCommand('deploy');
    expect(!unknown.ok && unknown.error.message).toContain('approve <id>');
    const missing = parseCommand('approve');
    expect(!missing.ok && missing.error).toMatchObject({
      command: 'approve',
      message: expect.stringContaining('approve <id>'),
    });
  });

  it('formats a command back to its canonical text', () => {
    for (const [typed, canonical] of [
      ['  APPROVE   P7 ', 'approve P7'],
      ['Brief\tstandup', 'brief standup'],
      ['REFRESH', 'refresh'],
      [' help ', 'help'],
    ]) {
      const result = parseCommand(typed!);
      expect(result.ok && formatCommand(result.command), typed).toBe(canonical);
    }
  });

  it('documents every command it parses', () => {
    expect(COMMANDS.map((c) => c.name)).toEqual([...COMMAND_NAMES]);
    for (const spec of COMMANDS)
      expect(parseCommand(spec.argument === null ? spec.usage : `${spec.name} X1`).ok, spec.usage).toBe(true);
  });
});

describe('targets', () => {
  it('resolves priorities, commitments and calendar items by exact id', () => {
    expect(resolveTarget(state, 'P7')).toMatchObject({ kind: 'priority', item: { title: 'Ship the release' } });
    expect(resolveTarget(state, 'C1')).toMatchObject({ kind: 'commitment', direction: 'owe' });
    expect(resolveTarget(state, 'C2')).toMatchObject({ kind: 'commitment', direction: 'owed' });
    expect(resolveTarget(state, 'standup')).toMatchObject({ kind: 'calendar' });
    expect(resolveTarget(state, 'p7')).toBeUndefined();
    expect(similarTargets(state, 'p7')).toEqual(['P7']);
    expect(briefTargets(state)).toEqual(['P7', 'P8', 'P10', 'Pq', 'C1', 'C2', 'standup']);
  });

  it('describes each kind of target in one line', () => {
    expect(describeTarget(resolveTarget(state, 'P7')!)).toBe('Priority P7: Ship the release (open, owner ana)');
    expect(describeTarget(resolveTarget(state, 'C1')!)).toBe('Owed to bob: Review the PR (due 2026-11-24)');
    expect(describeTarget(resolveTarget(state, 'C2')!)).toBe('Owed by eve: Send the logs');
    expect(describeTarget(resolveTarget(state, 'standup')!)).toBe(
      'ceremony Daily standup: 2026-11-23T09:00:00Z to 2026-11-23T09:15:00Z',
    );
  });
});

describe('complete', () => {
  const texts = (prefix: string) => complete(prefix, state).map((c) => c.text);

  it('offers command names while the first word is typed', () => {
    expect(texts('')).toEqual(['approve ', 'brief ', 'refresh', 'help']);
    expect(texts('a')).toEqual(['approve ']);
    expect(texts('RE')).toEqual(['refresh']);
    expect(texts('x')).toEqual([]);
    expect(complete('h', state)[0]).toEqual({ text: 'help', label: 'help', detail: 'list the commands' });
  });

  it('offers only open priorities to approve, matching the id prefix in any case', () => {
    expect(texts('approve ')).toEqual(['approve P7', 'approve Pq']);
    expect(texts('approve p')).toEqual(['approve P7', 'approve Pq']);
    expect(texts('approve P7')).toEqual(['approve P7']);
    expect(texts('approve P9')).toEqual([]);
    expect(complete('approve P7', state)[0]).toEqual({ text: 'approve P7', label: 'P7', detail: 'Ship the release' });
  });

  it('offers every target to brief, and nothing after a complete command', () => {
    expect(texts('brief ')).toEqual([
      'brief P7',
      'brief P8',
      'brief P10',
      'brief Pq',
      'brief C1',
      'brief C2',
      'brief standup',
    ]);
    expect(texts('brief s')).toEqual(['brief standup']);
    expect(complete('brief C', state).map((c) => c.detail)).toEqual(['Review the PR', 'Send the logs']);
    expect(texts('refresh ')).toEqual([]);
    expect(texts('approve P7 ')).toEqual([]);
    expect(texts('nope P')).toEqual([]);
  });

  it('works on an empty state', () => {
    expect(complete('approve ', initialState())).toEqual([]);
    expect(complete('brief ', initialState())).toEqual([]);
    expect(complete('', initialState())).toHaveLength(4);
  });
});

describe('state schemas', () => {
  it('accepts the empty document and round-trips a full one', () => {
    expect(StateDocument.parse(initialState())).toEqual({
      system: { status: 'IDLE', progress: 0, last_sync: null },
      calendar: [],
      priorities: [],
      commitments: { owe: [], owed: [] },
      active_brief: null,
    });
    const full = {
      ...initialState(),
      ...state,
      active_brief: { target: 'P7', summary: 's', created_at: '2026-11-23T09:00:00.000Z' },
    };
    expect(StateDocument.parse(full)).toEqual(full);
  });

  it('refuses duplicate ids, naming both places', () => {
    const result = Priorities.safeParse([
      { id: 'P1', title: 'a', status: 'open' },
      { id: 'P1', title: 'b', status: 'open' },
    ]);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: [1, 'id'],
      message: expect.stringContaining('duplicate id P1 (also at 0)'),
    });
    const across = Commitments.safeParse({
      owe: [{ id: 'C1', text: 'a', counterparty: 'b' }],
      owed: [{ id: 'C1', text: 'c', counterparty: 'd' }],
    });
    expect(across.error?.issues[0]?.path).toEqual(['owed', 0, 'id']);
  });

  it('checks status updates: a known status, an integer progress 0..100, at least one of them', () => {
    for (const good of [
      { status: 'IDLE' },
      { progress: 0 },
      { progress: 100 },
      { status: 'ERROR', progress: 3, message: 'm' },
    ]) {
      expect(SystemStatusUpdate.safeParse(good).success, JSON.stringify(good)).toBe(true);
    }
    for (const bad of [
      {},
      { message: 'only' },
      { status: 'idle' },
      { status: 'BUSY' },
      { progress: -1 },
      { progress: 101 },
      { progress: 5.5 },
      { progress: '5' },
      { status: 'IDLE', last_sync: null },
    ]) {
      expect(SystemStatusUpdate.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

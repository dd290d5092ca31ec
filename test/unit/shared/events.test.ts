import { describe, expect, it } from 'vitest';
import {
  CATALOGUE,
  CATALOGUED_TYPES,
  EVENT_PATTERN_PATTERN,
  EVENT_TYPE_PATTERN,
  EventEnvelope,
  EventInput,
  matchesAny,
  matchesPattern,
  namespaceOf,
  NAMESPACES,
  parsePatterns,
  SERVER_NAMESPACES,
  summarize,
  TypePattern,
  validateEventInput,
} from '../../../src-shared/events.ts';

/** The issues of a refused input (fails the test if it was accepted). */
function issuesOf(input: unknown, options?: { allowServerTypes?: boolean }): { path: string; message: string }[] {
  const result = validateEventInput(input, options);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return result.issues;
}

describe('event types and patterns', () => {
  it.each(['workflow.started', 'x.my-tool.Started', 'x.a', 'ns_2.a.b.c', `a.${'b'.repeat(126)}`])(
    'accepts the type %s',
    (type) => {
      expect(EVENT_TYPE_PATTERN.test(type)).toBe(true);
    },
  );

  it.each([
    'workflow',
    'Workflow.started',
    '1x.a',
    'x.',
    'x..a',
    '.a',
    'x.a*',
    'x.a?',
    'x.[a]',
    'x.a b',
    'x.*',
    '*',
    `a.${'b'.repeat(127)}`,
  ])('refuses the type %s', (type) => {
    expect(EVENT_TYPE_PATTERN.test(type)).toBe(false);
  });

  it('accepts *, namespace wildcards and exact types as patterns, nothing else', () => {
    for (const pattern of ['*', 'workflow.*', 'x.*', 'chat.message_sent', 'x.my-tool.Started']) {
      expect(EVENT_PATTERN_PATTERN.test(pattern)).toBe(true);
      expect(TypePattern.safeParse(pattern).success).toBe(true);
    }
    for (const pattern of [
      '**',
      'chat*',
      '*.started',
      'workflow.step.*',
      'x.a?',
      'chat.[a]',
      'Chat.*',
      '',
      'chat',
      ' chat.*',
    ]) {
      expect(EVENT_PATTERN_PATTERN.test(pattern)).toBe(false);
      expect(TypePattern.safeParse(pattern).success).toBe(false);
    }
  });

  it('matches * against everything', () => {
    expect(matchesPattern('workflow.started', '*')).toBe(true);
    expect(matchesPattern('x.anything.at.all', '*')).toBe(true);
  });

  it('matches a namespace wildcard only inside that namespace', () => {
    expect(matchesPattern('chat.message_sent', 'chat.*')).toBe(true);
    expect(matchesPattern('x.my-tool.Started', 'x.*')).toBe(true);
    expect(matchesPattern('chatter.x', 'chat.*')).toBe(false);
    expect(matchesPattern('workflow', 'workflow.*')).toBe(false);
    expect(matchesPattern('file.created', 'chat.*')).toBe(false);
  });

  it('matches an exact type only exactly', () => {
    expect(matchesPattern('workflow.failed', 'workflow.failed')).toBe(true);
    expect(matchesPattern('workflow.failed_twice', 'workflow.failed')).toBe(false);
    expect(matchesPattern('workflow.fail', 'workflow.failed')).toBe(false);
  });

  it('matches any of several patterns; an empty list matches nothing', () => {
    const patterns = ['chat.*', 'workflow.failed'];
    expect(matchesAny('chat.thinking_started', patterns)).toBe(true);
    expect(matchesAny('workflow.failed', patterns)).toBe(true);
    expect(matchesAny('workflow.started', patterns)).toBe(false);
    expect(matchesAny('workflow.started', [])).toBe(false);
    expect(matchesAny('workflow.started', ['*'])).toBe(true);
  });

  it('parses a comma-separated list, trimming and dropping empties and duplicates', () => {
    expect(parsePatterns('chat.*, workflow.failed')).toEqual({ ok: true, patterns: ['chat.*', 'workflow.failed'] });
    expect(parsePatterns(' chat.* ,,workflow.failed, chat.* ,')).toEqual({
      ok: true,
      patterns: ['chat.*', 'workflow.failed'],
    });
    expect(parsePatterns('x.my-tool.Started')).toEqual({ ok: true, patterns: ['x.my-tool.Started'] });
  });

  it('defaults to everything when nothing is given', () => {
    expect(parsePatterns(undefined)).toEqual({ ok: true, patterns: ['*'] });
    expect(parsePatterns('')).toEqual({ ok: true, patterns: ['*'] });
    expect(parsePatterns(' , ')).toEqual({ ok: true, patterns: ['*'] });
  });

  it('names the bad pattern', () => {
    const result = parsePatterns('chat.*, chat*');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/invalid type pattern "chat\*"/);
    const glob = parsePatterns('x.a?');
    expect(glob.ok).toBe(false);
    if (!glob.ok) expect(glob.error).toContain('"x.a?"');
  });

  it('refuses an absurd number of patterns', () => {
    const many = Array.from({ length: 101 }, (_, i) => `x.e${i}`).join(',');
    expect(parsePatterns(many)).toEqual({ ok: false, error: 'at most 100 type patterns; got 101' });
  });
});

describe('the catalogue', () => {
  it('lists every catalogued type and namespace', () => {
    expect(CATALOGUED_TYPES).toHaveLength(56);
    expect(CATALOGUED_TYPES).toContain('task.output');
    expect(CATALOGUED_TYPES).toContain('git.operation_completed');
    expect(CATALOGUED_TYPES).toContain('git.commit_created');
    expect(CATALOGUED_TYPES).toContain('session.lock_changed');
    expect(CATALOGUED_TYPES.every((type) => EVENT_TYPE_PATTERN.test(type))).toBe(true);
    expect(NAMESPACES).toEqual([
      'workflow',
      'chat',
      'file',
      'state',
      'git',
      'agent',
      'task',
      'sandbox',
      'knowledge',
      'ceremony',
      'kanban',
      'otel',
      'tool',
      'agent_session',
      'system',
      'session',
      'auth',
      'x',
    ]);
    expect(SERVER_NAMESPACES).toEqual(['system', 'session', 'auth', 'agent', 'task', 'sandbox', 'knowledge']);
  });

  it('takes the namespace from before the first dot', () => {
    expect(namespaceOf('workflow.started')).toBe('workflow');
    expect(namespaceOf('x.my-tool.Started')).toBe('x');
    expect(namespaceOf('workflow')).toBe('workflow');
  });

  it('keeps extra data fields a producer adds', () => {
    const parsed = CATALOGUE['file.created'].parse({ path: 'src/a.ts', bytes: 120 });
    expect(parsed).toEqual({ path: 'src/a.ts', bytes: 120 });
  });
});

describe('validateEventInput', () => {
  it.each([
    { type: 'workflow.started', data: { workflow_id: 'w1', name: 'deploy' } },
    { type: 'workflow.step_completed', data: { workflow_id: 'w1', step: 'build', duration_ms: 1200 } },
    { type: 'workflow.failed', data: { workflow_id: 'w1', error: 'timeout' } },
    { type: 'chat.message_sent', data: { text: 'hello', agent: 'claude', conversation_id: 'c1' } },
    { type: 'chat.thinking_started', data: {} },
    { type: 'file.deleted', data: { path: '/tmp/a' } },
    { type: 'state.story_transitioned', data: { story_id: 'S-1', from: 'todo', to: 'doing' } },
    {
      type: 'git.commit_created',
      data: { sha: 'a1b2c3d', message: 'fix: x', committed_at: '2026-11-23T17:49:02+01:00' },
    },
    { type: 'ceremony.message', data: { ceremony_id: 'retro-1', text: 'went well', speaker: 'pm' } },
    { type: 'kanban.card_moved', data: { card_id: 'C1', from: 'todo', to: 'done' } },
  ])('accepts a valid $type', (input) => {
    expect(validateEventInput(input)).toEqual({ ok: true, event: input });
  });

  it('defaults data to an empty object and keeps metadata', () => {
    expect(validateEventInput({ type: 'chat.thinking_finished' })).toEqual({
      ok: true,
      event: { type: 'chat.thinking_finished', data: {} },
    });
    expect(validateEventInput({ type: 'x.ping', metadata: { source: 'ci' } })).toEqual({
      ok: true,
      event: { type: 'x.ping', data: {}, metadata: { source: 'ci' } },
    });
  });

  it('keeps extra data fields on catalogued types', () => {
    const result = validateEventInput({ type: 'file.modified', data: { path: 'a.ts', lines_changed: 4 } });
    expect(result).toEqual({ ok: true, event: { type: 'file.modified', data: { path: 'a.ts', lines_changed: 4 } } });
  });

  it('names each bad data field by its path', () => {
    expect(issuesOf({ type: 'workflow.started', data: {} })).toEqual([
      { path: 'data.workflow_id', message: 'required (string)' },
    ]);
    const issues = issuesOf({ type: 'workflow.step_completed', data: { workflow_id: 7, duration_ms: -1 } });
    expect(issues.map((issue) => issue.path).sort()).toEqual(['data.duration_ms', 'data.step', 'data.workflow_id']);
    expect(issuesOf({ type: 'git.commit_created', data: { sha: 'xyz', message: 'm' } })).toEqual([
      { path: 'data.sha', message: 'a commit sha is 7 to 64 hexadecimal digits' },
    ]);
    expect(issuesOf({ type: 'file.created', data: { path: '' } }).map((issue) => issue.path)).toEqual(['data.path']);
  });

  it('checks nested server data by path when server types are allowed', () => {
    const lock = { holder: 'someone', pid: 1, hostname: 'h', since: null, id: null };
    const issues = issuesOf(
      { type: 'session.lock_changed', data: { read_only: true, lock } },
      { allowServerTypes: true },
    );
    expect(issues.map((issue) => issue.path)).toEqual(['data.lock.holder']);
    const status = issuesOf(
      { type: 'system.status_changed', data: { status: 'BUSY', progress: 101, last_sync: 'now' } },
      { allowServerTypes: true },
    );
    expect(status.map((issue) => issue.path).sort()).toEqual(['data.last_sync', 'data.progress', 'data.status']);
    const fraction = issuesOf(
      { type: 'system.status_changed', data: { status: 'IDLE', progress: 1.5, last_sync: null } },
      { allowServerTypes: true },
    );
    expect(fraction.map((issue) => issue.path)).toEqual(['data.progress']);
  });

  it('refuses an uncatalogued type, pointing at x.', () => {
    const [unknownName] = issuesOf({ type: 'workflow.paused', data: {} });
    expect(unknownName?.path).toBe('type');
    expect(unknownName?.message).toMatch(
      /workflow\.paused is not catalogued.*started, step_completed, finished, failed.*x\./,
    );
    const [unknownNamespace] = issuesOf({ type: 'deploy.started', data: {} });
    expect(unknownNamespace?.path).toBe('type');
    expect(unknownNamespace?.message).toMatch(/namespace deploy is unknown/);
    expect(unknownNamespace?.message).toContain('workflow, chat');
    expect(unknownNamespace?.message).toContain('x.deploy.started');
  });

  it('refuses a malformed type', () => {
    expect(issuesOf({ type: 'Deploy', data: {} }).map((issue) => issue.path)).toEqual(['type']);
    expect(issuesOf({ type: 'x.*', data: {} }).map((issue) => issue.path)).toEqual(['type']);
    expect(issuesOf({ data: {} })).toEqual([{ path: 'type', message: 'required (string)' }]);
    expect(issuesOf({ type: `x.${'a'.repeat(200)}` })).toEqual([
      { path: 'type', message: 'an event type is at most 128 characters' },
    ]);
  });

  it('refuses system.* and session.* from clients unless server types are allowed', () => {
    const started = { type: 'system.started', data: { version: '0.1.0', pid: 42 } };
    expect(issuesOf(started)).toEqual([
      {
        path: 'type',
        message:
          'system.*, session.*, auth.*, agent.*, task.*, sandbox.*, knowledge.* and git.operation_completed are published by the server only',
      },
    ]);
    expect(issuesOf({ type: 'session.lock_changed', data: {} }, { allowServerTypes: false })[0]?.message).toMatch(
      /server only/,
    );
    expect(validateEventInput(started, { allowServerTypes: true })).toEqual({ ok: true, event: started });
    const lock = {
      read_only: false,
      lock: { holder: 'server', pid: 42, hostname: 'box', since: '2026-11-23T17:49:02.123Z', id: 'l1' },
    };
    expect(validateEventInput({ type: 'session.lock_changed', data: lock }, { allowServerTypes: true }).ok).toBe(true);
  });

  it('accepts any object as x.* data but not arrays, strings or null', () => {
    const data = { nested: { list: [1, 2] }, flag: true };
    expect(validateEventInput({ type: 'x.my-tool.Started', data })).toEqual({
      ok: true,
      event: { type: 'x.my-tool.Started', data },
    });
    for (const bad of [[1, 2], 'text', null, 3]) {
      expect(issuesOf({ type: 'x.thing', data: bad })).toEqual([{ path: 'data', message: 'must be a JSON object' }]);
    }
  });

  it('refuses metadata that is not an object', () => {
    expect(issuesOf({ type: 'x.a', metadata: ['m'] })).toEqual([
      { path: 'metadata', message: 'must be a JSON object' },
    ]);
  });

  it('refuses stray top-level fields one by one, explaining who stamps what', () => {
    const issues = issuesOf({ type: 'x.a', data: {}, sequence_number: 5, timestamp: '2026-01-01T00:00:00.000Z' });
    expect(issues.map((issue) => issue.path)).toEqual(['sequence_number', 'timestamp']);
    expect(issues[0]?.message).toMatch(/unknown field sequence_number: .*server stamps sequence_number and timestamp/);
    expect(EventInput.safeParse({ type: 'x.a', extra: 1 }).success).toBe(false);
  });

  it('refuses an input that is not an object', () => {
    for (const input of ['workflow.started', null, [], 7]) {
      const issues = issuesOf(input);
      expect(issues).toHaveLength(1);
      expect(issues[0]?.path).toBe('(root)');
      expect(issues[0]?.message).toMatch(/an event is a JSON object/);
    }
  });
});

describe('validateEventInput without zod for well-formed input', () => {
  // What EventInput alone makes of an input (the reference the quick check must match).
  const viaZod = (input: unknown) => {
    const parsed = EventInput.safeParse(input);
    return parsed.success ? parsed.data : 'refused';
  };
  const viaValidate = (input: unknown) => {
    const result = validateEventInput(input, { allowServerTypes: true });
    return result.ok ? result.event : 'refused';
  };
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
  const inherited = Object.create({ hidden: 1 }) as Record<string, unknown>;
  it.each([
    ['a plain x event', { type: 'x.a', data: { n: 1, nested: { deep: [1, 2] } } }],
    ['no data', { type: 'x.a' }],
    ['metadata', { type: 'x.a', data: {}, metadata: { agent: 'claude' } }],
    ['metadata: undefined kept as a key', { type: 'x.a', metadata: undefined }],
    ['a null-prototype data object', { type: 'x.a', data: nullProto }],
    ['data inheriting from another object', { type: 'x.a', data: inherited }],
    ['an own __proto__ key in data', JSON.parse('{"type":"x.a","data":{"__proto__":{"p":1},"b":2}}') as unknown],
    ['an own __proto__ key in metadata', JSON.parse('{"type":"x.a","metadata":{"__proto__":1}}') as unknown],
    ['an own __proto__ key in the event', JSON.parse('{"type":"x.a","__proto__":{}}') as unknown],
    ['a stray field', { type: 'x.a', extra: 1 }],
    ['data: null', { type: 'x.a', data: null }],
    ['data an array', { type: 'x.a', data: [1] }],
    ['data a Date', { type: 'x.a', data: new Date(0) }],
    ['metadata a string', { type: 'x.a', metadata: 'm' }],
    ['a type too long', { type: `x.${'a'.repeat(127)}` }],
    ['a bad type', { type: 'X.a' }],
    ['no type', { data: {} }],
    ['an array', [{ type: 'x.a' }]],
    ['null', null],
  ])('agrees with EventInput on %s', (_name, input) => {
    const expected = viaZod(input);
    const got = viaValidate(input);
    expect(got === 'refused' ? got : JSON.stringify(got)).toEqual(
      expected === 'refused' ? expected : JSON.stringify(expected),
    );
  });
});

describe('EventEnvelope', () => {
  const envelope = {
    type: 'workflow.started',
    timestamp: '2026-11-23T17:49:02.123Z',
    sequence_number: 42,
    data: { workflow_id: 'w' },
    metadata: {},
  };

  it('accepts a stored event', () => {
    expect(EventEnvelope.parse(envelope)).toEqual(envelope);
    expect(EventEnvelope.parse({ ...envelope, metadata: { a: 1 } })).toEqual({ ...envelope, metadata: { a: 1 } });
  });

  it('requires metadata: every envelope carries it, {} when none was sent', () => {
    const { metadata: _, ...without } = envelope;
    expect(EventEnvelope.safeParse(without).success).toBe(false);
    expect(EventEnvelope.safeParse({ ...envelope, metadata: [] }).success).toBe(false);
  });

  it('requires a positive integer sequence number and an ISO timestamp', () => {
    expect(EventEnvelope.safeParse({ ...envelope, sequence_number: 0 }).success).toBe(false);
    expect(EventEnvelope.safeParse({ ...envelope, sequence_number: 1.5 }).success).toBe(false);
    expect(EventEnvelope.safeParse({ ...envelope, timestamp: 'yesterday' }).success).toBe(false);
    expect(EventEnvelope.safeParse({ ...envelope, data: [] }).success).toBe(false);
  });
});

describe('summarize', () => {
  it('renders workflow events from their data', () => {
    expect(summarize({ type: 'workflow.failed', data: { workflow_id: 'w1', name: 'deploy', error: 'timeout' } })).toBe(
      'deploy failed: timeout',
    );
    expect(summarize({ type: 'workflow.failed', data: { workflow_id: 'w1', step: 'push', error: 'denied' } })).toBe(
      'w1 failed at push: denied',
    );
    expect(
      summarize({
        type: 'workflow.step_completed',
        data: { workflow_id: 'w1', name: 'deploy', step: 'build', duration_ms: 1234 },
      }),
    ).toBe('deploy: build done (1.2 s)');
    expect(summarize({ type: 'workflow.finished', data: { workflow_id: 'w1', duration_ms: 125_000 } })).toBe(
      'w1 finished (2 min 5 s)',
    );
  });

  it('renders chat text on one line, truncated to 120 characters', () => {
    expect(summarize({ type: 'chat.message_sent', data: { text: 'hello\n  world' } })).toBe('hello world');
    const long = summarize({ type: 'chat.message_received', data: { text: 'a'.repeat(500) } });
    expect(long).toHaveLength(120);
    expect(long.endsWith('…')).toBe(true);
    expect(summarize({ type: 'chat.thinking_started', data: { agent: 'claude' } })).toBe('claude is thinking');
  });

  it('renders files, commits, stories, cards and the server events', () => {
    expect(summarize({ type: 'file.modified', data: { path: 'src/app.ts' } })).toBe('src/app.ts');
    const sha = '0123456789abcdef0123456789abcdef01234567';
    expect(summarize({ type: 'git.commit_created', data: { sha, message: 'fix: the bug\n\nlong body' } })).toBe(
      '0123456 fix: the bug',
    );
    expect(summarize({ type: 'state.story_transitioned', data: { story_id: 'S-1', from: 'todo', to: 'doing' } })).toBe(
      'story S-1: todo → doing',
    );
    expect(summarize({ type: 'kanban.card_moved', data: { card_id: 'C1', from: 'todo', to: 'done' } })).toBe(
      'card C1: todo → done',
    );
    expect(summarize({ type: 'ceremony.message', data: { ceremony_id: 'r', text: 'ship it', speaker: 'pm' } })).toBe(
      'pm: ship it',
    );
    expect(
      summarize({ type: 'system.status_changed', data: { status: 'COLLECTING', progress: 40, last_sync: null } }),
    ).toBe('COLLECTING 40%');
    expect(summarize({ type: 'system.state_changed', data: { section: 'priorities' } })).toBe('priorities updated');
    const lock = { holder: 'cli', pid: 4242, hostname: 'box', since: null, id: 'l1' };
    expect(summarize({ type: 'session.lock_changed', data: { read_only: true, lock } })).toBe(
      'read-only: cli holds the lock (pid 4242 on box)',
    );
    const free = { holder: null, pid: null, hostname: null, since: null, id: null };
    expect(summarize({ type: 'session.lock_changed', data: { read_only: false, lock: free } })).toBe(
      'writable: lock free',
    );
  });

  it('renders custom events as compact JSON, truncated', () => {
    expect(summarize({ type: 'x.deploy', data: { env: 'prod', ok: true } })).toBe('{"env":"prod","ok":true}');
    const long = summarize({ type: 'x.blob', data: { text: 'b'.repeat(1000) } });
    expect(long).toHaveLength(120);
    expect(long.startsWith('{"text":"bbb')).toBe(true);
  });

  it('falls back to JSON when catalogued data does not fit its schema', () => {
    expect(summarize({ type: 'workflow.failed', data: { reason: 'old shape' } })).toBe('{"reason":"old shape"}');
    expect(summarize({ type: 'x.none', data: undefined })).toBe('{}');
  });
});

describe('agent, task, sandbox and git operation events', () => {
  it('checks task.output: a stream, at most 2000 lines', () => {
    const ok = { type: 'task.output', data: { task_id: 'abc', stream: 'stdout', lines: ['a', 'b'] } };
    expect(validateEventInput(ok, { allowServerTypes: true }).ok).toBe(true);
    const badStream = { type: 'task.output', data: { task_id: 'abc', stream: 'stdin', lines: [] } };
    expect(validateEventInput(badStream, { allowServerTypes: true }).ok).toBe(false);
    const tooMany = { type: 'task.output', data: { task_id: 'abc', stream: 'stderr', lines: Array(2001).fill('x') } };
    expect(validateEventInput(tooMany, { allowServerTypes: true }).ok).toBe(false);
  });

  it('summarizes them in one line', () => {
    expect(
      summarize({
        type: 'task.status_changed',
        data: { task_id: 'a', title: 'Fix it', from: 'running', to: 'failed', exit_code: 1, reason: 'exit_code_1' },
      }),
    ).toBe('task Fix it: running → failed (exit 1) exit_code_1');
    expect(
      summarize({
        type: 'git.operation_completed',
        data: {
          operation_id: '3',
          operation_type: 'commit',
          status: 'succeeded',
          task_id: 'a',
          sandbox_id: 'b',
          commit_sha: '0123456789abcdef',
          duration_ms: 12,
          error_message: null,
        },
      }),
    ).toBe('git commit succeeded 0123456 (12 ms)');
    expect(summarize({ type: 'task.output', data: { task_id: 'a', stream: 'stdout', lines: ['hello'] } })).toBe(
      'stdout: hello',
    );
  });
});

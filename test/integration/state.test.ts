import { describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs } from '../helpers/ws-client.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type Envelope = { sequence_number: number; type: string; data: Record<string, unknown> };

const EMPTY = {
  system: { status: 'IDLE', progress: 0, last_sync: null },
  calendar: [],
  priorities: [],
  commitments: { owe: [], owed: [] },
  active_brief: null,
};

const PRIORITIES = [
  { id: 'P7', title: 'Ship the release', status: 'open', rank: 1, owner: 'ana' },
  { id: 'P8', title: 'Fix the flaky test', status: 'open' },
  { id: 'P9', title: 'Write the changelog', status: 'done' },
];
const CALENDAR = [
  {
    id: 'standup',
    title: 'Daily standup',
    start: '2026-11-23T09:00:00Z',
    end: '2026-11-23T09:15:00Z',
    kind: 'ceremony',
  },
];
const COMMITMENTS = {
  owe: [{ id: 'C1', text: 'Review the PR', counterparty: 'bob', due: '2026-11-24' }],
  owed: [{ id: 'C2', text: 'Send the logs', counterparty: 'eve', due: null }],
};

const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
const post = (runtime: Runtime, path: string, body: unknown) =>
  api(runtime, `/api/v1${path}`, { method: 'POST', json: body });
const put = (runtime: Runtime, path: string, body: unknown) =>
  api(runtime, `/api/v1${path}`, { method: 'PUT', json: body });
const command = (runtime: Runtime, text: string) => post(runtime, '/commands', { command: text });
const getState = async (runtime: Runtime) =>
  json<typeof EMPTY & Record<string, unknown>>(await api(runtime, '/api/v1/state'));

/** Stored events after `since` of the given types, through the public history API. */
async function eventsSince(runtime: Runtime, since: number, types: string): Promise<Envelope[]> {
  return (
    await json<{ events: Envelope[] }>(await api(runtime, `/api/v1/events?since=${since}&types=${types}&limit=1000`))
  ).events;
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody['error']> {
  const body = await json<ErrorBody>(res);
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
  return body.error;
}

describe('GET /api/v1/state and /system/status', () => {
  it('answers the empty document on a new workspace, and needs the token', async () => {
    const runtime = await startRuntime();
    expect(await getState(runtime)).toEqual(EMPTY);
    expect(await json(await api(runtime, '/api/v1/system/status'))).toEqual({
      status: 'IDLE',
      progress: 0,
      last_sync: null,
    });
    for (const path of ['/api/v1/state', '/api/v1/system/status', '/api/v1/state/priorities']) {
      await expectError(await fetch(`${runtime.url}${path}`), 401, 'unauthorized');
    }
  });

  it('serves one section, and 404 naming the sections for any other', async () => {
    const runtime = await startRuntime();
    expect(await json(await api(runtime, '/api/v1/state/commitments'))).toEqual({ owe: [], owed: [] });
    expect(await json(await api(runtime, '/api/v1/state/active_brief'))).toBeNull();
    const error = await expectError(await api(runtime, '/api/v1/state/bogus'), 404, 'not_found');
    expect(error.message).toContain('calendar, priorities, commitments, active_brief');
  });
});

describe('POST /api/v1/system/status', () => {
  it('sets status and/or progress, answers the new value and publishes it', async () => {
    const runtime = await startRuntime();
    const since = runtime.bus.log.lastSequenceNumber;

    let res = await post(runtime, '/system/status', { status: 'PROCESSING', progress: 40 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'PROCESSING', progress: 40, last_sync: null });

    res = await post(runtime, '/system/status', { progress: 55 });
    expect(await res.json()).toEqual({ status: 'PROCESSING', progress: 55, last_sync: null });

    res = await post(runtime, '/system/status', { status: 'ERROR', message: 'the agent crashed' });
    expect(await res.json()).toEqual({ status: 'ERROR', progress: 55, last_sync: null, message: 'the agent crashed' });

    // Entering a busy status without a progress starts it at 0; the message is cleared.
    res = await post(runtime, '/system/status', { status: 'COLLECTING' });
    expect(await res.json()).toEqual({ status: 'COLLECTING', progress: 0, last_sync: null });

    res = await post(runtime, '/system/status', { status: 'IDLE', progress: 100 });
    expect(await res.json()).toEqual({ status: 'IDLE', progress: 100, last_sync: null });
    // The same value again is still an explicit write, and still published.
    await post(runtime, '/system/status', { status: 'IDLE' });

    expect(await json(await api(runtime, '/api/v1/system/status'))).toEqual({
      status: 'IDLE',
      progress: 100,
      last_sync: null,
    });
    expect((await getState(runtime)).system).toEqual({ status: 'IDLE', progress: 100, last_sync: null });
    const events = await eventsSince(runtime, since, 'system.status_changed');
    expect(events.map((e) => e.data)).toEqual([
      { status: 'PROCESSING', progress: 40, last_sync: null },
      { status: 'PROCESSING', progress: 55, last_sync: null },
      { status: 'ERROR', progress: 55, last_sync: null, message: 'the agent crashed' },
      { status: 'COLLECTING', progress: 0, last_sync: null },
      { status: 'IDLE', progress: 100, last_sync: null },
      { status: 'IDLE', progress: 100, last_sync: null },
    ]);
  });

  it('answers 400 naming the field for an unknown status, a bad progress, neither field or a stray one — and changes nothing', async () => {
    const runtime = await startRuntime();
    await post(runtime, '/system/status', { status: 'PROCESSING', progress: 10 });
    const since = runtime.bus.log.lastSequenceNumber;
    const cases: [unknown, string][] = [
      [{ status: 'BUSY' }, 'body.status'],
      [{ status: 'idle' }, 'body.status'],
      [{ status: 42 }, 'body.status'],
      [{ progress: 101 }, 'body.progress'],
      [{ progress: -1 }, 'body.progress'],
      [{ progress: 12.5 }, 'body.progress'],
      [{ progress: '50' }, 'body.progress'],
      [{ status: 'IDLE', progress: null }, 'body.progress'],
      [{}, 'body'],
      [{ message: 'only a message' }, 'body'],
      [{ status: 'IDLE', last_sync: '2026-01-01T00:00:00Z' }, 'body'],
      [[], 'body'],
    ];
    for (const [body, path] of cases) {
      const error = await expectError(await post(runtime, '/system/status', body), 400, 'invalid_input');
      const paths = (error.details as { path: string }[]).map((d) => d.path);
      expect(
        paths.some((p) => p === path || p.startsWith(`${path}.`)) || (path === 'body' && paths.length > 0),
        `${JSON.stringify(body)} → ${paths.join(', ')}`,
      ).toBe(true);
    }
    await expectError(
      await api(runtime, '/api/v1/system/status', {
        method: 'POST',
        body: '{"status":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'invalid_json',
    );
    await expectError(
      await api(runtime, '/api/v1/system/status', {
        method: 'POST',
        body: 'status=IDLE',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'unsupported_media_type',
    );
    expect(await json(await api(runtime, '/api/v1/system/status'))).toEqual({
      status: 'PROCESSING',
      progress: 10,
      last_sync: null,
    });
    expect(runtime.bus.log.lastSequenceNumber).toBe(since);
  });
});

describe('PUT /api/v1/state/{section}', () => {
  it('replaces each section, answers it as stored, and publishes system.state_changed naming it', async () => {
    const runtime = await startRuntime();
    const since = runtime.bus.log.lastSequenceNumber;
    const brief = { target: 'P7', summary: 'ship it', created_at: '2026-11-23T10:00:00.000Z' };
    for (const [section, value] of [
      ['priorities', PRIORITIES],
      ['calendar', CALENDAR],
      ['commitments', COMMITMENTS],
      ['active_brief', brief],
    ] as const) {
      const res = await put(runtime, `/state/${section}`, value);
      expect(res.status, section).toBe(200);
      expect(await res.json()).toEqual(value);
      expect(await json(await api(runtime, `/api/v1/state/${section}`))).toEqual(value);
    }
    expect(await getState(runtime)).toEqual({
      system: EMPTY.system,
      priorities: PRIORITIES,
      calendar: CALENDAR,
      commitments: COMMITMENTS,
      active_brief: brief,
    });
    // Replacing is replacing: the old items are gone.
    const fewer = [{ id: 'P1', title: 'Only this', status: 'approved' }];
    expect(await json(await put(runtime, '/state/priorities', fewer))).toEqual(fewer);
    // null clears the brief.
    const cleared = await put(runtime, '/state/active_brief', null);
    expect(cleared.status).toBe(200);
    expect(await cleared.json()).toBeNull();
    expect((await getState(runtime)).active_brief).toBeNull();

    const events = await eventsSince(runtime, since, 'system.*');
    expect(events.map((e) => [e.type, e.data.section])).toEqual([
      ['system.state_changed', 'priorities'],
      ['system.state_changed', 'calendar'],
      ['system.state_changed', 'commitments'],
      ['system.state_changed', 'active_brief'],
      ['system.state_changed', 'priorities'],
      ['system.state_changed', 'active_brief'],
    ]);
  });

  it('keeps extra fields on items (a priority is at least id, title, status)', async () => {
    const runtime = await startRuntime();
    const items = [{ id: 'P1', title: 't', status: 'open', labels: ['ui'], estimate: 3 }];
    expect(await json(await put(runtime, '/state/priorities', items))).toEqual(items);
  });

  it('answers 400 naming the field for a bad shape or a duplicate id, and stores and publishes nothing', async () => {
    const runtime = await startRuntime();
    await put(runtime, '/state/priorities', PRIORITIES);
    const since = runtime.bus.log.lastSequenceNumber;
    const cases: [string, unknown, string][] = [
      ['priorities', { id: 'P1' }, 'body'],
      ['priorities', [{ id: 'P1', status: 'open' }], 'body.0.title'],
      ['priorities', [{ id: 'P1', title: 't', status: 'started' }], 'body.0.status'],
      ['priorities', [{ id: '7', title: 't', status: 'open' }], 'body.0.id'],
      ['priorities', [{ id: 'P 7', title: 't', status: 'open' }], 'body.0.id'],
      ['priorities', [{ id: 'P1', title: 't', status: 'open', rank: 1.5 }], 'body.0.rank'],
      [
        'priorities',
        [
          { id: 'P1', title: 'a', status: 'open' },
          { id: 'P1', title: 'b', status: 'done' },
        ],
        'body.1.id',
      ],
      ['calendar', [{ id: 'c', title: 't', start: 'tomorrow', kind: 'meeting' }], 'body.0.start'],
      [
        'calendar',
        [{ id: 'c', title: 't', start: '2026-11-23T10:00:00Z', end: '2026-11-23T09:00:00Z', kind: 'meeting' }],
        'body.0.end',
      ],
      ['calendar', [{ id: 'c', title: 't', start: '2026-11-23T10:00:00Z' }], 'body.0.kind'],
      ['commitments', { owe: [] }, 'body.owed'],
      ['commitments', [], 'body'],
      ['commitments', { owe: [{ id: 'C1', text: 'x' }], owed: [] }, 'body.owe.0.counterparty'],
      ['commitments', { owe: [{ id: 'C1', text: 'x', counterparty: 'y', due: 'soon' }], owed: [] }, 'body.owe.0.due'],
      [
        'commitments',
        { owe: [{ id: 'C1', text: 'x', counterparty: 'y' }], owed: [{ id: 'C1', text: 'z', counterparty: 'w' }] },
        'body.owed.0.id',
      ],
      ['active_brief', { target: 'P7' }, 'body.summary'],
      ['active_brief', { target: 'P7', summary: 's', created_at: 'now' }, 'body.created_at'],
    ];
    for (const [section, body, path] of cases) {
      const error = await expectError(await put(runtime, `/state/${section}`, body), 400, 'invalid_input');
      const paths = (error.details as { path: string }[]).map((d) => d.path);
      expect(
        paths.some((p) => p === path || p.startsWith(`${path}.`)),
        `${section} ${JSON.stringify(body)} → ${paths.join(', ')}`,
      ).toBe(true);
    }
    const duplicate = await expectError(
      await put(runtime, '/state/priorities', [
        { id: 'P1', title: 'a', status: 'open' },
        { id: 'P1', title: 'b', status: 'open' },
      ]),
      400,
      'invalid_input',
    );
    expect(JSON.stringify(duplicate.details)).toContain('duplicate id P1');
    expect((await getState(runtime)).priorities).toEqual(PRIORITIES);
    expect(runtime.bus.log.lastSequenceNumber).toBe(since);
  });

  it('answers 404 for a section that does not exist, pointing system at its own route', async () => {
    const runtime = await startRuntime();
    const error = await expectError(await put(runtime, '/state/system', { status: 'IDLE' }), 404, 'not_found');
    expect(error.message).toContain('/api/v1/system/status (GET to read, POST to change)');
    await expectError(await put(runtime, '/state/bogus', []), 404, 'not_found');
    await expectError(await api(runtime, '/api/v1/state', { method: 'PUT', json: EMPTY }), 405, 'method_not_allowed');
  });
});

describe('POST /api/v1/commands', () => {
  it('approve <id> sets the priority approved, publishes the change, and is idempotent', async () => {
    const runtime = await startRuntime();
    await put(runtime, '/state/priorities', PRIORITIES);
    const since = runtime.bus.log.lastSequenceNumber;
    const res = await command(runtime, 'approve P7');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      action: 'approve',
      target: 'P7',
      changed: true,
      priority: { ...PRIORITIES[0], status: 'approved' },
    });
    const priorities = (await getState(runtime)).priorities as { id: string; status: string }[];
    expect(priorities.map((p) => [p.id, p.status])).toEqual([
      ['P7', 'approved'],
      ['P8', 'open'],
      ['P9', 'done'],
    ]);
    expect((await eventsSince(runtime, since, 'system.*')).map((e) => e.data)).toEqual([{ section: 'priorities' }]);

    const again = await json<{ changed: boolean }>(await command(runtime, '  Approve   P7 '));
    expect(again).toMatchObject({ action: 'approve', target: 'P7', changed: false });
    expect(runtime.bus.log.lastSequenceNumber).toBe(since + 1);
  });

  it('approve: 404 for an unknown target (ids keep their case, with a hint), 409 for a done one', async () => {
    const runtime = await startRuntime();
    await put(runtime, '/state/priorities', PRIORITIES);
    const since = runtime.bus.log.lastSequenceNumber;
    const unknown = await expectError(await command(runtime, 'approve P70'), 404, 'not_found');
    expect(unknown.details).toEqual({ target: 'P70' });
    const wrongCase = await expectError(await command(runtime, 'approve p7'), 404, 'not_found');
    expect(wrongCase.message).toContain('did you mean P7');
    expect(wrongCase.details).toEqual({ target: 'p7', similar: ['P7'] });
    // A calendar item is not a priority.
    await put(runtime, '/state/calendar', CALENDAR);
    await expectError(await command(runtime, 'approve standup'), 404, 'not_found');
    const done = await expectError(await command(runtime, 'approve P9'), 409, 'conflict');
    expect(done.message).toContain('already done');
    expect(runtime.bus.log.lastSequenceNumber).toBe(since + 1); // only the calendar PUT
    expect(((await getState(runtime)).priorities as { status: string }[]).map((p) => p.status)).toEqual([
      'open',
      'open',
      'done',
    ]);
  });

  it('brief <target> sets the active brief from a priority, a commitment or a calendar item; 404 otherwise', async () => {
    const runtime = await startRuntime();
    await put(runtime, '/state/priorities', PRIORITIES);
    await put(runtime, '/state/calendar', CALENDAR);
    await put(runtime, '/state/commitments', COMMITMENTS);
    const since = runtime.bus.log.lastSequenceNumber;

    const res = await command(runtime, 'brief P7');
    expect(res.status).toBe(200);
    const body = await json<{
      action: string;
      target: string;
      active_brief: { target: string; summary: string; created_at: string };
    }>(res);
    expect(body).toEqual({
      action: 'brief',
      target: 'P7',
      active_brief: {
        target: 'P7',
        summary: 'Priority P7: Ship the release (open, owner ana)',
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    });
    expect((await getState(runtime)).active_brief).toEqual(body.active_brief);

    expect((await json<typeof body>(await command(runtime, 'brief C1'))).active_brief.summary).toBe(
      'Owed to bob: Review the PR (due 2026-11-24)',
    );
    expect((await json<typeof body>(await command(runtime, 'BRIEF standup'))).active_brief).toMatchObject({
      target: 'standup',
      summary: expect.stringContaining('Daily standup'),
    });
    await expectError(await command(runtime, 'brief nothing'), 404, 'not_found');
    await expectError(await command(runtime, 'brief Standup'), 404, 'not_found');
    expect((await getState(runtime)).active_brief).toMatchObject({ target: 'standup' });
    expect((await eventsSince(runtime, since, 'system.*')).map((e) => e.data.section)).toEqual([
      'active_brief',
      'active_brief',
      'active_brief',
    ]);
  });

  it('help lists the commands; refresh starts a collection', async () => {
    const runtime = await startRuntime();
    const help = await json<{ action: string; commands: { name: string; usage: string; summary: string }[] }>(
      await command(runtime, 'help'),
    );
    expect(help.action).toBe('help');
    expect(help.commands.map((c) => c.usage)).toEqual(['approve <id>', 'brief <target>', 'refresh', 'help']);
    expect(help.commands.every((c) => c.summary.length > 0)).toBe(true);

    const res = await command(runtime, 'refresh');
    expect(res.status).toBe(200);
    const refresh = await json<{ action: string; collection: { id: string; status: string } }>(res);
    expect(refresh).toMatchObject({ action: 'refresh', collection: { id: expect.any(String), status: 'running' } });
    const finished = await runtime.state.collections.settled(refresh.collection.id);
    expect(finished?.status).toBe('succeeded');
  });

  it('answers 400 unknown_command with the known commands for anything else, and 400 invalid_input for a bad body', async () => {
    const runtime = await startRuntime();
    await put(runtime, '/state/priorities', PRIORITIES);
    const since = runtime.bus.log.lastSequenceNumber;
    for (const [text, reason] of [
      ['deploy P7', 'unknown_command'],
      ['', 'empty'],
      ['approve', 'missing_argument'],
      ['approve P7 now', 'unexpected_argument'],
      ['refresh please', 'unexpected_argument'],
      ['approve 7', 'invalid_target'],
    ]) {
      const error = await expectError(await command(runtime, text!), 400, 'unknown_command');
      expect(error.details, text).toMatchObject({
        reason,
        known: ['approve', 'brief', 'refresh', 'help'],
        usage: ['approve <id>', 'brief <target>', 'refresh', 'help'],
      });
    }
    for (const body of [
      {},
      { command: 7 },
      { command: 'help', extra: true },
      { cmd: 'help' },
      { command: 'x'.repeat(1025) },
    ]) {
      await expectError(await post(runtime, '/commands', body), 400, 'invalid_input');
    }
    expect(runtime.bus.log.lastSequenceNumber).toBe(since);
    expect(((await getState(runtime)).priorities as { status: string }[])[0]!.status).toBe('open');
  });
});

describe('read-only mode', () => {
  it('refuses every state write with 423 while the server does not hold the lock, and still serves reads', async () => {
    const runtime = await startRuntime();
    await put(runtime, '/state/priorities', PRIORITIES);
    expect(await runtime.session.handover()).toBe(true);
    for (const res of [
      await post(runtime, '/system/status', { status: 'PROCESSING' }),
      await put(runtime, '/state/priorities', []),
      await put(runtime, '/state/active_brief', null),
      await command(runtime, 'approve P7'),
      await post(runtime, '/collections', {}),
      await post(runtime, '/collections/whatever/cancel', {}),
    ]) {
      await expectError(res, 423, 'read_only');
    }
    expect((await getState(runtime)).priorities).toEqual(PRIORITIES);
    expect((await api(runtime, '/api/v1/system/status')).status).toBe(200);
  });
});

describe('the WebSocket view of the state', () => {
  it('sends the current document in the snapshot, and every change identically to every client', async () => {
    const runtime = await startRuntime();
    await put(runtime, '/state/priorities', PRIORITIES);
    const clients = await Promise.all([
      connectWs(runtime),
      connectWs(runtime, '?types=system.*'),
      connectWs(runtime, '?types=system.status_changed,system.state_changed'),
    ]);
    await Promise.all(clients.map((c) => c.waitFor((m) => m.some((x) => x.type === 'snapshot'))));
    const expected = await getState(runtime);
    for (const client of clients) expect(client.controls('snapshot')[0]!.state).toEqual(expected);

    await post(runtime, '/system/status', { status: 'PROCESSING', progress: 30 });
    await command(runtime, 'approve P7');
    await command(runtime, 'brief P8');
    await put(runtime, '/state/calendar', CALENDAR);
    await post(runtime, '/system/status', { progress: 60 });

    const changes = (client: (typeof clients)[number]) =>
      client.events().filter((e) => e.type === 'system.status_changed' || e.type === 'system.state_changed');
    await Promise.all(clients.map((c) => c.waitFor(() => changes(c).length === 5)));
    const first = JSON.stringify(changes(clients[0]!));
    for (const client of clients) expect(JSON.stringify(changes(client))).toBe(first);
    expect(changes(clients[0]!).map((e) => e.data)).toEqual([
      { status: 'PROCESSING', progress: 30, last_sync: null },
      { section: 'priorities' },
      { section: 'active_brief' },
      { section: 'calendar' },
      { status: 'PROCESSING', progress: 60, last_sync: null },
    ]);

    // A client connecting now starts from the changed document.
    const late = await connectWs(runtime);
    await late.waitFor((m) => m.some((x) => x.type === 'snapshot'));
    const snapshot = late.controls('snapshot')[0] as { state: Record<string, unknown>; sequence_number_at: number };
    expect(snapshot.state).toEqual(await getState(runtime));
    expect(snapshot.state).toMatchObject({
      system: { status: 'PROCESSING', progress: 60 },
      active_brief: { target: 'P8' },
      calendar: CALENDAR,
    });
    expect(snapshot.sequence_number_at).toBe(runtime.bus.log.lastSequenceNumber);
    for (const client of [...clients, late]) client.ws.close();
  });
});

describe('persistence', () => {
  it('keeps the whole state document across a restart on the same workspace', async () => {
    const workspace = tempWorkspace();
    const first = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    let before: unknown;
    try {
      await put(first, '/state/priorities', PRIORITIES);
      await put(first, '/state/calendar', CALENDAR);
      await put(first, '/state/commitments', COMMITMENTS);
      await command(first, 'approve P8');
      await command(first, 'brief C2');
      await post(first, '/system/status', { status: 'PROCESSING', progress: 70, message: 'indexing' });
      before = await getState(first);
    } finally {
      await first.stop();
    }
    const second = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      expect(await getState(second)).toEqual(before);
      expect(before).toMatchObject({
        system: { status: 'PROCESSING', progress: 70, message: 'indexing' },
        active_brief: { target: 'C2' },
      });
      const client = await connectWs(second);
      await client.waitFor((m) => m.some((x) => x.type === 'snapshot'));
      expect(client.controls('snapshot')[0]!.state).toEqual(before);
      client.ws.close();
    } finally {
      await second.stop();
    }
  });
});

describe('the API description', () => {
  it('lists the state, command and collection routes in /openapi.json', async () => {
    const runtime = await startRuntime();
    const doc = await json<{ paths: Record<string, Record<string, unknown>> }>(
      await fetch(`${runtime.url}/openapi.json`),
    );
    for (const [path, method] of [
      ['/api/v1/state', 'get'],
      ['/api/v1/state/priorities', 'put'],
      ['/api/v1/state/active_brief', 'put'],
      ['/api/v1/system/status', 'get'],
      ['/api/v1/system/status', 'post'],
      ['/api/v1/commands', 'post'],
      ['/api/v1/collections', 'post'],
      ['/api/v1/collections/{id}', 'get'],
      ['/api/v1/collections/{id}/cancel', 'post'],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
  });
});

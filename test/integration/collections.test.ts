import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { type Collector, type CollectorContext, PROGRESS_INTERVAL_MS } from '../../src-main/state/collections.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs } from '../helpers/ws-client.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type Envelope = {
  sequence_number: number;
  type: string;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
};
type CollectionBody = {
  id: string;
  status: string;
  progress: number;
  started_at: string;
  finished_at: string | null;
  collector: string | null;
  error?: string;
  results: Record<string, Record<string, unknown>>;
};
type SystemBody = { status: string; progress: number; last_sync: string | null; message?: string };

const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
const startCollection = (runtime: Runtime) => api(runtime, '/api/v1/collections', { method: 'POST' });
const cancelCollection = (runtime: Runtime, id: string) =>
  api(runtime, `/api/v1/collections/${id}/cancel`, { method: 'POST' });
const systemStatus = async (runtime: Runtime) => json<SystemBody>(await api(runtime, '/api/v1/system/status'));
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody['error']> {
  const body = await json<ErrorBody>(res);
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
  return body.error;
}

/** Starts a collection through the API and polls GET /collections/{id} until it has finished. */
async function collect(runtime: Runtime): Promise<CollectionBody> {
  const res = await startCollection(runtime);
  expect(res.status).toBe(202);
  const started = await json<CollectionBody>(res);
  return waitFor(runtime, started.id);
}

async function waitFor(runtime: Runtime, id: string): Promise<CollectionBody> {
  for (let i = 0; i < 500; i++) {
    const body = await json<CollectionBody>(await api(runtime, `/api/v1/collections/${id}`));
    if (body.status !== 'running') return body;
    await delay(20);
  }
  throw new Error(`collection ${id} did not finish`);
}

async function eventsSince(runtime: Runtime, since: number, types: string): Promise<Envelope[]> {
  return (
    await json<{ events: Envelope[] }>(await api(runtime, `/api/v1/events?since=${since}&types=${types}&limit=1000`))
  ).events;
}

/**
 * A collector that reports half its work, then waits until the test opens the gate —
 * deaf to cancellation unless `honorAbort`, like a collector stuck in a slow call.
 */
function gatedCollector(
  options: { honorAbort?: boolean } = {},
): Collector & { open: () => void; reached: Promise<void> } {
  let open!: () => void;
  let reach!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return {
    name: 'gated',
    open,
    reached,
    async collect(context: CollectorContext) {
      context.progress(0.5);
      reach();
      if (options.honorAbort) context.signal.addEventListener('abort', open);
      await gate;
      await context.commit([{ type: 'x.gated', data: { done: true } }], { ran: true });
      return { ok: true };
    },
  };
}

/** Only the given collectors, for runs whose timing the test controls. */
function useOnly(runtime: Runtime, ...collectors: Collector[]): void {
  for (const name of runtime.state.collections.collectorNames) runtime.state.collections.unregister(name);
  for (const collector of collectors) runtime.state.collections.register(collector);
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    [
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@t',
      '-c',
      'commit.gpgsign=false',
      '-c',
      'init.defaultBranch=main',
      ...args,
    ],
    {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' },
    },
  ).trim();
}

function write(dir: string, file: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), content);
}

describe('POST /api/v1/collections', () => {
  it('answers 202 with the running collection, then GET /collections/{id} reports it finished and the system IDLE with last_sync', async () => {
    const runtime = await startRuntime();
    const res = await startCollection(runtime);
    expect(res.status).toBe(202);
    const started = await json<CollectionBody>(res);
    expect(started).toMatchObject({ id: expect.any(String), status: 'running', progress: 0, finished_at: null });
    expect(res.headers.get('location')).toBe(`/api/v1/collections/${started.id}`);

    const done = await waitFor(runtime, started.id);
    expect(done).toMatchObject({
      id: started.id,
      status: 'succeeded',
      progress: 100,
      collector: null,
      finished_at: expect.any(String),
    });
    expect(done.results.git).toMatchObject({ repository: false });
    expect(done.results.files).toMatchObject({ source: 'walk' });
    expect(await systemStatus(runtime)).toEqual({ status: 'IDLE', progress: 100, last_sync: done.finished_at });

    const list = await json<{ collections: CollectionBody[] }>(await api(runtime, '/api/v1/collections'));
    expect(list.collections.map((c) => c.id)).toEqual([started.id]);
    await expectError(await api(runtime, '/api/v1/collections/nope'), 404, 'not_found');
    await expectError(await cancelCollection(runtime, 'nope'), 404, 'not_found');
    const finished = await expectError(await cancelCollection(runtime, started.id), 409, 'conflict');
    expect(finished.message).toContain('succeeded');
  });

  it('publishes COLLECTING 0, the progress at most once a second while it runs, then IDLE — the same to every client', async () => {
    const runtime = await startRuntime();
    const gated = gatedCollector();
    useOnly(runtime, gated);
    const clients = await Promise.all([
      connectWs(runtime, '?types=system.status_changed'),
      connectWs(runtime, '?types=system.*'),
      connectWs(runtime),
    ]);
    const rows = (client: (typeof clients)[number]) =>
      client.events().filter((e) => e.type === 'system.status_changed');
    const statuses = (client: (typeof clients)[number]) => rows(client).map((e) => e.data as SystemBody);

    const started = await json<CollectionBody>(await startCollection(runtime));
    await gated.reached;
    // The collection itself is at 50 at once; the log hears of it a second after the start.
    expect((await json<CollectionBody>(await api(runtime, `/api/v1/collections/${started.id}`))).progress).toBe(50);
    await Promise.all(clients.map((c) => c.waitFor(() => statuses(c).length === 2)));
    expect(statuses(clients[0]!).map((s) => `${s.status} ${s.progress}`)).toEqual(['COLLECTING 0', 'COLLECTING 50']);
    const [startRow, progressRow] = rows(clients[0]!) as unknown as { timestamp: string }[];
    expect(Date.parse(progressRow!.timestamp) - Date.parse(startRow!.timestamp)).toBeGreaterThanOrEqual(
      PROGRESS_INTERVAL_MS - 5,
    );
    expect(await systemStatus(runtime)).toMatchObject({ status: 'COLLECTING', progress: 50 });

    gated.open();
    await Promise.all(clients.map((c) => c.waitFor(() => statuses(c).some((s) => s.status === 'IDLE'))));
    const sequence = statuses(clients[0]!);
    expect(sequence.map((s) => `${s.status} ${s.progress}`)).toEqual(['COLLECTING 0', 'COLLECTING 50', 'IDLE 100']);
    const final = sequence.at(-1)!;
    expect(final.last_sync).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(final.message).toBeUndefined();
    expect(sequence.slice(0, -1).every((s) => s.last_sync === null)).toBe(true);

    const reference = JSON.stringify(rows(clients[0]!));
    for (const client of clients) expect(JSON.stringify(rows(client))).toBe(reference);
    for (const client of clients) client.ws.close();
  });

  it('runs one at a time: 409 for a second start (and for refresh) while one runs', async () => {
    const runtime = await startRuntime();
    const gated = gatedCollector();
    useOnly(runtime, gated);
    const first = await json<CollectionBody>(await startCollection(runtime));
    const second = await expectError(await startCollection(runtime), 409, 'conflict');
    expect(second.details).toMatchObject({ collection: { id: first.id, status: 'running' } });
    await expectError(
      await api(runtime, '/api/v1/commands', { method: 'POST', json: { command: 'refresh' } }),
      409,
      'conflict',
    );
    gated.open();
    expect((await waitFor(runtime, first.id)).status).toBe('succeeded');
    // Free again once it has finished.
    expect((await startCollection(runtime)).status).toBe(202);
  });

  it('cancels: the collection ends cancelled at once, nothing it had not committed is published, and a new one may start', async () => {
    const runtime = await startRuntime();
    const gated = gatedCollector();
    useOnly(runtime, gated);
    const since = runtime.bus.log.lastSequenceNumber;
    const started = await json<CollectionBody>(await startCollection(runtime));
    await gated.reached;

    const res = await cancelCollection(runtime, started.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: started.id,
      status: 'cancelled',
      error: 'cancelled on request',
      finished_at: expect.any(String),
    });
    expect(await systemStatus(runtime)).toEqual({
      status: 'IDLE',
      progress: 50,
      last_sync: null,
      message: 'collection cancelled',
    });
    expect((await json<CollectionBody>(await api(runtime, `/api/v1/collections/${started.id}`))).status).toBe(
      'cancelled',
    );
    await expectError(await cancelCollection(runtime, started.id), 409, 'conflict');

    // The cancelled collector wakes up and tries to report: refused, nothing published.
    gated.open();
    await delay(50);
    expect(await eventsSince(runtime, since, 'x.*')).toEqual([]);
    expect((await json<CollectionBody>(await api(runtime, `/api/v1/collections/${started.id}`))).status).toBe(
      'cancelled',
    );

    const next = await collect(runtime);
    expect(next.status).toBe('succeeded');
    expect((await eventsSince(runtime, since, 'x.*')).map((e) => e.data)).toEqual([{ done: true }]);
  });
});

describe('a failing collector', () => {
  it('ends the collection in ERROR with the reason, and the server keeps serving', async () => {
    const runtime = await startRuntime();
    let fail = true;
    runtime.state.collections.register({
      name: 'broken',
      async collect(context) {
        context.progress(0.5);
        if (fail) throw new Error('disk on fire');
        return { fine: true };
      },
    });
    const client = await connectWs(runtime, '?types=system.status_changed');
    const done = await collect(runtime);
    expect(done).toMatchObject({ status: 'failed', error: 'disk on fire', collector: 'broken' });
    expect(done.results).toHaveProperty('git');
    expect(done.results).toHaveProperty('files');

    const status = await systemStatus(runtime);
    expect(status).toMatchObject({
      status: 'ERROR',
      last_sync: null,
      message: 'broken collector failed: disk on fire',
    });
    await client.waitFor(() => client.events().some((e) => e.data.status === 'ERROR'));
    expect(client.events().at(-1)!.data).toEqual(status);

    // Still serving: health, events, state, and the next collection.
    expect((await fetch(`${runtime.url}/health`)).status).toBe(200);
    expect((await api(runtime, '/api/v1/events', { method: 'POST', json: { type: 'x.after', data: {} } })).status).toBe(
      201,
    );
    expect((await api(runtime, '/api/v1/state')).status).toBe(200);
    fail = false;
    const retry = await collect(runtime);
    expect(retry.status).toBe('succeeded');
    expect(await systemStatus(runtime)).toEqual({ status: 'IDLE', progress: 100, last_sync: retry.finished_at });
    client.ws.close();
  });

  it('fails, publishing nothing of it, when a collector produces an invalid event', async () => {
    const runtime = await startRuntime();
    useOnly(runtime, {
      name: 'sloppy',
      async collect(context) {
        await context.commit(
          [
            { type: 'file.created', data: { path: 'fine.txt' } },
            { type: 'git.commit_created', data: { sha: 'not-a-sha', message: 'x' } },
          ],
          {},
        );
        return {};
      },
    });
    const since = runtime.bus.log.lastSequenceNumber;
    const done = await collect(runtime);
    expect(done.status).toBe('failed');
    expect(done.error).toContain('invalid git.commit_created event: data.sha');
    expect(await eventsSince(runtime, since, 'file.*,git.*')).toEqual([]);
    expect((await systemStatus(runtime)).status).toBe('ERROR');
  });

  it('a sync error (a throw before any await) is caught the same way', async () => {
    const runtime = await startRuntime();
    useOnly(runtime, {
      name: 'eager',
      collect() {
        throw new Error('no such thing');
      },
    });
    expect(await collect(runtime)).toMatchObject({ status: 'failed', error: 'no such thing' });
    expect((await api(runtime, '/api/v1/state')).status).toBe(200);
  });
});

describe('the built-in collectors over a real git repository', () => {
  it('report each commit and each file change exactly once across runs and restarts', async () => {
    const workspace = tempWorkspace();
    git(workspace, 'init', '-q');
    write(workspace, '.gitignore', 'ignored.txt\nbuild/\n');
    write(workspace, 'a.txt', 'one');
    write(workspace, 'src/b.txt', 'bee');
    write(workspace, 'ignored.txt', 'secret');
    write(workspace, 'build/out.js', 'compiled');
    git(workspace, 'add', '.gitignore', 'a.txt');
    git(workspace, 'commit', '-q', '-m', 'first commit', '-m', 'with a body');
    const firstSha = git(workspace, 'rev-parse', 'HEAD');

    // Run 1: the commit, and every file git does not ignore (tracked or not).
    const first = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    let run1: Envelope[];
    try {
      const done = await collect(first);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      expect(done.results.git).toEqual({ repository: true, branch: 'main', head: firstSha, new_commits: 1 });
      expect(done.results.files).toEqual({
        source: 'git',
        files: 3,
        baseline: false,
        created: 3,
        modified: 0,
        deleted: 0,
      });
      run1 = await eventsSince(first, 0, 'git.*,file.*');
      expect(run1.filter((e) => e.type === 'git.commit_created').map((e) => e.data)).toEqual([
        {
          sha: firstSha,
          message: 'first commit\n\nwith a body',
          author: 't',
          branch: 'main',
          committed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/),
        },
      ]);
      expect(run1.filter((e) => e.type.startsWith('file.')).map((e) => `${e.type} ${e.data.path}`)).toEqual([
        'file.created .gitignore',
        'file.created a.txt',
        'file.created src/b.txt',
      ]);
      expect(run1.find((e) => e.type === 'git.commit_created')!.metadata).toEqual({
        source: 'collector',
        collector: 'git',
        collection_id: done.id,
      });
      expect(run1.find((e) => e.type === 'file.created')!.metadata).toMatchObject({ collector: 'files' });
    } finally {
      await first.stop();
    }

    // Between runs: a second commit, one file changed, one deleted, one added, an ignored one touched.
    write(workspace, 'a.txt', 'one and more');
    fs.rmSync(path.join(workspace, 'src/b.txt'));
    write(workspace, 'c.txt', 'sea');
    write(workspace, 'ignored.txt', 'still secret, but longer');
    write(workspace, 'build/more.js', 'compiled again');
    git(workspace, 'add', '-A');
    git(workspace, 'commit', '-q', '-m', 'second');
    const secondSha = git(workspace, 'rev-parse', 'HEAD');

    // Run 2, after a restart: only what is new since run 1.
    const second = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      const since = second.bus.log.lastSequenceNumber;
      const done = await collect(second);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      const run2 = await eventsSince(second, since, 'git.*,file.*');
      expect(
        run2.map((e) =>
          e.type === 'git.commit_created' ? `${e.type} ${e.data.sha} ${e.data.message}` : `${e.type} ${e.data.path}`,
        ),
      ).toEqual([
        `git.commit_created ${secondSha} second`,
        'file.created c.txt',
        'file.modified a.txt',
        'file.deleted src/b.txt',
      ]);

      // Exactly once across both runs.
      const all = await eventsSince(second, 0, 'git.*,file.*');
      const shas = all.filter((e) => e.type === 'git.commit_created').map((e) => e.data.sha);
      expect(shas).toEqual([firstSha, secondSha]);
      const fileEvents = all.filter((e) => e.type.startsWith('file.')).map((e) => `${e.type} ${e.data.path}`);
      expect(new Set(fileEvents).size).toBe(fileEvents.length);
      expect(fileEvents.some((e) => e.includes('ignored.txt') || e.includes('build/') || e.includes('.lookout'))).toBe(
        false,
      );

      // Run 3, nothing changed: nothing reported, and the log gains only the sync's start
      // and end (plus one progress row per second the sync took, none for a quick one).
      const quiet = second.bus.log.lastSequenceNumber;
      const third = await collect(second);
      expect(third.results.files).toMatchObject({ created: 0, modified: 0, deleted: 0 });
      expect(await eventsSince(second, quiet, 'git.*,file.*')).toEqual([]);
      const added = await eventsSince(second, quiet, '*');
      const took = Date.parse(third.finished_at!) - Date.parse(third.started_at);
      const progressRows = added.filter((e) => e.data.status === 'COLLECTING' && e.data.progress !== 0);
      expect(progressRows.length).toBeLessThanOrEqual(Math.floor(took / PROGRESS_INTERVAL_MS));
      expect(added.filter((e) => !progressRows.includes(e)).map((e) => `${e.type} ${e.data.status}`)).toEqual([
        'system.status_changed COLLECTING',
        'system.status_changed IDLE',
      ]);
    } finally {
      await second.stop();
    }
  });

  it('report commits made on a new branch, and nothing twice after switching back', async () => {
    const runtime = await startRuntime();
    const workspace = runtime.config.workspace;
    git(workspace, 'init', '-q');
    write(workspace, 'a.txt', '1');
    git(workspace, 'add', '-A');
    git(workspace, 'commit', '-q', '-m', 'base');
    await collect(runtime);
    git(workspace, 'checkout', '-q', '-b', 'feature');
    write(workspace, 'a.txt', '22');
    git(workspace, 'commit', '-q', '-am', 'feature work');
    const since = runtime.bus.log.lastSequenceNumber;
    await collect(runtime);
    git(workspace, 'checkout', '-q', 'main');
    await collect(runtime);
    git(workspace, 'checkout', '-q', 'feature');
    await collect(runtime);
    const commits = (await eventsSince(runtime, since, 'git.*')).map((e) => [e.data.message, e.data.branch]);
    expect(commits).toEqual([['feature work', 'feature']]);
  });

  it('walks a workspace that is not a repository, skipping node_modules, .git and .lookout', async () => {
    const runtime = await startRuntime();
    const workspace = runtime.config.workspace;
    write(workspace, 'notes.md', '# notes');
    write(workspace, 'sub/deep/file.txt', 'x');
    write(workspace, 'node_modules/dep/index.js', 'module.exports = 1');
    const since = runtime.bus.log.lastSequenceNumber;
    const done = await collect(runtime);
    expect(done.results.git).toMatchObject({ repository: false });
    expect(done.results.files).toMatchObject({ source: 'walk', files: 2, created: 2 });
    expect((await eventsSince(runtime, since, 'file.*')).map((e) => e.data.path)).toEqual([
      'notes.md',
      'sub/deep/file.txt',
    ]);
  });
});

describe('collections and the server lifecycle', () => {
  it('stop() cancels a running collection promptly, and the next start shows it was cancelled', async () => {
    const workspace = tempWorkspace();
    const first = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    const gated = gatedCollector({ honorAbort: true });
    useOnly(first, gated);
    await startCollection(first);
    await gated.reached;
    const began = Date.now();
    await first.stop();
    expect(Date.now() - began).toBeLessThan(1500);

    const second = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      expect(await systemStatus(second)).toEqual({
        status: 'IDLE',
        progress: 50,
        last_sync: null,
        message: 'collection cancelled: the server is stopping',
      });
    } finally {
      await second.stop();
    }
  });

  it('stop() does not wait long for a collector that ignores cancellation', async () => {
    const runtime = await createRuntime({ workspace: tempWorkspace(), port: 0, logLevel: 'warn' });
    const gated = gatedCollector();
    useOnly(runtime, gated);
    await startCollection(runtime);
    await gated.reached;
    const began = Date.now();
    await runtime.stop();
    expect(Date.now() - began).toBeLessThan(4000);
    gated.open();
  });

  it('a collection cut short by a crash is reported as interrupted on the next start', async () => {
    const workspace = tempWorkspace();
    const first = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    await first.stop();
    // What a process killed mid-collection leaves behind.
    const db = new DatabaseSync(path.join(workspace, '.lookout', 'lookout.db'));
    const now = new Date().toISOString();
    const upsert = db.prepare('INSERT OR REPLACE INTO state (section, json, updated_at) VALUES (?, ?, ?)');
    upsert.run('system', JSON.stringify({ status: 'COLLECTING', progress: 30, last_sync: null }), now);
    upsert.run('collection.running', JSON.stringify({ id: 'cdead', started_at: now }), now);
    db.close();

    const second = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      expect(await systemStatus(second)).toEqual({
        status: 'ERROR',
        progress: 30,
        last_sync: null,
        message: 'collection cdead was interrupted: the server stopped before it finished',
      });
      expect((await collect(second)).status).toBe('succeeded');
      expect((await systemStatus(second)).status).toBe('IDLE');
    } finally {
      await second.stop();
    }
  });
});

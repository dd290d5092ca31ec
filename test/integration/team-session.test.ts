import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import type { Runtime } from '../../src-main/runtime.ts';
import { processRunning } from '../../src-main/session/lock.ts';
import { runLookout, type Spawned, spawnLookout } from '../helpers/cli.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';
import { connectWs, type Received } from '../helpers/ws-client.ts';

/**
 * Team mode's session lock: the servers together are "the app". Every server takes
 * lock-bound writes while no `lookout run` holds the workspace; a `lookout run` that takes
 * it through any server makes every server read-only naming it, and when it ends or dies
 * (or its server dies) every server is writable again.
 */

interface ErrorBody {
  error: { code: string; message: string; details?: { lock?: { id: string | null; holder: string | null } } };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

/** A command that writes its pid and then runs until killed (or for `ms`). */
const command = (pidFile: string, ms?: number) => [
  process.execPath,
  '-e',
  `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); ${
    ms === undefined ? 'setInterval(() => {}, 1000);' : `setTimeout(() => {}, ${ms});`
  }`,
];

const writePriorities = (runtime: Runtime, title: string, headers: Record<string, string> = {}) =>
  api(runtime, '/api/v1/state/priorities', {
    method: 'PUT',
    headers,
    json: [{ id: 'P1', title, status: 'open' }],
  });

const readOnly = async (url: string, token: string): Promise<boolean> =>
  (
    (await (await fetch(`${url}/api/v1/session`, { headers: { 'x-session-token': token } })).json()) as {
      read_only: boolean;
    }
  ).read_only;

const lockEvents = (client: Received) => client.events().filter((e) => e.type === 'session.lock_changed');

/** Starts `lookout run` in A's workspace and waits until its command runs. */
async function startRun(workspace: string, pidFile: string, ms?: number): Promise<Spawned> {
  const run = spawnLookout(['run', '--workspace', workspace, '--', ...command(pidFile, ms)]);
  await until(() => fs.existsSync(pidFile), 'the command of lookout run to start');
  return run;
}

describePostgres('team mode: the session lock is between the team and a lookout run', () => {
  it(
    'takes writes on every server; a lookout run through A makes A and B read-only naming it, and both writable when it ends',
    { timeout: 60_000 },
    async () => {
      const database = await createTestDatabase();
      const a = await startRuntime({ databaseUrl: database.url });
      const b = await startRuntime({ databaseUrl: database.url });
      for (const runtime of [a, b]) {
        expect(runtime.session.state.read_only).toBe(false);
        expect(runtime.session.state.lock.pid).toBe(process.pid);
      }
      expect((await writePriorities(a, 'written on A')).status).toBe(200);
      expect((await writePriorities(b, 'written on B')).status).toBe(200);
      const onB = await connectWs(b, '?types=session.*');

      const pidFile = path.join(a.config.workspace, 'run.pid');
      const run = await startRun(a.config.workspace, pidFile, 2500);
      const runPid = run.child.pid!;
      // B hears it from A's event at once (and would at its next watch tick anyway).
      await until(async () => (await writePriorities(b, 'refused?')).status === 423, 'B to turn read-only');
      const refused = (await (await writePriorities(b, 'refused')).json()) as ErrorBody;
      expect(refused.error.code).toBe('read_only');
      expect(refused.error.message).toContain(`CLI pid ${runPid}`);
      expect(refused.error.details?.lock?.holder).toBe('cli');
      expect((await writePriorities(a, 'refused')).status).toBe(423);
      expect(b.session.state.lock).toEqual(a.session.state.lock);
      // The command's own lock id opens every server (what LOOKOUT_LOCK_ID is for).
      const lockId = refused.error.details!.lock!.id!;
      expect((await writePriorities(b, 'by the command through B', { 'x-lock-id': lockId })).status).toBe(200);
      expect((await writePriorities(a, 'nope', { 'x-lock-id': 'not-the-id' })).status).toBe(423);

      // The command ends: lookout run gives the workspace back, and both servers take writes again.
      expect(await run.exited).toBe(0);
      await until(async () => !(await readOnly(b.url, b.token)), 'B to be writable again', 10_000);
      expect((await writePriorities(b, 'after the run, on B')).status).toBe(200);
      expect((await writePriorities(a, 'after the run, on A')).status).toBe(200);
      // Every change of holder was announced once, by A (the stream is shared): taken, given back.
      await onB.waitFor(() => lockEvents(onB).some((e) => e.data.read_only === false));
      const seen = lockEvents(onB).map((e) => [e.data.read_only, (e.data.lock as { holder: string }).holder]);
      expect(seen.filter(([, holder]) => holder === 'cli')).toEqual([[true, 'cli']]);
      expect(seen.at(-1)).toEqual([false, 'server']);
    },
  );

  it(
    'frees every server within a bounded time when the lookout run is killed with SIGKILL, ending its orphaned command',
    { timeout: 60_000 },
    async () => {
      const database = await createTestDatabase();
      const a = await startRuntime({ databaseUrl: database.url });
      const b = await startRuntime({ databaseUrl: database.url });
      const pidFile = path.join(a.config.workspace, 'run.pid');
      const run = await startRun(a.config.workspace, pidFile);
      const commandPid = Number(fs.readFileSync(pidFile, 'utf8'));
      await until(() => b.session.state.lock.holder === 'cli', 'B to name the CLI');

      // A second lookout run through B waits for the first: B refuses to hand over, and says who holds it.
      const second = await runLookout(['run', '--workspace', b.config.workspace, '--', 'true']);
      expect(second.code).toBe(3);
      expect(second.stderr).toContain(`CLI pid ${run.child.pid}`);
      expect(b.session.state.lock.holder).toBe('cli'); // B kept its own lock: the run never got it

      run.child.kill('SIGKILL');
      const elapsed = await until(
        async () => !(await readOnly(a.url, a.token)) && !(await readOnly(b.url, b.token)),
        'both servers to be writable again',
        15_000,
      );
      // The contract's 5 s for a dead holder, plus a watch tick on the other server.
      expect(elapsed).toBeLessThan(7000);
      expect((await writePriorities(b, 'after the kill')).status).toBe(200);
      expect((await writePriorities(a, 'after the kill')).status).toBe(200);
      // A ended the command the dead lookout run left behind before taking the workspace back.
      expect(processRunning(commandPid)).toBe(false);
    },
  );

  it(
    'frees the team when the server a lookout run came through is killed with SIGKILL, and leaves no stale holder',
    { timeout: 90_000 },
    async () => {
      const database = await createTestDatabase();
      const workspace = tempWorkspace();
      const server = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn'], {
        env: { LOOKOUT_DATABASE_URL: database.url },
      });
      let run: Spawned | undefined;
      try {
        await server.waitFor(/listening on (http:\/\/\S+)/, 'stdout', 30_000);
        const b = await startRuntime({ databaseUrl: database.url });
        const watching = await connectWs(b, '?types=session.*');
        run = await startRun(workspace, path.join(workspace, 'run.pid'));
        await until(() => b.session.state.lock.holder === 'cli', 'B to name the CLI');
        expect((await writePriorities(b, 'refused')).status).toBe(423);

        server.child.kill('SIGKILL');
        expect(await server.exited).toBe(137);
        // PostgreSQL ended the dead server's lock with its connection; B clears its row
        // at its next look and says so to everyone.
        const elapsed = await until(() => !b.session.state.read_only, 'B to be writable again', 15_000);
        expect(elapsed).toBeLessThan(5000);
        await watching.waitFor(() =>
          lockEvents(watching).some((e) => e.data.read_only === false && e.data.reason === 'reclaimed'),
        );
        expect((await writePriorities(b, 'after the server died')).status).toBe(200);
        expect(await b.store.get('SELECT holder_id FROM session_holder')).toBeUndefined();
      } finally {
        server.child.kill('SIGKILL');
        run?.child.kill('SIGKILL');
        const pid = Number(fs.readFileSync(path.join(workspace, 'run.pid'), 'utf8'));
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    },
  );
  it(
    'a write B admitted before A handed the workspace over ends before the command is answered (the write fence)',
    { timeout: 60_000 },
    async () => {
      const database = await createTestDatabase();
      const a = await startRuntime({ databaseUrl: database.url });
      const b = await startRuntime({ databaseUrl: database.url });
      expect((await writePriorities(b, 'first')).status).toBe(200);

      // Hold B's next write inside its transaction: the test locks the row it must update.
      const blocker = new pg.Client({ connectionString: database.url });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query("SELECT section FROM state WHERE section = 'priorities' FOR UPDATE");
        const order: string[] = [];
        const write = writePriorities(b, 'in flight on B').then((response) => {
          order.push('write');
          return response;
        });
        await until(
          async () =>
            (await blocker.query(`SELECT 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`)).rows
              .length > 0,
          'B’s write to wait for the row',
        );

        // `lookout run` asks A for the workspace: every server turns read-only…
        const handover = api(a, '/api/v1/session/handover', { method: 'POST' }).then((response) => {
          order.push('handover');
          return response;
        });
        await until(() => b.session.state.read_only, 'B to hear of the handover');
        expect((await writePriorities(b, 'after the handover')).status).toBe(423);
        // …and the command is answered only once the write B let in before has ended.
        await blocker.query('ROLLBACK');
        expect((await write).status).toBe(200);
        expect((await handover).status).toBe(200);
        expect(order).toEqual(['write', 'handover']);
      } finally {
        await blocker.end();
      }
    },
  );
});

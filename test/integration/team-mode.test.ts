import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../src-main/runtime.ts';
import { runLookout, spawnLookout } from '../helpers/cli.ts';
import {
  createTestDatabase,
  describePostgres,
  describePrivatePostgres,
  startPrivatePostgres,
} from '../helpers/postgres.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';
import { connectWs, type Received, wrap } from '../helpers/ws-client.ts';
import { WebSocket } from 'ws';

/** Where to reach a server: an in-process runtime or a `lookout serve` child. */
interface Endpoint {
  url: string;
  token: string;
}

const endpoint = (runtime: Runtime): Endpoint => ({ url: runtime.url, token: runtime.token });

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function subscribe(server: Endpoint, query = ''): Promise<Received> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws${query}`, {
    headers: { 'x-session-token': server.token },
  });
  // A server killed under it resets the connection: that is the point of the test.
  ws.on('error', () => undefined);
  return wrap(ws);
}

/**
 * Publishes batches of x.race events on one server until `until()` says stop, and
 * records the numbers of every acknowledged (201) event. A 503 (the database is away)
 * is retried after its Retry-After, as a well-behaved publisher does; anything else fails.
 */
async function publishLoop(
  server: Endpoint,
  name: string,
  until: () => boolean,
  acked: number[],
  refusals: { status: number; retryAfter: string | null }[] = [],
): Promise<void> {
  let n = 0;
  while (!until()) {
    const size = 1 + (n % 4);
    const events = Array.from({ length: size }, (_, i) => ({ type: 'x.race', data: { by: name, n: n + i } }));
    let response: Response;
    try {
      response = await fetch(`${server.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-session-token': server.token },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(20_000),
      });
    } catch (error) {
      // The server itself is gone (killed): nothing was acknowledged by this request.
      if (until()) return;
      throw error;
    }
    if (response.status === 201) {
      const body = (await response.json()) as { events: { sequence_number: number }[] };
      acked.push(...body.events.map((e) => e.sequence_number));
      n += size;
    } else if (response.status === 503) {
      refusals.push({ status: 503, retryAfter: response.headers.get('retry-after') });
      await response.body?.cancel();
      await delay(100);
    } else {
      throw new Error(`publish on ${name}: ${response.status} ${await response.text()}`);
    }
  }
}

async function readOnlyOf(server: Endpoint): Promise<boolean> {
  const response = await fetch(`${server.url}/api/v1/session`, { headers: { 'x-session-token': server.token } });
  return ((await response.json()) as { read_only: boolean }).read_only;
}

/** The x.race numbers a client got, checked for order and duplicates on the way. */
function raceNumbers(client: Received): number[] {
  return client
    .events()
    .filter((e) => e.type === 'x.race')
    .map((e) => e.sequence_number);
}

async function allDelivered(clients: Received[], acked: number[], timeoutMs = 30_000): Promise<void> {
  const newest = Math.max(...acked);
  await Promise.all(
    clients.map((client) => client.waitFor(() => client.events().some((e) => e.sequence_number >= newest), timeoutMs)),
  );
}

/**
 * Every client got the same race, in sequence order, each event once, and it holds every
 * acknowledged event. `exact`: nothing else either. (When a server dies or the database
 * drops mid-request, an event can be stored without its publisher hearing so; it is
 * delivered like any other, but no publisher counted it.)
 */
function expectInOrderExactlyOnce(clients: Received[], acked: number[], exact = true): void {
  const expected = [...acked].sort((a, b) => a - b);
  expect(new Set(expected).size).toBe(expected.length); // no number was handed out twice
  const first = raceNumbers(clients[0]!);
  for (const client of clients) {
    const got = raceNumbers(client);
    expect(got).toEqual(first);
    if (exact) expect(got).toEqual(expected);
    else expect(got.filter((n) => expected.includes(n))).toEqual(expected);
    expect(client.controls('gap')).toEqual([]);
    // The whole stream (race or not) is strictly increasing: no event before an older one.
    const all = client.events().map((e) => e.sequence_number);
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(new Set(all).size).toBe(all.length);
  }
}

describe('lookout serve --database-url', () => {
  it('refuses a URL that is not PostgreSQL with exit code 2, never echoing its password', async () => {
    const result = await runLookout([
      'serve',
      '--workspace',
      tempWorkspace(),
      '--port',
      '0',
      '--database-url',
      'mysql://me:hunter2@db.example/lookout',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--database-url / LOOKOUT_DATABASE_URL');
    expect(result.stderr).toContain('expected a PostgreSQL URL');
    expect(result.stderr).toContain('me:***@db.example');
    expect(result.stderr + result.stdout).not.toContain('hunter2');
  });

  it('says which database it cannot reach and how to fix it, without the password, and leaves nothing behind', async () => {
    const workspace = tempWorkspace();
    const result = await runLookout(['serve', '--workspace', workspace, '--port', '0'], {
      env: { LOOKOUT_DATABASE_URL: 'postgres://me:hunter2@127.0.0.1:9/lookout' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /cannot reach PostgreSQL at postgres:\/\/me:\*\*\*@127\.0\.0\.1:9\/lookout: .*ECONNREFUSED/,
    );
    expect(result.stderr).toContain('LOOKOUT_DATABASE_URL');
    expect(result.stderr + result.stdout).not.toContain('hunter2');
    expect(fs.existsSync(path.join(workspace, '.lookout', 'server.json'))).toBe(false);
    expect(fs.readFileSync(path.join(workspace, '.lookout', 'lookout.log'), 'utf8')).not.toContain('hunter2');
  });
});

describePostgres('team mode: two servers on one PostgreSQL database', () => {
  it(
    'delivers every event published on either server to every subscriber of both, in order, exactly once, during a 5-second race',
    { timeout: 90_000 },
    async () => {
      const database = await createTestDatabase();
      const a = await startRuntime({ databaseUrl: database.url });
      const b = await startRuntime({ databaseUrl: database.url });
      const clients = await Promise.all([
        connectWs(a),
        connectWs(a, '?types=x.*'),
        connectWs(b),
        connectWs(b, '?types=x.race'),
      ]);
      const acked: number[] = [];
      const end = Date.now() + 5000;
      const until = () => Date.now() >= end;
      await Promise.all([
        publishLoop(endpoint(a), 'a1', until, acked),
        publishLoop(endpoint(a), 'a2', until, acked),
        publishLoop(endpoint(b), 'b1', until, acked),
        publishLoop(endpoint(b), 'b2', until, acked),
      ]);
      expect(acked.length).toBeGreaterThan(100);
      await allDelivered(clients, acked);
      expectInOrderExactlyOnce(clients, acked);

      // The history reads the same on both servers.
      const history = async (runtime: Runtime) => {
        const body = (await (await api(runtime, `/api/v1/events?types=x.race&limit=1000`)).json()) as {
          events: { sequence_number: number }[];
        };
        return body.events.map((e) => e.sequence_number);
      };
      expect(await history(b)).toEqual(await history(a));
      expect((await history(a)).slice(0, 10)).toEqual([...acked].sort((x, y) => x - y).slice(0, 10));
    },
  );

  it('lets every server take lock-bound writes, and shows each one’s state changes on the other', async () => {
    const database = await createTestDatabase();
    const a = await startRuntime({ databaseUrl: database.url });
    const b = await startRuntime({ databaseUrl: database.url });
    expect(a.session.state.read_only).toBe(false);
    expect(b.session.state.read_only).toBe(false);

    const put = (runtime: Runtime, title: string) =>
      api(runtime, '/api/v1/state/priorities', {
        method: 'PUT',
        json: [{ id: 'P1', title, status: 'open' }],
      });
    expect((await put(b, 'written on B')).status).toBe(200);
    // A learns of B's change from B's event and reads the state back from the database.
    await expect
      .poll(async () => ((await (await api(a, '/api/v1/state')).json()) as { priorities: unknown[] }).priorities)
      .toEqual([{ id: 'P1', title: 'written on B', status: 'open' }]);
    expect((await put(a, 'written on A')).status).toBe(200);
    await expect
      .poll(async () => ((await (await api(b, '/api/v1/state')).json()) as { priorities: unknown[] }).priorities)
      .toEqual([{ id: 'P1', title: 'written on A', status: 'open' }]);

    // A stops: B goes on taking writes, and nothing of A's is left holding anything.
    await a.stop();
    expect((await put(b, 'after A stopped')).status).toBe(200);
    expect(b.session.state.read_only).toBe(false);
    expect(await b.store.get('SELECT holder_id FROM session_holder')).toBeUndefined();
  });

  it(
    'keeps serving and loses no acknowledged event when the other server is killed with SIGKILL',
    { timeout: 90_000 },
    async () => {
      const database = await createTestDatabase();
      const spawnServer = async () => {
        const workspace = tempWorkspace();
        const child = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn'], {
          env: { LOOKOUT_DATABASE_URL: database.url },
        });
        await child.waitFor(/listening on (http:\/\/\S+)/, 'stdout', 30_000);
        const info = JSON.parse(fs.readFileSync(path.join(workspace, '.lookout', 'server.json'), 'utf8')) as Endpoint;
        return { child, server: { url: info.url, token: info.token } };
      };
      const a = await spawnServer();
      const b = await spawnServer();
      const onB = await subscribe(b.server);
      const onA = await subscribe(a.server);
      const ackedA: number[] = [];
      const ackedB: number[] = [];
      let killed = false;
      let killedAt = 0;
      const race = Promise.all([
        publishLoop(a.server, 'a', () => killed, ackedA),
        publishLoop(b.server, 'b', () => killed && ackedB.length > 0 && Date.now() > killedAt + 1000, ackedB),
      ]);
      await delay(1500);
      a.child.child.kill('SIGKILL');
      killed = true;
      killedAt = Date.now();
      expect(await a.child.exited).toBe(137);
      await race;
      expect(ackedA.length).toBeGreaterThan(0);

      // Every event acknowledged by either server, A's last ones included, reaches B's
      // subscriber once and in order.
      const acked = [...ackedA, ...ackedB];
      await allDelivered([onB], acked);
      expectInOrderExactlyOnce([onB], acked, false);
      // What A's own subscriber got before it died is a prefix of the same history.
      const gotOnA = raceNumbers(onA);
      expect(gotOnA).toEqual([...acked].sort((x, y) => x - y).slice(0, gotOnA.length));

      // B never depended on A for its writes: it takes them before and after A died.
      expect(await readOnlyOf(b.server)).toBe(false);
      const after = await fetch(`${b.server.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-session-token': b.server.token },
        body: JSON.stringify({ type: 'x.after', data: {} }),
      });
      expect(after.status).toBe(201);
      const write = await fetch(`${b.server.url}/api/v1/state/active_brief`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-session-token': b.server.token },
        body: 'null',
      });
      expect(write.status).toBe(200);
      b.child.child.kill('SIGTERM');
      expect(await b.child.exited).toBe(0);
    },
  );
});

describePrivatePostgres('team mode: the database goes away and comes back', () => {
  it(
    'answers publishers 503 while it is down, says why on /health, and loses or repeats nothing across the restart',
    { timeout: 90_000 },
    async () => {
      const postgres = await startPrivatePostgres();
      const database = await postgres.createDatabase();
      const a = await startRuntime({ databaseUrl: database.url });
      const b = await startRuntime({ databaseUrl: database.url });
      const clients = await Promise.all([connectWs(a), connectWs(b), connectWs(b, '?types=x.race')]);
      const acked: number[] = [];
      const refusals: { status: number; retryAfter: string | null }[] = [];
      let stop = false;
      const race = Promise.all([
        publishLoop(endpoint(a), 'a', () => stop, acked, refusals),
        publishLoop(endpoint(b), 'b', () => stop, acked, refusals),
      ]);
      await delay(1000);
      await postgres.stop('immediate');
      // Publishers are answered (503 + Retry-After), never left hanging; /health says why.
      await expect.poll(() => refusals.length, { timeout: 15_000 }).toBeGreaterThan(0);
      expect(refusals[0]).toEqual({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
      await expect
        .poll(
          async () => ((await (await fetch(`${b.url}/health`)).json()) as { store: { status: string } }).store.status,
          {
            timeout: 15_000,
          },
        )
        .toBe('error');
      const health = (await (await fetch(`${b.url}/health`)).json()) as {
        status: string;
        store: { error?: string };
      };
      expect(health.status).toBe('degraded');
      expect(health.store.error).toMatch(/PostgreSQL|LISTEN|connection/i);
      expect(health.store.error).not.toContain('lookout-test'); // never the password
      const ackedWhileDown = acked.length;

      await postgres.start();
      // Publishing resumes by itself once the database is back.
      await expect.poll(() => acked.length, { timeout: 20_000 }).toBeGreaterThan(ackedWhileDown + 20);
      stop = true;
      await race;
      await allDelivered(clients, acked);
      expectInOrderExactlyOnce(clients, acked, false);
      await expect
        .poll(async () => ((await (await fetch(`${a.url}/health`)).json()) as { status: string }).status, {
          timeout: 15_000,
        })
        .toBe('ok');
    },
  );
});

import { expect, it } from 'vitest';
import { spawnLookout } from '../helpers/cli.ts';
import { describePrivatePostgres, startPrivatePostgres } from '../helpers/postgres.ts';
import { api, startRuntime } from '../helpers/runtime.ts';

// Team mode's promise to publishers: while the database is away they get 503 with
// Retry-After, and `lookout emit` (the publisher most scripts use) keeps trying, so a
// database restart loses nothing. A real PostgreSQL, stopped and started under a real server.

async function notes(runtime: Awaited<ReturnType<typeof startRuntime>>): Promise<unknown[]> {
  const res = await api(runtime, '/api/v1/events?types=x.note&limit=100');
  const { events } = (await res.json()) as { events: { data: { n: number } }[] };
  return events.map((e) => e.data.n);
}

describePrivatePostgres('lookout emit while the database is away', () => {
  it('waits out a database restart and publishes the event once', async () => {
    const postgres = await startPrivatePostgres();
    const db = await postgres.createDatabase();
    const runtime = await startRuntime({ databaseUrl: db.url });
    const workspace = runtime.config.workspace;
    const first = spawnLookout(['emit', 'x.note', '--data', '{"n":1}', '--workspace', workspace]);
    expect(await first.exited, first.stderr()).toBe(0);

    await postgres.stop('immediate');
    const second = spawnLookout(['emit', 'x.note', '--data', '{"n":2}', '--workspace', workspace]);
    await second.waitFor(/database is unreachable.*retrying for up to 30 s/, 'stderr', 15_000);
    await postgres.start();
    expect(await second.exited, second.stderr()).toBe(0);
    expect(second.stdout()).toMatch(/^\d+\n$/);
    // Said once, however many times it waited.
    expect(second.stderr().match(/retrying/g)).toHaveLength(1);
    expect(await notes(runtime)).toEqual([1, 2]);
  });

  it('fails at once with --retry-for 0, saying nothing was stored; bad values are refused', async () => {
    const postgres = await startPrivatePostgres();
    const db = await postgres.createDatabase();
    const runtime = await startRuntime({ databaseUrl: db.url });
    const workspace = runtime.config.workspace;

    const bad = spawnLookout(['emit', 'x.note', '--retry-for', 'soon', '--workspace', workspace]);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/--retry-for must be a number of seconds from 0 to 3600 \(got soon\)/);

    await postgres.stop('immediate');
    const emit = spawnLookout(['emit', 'x.note', '--data', '{"n":3}', '--retry-for', '0', '--workspace', workspace]);
    expect(await emit.exited).toBe(1);
    expect(emit.stderr()).toMatch(/the server refused: the database is unreachable .*nothing was acknowledged/);
    expect(emit.stderr()).not.toMatch(/retrying/);

    await postgres.start();
    expect(await notes(runtime)).toEqual([]);
  });
});

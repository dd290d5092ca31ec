import pg from 'pg';
import { expect, it } from 'vitest';
import {
  createTestDatabase,
  describePostgres,
  describePrivatePostgres,
  startPrivatePostgres,
} from '../helpers/postgres.ts';

// The harness every PostgreSQL test stands on: real servers, real connections.

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

describePostgres('PostgreSQL test databases', () => {
  it('gives each caller its own empty database, and drop removes it', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    expect(a.name).not.toBe(b.name);
    await query(a.url, 'CREATE TABLE t (v int)');
    await query(a.url, 'INSERT INTO t VALUES (1)');
    await expect(query(b.url, 'SELECT * FROM t')).rejects.toThrow(/relation "t" does not exist/);

    // A connection left open (as a killed server would leave it) does not block the drop.
    const lingering = new pg.Client({ connectionString: a.url });
    lingering.on('error', () => {});
    await lingering.connect();
    await a.drop();
    const left = await query(b.url, 'SELECT 1 FROM pg_database WHERE datname = $1', [a.name]);
    expect(left).toEqual([]);
    await lingering.end().catch(() => {});
  });

  it('checks the password: the URL carries real credentials', async () => {
    const db = await createTestDatabase();
    const wrong = new URL(db.url);
    wrong.password = 'not-the-password';
    await expect(query(wrong.toString(), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  });
});

describePrivatePostgres('a private PostgreSQL server for outage tests', () => {
  it('stops (clients are refused) and starts again on the same port with committed data intact', async () => {
    const server = await startPrivatePostgres();
    const db = await server.createDatabase();
    await query(db.url, 'CREATE TABLE t (v int)');
    await query(db.url, 'INSERT INTO t VALUES (42)');

    await server.stop('immediate');
    await expect(query(db.url, 'SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await server.start();
    expect(await query(db.url, 'SELECT v FROM t')).toEqual([{ v: 42 }]);

    await server.restart('fast');
    expect(await query(db.url, 'SELECT v FROM t')).toEqual([{ v: 42 }]);
  });
});

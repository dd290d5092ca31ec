import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import {
  initPostgresServer,
  postgresUrl,
  privateServerUnavailable,
  removePostgresServer,
  removePostgresServerSync,
  startPostgresServer,
  stopPostgresServer,
  type PostgresServerInfo,
} from './postgres-server.ts';

/**
 * PostgreSQL for tests. Every test gets its own empty database, never a shared one:
 *
 * - with LOOKOUT_TEST_DATABASE_URL (CI: .ci/run starts one server for the whole run),
 *   databases are created on that server;
 * - without it, the first call in a test file starts a private throwaway server from the
 *   machine's binaries (so `npm test` works on a developer's machine) and stops it after
 *   the file;
 * - with neither, `postgresSkipReason` says why and PostgreSQL suites skip, saying so.
 *
 * Outage tests need a server they may stop: `startPrivatePostgres` always starts one of
 * their own (never the shared one, which other test files are using).
 */

const sharedUrl = process.env.LOOKOUT_TEST_DATABASE_URL || undefined;

/** Why PostgreSQL tests cannot run on this machine, or undefined when they can. */
export const postgresSkipReason: string | undefined = sharedUrl ? undefined : privateServerUnavailable();

/** Why outage tests (which need a private server) cannot run here, or undefined. */
export const privatePostgresSkipReason: string | undefined = privateServerUnavailable();

/**
 * `describe` for a PostgreSQL suite: skipped, with the reason in its name, where no
 * PostgreSQL is at hand.
 */
export function describePostgres(name: string, body: () => void): void {
  describe.skipIf(postgresSkipReason)(postgresSkipReason ? `${name} (skipped: ${postgresSkipReason})` : name, body);
}

/** The same for suites that stop and start their own server. */
export function describePrivatePostgres(name: string, body: () => void): void {
  describe.skipIf(privatePostgresSkipReason)(
    privatePostgresSkipReason ? `${name} (skipped: ${privatePostgresSkipReason})` : name,
    body,
  );
}

export interface TestDatabase {
  name: string;
  /** postgres://user:password@127.0.0.1:port/name */
  url: string;
  /** Drops it now (connections still open are ended). Also done after the file. */
  drop(): Promise<void>;
}

// Servers started by this test file and databases not yet dropped: cleaned after the
// file, and (servers) on process exit should the hooks never run.
const ownServers = new Set<string>();
const liveDatabases = new Map<string, TestDatabase & { onOwnServer: boolean }>();
let fileServer: Promise<PostgresServerInfo> | undefined;

process.once('exit', () => {
  for (const dir of ownServers) removePostgresServerSync(dir);
});

afterAll(async () => {
  // Databases on a server of our own go with it (which a test may have left stopped);
  // those on the shared server must be dropped, or the run leaks them.
  const shared = [...liveDatabases.values()].filter((db) => !db.onOwnServer);
  liveDatabases.clear();
  await Promise.all(shared.map((db) => db.drop()));
  const dirs = [...ownServers];
  ownServers.clear();
  fileServer = undefined;
  await Promise.all(dirs.map((dir) => removePostgresServer(dir)));
});

async function startOwnServer(): Promise<PostgresServerInfo> {
  const server = await initPostgresServer();
  ownServers.add(server.dir);
  return server;
}

/** The superuser URL of the server this file's databases live on. */
async function adminUrl(): Promise<string> {
  if (sharedUrl) return sharedUrl;
  if (postgresSkipReason) throw new Error(`PostgreSQL unavailable: ${postgresSkipReason}`);
  fileServer ??= startOwnServer();
  return (await fileServer).url;
}

/** Runs one statement as the superuser on a short-lived connection. */
async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

async function createDatabaseOn(serverUrl: string, onOwnServer: boolean): Promise<TestDatabase> {
  // Unique across test files running at once against the shared server.
  const name = `lookout_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  let dropped: Promise<void> | undefined;
  const db = {
    name,
    onOwnServer,
    url: withDatabase(serverUrl, name),
    drop() {
      liveDatabases.delete(name);
      // FORCE: a runtime a test killed may leave connections behind.
      dropped ??= adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      return dropped;
    },
  };
  liveDatabases.set(name, db);
  return db;
}

/** A fresh, empty database for this test (or file), dropped at the latest after the file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return createDatabaseOn(await adminUrl(), !sharedUrl);
}

export interface PrivatePostgres {
  port: number;
  /** The folder holding data/, the unix socket and server.log. */
  dir: string;
  /** Superuser URL of the `postgres` maintenance database. */
  url: string;
  /** A fresh database on this server (URLs stay valid across restarts: same port). */
  createDatabase(): Promise<TestDatabase>;
  /**
   * Stops the server: `fast` is a clean shutdown, `immediate` a crash as clients see it
   * (every connection drops at once; WAL replay on the next start).
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** The server's log, to show in an assertion message. */
  log(): string;
}

/** A server of this test's own, which it may stop and start; removed after the file. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  if (privatePostgresSkipReason) throw new Error(`cannot start a private PostgreSQL: ${privatePostgresSkipReason}`);
  const server = await startOwnServer();
  const { dir, port } = server;
  return {
    port,
    dir,
    url: postgresUrl(port, 'postgres'),
    createDatabase: () => createDatabaseOn(server.url, true),
    stop: (mode = 'fast') => stopPostgresServer(dir, mode),
    start: () => startPostgresServer(dir, port),
    async restart(mode = 'fast') {
      await stopPostgresServer(dir, mode);
      await startPostgresServer(dir, port);
    },
    log: () => readLog(dir),
  };
}

function readLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
  } catch {
    return '';
  }
}

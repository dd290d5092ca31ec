import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real, throwaway PostgreSQL server from the machine's own binaries (Debian's
 * `postgresql` package puts them in /usr/lib/postgresql/<major>/bin): initdb into a
 * temporary folder, a free 127.0.0.1 port, the unix socket in the same folder, password
 * authentication over TCP so URLs look like production ones. No vitest here: the CI
 * script (scripts/postgres-test-server.ts) and the test helper (postgres.ts) share it.
 *
 * initdb refuses to run as root, so as root every binary runs as the `postgres` user
 * (`runuser -u postgres --`) on a folder owned by it; as anyone else, as that user.
 */

/** The superuser of every test server. Test-only credentials on a 127.0.0.1 listener. */
export const TEST_SUPERUSER = 'lookout';
export const TEST_PASSWORD = 'lookout-test';

export interface PostgresServerInfo {
  /** The folder holding `data/`, the socket and `server.log`; removed by `remove`. */
  dir: string;
  port: number;
  /** The superuser URL of the `postgres` maintenance database. */
  url: string;
}

/** The folder with initdb and pg_ctl, or undefined. LOOKOUT_POSTGRES_BIN wins. */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.LOOKOUT_POSTGRES_BIN) candidates.push(process.env.LOOKOUT_POSTGRES_BIN);
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const majors = fs
      .readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((major) => path.join(debian, major, 'bin')));
  }
  // Homebrew, Arch, Fedora and friends put them on PATH.
  candidates.push(...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  return candidates.find((dir) => isExecutable(path.join(dir, 'initdb')) && isExecutable(path.join(dir, 'pg_ctl')));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const runningAsRoot = (): boolean => process.getuid?.() === 0;

/**
 * Why this machine cannot start a private server, or undefined when it can: the
 * binaries exist and, as root, there is a `postgres` user and `runuser` to become it.
 */
export function privateServerUnavailable(): string | undefined {
  if (!postgresBinDir())
    return 'no PostgreSQL binaries (initdb, pg_ctl): install the postgresql package or set LOOKOUT_TEST_DATABASE_URL';
  if (runningAsRoot()) {
    const user = spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    if (user.status !== 0) return 'running as root and there is no postgres user to run initdb as';
    const runuser = spawnSync('runuser', ['--help'], { stdio: 'ignore' });
    if (runuser.error) return 'running as root and runuser is missing (util-linux)';
  }
  return undefined;
}

function commandLine(binary: string, args: string[]): [string, string[]] {
  const bin = path.join(postgresBinDir()!, binary);
  return runningAsRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/**
 * Runs a PostgreSQL binary as the right user, rejecting with its output on failure.
 * Asynchronous: a test's own server runs in the same process and must keep serving
 * (and noticing the outage) while pg_ctl waits.
 */
function run(binary: string, args: string[], cwd: string): Promise<string> {
  const [command, argv] = commandLine(binary, args);
  return new Promise((resolve, reject) => {
    execFile(command, argv, { cwd, encoding: 'utf8', env: pgEnv() }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const reason = (stderr || stdout || error.message).trim();
      reject(new Error(`${binary} ${args.join(' ')} failed: ${reason}`, { cause: error }));
    });
  });
}

function pgEnv(): NodeJS.ProcessEnv {
  // PG* variables of the developer's shell must not redirect the tools to another server.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
  return { ...env, LC_ALL: 'C', LANG: 'C' };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function dataDir(dir: string): string {
  return path.join(dir, 'data');
}

/**
 * Creates the cluster (initdb) in a new temporary folder and starts it. Settings are for
 * tests: fsync off (a crash of the machine loses the throwaway cluster, never a crash of
 * PostgreSQL itself, which an immediate stop simulates faithfully), room for many pools.
 * `durable` keeps PostgreSQL's own defaults (fsync on), for benchmarks that must show
 * what a deployment gets.
 */
export async function initPostgresServer(options: { durable?: boolean } = {}): Promise<PostgresServerInfo> {
  const unavailable = privateServerUnavailable();
  if (unavailable) throw new Error(unavailable);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-pg-'));
  try {
    const pwfile = path.join(dir, 'pwfile');
    fs.writeFileSync(pwfile, `${TEST_PASSWORD}\n`, { mode: 0o600 });
    if (runningAsRoot()) execFileSync('chown', ['-R', 'postgres:', dir]);
    await run(
      'initdb',
      [
        '--pgdata',
        dataDir(dir),
        '--username',
        TEST_SUPERUSER,
        '--pwfile',
        pwfile,
        '--auth-host',
        'scram-sha-256',
        '--auth-local',
        'trust',
        '--encoding',
        'UTF8',
        '--locale',
        'C',
        '--no-sync',
      ],
      dir,
    );
    fs.rmSync(pwfile);
    const conf = [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'max_connections = 300',
      ...(options.durable ? [] : ['fsync = off', 'full_page_writes = off', 'shared_buffers = 32MB']),
      "log_min_messages = 'warning'",
    ];
    fs.appendFileSync(path.join(dataDir(dir), 'postgresql.conf'), `\n# lookout test server\n${conf.join('\n')}\n`);
    // A port picked free can be taken by someone else before postgres binds it: pick again.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        await startPostgresServer(dir, port);
        return { dir, port, url: postgresUrl(port, 'postgres') };
      } catch (error) {
        const log = serverLog(dir);
        if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
        throw error;
      }
    }
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export function postgresUrl(port: number, database: string): string {
  return `postgres://${TEST_SUPERUSER}:${TEST_PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

function serverLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
  } catch {
    return '';
  }
}

/** Starts (again) the cluster in `dir` on `port`, waiting until it accepts connections. */
export async function startPostgresServer(dir: string, port: number): Promise<void> {
  await run(
    'pg_ctl',
    ['start', '--pgdata', dataDir(dir), '--log', path.join(dir, 'server.log'), '--wait', '-o', `-p ${port}`],
    dir,
  );
}

/**
 * Stops the cluster. `fast` ends sessions and checkpoints (a clean shutdown);
 * `immediate` is a crash as far as the clients see: every connection drops at once and
 * the next start replays the WAL.
 */
export async function stopPostgresServer(dir: string, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  if (!fs.existsSync(path.join(dataDir(dir), 'postmaster.pid'))) return;
  await run('pg_ctl', ['stop', '--pgdata', dataDir(dir), '--mode', mode, '--wait'], dir);
}

/** Stops the cluster if it runs and deletes its folder. */
export async function removePostgresServer(dir: string): Promise<void> {
  try {
    await stopPostgresServer(dir, 'immediate');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same, synchronously, for a process `exit` handler: a test process that ends
 * without its afterAll hooks (a crash, a timeout) must not leave a postmaster behind.
 */
export function removePostgresServerSync(dir: string): void {
  if (fs.existsSync(path.join(dataDir(dir), 'postmaster.pid'))) {
    const [command, argv] = commandLine('pg_ctl', ['stop', '--pgdata', dataDir(dir), '--mode', 'immediate', '--wait']);
    spawnSync(command, argv, { cwd: dir, stdio: 'ignore', env: pgEnv() });
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

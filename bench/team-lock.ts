/**
 * Team mode's workspace lock and state writes, measured with real processes: two
 * `lookout serve` on one PostgreSQL database (a throwaway server from the machine's
 * binaries unless --database-url names one), and a real `lookout run` through server A.
 *
 *   take          `lookout run` spawned → server B answers read-only
 *   release       the command ends → server B writable again
 *   cli_killed    `lookout run` killed with SIGKILL → A and B writable again
 *   server_killed server A killed with SIGKILL while its `lookout run` holds → B writable
 *   state_put     PUT /api/v1/state/priorities latency: SQLite, one PostgreSQL server,
 *                 and two servers written alternately (the team state lock and CAS)
 *
 * Prints JSON, then a table. Usage: node bench/team-lock.ts [--rounds 5] [--writes 200]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { initPostgresServer, removePostgresServerSync } from '../test/helpers/postgres-server.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    writes: { type: 'string', default: '200' },
    'database-url': { type: 'string' },
  },
});
const ROUNDS = Math.max(1, Number(values.rounds) || 5);
const WRITES = Math.max(10, Number(values.writes) || 200);

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/lookout.js');
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let postgresDir: string | undefined;
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  if (postgresDir) removePostgresServerSync(postgresDir);
});
process.on('SIGINT', () => process.exit(130));

interface Server {
  child: ChildProcess;
  url: string;
  token: string;
  workspace: string;
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function startServer(databaseUrl?: string): Promise<Server> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-team-'));
  tempDirs.add(workspace);
  const args = [bin, 'serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn'];
  if (databaseUrl) args.push('--database-url', databaseUrl);
  const child = track(spawn(process.execPath, args, { cwd: root, stdio: 'ignore' }));
  const info = path.join(workspace, '.lookout', 'server.json');
  await until(() => fs.existsSync(info), 30_000, 'server.json');
  const { url, token } = JSON.parse(fs.readFileSync(info, 'utf8')) as { url: string; token: string };
  await until(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, 30_000, '/health');
  return { child, url, token, workspace };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Milliseconds from now until check() holds. */
async function elapsed(check: () => Promise<boolean>, what: string): Promise<number> {
  const started = performance.now();
  await until(check, 30_000, what);
  return performance.now() - started;
}

const readOnly = async (server: Server): Promise<boolean> =>
  (
    (await (await fetch(`${server.url}/api/v1/session`, { headers: { 'x-session-token': server.token } })).json()) as {
      read_only: boolean;
    }
  ).read_only;

function run(server: Server, script: string): { child: ChildProcess; exited: Promise<number | null> } {
  const child = track(
    spawn(process.execPath, [bin, 'run', '--workspace', server.workspace, '--', process.execPath, '-e', script], {
      cwd: root,
      stdio: 'ignore',
      detached: false,
    }),
  );
  return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function put(server: Server, i: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${server.url}/api/v1/state/priorities`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'x-session-token': server.token },
    body: JSON.stringify([{ id: 'P1', title: `write ${i}`, status: 'open' }]),
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`PUT answered ${response.status}`);
  return performance.now() - started;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (n: number) => Math.round(n * 10) / 10;
  return { n: sorted.length, p50_ms: round(at(0.5)), p95_ms: round(at(0.95)), max_ms: round(sorted.at(-1)!) };
}

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

let adminUrl = values['database-url'];
if (!adminUrl) {
  const server = await initPostgresServer({ durable: true });
  postgresDir = server.dir;
  adminUrl = server.url;
}
const suffix = `${process.pid}_${Date.now()}`;
const results: Record<string, ReturnType<typeof summary>> = {};
const take: number[] = [];
const release: number[] = [];
const cliKilled: number[] = [];
const serverKilled: number[] = [];

{
  const database = await createDatabase(adminUrl, `lookout_bench_lock_${suffix}`);
  const a = await startServer(database);
  const b = await startServer(database);
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    const short = run(a, 'setTimeout(() => {}, 300)');
    await until(() => readOnly(b), 30_000, 'B read-only');
    take.push(performance.now() - started);
    await short.exited;
    release.push(await elapsed(async () => !(await readOnly(b)), 'B writable after the run'));

    const long = run(a, 'setInterval(() => {}, 1000)');
    await until(() => readOnly(b), 30_000, 'B read-only');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the command is running
    long.child.kill('SIGKILL');
    cliKilled.push(
      await elapsed(async () => !(await readOnly(a)) && !(await readOnly(b)), 'both writable after the kill'),
    );
  }
  await Promise.all([stop(a.child), stop(b.child)]);

  for (let i = 0; i < ROUNDS; i++) {
    const name = `lookout_bench_kill_${suffix}_${i}`;
    const url = await createDatabase(adminUrl, name);
    const victim = await startServer(url);
    const survivor = await startServer(url);
    const holder = run(victim, 'setTimeout(() => {}, 60000)');
    await until(() => readOnly(survivor), 30_000, 'the survivor read-only');
    victim.child.kill('SIGKILL');
    serverKilled.push(await elapsed(async () => !(await readOnly(survivor)), 'the survivor writable'));
    await stop(holder.child, 'SIGKILL');
    await stop(survivor.child);
  }
}
results.take = summary(take);
results.release = summary(release);
results.cli_killed = summary(cliKilled);
results.server_killed = summary(serverKilled);

{
  const sqlite = await startServer();
  const samples: number[] = [];
  for (let i = 0; i < WRITES; i++) samples.push(await put(sqlite, i));
  results.state_put_sqlite = summary(samples);
  await stop(sqlite.child);

  const one = await startServer(await createDatabase(adminUrl, `lookout_bench_state1_${suffix}`));
  samples.length = 0;
  for (let i = 0; i < WRITES; i++) samples.push(await put(one, i));
  results.state_put_postgres = summary(samples);
  await stop(one.child);

  const shared = await createDatabase(adminUrl, `lookout_bench_state2_${suffix}`);
  const a = await startServer(shared);
  const b = await startServer(shared);
  samples.length = 0;
  for (let i = 0; i < WRITES; i++) samples.push(await put(i % 2 === 0 ? a : b, i));
  results.state_put_postgres_two_servers_alternating = summary(samples);
  // Both at once: each server's writes wait for the other's (the team state lock).
  samples.length = 0;
  await Promise.all(
    [a, b].map(async (server, k) => {
      for (let i = 0; i < WRITES / 2; i++) samples.push(await put(server, 2 * i + k));
    }),
  );
  results.state_put_postgres_two_servers_concurrent = summary(samples);
  await Promise.all([stop(a.child), stop(b.child)]);
}

console.log(JSON.stringify({ rounds: ROUNDS, writes: WRITES, load: os.loadavg(), results }, null, 2));
console.log('\n| measure | n | p50 ms | p95 ms | max ms |\n| --- | --- | --- | --- | --- |');
for (const [name, s] of Object.entries(results))
  console.log(`| ${name} | ${s.n} | ${s.p50_ms} | ${s.p95_ms} | ${s.max_ms} |`);
process.exit(0);

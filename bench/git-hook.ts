/**
 * bench/git-hook: what `lookout hooks install git` adds to a commit. The same empty
 * commit, timed in a repository without hooks and in one with Lookout's hooks installed
 * and a real `lookout serve` running (so the hook does publish), alternating to share the
 * machine's load; medians and p90 of the wall time of `git commit`. Each hooked commit's
 * event is awaited before the next timing, so the background publisher of one commit
 * never slows the next measurement (every commit is published: the bench checks).
 *
 *   node bench/git-hook.ts [--commits 30]
 *
 * Also reported: the time of the publisher itself when run in the foreground (what the
 * hook would cost if it waited; it does not: it runs in the background).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { commits: { type: 'string', default: '30' } } });
const COMMITS = Number(values.commits);
if (!Number.isInteger(COMMITS) || COMMITS < 3) {
  console.error('bench/git-hook: --commits must be an integer of at least 3');
  process.exit(1);
}

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/lookout.js');
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-git-'));
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: 'ignore' });

function repo(name: string): string {
  const dir = path.join(temp, name);
  fs.mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'commit', '-q', '--allow-empty', '-m', 'root');
  return dir;
}

const plain = repo('plain');
const hooked = repo('hooked');
const server = spawn(process.execPath, [bin, 'serve', '--workspace', hooked, '--port', '0', '--log-level', 'warn'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.on('exit', () => {
  server.kill('SIGKILL');
  fs.rmSync(temp, { recursive: true, force: true });
});
await new Promise<void>((resolve, reject) => {
  let out = '';
  server.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (/listening on/.test(out)) resolve();
  });
  server.once('exit', (code) => reject(new Error(`lookout serve exited (${code})`)));
});
execFileSync(process.execPath, [bin, 'hooks', 'install', 'git', '--workspace', hooked], { stdio: 'ignore' });

function timeCommit(dir: string, i: number): number {
  const started = performance.now();
  git(dir, 'commit', '-q', '--allow-empty', '-m', `commit ${i}`);
  return performance.now() - started;
}

const info = JSON.parse(fs.readFileSync(path.join(hooked, '.lookout', 'server.json'), 'utf8')) as {
  url: string;
  token: string;
};
/** Waits until the background publisher has delivered commit i, so it never competes with the next timing. */
async function published(count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`${info.url}/api/v1/events?types=git.commit_created&limit=1000`, {
      headers: { 'x-session-token': info.token },
    });
    const page = (await response.json()) as { events: unknown[] };
    if (page.events.length >= count) return;
    if (Date.now() > deadline) throw new Error(`the hook published ${page.events.length} of ${count} commits`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const times = { plain: [] as number[], hooked: [] as number[] };
for (let i = 0; i < COMMITS; i++) {
  times.plain.push(timeCommit(plain, i));
  times.hooked.push(timeCommit(hooked, i));
  await published(i + 1);
}

const foreground: number[] = [];
for (let i = 0; i < 5; i++) {
  const started = performance.now();
  execFileSync(process.execPath, [bin, 'hooks', 'emit', 'git', 'post-commit'], { cwd: hooked, stdio: 'ignore' });
  foreground.push(performance.now() - started);
}

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))]!;
const round = (n: number) => Math.round(n * 10) / 10;
const row = (name: string, values: number[]) => ({
  case: name,
  median_ms: round(quantile(values, 0.5)),
  p90_ms: round(quantile(values, 0.9)),
});
const rows = [row('git commit, no hooks', times.plain), row('git commit, Lookout hooks', times.hooked)];
const report = {
  bench: 'git-hook',
  commits: COMMITS,
  cpus: os.cpus().length,
  load_average: os.loadavg().map(round),
  results: rows,
  added_median_ms: round(rows[1]!.median_ms - rows[0]!.median_ms),
  publisher_in_foreground_median_ms: round(quantile(foreground, 0.5)),
};
console.log(JSON.stringify(report, null, 2));
console.table(rows);
server.kill('SIGTERM');

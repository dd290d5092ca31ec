/**
 * A real `lookout serve` in a child process, for benches: started in a fresh temporary
 * workspace on port 0, its token read from server.json, its CPU time read from /proc,
 * and everything it leaves (the process, the workspace) removed on every exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/lookout.js');
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:(\d+))/;

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Kills every server still running and removes their workspaces (synchronously: also on exit). */
export function cleanupServersSync(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', cleanupServersSync);

/** CPU time (user + system, all threads) a process has used so far, in ms (/proc, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

export interface LookoutServer {
  child: ChildProcess;
  url: string;
  port: number;
  token: string;
  /** CPU time the server has used so far, in ms. */
  cpuMs: () => number;
  stop: () => Promise<void>;
}

/** Starts `lookout serve --port 0 --log-level warn` plus `args`, with `env` added to this process's. */
export async function startLookout(
  options: { args?: string[]; env?: Record<string, string> } = {},
): Promise<LookoutServer> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-'));
  tempDirs.add(workspace);
  const args = [bin, 'serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  children.add(child);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lookout did not listen within 30 s\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
      const match = LISTENING.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`lookout exited (${code ?? signal}) before listening\n${output}`));
    });
  });
  const info = path.join(workspace, '.lookout', 'server.json');
  const deadline = Date.now() + 5000;
  while (!fs.existsSync(info)) {
    if (Date.now() > deadline) throw new Error(`lookout listens but wrote no ${info}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const { token } = JSON.parse(fs.readFileSync(info, 'utf8')) as { token: string };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    children.delete(child);
    fs.rmSync(workspace, { recursive: true, force: true });
    tempDirs.delete(workspace);
  };
  return { child, url, port: Number(new URL(url).port), token, cpuMs: () => cpuMs(child.pid!), stop };
}

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';

/**
 * How an agent's program is started and stopped. The program gets its own process group
 * (detached: setsid), so a cancel reaches everything it forked; it is never run through
 * a shell, and it is always reaped.
 */

/** `lost`: the server lost its lease on the task (team mode), so another server may have settled it. */
export type Ending = 'exited' | 'cancelled' | 'timed_out' | 'stopped' | 'lost';

export interface RunOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it ended: on its own, or because Lookout ended it (cancel, timeout, server stop, lease lost). */
  ending: Ending;
}

export interface RunSpec {
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Written to the program's stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string;
}

/** The kernel's start time of a process (Linux), so a recycled pid is never mistaken for ours. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 (starttime); the remainder starts at field 3
  } catch {
    return null;
  }
}

/** Whether `pid` is alive and, when we know its start time, still the same process. */
export function isSameProcess(pid: number, startTime: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === null) return true;
  const now = processStartTime(pid);
  return now === null || now === startTime;
}

/** Signals a whole process group; a group that is gone already is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** How long to wait for the pipes to close after the group was killed (an escaped grandchild may hold them). */
const PIPE_CLOSE_MS = 2000;

export class AgentProcess {
  readonly pid: number;
  readonly startTime: string | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly done: Promise<RunOutcome>;
  #ending: Ending = 'exited';
  #exited = false;
  #killTimer: NodeJS.Timeout | undefined;
  #timeout: NodeJS.Timeout;
  #graceMs: number;

  private constructor(child: ChildProcess, spec: RunSpec) {
    this.pid = child.pid!;
    this.startTime = processStartTime(this.pid);
    this.stdout = child.stdout!;
    this.stderr = child.stderr!;
    this.#graceMs = spec.graceMs;
    this.#timeout = setTimeout(() => this.terminate('timed_out'), spec.timeoutMs);
    this.done = new Promise((resolve) => {
      let outcome: RunOutcome | undefined;
      const finish = () => {
        clearTimeout(this.#timeout);
        clearTimeout(this.#killTimer);
        resolve(outcome!);
      };
      child.once('exit', (code, signal) => {
        this.#exited = true;
        outcome = { exitCode: code, signal, ending: this.#ending };
        // The leader is gone: whatever it left behind in its group goes with it.
        signalGroup(this.pid, 'SIGKILL');
        if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) return;
        const pipes = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, PIPE_CLOSE_MS);
        pipes.unref();
        child.once('close', () => clearTimeout(pipes));
      });
      child.once('close', finish);
    });
  }

  /** Starts the program; rejects (ENOENT, EACCES, …) when it cannot be started at all. */
  static start(spec: RunSpec): Promise<AgentProcess> {
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(spec.argv[0]!, spec.argv.slice(1), {
          cwd: spec.cwd,
          env: spec.env,
          detached: true,
          stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
          shell: false,
          windowsHide: true,
        });
      } catch (error) {
        reject(error as Error);
        return;
      }
      // Before 'spawn': the program could not start. After it: a failed kill or pipe,
      // nothing to act on (the exit still comes), but it must not go unhandled.
      child.on('error', (error) => {
        if (child.pid === undefined) reject(error);
      });
      child.once('spawn', () => {
        if (spec.stdin !== undefined && child.stdin) {
          // A program that exits without reading all of it closes the pipe: EPIPE is its
          // choice, not an error of ours (its exit code tells what happened).
          child.stdin.on('error', () => undefined);
          child.stdin.end(spec.stdin);
        }
        resolve(new AgentProcess(child, spec));
      });
    });
  }

  get running(): boolean {
    return !this.#exited;
  }

  /** SIGTERM to the group, SIGKILL after the grace period; resolves when it is reaped. */
  terminate(ending: Exclude<Ending, 'exited'>, graceMs = this.#graceMs): Promise<RunOutcome> {
    if (!this.#exited && this.#killTimer === undefined) {
      this.#ending = ending;
      clearTimeout(this.#timeout);
      signalGroup(this.pid, 'SIGTERM');
      this.#killTimer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    } else if (!this.#exited && graceMs === 0) {
      signalGroup(this.pid, 'SIGKILL');
    }
    return this.done;
  }
}

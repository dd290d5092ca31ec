import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processRunning, readHolder } from '../../src-main/session/lock.ts';
import { workspacePaths } from '../../src-main/workspace.ts';
import { runLookout, spawnLookout } from '../helpers/cli.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A command that writes its pid and then runs until killed. */
const longCommand = (pidFile: string) => [
  process.execPath,
  '-e',
  `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);`,
];

/** A command that reports whether the first command's process still exists. */
const probeCommand = (pidFile: string, out: string) => [
  process.execPath,
  '-e',
  `const pid = Number(require('fs').readFileSync(${JSON.stringify(pidFile)}, 'utf8'));
   let alive = true;
   try { const stat = require('fs').readFileSync('/proc/' + pid + '/stat', 'utf8'); alive = stat[stat.lastIndexOf(')') + 2] !== 'Z'; }
   catch { alive = false; }
   require('fs').writeFileSync(${JSON.stringify(out)}, alive ? 'overlap' : 'alone');`,
];

describe("lookout run: a command never runs beside the next holder's", () => {
  it('records the command’s process group, and the next holder ends it after `lookout run` is killed -9', async () => {
    const workspace = tempWorkspace();
    const pidFile = path.join(workspace, 'first.pid');
    const out = path.join(workspace, 'probe.txt');
    const first = spawnLookout(['run', '--workspace', workspace, '--', ...longCommand(pidFile)]);
    await until(() => fs.existsSync(pidFile), 'the first command to start');
    const commandPid = Number(fs.readFileSync(pidFile, 'utf8'));
    await until(() => readHolder(workspacePaths(workspace))?.command_pgid === commandPid, 'the recorded group');

    first.child.kill('SIGKILL');
    // (The orphaned command still holds the inherited stdout pipe, so wait for the exit, not 'close'.)
    await until(() => first.child.signalCode !== null, 'lookout run to die');
    expect(processRunning(commandPid)).toBe(true); // orphaned, still running: the overlap the issue measured

    const second = await runLookout(['run', '--workspace', workspace, '--', ...probeCommand(pidFile, out)]);
    expect(second.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe('alone');
    expect(processRunning(commandPid)).toBe(false);
  }, 30_000);

  it('a SIGSTOPped holder loses its lock once stale; its command ends first; resumed, it stops and exits 3', async () => {
    const workspace = tempWorkspace();
    const pidFile = path.join(workspace, 'first.pid');
    const out = path.join(workspace, 'probe.txt');
    const first = spawnLookout(['run', '--workspace', workspace, '--', ...longCommand(pidFile)]);
    await until(() => fs.existsSync(pidFile), 'the first command to start');
    const commandPid = Number(fs.readFileSync(pidFile, 'utf8'));
    await until(() => readHolder(workspacePaths(workspace))?.command_pgid === commandPid, 'the recorded group');

    first.child.kill('SIGSTOP');
    try {
      const second = await runLookout([
        'run',
        '--wait=30',
        '--workspace',
        workspace,
        '--',
        ...probeCommand(pidFile, out),
      ]);
      expect(second.code).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toBe('alone');
    } finally {
      first.child.kill('SIGCONT');
    }
    await until(() => first.child.exitCode !== null, 'the stopped holder to exit once resumed');
    expect(first.child.exitCode).toBe(3);
    expect(first.stderr()).toMatch(/lock was lost/);
  }, 45_000);
});

import { execFile } from 'node:child_process';
import os from 'node:os';
import type { Agent, SandboxProviderName } from '../../../src-shared/agents.ts';
import { findProgram } from '../../agents/presets.ts';

/** What to spawn for an agent's argv inside a sandbox, and how to stop it for good. */
export interface Launch {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Extra clean-up after the process group is gone (a container outlives its client). */
  stop?: () => Promise<void>;
}

export interface LaunchSpec {
  agent: Agent;
  taskId: string;
  /** The agent's argv with placeholders already replaced. */
  argv: string[];
  env: Record<string, string>;
  workdir: string;
  promptFile: string;
}

export interface SandboxProvider {
  readonly name: SandboxProviderName;
  /** null when usable here, else why not (shown to the user, 409 on start). */
  unavailable(): Promise<string | null>;
  launch(spec: LaunchSpec): Launch;
}

/** The default: the program runs directly in the worktree, in its own process group. */
export const worktreeProvider: SandboxProvider = {
  name: 'worktree',
  unavailable: () => Promise.resolve(null),
  launch: (spec) => ({ argv: spec.argv, cwd: spec.workdir, env: spec.env }),
};

const CONTAINER_WORKDIR = '/workspace';
const CONTAINER_PROMPT = '/lookout/prompt.md';
const PROBE_TTL_MS = 30_000;

function answers(program: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(program, ['info', '--format', '{{.ID}}'], { timeout: 5000, windowsHide: true }, (error) =>
      resolve(!error),
    );
  });
}

/**
 * podman or docker (whichever is installed and answers): the worktree mounted at
 * /workspace, the prompt file read-only, no network unless the agent allows it, the
 * user's uid so files it writes stay the user's.
 */
export function containerProvider(searchPath: () => string | undefined = () => process.env.PATH): SandboxProvider {
  let probe: { at: number; runtime: string | null; reason: string | null } | undefined;
  const detect = async (): Promise<{ runtime: string | null; reason: string | null }> => {
    if (probe && Date.now() - probe.at < PROBE_TTL_MS) return probe;
    let reason = 'neither podman nor docker is on PATH';
    let runtime: string | null = null;
    for (const candidate of ['podman', 'docker']) {
      if (!findProgram(candidate, searchPath()).found) continue;
      if (await answers(candidate)) {
        runtime = candidate;
        reason = '';
        break;
      }
      reason = `${candidate} is installed but its daemon does not answer (\`${candidate} info\` fails)`;
    }
    probe = { at: Date.now(), runtime, reason: runtime ? null : reason };
    return probe;
  };
  let runtime: string | null = null;
  return {
    name: 'container',
    unavailable: async () => {
      const found = await detect();
      runtime = found.runtime;
      return found.reason;
    },
    launch: (spec) => {
      const program = runtime ?? 'docker';
      if (!spec.agent.image) throw new Error('the container provider needs an image');
      const name = `lookout-task-${spec.taskId}`;
      const uid = os.userInfo();
      const argv = [
        program,
        'run',
        '--rm',
        '--init',
        '--name',
        name,
        '--network',
        spec.agent.network ? 'bridge' : 'none',
        '--user',
        `${uid.uid}:${uid.gid}`,
        '--volume',
        `${spec.workdir}:${CONTAINER_WORKDIR}`,
        '--volume',
        `${spec.promptFile}:${CONTAINER_PROMPT}:ro`,
        '--workdir',
        CONTAINER_WORKDIR,
        // `-e NAME` with no value: the runtime copies it from its own (scrubbed) environment.
        ...Object.keys(spec.env).flatMap((key) => ['--env', key]),
        '--',
        spec.agent.image,
        ...spec.argv.map((arg) =>
          arg.replaceAll(spec.workdir, CONTAINER_WORKDIR).replaceAll(spec.promptFile, CONTAINER_PROMPT),
        ),
      ];
      return {
        argv,
        cwd: spec.workdir,
        env: spec.env,
        stop: () =>
          new Promise((resolve) => {
            execFile(program, ['rm', '--force', name], { timeout: 10_000 }, () => resolve());
          }),
      };
    },
  };
}

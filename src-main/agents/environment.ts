import os from 'node:os';
import type { Agent } from '../../src-shared/agents.ts';

/** Environment names an agent's program inherits from the server; everything else is dropped. */
export const INHERITED_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
];

/**
 * The environment an agent's program starts with, for a task or a discussion turn: a few
 * inherited names, the ones it asks for (`pass_env`), its own `env`, and plain-text output.
 * The caller adds its LOOKOUT_* names last, so an agent can never set them.
 */
export function agentEnvironment(agent: Agent): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...INHERITED_ENV, ...agent.pass_env]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, agent.env);
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  env.HOME ??= os.homedir();
  env.TERM = 'dumb';
  env.NO_COLOR = '1';
  return env;
}

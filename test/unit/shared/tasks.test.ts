import { describe, expect, it } from 'vitest';
import { AgentCommand, AgentCreate } from '../../../src-shared/agents.ts';
import {
  FINAL_TASK_STATUSES,
  refProblem,
  TASK_STATUSES,
  TASK_TRANSITIONS,
  TaskCreate,
} from '../../../src-shared/tasks.ts';

describe('task and agent wire shapes', () => {
  it('accepts the refs git accepts and refuses options, revisions and paths', () => {
    for (const ok of ['main', 'HEAD', 'feature/x-1', 'v1.2.3', 'deadbeef', 'a/b/c', 'ünï'])
      expect(refProblem(ok), ok).toBeUndefined();
    for (const bad of [
      '',
      '-x',
      '--upload-pack=x',
      'a..b',
      'a b',
      'a~1',
      'a^',
      'a:b',
      'a?',
      'a*',
      'a[',
      'a\\b',
      '@',
      'a@{1}',
      '/a',
      'a/',
      'a//b',
      'a.',
      '.a',
      'a/.b',
      'a.lock',
      'x\n',
      'x'.repeat(256),
    ])
      expect(refProblem(bad), JSON.stringify(bad)).toBeDefined();
  });

  it('has a state machine whose final states are final and every state reachable', () => {
    for (const status of FINAL_TASK_STATUSES) expect(TASK_TRANSITIONS[status]).toEqual([]);
    const reachable = new Set(['pending', ...Object.values(TASK_TRANSITIONS).flat()]);
    expect([...reachable].sort()).toEqual([...TASK_STATUSES].sort());
  });

  it('checks commands: argv, a program on PATH or absolute, no NUL', () => {
    expect(AgentCommand.safeParse(['claude', '-p', '{prompt}']).success).toBe(true);
    expect(AgentCommand.safeParse(['/usr/bin/node', 'x.mjs']).success).toBe(true);
    for (const bad of [[], ['./x'], ['x/y'], ['/a/../b'], [' claude'], ['a', 'b\0c']])
      expect(AgentCommand.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    expect(AgentCreate.parse({ name: 'a', command: ['x'] })).toMatchObject({
      role: 'coder',
      provider: 'worktree',
      network: false,
    });
  });

  it('bounds a task description at 256 KiB', () => {
    expect(TaskCreate.safeParse({ title: 't', description: 'x'.repeat(256 * 1024) }).success).toBe(true);
    expect(TaskCreate.safeParse({ title: 't', description: 'x'.repeat(256 * 1024 + 1) }).success).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { AgentCommand, AgentCreate } from '../../src-shared/agents.ts';
import {
  FINAL_TASK_STATUSES,
  refProblem,
  TASK_STATUSES,
  TASK_TRANSITIONS,
  TaskCreate,
} from '../../src-shared/tasks.ts';
import { findProgram } from '../../src-main/agents/presets.ts';
import { parseNumstat } from '../../src-main/tasks/sandbox/sandboxes.ts';

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
    for (const bad of [[], ['./x'], ['x/y'], ['/a/../b'], [' claude'], ['a', 'b\0c'], Array(65).fill('a')])
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

  it('finds programs on PATH, by absolute path, and says why not', () => {
    expect(findProgram('node', process.env.PATH)).toMatchObject({ found: true });
    expect(findProgram(process.execPath)).toEqual({ found: true, file: process.execPath });
    expect(findProgram('no-such-program-h13', '/usr/bin:/bin')).toEqual({
      found: false,
      reason: 'no-such-program-h13 is not on PATH; install it or give its absolute path in command[0]',
    });
    expect(findProgram('/etc/passwd')).toMatchObject({ found: false }); // not executable
    expect(findProgram('sh', 'relative/dir')).toMatchObject({ found: false }); // relative PATH entries are skipped
  });

  it('parses git diff --numstat -z, binary files counting 0', () => {
    const out = '3\t1\tsrc/a.ts\0-\t-\timg.png\0' + '2\t0\tnew\nline.txt\0';
    expect(parseNumstat(out)).toEqual({
      files_changed: 3,
      insertions: 5,
      deletions: 1,
      files: [
        { path: 'src/a.ts', insertions: 3, deletions: 1 },
        { path: 'img.png', insertions: 0, deletions: 0 },
        { path: 'new\nline.txt', insertions: 2, deletions: 0 },
      ],
      files_truncated: false,
    });
    const many = Array.from({ length: 250 }, (_, i) => `1\t0\tf${i}\0`).join('');
    expect(parseNumstat(many)).toMatchObject({ files_changed: 250, insertions: 250, files_truncated: true });
    expect(parseNumstat(many).files).toHaveLength(200);
  });
});

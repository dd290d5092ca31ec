import { describe, expect, it } from 'vitest';
import type { Task } from '../../../../src-shared/tasks.ts';
import { MAX_OUTPUT_LINES, TaskBoard } from '../../../../src-renderer/model/task-board.ts';

const task = (id: string, status: Task['status']): Task => ({ id, status, title: id }) as unknown as Task;
const event = (type: string, data: Record<string, unknown>) => ({
  type,
  data,
  sequence_number: 1,
  timestamp: '2026-11-30T00:00:00.000Z',
  metadata: {},
});

describe('TaskBoard (dashboard model)', () => {
  it('groups tasks by status, what needs attention first', () => {
    const board = new TaskBoard();
    board.setLists([], [task('a', 'succeeded'), task('b', 'running'), task('c', 'pending'), task('d', 'running')]);
    expect(board.groups().map((g) => [g.status, g.tasks.map((t) => t.id)])).toEqual([
      ['running', ['b', 'd']],
      ['pending', ['c']],
      ['succeeded', ['a']],
    ]);
  });

  it('assembles output by byte offset: partial lines wait, stale reads are ignored, old lines drop past the cap', () => {
    const board = new TaskBoard();
    board.select('t');
    board.appendOutput('t', 0, 'one\ntw', 6);
    expect(board.selected).toMatchObject({ lines: ['one'], partial: 'tw', offset: 6 });
    board.appendOutput('t', 0, 'one\ntw', 6); // a second answer for the same offset
    board.appendOutput('other', 6, 'x\n', 8);
    board.appendOutput('t', 6, 'o\nthree\n', 14);
    expect(board.selected).toMatchObject({ lines: ['one', 'two', 'three'], partial: '', offset: 14 });
    board.appendOutput('t', 14, 'x\n'.repeat(MAX_OUTPUT_LINES), 14 + 2 * MAX_OUTPUT_LINES);
    expect(board.selected!.lines).toHaveLength(MAX_OUTPUT_LINES);
    expect(board.selected!.dropped).toBe(3);
  });

  it('says what to fetch for which events', () => {
    const board = new TaskBoard();
    board.select('t');
    expect(board.effects([event('task.output', { task_id: 'x' })])).toEqual({
      reloadLists: false,
      readOutput: false,
      reloadGitOperations: false,
    });
    expect(board.effects([event('task.output', { task_id: 't' })]).readOutput).toBe(true);
    expect(board.effects([event('agent.status_changed', { agent_id: 'a' })]).reloadLists).toBe(true);
    expect(board.effects([event('git.operation_completed', { task_id: 't' })]).reloadGitOperations).toBe(true);
    expect(board.effects([event('workflow.started', { workflow_id: 'w' })]).reloadLists).toBe(false);
  });
});

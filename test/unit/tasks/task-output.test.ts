import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../../src-main/events/bus.ts';
import { SqliteEventLog } from '../../../src-main/events/sqlite-event-log.ts';
import { type Database, openDatabase } from '../../../src-main/store/database.ts';
import { TaskOutput } from '../../../src-main/tasks/task-output.ts';
import { capturedLogger } from '../../helpers/captured-logger.ts';
import { tempWorkspace } from '../../helpers/workspace.ts';

const open: Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

function output(file: string) {
  const db = openDatabase(':memory:');
  open.push(db);
  const captured = capturedLogger();
  const log = new SqliteEventLog(db);
  const bus = new EventBus({ log, logger: captured.logger, queueSize: 100 });
  const task = new TaskOutput({ taskId: 't1', file, bus, logger: captured.logger, budgetBytes: 1 << 20, flushMs: 5 });
  return { task, log, ...captured };
}

/** The lines of every stored task.output event, in order. */
const outputLines = async (log: SqliteEventLog): Promise<string[]> =>
  (await log.read({ after: 0, patterns: ['task.output'], limit: 100 })).flatMap(
    (e) => (JSON.parse(e.json) as { data: { lines: string[] } }).data.lines,
  );

describe('TaskOutput and its log file', () => {
  it('writes every line to the log and the events', async () => {
    const file = path.join(tempWorkspace(), 't1.log');
    const { task, log } = output(file);
    await task.consume(Readable.from([Buffer.from('one\ntwo\n')]), Readable.from([Buffer.from('oops\n')]));
    await task.close();
    expect(fs.readFileSync(file, 'utf8').split('\n').sort()).toEqual(['', 'one', 'oops', 'two']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect((await outputLines(log)).sort()).toEqual(['one', 'oops', 'two']);
  });

  it('never writes through a link planted at the log name: the output still reaches the events', async () => {
    const dir = tempWorkspace();
    const target = path.join(tempWorkspace(), 'bashrc');
    fs.writeFileSync(target, 'original\n');
    const file = path.join(dir, 't1.log');
    fs.symlinkSync(target, file);
    const { task, log, find } = output(file);
    await task.consume(Readable.from([Buffer.from('echo pwned\n')]), Readable.from([]));
    await task.close();
    expect(fs.readFileSync(target, 'utf8')).toBe('original\n');
    expect(find('task log cannot be opened; output goes to events only')).toHaveLength(1);
    // task.output goes out with emitLater: stored with the next group commit, not inside close().
    await expect.poll(() => outputLines(log)).toEqual(['echo pwned']);
  });
});

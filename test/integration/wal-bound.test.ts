import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../src-main/events/sqlite-event-log.ts';
import { openDatabase } from '../../src-main/store/database.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const MiB = 1024 * 1024;
const walSize = (file: string) => {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};

describe('the WAL stays bounded', () => {
  it('checkpoints with TRUNCATE once the WAL passes walMaxBytes, even while writes never pause', async () => {
    const file = path.join(tempWorkspace(), 'lookout.db');
    const walMaxBytes = 2 * MiB;
    const db = openDatabase(file, { walMaxBytes });
    const log = new SqliteEventLog(db);
    const payload = 'x'.repeat(2000);
    let largest = 0;
    // About 60 MiB of events, written as fast as the event loop allows (yielding between
    // batches so the checkpoint timer can fire, as a busy server's does).
    for (let batch = 0; batch < 600; batch++) {
      await log.append(Array.from({ length: 50 }, (_, i) => ({ type: 'x.load', data: { i, payload } })));
      largest = Math.max(largest, walSize(file));
      await new Promise((resolve) => setImmediate(resolve));
      if (batch % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Without the bound the WAL ends near the total written (~60 MiB).
    expect(largest).toBeLessThan(4 * walMaxBytes);
    // Once writes stop, the next checkpoint brings it back under the limit.
    await log.append([{ type: 'x.load', data: { last: true } }]);
    const deadline = Date.now() + 10_000;
    while (walSize(file) > walMaxBytes && Date.now() < deadline) {
      await log.append([{ type: 'x.load', data: { tick: true } }]);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(walSize(file)).toBeLessThanOrEqual(walMaxBytes);
    await db.close();
  }, 60_000);
});

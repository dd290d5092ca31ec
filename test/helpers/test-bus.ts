import { afterEach } from 'vitest';
import { EventBus } from '../../src-main/events/bus.ts';
import { SqliteEventLog } from '../../src-main/events/sqlite-event-log.ts';
import { createLogger } from '../../src-main/logger.ts';
import { openDatabase } from '../../src-main/store/database.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((database) => database.close().catch(() => undefined)));
});

/** A bus for services under test, with its own in-memory history (the events are not the subject). */
export function testBus(): EventBus {
  const database = openDatabase(':memory:');
  open.push(database);
  return new EventBus({
    log: new SqliteEventLog(database),
    logger: createLogger({ level: 'silent' }),
    queueSize: 1000,
  });
}

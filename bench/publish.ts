/**
 * bench/publish: the in-process publish path alone (validate → stamp → serialize → store in
 * SQLite → fan out to one subscriber), without HTTP or sockets, so a change to that path
 * shows above the noise of a shared machine.
 *
 *   node bench/publish.ts [--events 20000] [--rounds 7]
 *
 * Prints the median events/s over the rounds, and the median CPU time per event (user +
 * system, from process.cpuUsage): on a shared machine wall time swings with the neighbours'
 * load, CPU time much less, so compare CPU time between two versions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { EventBus } from '../src-main/events/bus.ts';
import { SqliteEventLog } from '../src-main/events/sqlite-event-log.ts';
import { openDatabase } from '../src-main/store/database.ts';
import { SqliteStore } from '../src-main/store/sqlite/sqlite-store.ts';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '7' } },
});
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const BATCH = 100;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-publish-'));
const db = openDatabase(path.join(dir, 'lookout.db'));
const bus = new EventBus({
  // As the runtime builds it: through the store interface's SQLite adapter.
  log: new SqliteEventLog(new SqliteStore(db)),
  logger: pino({ level: 'silent' }),
  queueSize: 100_000,
});
const subscription = bus.subscribe({ patterns: ['*'], onReadable: () => undefined });
const batch = (n: number) =>
  Array.from({ length: BATCH }, (_, i) => ({
    type: 'x.bench',
    data: { i: n + i, t: 123.456, text: 'an event of a typical size '.repeat(6) },
  }));

try {
  for (let n = 0; n < 5000; n += BATCH) await bus.publish(batch(n)); // warm-up
  const rounds: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    for (let n = 0; n < EVENTS; n += BATCH) await bus.publish(batch(n));
    const used = process.cpuUsage(cpuBefore);
    rounds.push(Math.round(EVENTS / ((performance.now() - started) / 1000)));
    cpu.push((used.user + used.system) / EVENTS);
    while (subscription.take()); // drain what the subscriber queued
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    JSON.stringify({
      benchmark: 'publish',
      events_per_round: EVENTS,
      median_eps: median(rounds),
      median_cpu_us_per_event: Math.round(median(cpu) * 100) / 100,
      rounds,
    }),
  );
} finally {
  subscription.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

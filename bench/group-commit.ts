/**
 * bench/group-commit: does putting several publishers' events in one SQLite transaction pay
 * here? The real event log (schema, WAL, synchronous=NORMAL, the checkpointer) appending the
 * same events with N events per transaction, for several N: N = 1 is a server whose
 * concurrent publishers each send one event and each get their own COMMIT; N > 1 is what
 * group commit would make of N such publishers in one tick.
 *
 *   node bench/group-commit.ts [--events 20000] [--rounds 5] [--sizes 1,2,5,10,50,100]
 *
 * Prints, per N, the median CPU µs per event (user + system: steady on a shared machine)
 * and the median wall µs per event.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { NewEvent } from '../src-main/events/event-log.ts';
import { SqliteEventLog } from '../src-main/events/sqlite-event-log.ts';
import { openDatabase } from '../src-main/store/database.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '1,2,5,10,50,100' },
  },
});
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const SIZES = values.sizes.split(',').map(Number);
if (
  !Number.isInteger(EVENTS) ||
  EVENTS < 1 ||
  !Number.isInteger(ROUNDS) ||
  ROUNDS < 1 ||
  SIZES.some((n) => !(n >= 1))
) {
  console.error('bench/group-commit: --events and --rounds take positive integers, --sizes a list of them');
  process.exit(1);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 100) / 100;
const event = (i: number): NewEvent => ({
  type: 'x.bench',
  data: { i, t: 123.456, text: 'an event of a typical size '.repeat(6) },
});

const results: { per_transaction: number; cpu_us_per_event: number; wall_us_per_event: number }[] = [];
for (const size of SIZES) {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // A fresh store per round, so every size starts from the same file sizes.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-group-commit-'));
    const file = path.join(dir, 'lookout.db');
    const db = openDatabase(file);
    const log = new SqliteEventLog(db);
    try {
      for (let i = 0; i < 2000; i += size) log.append(Array.from({ length: size }, (_, k) => event(i + k))); // warm-up
      const batches: NewEvent[][] = [];
      for (let i = 0; i < EVENTS; i += size)
        batches.push(Array.from({ length: Math.min(size, EVENTS - i) }, (_, k) => event(i + k)));
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      for (const batch of batches) log.append(batch);
      const elapsed = performance.now() - started;
      const used = process.cpuUsage(cpuBefore);
      cpu.push((used.user + used.system) / EVENTS);
      wall.push((elapsed * 1000) / EVENTS);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  results.push({
    per_transaction: size,
    cpu_us_per_event: round(median(cpu)),
    wall_us_per_event: round(median(wall)),
  });
}
console.log(JSON.stringify({ benchmark: 'group-commit', events_per_round: EVENTS, rounds: ROUNDS, results }, null, 2));
console.table(
  Object.fromEntries(
    results.map((r) => [
      `${r.per_transaction} per transaction`,
      {
        'cpu µs/ev': r.cpu_us_per_event,
        'wall µs/ev': r.wall_us_per_event,
        'cpu vs 1': round(results[0]!.cpu_us_per_event / r.cpu_us_per_event),
      },
    ]),
  ),
);

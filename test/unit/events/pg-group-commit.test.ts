import { afterEach, expect, it } from 'vitest';
import { LookoutError } from '../../../src-main/errors.ts';
import type { NewEvent } from '../../../src-main/events/event-log.ts';
import { PgEventLog } from '../../../src-main/events/pg-event-log.ts';
import type { PgStore } from '../../../src-main/store/postgres/pg-store.ts';
import { capturedLogger } from '../../helpers/captured-logger.ts';
import { storeFixture } from '../../helpers/dialects.ts';
import { describePostgres } from '../../helpers/postgres.ts';

/**
 * Group commit in the PostgreSQL event log (src-main/events/pg-event-log.ts), against a real
 * PostgreSQL: what shares a transaction, the bound, per-publisher failures, a failed COMMIT,
 * and shutdown. The race across two servers is test/integration/pg-group-commit-race.test.ts.
 */

const started: PgEventLog[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((log) => log.stop()));
});

async function openLogs(count: number, maxGroup?: number): Promise<{ logs: PgEventLog[]; store: PgStore }> {
  const fixture = await storeFixture('postgres');
  const logs: PgEventLog[] = [];
  let first: PgStore | undefined;
  for (let i = 0; i < count; i++) {
    const store = (await fixture.open()) as PgStore;
    first ??= store;
    const log = new PgEventLog(store, { logger: capturedLogger().logger, maxGroup });
    await log.start();
    started.push(log);
    logs.push(log);
  }
  return { logs, store: first! };
}

const ev = (type: string, n: number): NewEvent => ({ type, data: { n } });
const seqsOf = (appended: { envelopes: { sequence_number: number }[] }) =>
  appended.envelopes.map((e) => e.sequence_number);

describePostgres('PgEventLog group commit', () => {
  it('the appends of one turn share one transaction, numbered in call order, fed once after it', async () => {
    const { logs } = await openLogs(1);
    const log = logs[0]!;
    const fed: number[] = [];
    log.setFeed((events) => fed.push(...events.map((e) => e.seq)));
    const results = await Promise.all([
      log.append([ev('x.a', 1)]),
      log.append([ev('x.a', 2), ev('x.a', 3)]),
      log.append([ev('x.a', 4)]),
    ]);
    expect(results.map(seqsOf)).toEqual([[1], [2, 3], [4]]);
    expect(log.commits).toEqual({ transactions: 1, events: 4, requests: 3 });
    expect(fed).toEqual([1, 2, 3, 4]);
    expect(log.lastSequenceNumber).toBe(4);
  });

  it('takes at most maxGroup publishes per transaction; 1 commits each alone', async () => {
    const { logs } = await openLogs(2, 2);
    const [bounded] = logs;
    await Promise.all(Array.from({ length: 5 }, (_, i) => bounded!.append([ev('x.a', i)])));
    expect(bounded!.commits.transactions).toBe(3);
    expect(bounded!.commits.requests).toBe(5);

    const { logs: alone } = await openLogs(1, 1);
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => alone[0]!.append([ev('x.a', i)])));
    expect(alone[0]!.commits.transactions).toBe(5);
    // Committed one after another on the counter row's lock: no number twice, none skipped.
    expect(results.flatMap(seqsOf).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a publisher whose check or insert fails fails alone and uses no number', async () => {
    const { logs, store } = await openLogs(1);
    const log = logs[0]!;
    await store.run(`CREATE FUNCTION refuse_boom() RETURNS trigger AS $$
      BEGIN IF NEW.type = 'x.boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await store.run('CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_boom()');
    const tooBig = () => {
      throw new LookoutError('payload_too_large', 'too big');
    };
    const results = await Promise.allSettled([
      log.append([ev('x.a', 1)]),
      log.append([ev('x.a', 2), ev('x.a', 3)], Date.now(), tooBig),
      log.append([ev('x.a', 4)]),
      log.append([ev('x.a', 5), ev('x.boom', 6)]),
      log.append([ev('x.a', 7)]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/too big/);
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/boom/);
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [seqsOf(r.value)] : []));
    expect(ok).toEqual([[1], [2], [3]]);
    // All in one transaction, the refused insert undone by its savepoint alone.
    expect(log.commits).toEqual({ transactions: 1, events: 3, requests: 3 });
    expect((await log.read({ after: 0, patterns: ['*'], limit: 10 })).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('a failed COMMIT fails every publisher of the group; nothing is stored or fed, no number is used', async () => {
    const { logs, store } = await openLogs(1);
    const log = logs[0]!;
    await store.run(`CREATE FUNCTION refuse_doom() RETURNS trigger AS $$
      BEGIN IF NEW.type = 'x.doom' THEN RAISE EXCEPTION 'doom'; END IF; RETURN NULL; END $$ LANGUAGE plpgsql`);
    await store.run(`CREATE CONSTRAINT TRIGGER refuse_doom AFTER INSERT ON events
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_doom()`);
    const fed: number[] = [];
    log.setFeed((events) => fed.push(...events.map((e) => e.seq)));
    const results = await Promise.allSettled([log.append([ev('x.a', 1)]), log.append([ev('x.doom', 2)])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results) expect(String((r as PromiseRejectedResult).reason)).toMatch(/doom/);
    expect(fed).toEqual([]);
    expect(seqsOf(await log.append([ev('x.a', 3)]))).toEqual([1]);
    expect(fed).toEqual([1]);
  });

  it('groups of two servers interleave without a hole; each server feeds the whole history in order', async () => {
    const { logs } = await openLogs(2);
    const [a, b] = logs;
    const fedA: number[] = [];
    const fedB: number[] = [];
    a!.setFeed((events) => fedA.push(...events.map((e) => e.seq)));
    b!.setFeed((events) => fedB.push(...events.map((e) => e.seq)));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a! : b!).append([ev('x.a', i), ev('x.a', i)])),
    );
    const all = results.flatMap(seqsOf).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    await expect.poll(() => [fedA.length, fedB.length]).toEqual([80, 80]);
    expect(fedA).toEqual(all);
    expect(fedB).toEqual(all);
  });

  it('stop() commits and answers what is queued, then refuses appends with 503', async () => {
    const { logs } = await openLogs(1);
    const log = logs[0]!;
    const queued = [log.append([ev('x.a', 1)]), log.append([ev('x.a', 2)])];
    const stopped = log.stop();
    await expect(log.append([ev('x.a', 3)])).rejects.toMatchObject({ code: 'unavailable' });
    await stopped;
    expect((await Promise.all(queued)).map(seqsOf)).toEqual([[1], [2]]);
  });
});

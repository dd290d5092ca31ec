import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../src-main/events/sqlite-event-log.ts';
import type { SqlStore } from '../../src-main/store/sql-store.ts';
import { SqliteStore } from '../../src-main/store/sqlite/sqlite-store.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { sseSubscriber, wsSubscriber } from '../helpers/stream-subscribers.ts';

/**
 * Group commit under a race: many one-event publishers at once, over HTTP and in-process,
 * some of them failing on purpose (an event over 64 KiB, a refused insert, a malformed
 * event), while WebSocket and SSE subscribers stream, and some of them keep dropping
 * their connection and resuming with `since` / Last-Event-ID. Every subscriber must end
 * with exactly the acknowledged events, once each, in order; the failures must fail only
 * their own request; and no subscriber may be handed an event its commit has not made
 * visible to another connection. (On PostgreSQL, LOOKOUT_TEST_STORE=postgres, the same
 * race runs over its group commit; pg-group-commit-race.test.ts races two servers.)
 */

const TYPES = '?types=x.race';

/** How one publish ended: its number, or why it failed. */
interface Outcome {
  seq?: number;
  failed?: string;
}

/** Refuses (at insert) events of type x.boom, in the store's own SQL: a per-request database error. */
async function refuseBoom(store: SqlStore): Promise<void> {
  if (store instanceof SqliteStore) {
    store.database.db.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.type = 'x.boom'
                            BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    return;
  }
  await store.run(`CREATE FUNCTION refuse_boom() RETURNS trigger AS $$
    BEGIN IF NEW.type = 'x.boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
  await store.run('CREATE TRIGGER refuse_boom BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_boom()');
}

describe('group commit under a race', () => {
  it(
    'every subscriber gets every acknowledged event once, in order, across reconnects; failures stay in their own request',
    { timeout: 120_000 },
    async () => {
      const runtime = await startRuntime({ queueSize: 10_000 });
      await refuseBoom(runtime.store);
      const sqlite = runtime.bus.log instanceof SqliteEventLog ? runtime.bus.log : undefined;

      // An in-process subscriber that checks, while the fan-out runs, that every event it
      // is handed is already visible to another connection (i.e. committed).
      const notCommitted: number[] = [];
      let checkedInProcess = 0;
      if (sqlite) {
        const reader = new DatabaseSync(runtime.database.file, { readOnly: true });
        const visible = reader.prepare('SELECT 1 AS found FROM events WHERE seq = ?');
        const subscription = runtime.bus.subscribe({
          patterns: ['x.race'],
          capacity: 100_000,
          onReadable: () => {
            for (let item = subscription.take(); item; item = subscription.take()) {
              if (!('event' in item)) continue;
              checkedInProcess++;
              if (visible.get(item.event.seq) === undefined) notCommitted.push(item.event.seq);
            }
          },
        });
      }

      const subscribers = [
        wsSubscriber(runtime, TYPES, false),
        wsSubscriber(runtime, TYPES, false),
        wsSubscriber(runtime, TYPES, true),
        wsSubscriber(runtime, TYPES, true),
        sseSubscriber(runtime, TYPES, false),
        sseSubscriber(runtime, TYPES, true),
      ];
      // Each subscriber is live before publishing starts: a `connected` has arrived.
      await expect.poll(() => subscribers.every((s) => s.live > 0), { timeout: 10_000 }).toBe(true);
      const firstSeq = runtime.bus.log.lastSequenceNumber + 1;

      const acknowledged: number[] = [];
      const statuses = new Map<string, number[]>();
      const note = (kind: string, status: number) => statuses.set(kind, [...(statuses.get(kind) ?? []), status]);
      const kindOf = (worker: number, i: number) =>
        (worker * 31 + i) % 13 === 0
          ? 'too-big'
          : (worker * 31 + i) % 11 === 0
            ? 'refused'
            : (worker * 31 + i) % 17 === 0
              ? 'malformed'
              : 'ok';
      const bodyOf = (kind: string, worker: number, i: number) =>
        kind === 'too-big'
          ? { type: 'x.race', data: { worker, i, blob: 'z'.repeat(70_000) } }
          : kind === 'refused'
            ? { type: 'x.boom', data: { worker, i } }
            : kind === 'malformed'
              ? { type: 'Not A Type', data: { worker, i } }
              : { type: 'x.race', data: { worker, i } };

      const httpPublisher = async (worker: number) => {
        for (let i = 0; i < 20; i++) {
          const kind = kindOf(worker, i);
          const res = await api(runtime, '/api/v1/events', { method: 'POST', json: bodyOf(kind, worker, i) });
          const body = (await res.json()) as { events?: { sequence_number: number }[] };
          note(kind, res.status);
          if (res.status === 201) acknowledged.push(...body.events!.map((e) => e.sequence_number));
        }
      };
      const inProcessPublisher = async (worker: number) => {
        for (let i = 0; i < 20; i++) {
          const kind = kindOf(worker, i);
          try {
            const envelopes = await runtime.bus.publish([bodyOf(kind, worker, i)]);
            note(`in-process ${kind}`, 201);
            acknowledged.push(...envelopes.map((e) => e.sequence_number));
          } catch (error) {
            note(`in-process ${kind}`, (error as { status?: number }).status ?? 500);
          }
        }
      };
      await Promise.all([
        ...Array.from({ length: 24 }, (_, w) => httpPublisher(w)),
        ...Array.from({ length: 6 }, (_, w) => inProcessPublisher(100 + w)),
      ]);

      // Every publisher got the answer its own request deserved, whatever shared its commit.
      expect(new Set(statuses.get('ok'))).toEqual(new Set([201]));
      expect(new Set(statuses.get('too-big'))).toEqual(new Set([413]));
      expect(new Set(statuses.get('malformed'))).toEqual(new Set([400]));
      expect(new Set(statuses.get('refused'))).toEqual(new Set([500]));
      expect(new Set(statuses.get('in-process ok'))).toEqual(new Set([201]));
      expect(new Set(statuses.get('in-process too-big'))).toEqual(new Set([413]));
      const okCount = (statuses.get('ok')?.length ?? 0) + (statuses.get('in-process ok')?.length ?? 0);
      expect(acknowledged.length).toBe(okCount);

      // What is stored is exactly what was acknowledged, numbered without a hole.
      const sorted = [...acknowledged].sort((a, b) => a - b);
      const stored = (await runtime.bus.log.read({ after: firstSeq - 1, patterns: ['*'], limit: 10_000 })).map(
        (e) => e.seq,
      );
      expect(stored).toEqual(sorted);
      expect(sorted).toEqual(Array.from({ length: sorted.length }, (_, i) => firstSeq + i));
      const last = sorted.at(-1)!;

      // Every subscriber, reconnecting or not, ends with exactly those: once each, in order.
      await expect
        .poll(() => subscribers.map((s) => s.seqs.at(-1)), { timeout: 30_000 })
        .toEqual(subscribers.map(() => last));
      for (const [index, subscriber] of subscribers.entries()) {
        const mine = subscriber.seqs.filter((seq) => seq >= firstSeq);
        expect(mine, `subscriber ${index}`).toEqual(sorted);
        expect(subscriber.odd, `subscriber ${index}`).toEqual([]);
      }
      // The reconnecting ones really did resume, several times.
      expect(subscribers[2]!.connections).toBeGreaterThan(3);
      expect(subscribers[5]!.connections).toBeGreaterThan(3);
      for (const subscriber of subscribers) subscriber.stop();

      if (sqlite) {
        expect(checkedInProcess).toBe(sorted.length);
        expect(notCommitted).toEqual([]);
        // And the publishers did share commits: fewer transactions than requests.
        expect(sqlite.commits.requests).toBeGreaterThan(sqlite.commits.transactions);
      }
    },
  );

  it.skipIf(process.env.LOOKOUT_TEST_STORE === 'postgres')(
    'a stop while publishes are in flight: every 201 is stored, every other publish gets an error, nothing is half-stored',
    { timeout: 60_000 },
    async () => {
      const runtime = await startRuntime();
      const file = runtime.database.file;
      const first = runtime.bus.log.lastSequenceNumber + 1;
      const publish = async (i: number, type = 'x.quit'): Promise<Outcome> => {
        try {
          const res = await api(runtime, '/api/v1/events', { method: 'POST', json: { type, data: { i } } });
          const body = (await res.json()) as { events?: { sequence_number: number }[]; error?: { code: string } };
          return res.status === 201 ? { seq: body.events![0]!.sequence_number } : { failed: `${res.status}` };
        } catch (error) {
          return { failed: (error as Error).message }; // the server had stopped listening
        }
      };
      // Publishes from an in-process producer too, queued in the same turns as the stop.
      const inProcess = Array.from({ length: 20 }, (_, i) =>
        runtime.bus.publish([{ type: 'x.quit', data: { i: 1000 + i } }]).then(
          (envelopes): Outcome => ({ seq: envelopes[0]!.sequence_number }),
          (error: unknown): Outcome => ({ failed: String((error as Error).message) }),
        ),
      );
      // Keep-alive connections opened beforehand, so the POSTs below reach the server at once.
      await Promise.all(Array.from({ length: 40 }, (_, i) => publish(i, 'x.warm')));
      // And publishes queued while the stop sequence runs (its first step emits system.stopping).
      const duringStop: Promise<Outcome>[] = [];
      runtime.bus.listen(['system.stopping'], () => {
        for (let i = 0; i < 10; i++) {
          duringStop.push(
            runtime.bus.publish([{ type: 'x.quit', data: { i: 3000 + i } }]).then(
              (envelopes): Outcome => ({ seq: envelopes[0]!.sequence_number }),
              (error: unknown): Outcome => ({ failed: String((error as Error).message) }),
            ),
          );
        }
      });
      const http = Array.from({ length: 40 }, (_, i) => publish(i));
      await new Promise((resolve) => setImmediate(resolve));
      const stopped = runtime.stop();
      const more = Array.from({ length: 20 }, (_, i) => publish(2000 + i));
      await stopped;
      const results = await Promise.all([...inProcess, ...http, ...more, ...duringStop]);
      expect(duringStop).toHaveLength(10);
      // The race did what it is for: HTTP publishes in flight when the stop began were answered 201.
      expect((await Promise.all(http)).some((r) => r.seq !== undefined)).toBe(true);

      const acknowledged = results.flatMap((r) => (r.seq === undefined ? [] : [r.seq])).sort((a, b) => a - b);
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(results.every((r) => (r.seq === undefined) !== (r.failed === undefined))).toBe(true);
      const reader = new DatabaseSync(file, { readOnly: true });
      try {
        const stored = (
          reader.prepare("SELECT seq FROM events WHERE type = 'x.quit' ORDER BY seq").all() as { seq: number }[]
        ).map((row) => row.seq);
        // Everything acknowledged is there; whatever is there was acknowledged (a publisher
        // answered with an error left nothing behind).
        expect(stored).toEqual(acknowledged);
        expect(stored[0]).toBeGreaterThanOrEqual(first);
      } finally {
        reader.close();
      }
    },
  );
});

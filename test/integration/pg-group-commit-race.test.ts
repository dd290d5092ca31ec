import pg from 'pg';
import { expect, it } from 'vitest';
import { PgEventLog } from '../../src-main/events/pg-event-log.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { type Collector, sseSubscriber, wsSubscriber } from '../helpers/stream-subscribers.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/**
 * PostgreSQL group commit under a race, in team mode: two servers on one database, many
 * one-event publishers on both (HTTP and in-process) while WebSocket and SSE subscribers
 * on both servers stream, half of them cutting their connection and resuming.
 *
 * Phase 1 mixes in publishes that must fail alone: an event over 64 KiB (its check), a
 * malformed one (validation), one a trigger refuses at INSERT (the database). Every
 * well-formed publish must get its 201: a failure that poisoned its group would show here.
 * Phase 2 mixes in x.doom events, which a deferred constraint trigger refuses at COMMIT:
 * the whole group fails and nothing of it may reach a subscriber. If the fan-out ran
 * before the COMMIT, the subscribers would see events nobody acknowledged (and numbers
 * used twice).
 *
 * In the end every subscriber, on either server, must hold exactly the acknowledged
 * events, once each, in number order; the table exactly those, numbered without a hole.
 */

const TYPES = '?types=x.race';
const PER_PUBLISHER = 20;

async function addTriggers(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE FUNCTION refuse_boom() RETURNS trigger AS $$
      BEGIN IF NEW.type = 'x.boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await client.query(
      'CREATE TRIGGER refuse_boom BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_boom()',
    );
    // Checked at COMMIT: the way to make a COMMIT fail on purpose.
    await client.query(`CREATE FUNCTION refuse_doom() RETURNS trigger AS $$
      BEGIN IF NEW.type = 'x.doom' THEN RAISE EXCEPTION 'doom'; END IF; RETURN NULL; END $$ LANGUAGE plpgsql`);
    await client.query(`CREATE CONSTRAINT TRIGGER refuse_doom AFTER INSERT ON events
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_doom()`);
  } finally {
    await client.end();
  }
}

type Kind = 'ok' | 'too-big' | 'refused' | 'malformed' | 'doom';

function bodyOf(kind: Kind, worker: number, i: number): { type: string; data: Record<string, unknown> } {
  switch (kind) {
    case 'too-big':
      return { type: 'x.race', data: { worker, i, blob: 'z'.repeat(70_000) } };
    case 'refused':
      return { type: 'x.boom', data: { worker, i } };
    case 'malformed':
      return { type: 'Not A Type', data: { worker, i } };
    case 'doom':
      return { type: 'x.doom', data: { worker, i } };
    default:
      return { type: 'x.race', data: { worker, i } };
  }
}

describePostgres('PostgreSQL group commit under a race, two servers', () => {
  it(
    'every subscriber on either server gets exactly the acknowledged events, once, in order; failures stay in their own request',
    { timeout: 180_000 },
    async () => {
      const database = await createTestDatabase();
      const a = await startRuntime({ workspace: tempWorkspace(), databaseUrl: database.url, queueSize: 10_000 });
      await addTriggers(database.url); // once A has created the tables
      const b = await startRuntime({ workspace: tempWorkspace(), databaseUrl: database.url, queueSize: 10_000 });
      const logA = a.bus.log as PgEventLog;
      const logB = b.bus.log as PgEventLog;
      expect(logA).toBeInstanceOf(PgEventLog);

      const subscribers: Collector[] = [
        wsSubscriber(a, TYPES, false),
        wsSubscriber(a, TYPES, true),
        sseSubscriber(a, TYPES, true),
        wsSubscriber(b, TYPES, false),
        wsSubscriber(b, TYPES, true),
        sseSubscriber(b, TYPES, false),
        sseSubscriber(b, TYPES, true),
      ];
      await expect.poll(() => subscribers.every((s) => s.live > 0), { timeout: 10_000 }).toBe(true);
      // Both servers have followed everything so far; the race's events come after this.
      const firstSeq = Math.max(logA.lastSequenceNumber, logB.lastSequenceNumber) + 1;

      const acknowledged: number[] = [];
      const statuses = new Map<string, number[]>();
      const note = (kind: string, status: number) => statuses.set(kind, [...(statuses.get(kind) ?? []), status]);

      const httpPublisher = async (server: Runtime, worker: number, kindOf: (n: number) => Kind) => {
        for (let i = 0; i < PER_PUBLISHER; i++) {
          const kind = kindOf(worker * 31 + i);
          const res = await api(server, '/api/v1/events', { method: 'POST', json: bodyOf(kind, worker, i) });
          const body = (await res.json()) as { events?: { sequence_number: number }[] };
          note(kind, res.status);
          if (res.status === 201) acknowledged.push(...body.events!.map((e) => e.sequence_number));
        }
      };
      const inProcessPublisher = async (server: Runtime, worker: number, kindOf: (n: number) => Kind) => {
        for (let i = 0; i < PER_PUBLISHER; i++) {
          const kind = kindOf(worker * 31 + i);
          try {
            const envelopes = await server.bus.publish([bodyOf(kind, worker, i)]);
            note(`in-process ${kind}`, 201);
            acknowledged.push(...envelopes.map((e) => e.sequence_number));
          } catch (error) {
            note(`in-process ${kind}`, (error as { status?: number }).status ?? 500);
          }
        }
      };
      const race = (kindOf: (n: number) => Kind) =>
        Promise.all([
          ...Array.from({ length: 14 }, (_, w) => httpPublisher(a, w, kindOf)),
          ...Array.from({ length: 10 }, (_, w) => httpPublisher(b, 50 + w, kindOf)),
          ...Array.from({ length: 4 }, (_, w) => inProcessPublisher(a, 100 + w, kindOf)),
          ...Array.from({ length: 2 }, (_, w) => inProcessPublisher(b, 150 + w, kindOf)),
        ]);

      // Phase 1: failures that must stay in their own request.
      await race((n) => (n % 13 === 0 ? 'too-big' : n % 11 === 0 ? 'refused' : n % 17 === 0 ? 'malformed' : 'ok'));
      expect(new Set(statuses.get('ok'))).toEqual(new Set([201]));
      expect(new Set(statuses.get('in-process ok'))).toEqual(new Set([201]));
      expect(new Set(statuses.get('too-big'))).toEqual(new Set([413]));
      expect(new Set(statuses.get('in-process too-big'))).toEqual(new Set([413]));
      expect(new Set(statuses.get('malformed'))).toEqual(new Set([400]));
      expect(new Set(statuses.get('refused'))).toEqual(new Set([500]));
      expect(new Set(statuses.get('in-process refused'))).toEqual(new Set([500]));
      const phase1 = (statuses.get('ok')?.length ?? 0) + (statuses.get('in-process ok')?.length ?? 0);
      expect(acknowledged).toHaveLength(phase1);
      // The publishers did share commits, on both servers.
      expect(logA.commits.requests).toBeGreaterThan(logA.commits.transactions);
      expect(logB.commits.requests).toBeGreaterThan(logB.commits.transactions);

      // Three publishes queued in one turn share one group: a COMMIT that fails fails them all.
      const together = await Promise.allSettled([
        a.bus.publish([bodyOf('ok', 200, 0)]),
        a.bus.publish([bodyOf('doom', 200, 1)]),
        a.bus.publish([bodyOf('ok', 200, 2)]),
      ]);
      expect(together.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      for (const r of together) expect(String((r as PromiseRejectedResult).reason)).toMatch(/doom/);

      // Phase 2: COMMITs that fail, amid everything else.
      statuses.clear();
      await race((n) => (n % 7 === 0 ? 'doom' : n % 11 === 0 ? 'refused' : 'ok'));
      expect(new Set(statuses.get('doom'))).toEqual(new Set([500]));
      expect(new Set(statuses.get('in-process doom'))).toEqual(new Set([500]));
      // A well-formed publish gets 201, or the error of a COMMIT it shared with an x.doom.
      expect([...new Set([...statuses.get('ok')!, ...statuses.get('in-process ok')!])].sort()).toContain(201);
      for (const status of [...statuses.get('ok')!, ...statuses.get('in-process ok')!])
        expect([201, 500]).toContain(status);

      // What is stored is exactly what was acknowledged, numbered without a hole.
      const sorted = [...acknowledged].sort((x, y) => x - y);
      expect(new Set(sorted).size).toBe(sorted.length);
      const stored = (await logA.read({ after: firstSeq - 1, upTo: 1e12, patterns: ['*'], limit: 100_000 })).map(
        (e) => e.seq,
      );
      expect(stored).toEqual(sorted);
      expect(sorted).toEqual(Array.from({ length: sorted.length }, (_, i) => firstSeq + i));
      const last = sorted.at(-1)!;

      // Every subscriber, on either server, reconnecting or not: exactly those, once each, in order.
      await expect
        .poll(() => subscribers.map((s) => s.seqs.at(-1)), { timeout: 60_000 })
        .toEqual(subscribers.map(() => last));
      for (const subscriber of subscribers) subscriber.stop();
      for (const [index, subscriber] of subscribers.entries()) {
        expect(
          subscriber.seqs.filter((seq) => seq >= firstSeq),
          `subscriber ${index}`,
        ).toEqual(sorted);
        expect(subscriber.odd, `subscriber ${index}`).toEqual([]);
      }
      // The reconnecting ones really did resume, several times, on both servers.
      for (const index of [1, 2, 4, 6]) expect(subscribers[index]!.connections).toBeGreaterThan(3);
    },
  );
});

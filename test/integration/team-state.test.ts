import os from 'node:os';
import { expect, it } from 'vitest';
import { z } from 'zod';
import type { Collector } from '../../src-main/state/collections.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs } from '../helpers/ws-client.ts';

/**
 * The state document with several writers: two servers on one PostgreSQL database change
 * it at once. Every change lands exactly once (compare-and-set in the database), every
 * server shows the stored document, and the events reach every subscriber in the order
 * the changes were stored.
 */

type Priority = { id: string; title: string; status: string };
type SystemState = { status: string; progress: number; last_sync: string | null };

const json = async <T>(response: Response): Promise<T> => {
  const body = (await response.json()) as T;
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(body)}`);
  return body;
};

const getState = async (runtime: Runtime) =>
  json<{ system: SystemState; priorities: Priority[]; active_brief: { target: string } | null }>(
    await api(runtime, '/api/v1/state'),
  );

describePostgres('team mode: the state document with several writers', () => {
  it(
    'applies every approval raced through two servers exactly once, and both servers then show the same document',
    { timeout: 60_000 },
    async () => {
      const database = await createTestDatabase();
      const a = await startRuntime({ databaseUrl: database.url });
      const b = await startRuntime({ databaseUrl: database.url });
      const ids = Array.from({ length: 40 }, (_, i) => `P${i + 1}`);
      const priorities = ids.map((id) => ({ id, title: `priority ${id}`, status: 'open' }));
      await json(await api(a, '/api/v1/state/priorities', { method: 'PUT', json: priorities }));

      // Each approval reads the list, changes one item and writes the list back: a lost
      // update would leave some priority open. Half through A, half through B, all at once.
      const answers = await Promise.all(
        ids.map((id, i) =>
          api(i % 2 === 0 ? a : b, '/api/v1/commands', { method: 'POST', json: { command: `approve ${id}` } }),
        ),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(((await answer.json()) as { changed: boolean }).changed).toBe(true); // each applied once, by its own request
      }
      for (const runtime of [a, b]) {
        const state = await getState(runtime);
        expect(state.priorities.map((p) => p.status)).toEqual(ids.map(() => 'approved'));
        expect(state.priorities.map((p) => p.id)).toEqual(ids);
      }
      // Approving again is idempotent on either server: nothing changes twice.
      const again = await json<{ changed: boolean }>(
        await api(b, '/api/v1/commands', { method: 'POST', json: { command: 'approve P1' } }),
      );
      expect(again.changed).toBe(false);
      // What the database holds, read by a fresh server.
      const c = await startRuntime({ databaseUrl: database.url });
      expect((await getState(c)).priorities).toEqual((await getState(a)).priorities);
    },
  );

  it(
    'publishes raced status changes in the order they were stored: the last event every subscriber sees is the stored value',
    { timeout: 60_000 },
    async () => {
      const database = await createTestDatabase();
      const a = await startRuntime({ databaseUrl: database.url });
      const b = await startRuntime({ databaseUrl: database.url });
      const clients = await Promise.all([
        connectWs(a, '?types=system.*'),
        connectWs(b, '?types=system.*'),
        connectWs(b, '?types=system.status_changed'),
      ]);
      // Twenty rounds: each server sets a different progress at the same moment.
      for (let round = 0; round < 20; round++) {
        await Promise.all([
          json(
            await api(a, '/api/v1/system/status', {
              method: 'POST',
              json: { status: 'PROCESSING', progress: 2 * round },
            }),
          ),
          json(
            await api(b, '/api/v1/system/status', {
              method: 'POST',
              json: { status: 'PROCESSING', progress: 2 * round + 1 },
            }),
          ),
        ]);
      }
      const stored = await json<SystemState>(await api(a, '/api/v1/system/status'));
      const statusEvents = (client: (typeof clients)[number]) =>
        client.events().filter((e) => e.type === 'system.status_changed');
      for (const client of clients) {
        await client.waitFor(() => statusEvents(client).length === 40);
      }
      const first = statusEvents(clients[0]!).map((e) => e.data.progress);
      for (const client of clients) {
        const events = statusEvents(client);
        expect(events.map((e) => e.data.progress)).toEqual(first);
        expect(events.at(-1)!.data).toEqual(stored);
        // Each round's two changes both arrived (none lost), one each per server.
        expect([...first].sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 40 }, (_, i) => i));
      }
      // And a read on the other server, after the event, shows it too.
      expect(await json<SystemState>(await api(b, '/api/v1/system/status'))).toEqual(stored);
    },
  );

  it('shows a change made on A in B’s next read once B’s subscriber has its event', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase();
    const a = await startRuntime({ databaseUrl: database.url });
    const b = await startRuntime({ databaseUrl: database.url });
    const onB = await connectWs(b, '?types=system.state_changed');
    for (let i = 0; i < 15; i++) {
      const value = [{ id: `P${i}`, title: `round ${i}`, status: 'open' }];
      await json(await api(a, '/api/v1/state/priorities', { method: 'PUT', json: value }));
      await onB.waitFor(() => onB.events().length === i + 1);
      // What a dashboard does on the event: read the document again, from its own server.
      expect((await getState(b)).priorities).toEqual(value);
    }
  });

  it(
    'runs one collection at a time in the team (409 naming the server that runs it), each server remembering its own workspace',
    { timeout: 60_000 },
    async () => {
      const database = await createTestDatabase();
      const a = await startRuntime({ databaseUrl: database.url });
      const b = await startRuntime({ databaseUrl: database.url });
      let finish: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (finish = resolve));
      const recalled: Record<string, unknown> = {};
      const probe = (server: string, wait: boolean): Collector => ({
        name: 'probe',
        async collect(context) {
          recalled[server] = context.recall(z.object({ server: z.string() }));
          if (wait) await gate;
          await context.commit([], { server });
          return { server };
        },
      });
      for (const runtime of [a, b])
        for (const name of runtime.state.collections.collectorNames) runtime.state.collections.unregister(name);
      a.state.collections.register(probe('a', true));
      b.state.collections.register(probe('b', false));

      const started = await json<{ id: string }>(await api(a, '/api/v1/collections', { method: 'POST' }));
      const refused = await api(b, '/api/v1/collections', { method: 'POST' });
      expect(refused.status).toBe(409);
      const body = (await refused.json()) as { error: { message: string; details: { running: { id: string } } } };
      expect(body.error.message).toContain(`on the server ${os.hostname()}:${a.config.workspace}`);
      expect(body.error.details.running.id).toBe(started.id);
      // The refused start announced nothing: the status is A's run's.
      expect((await json<SystemState>(await api(b, '/api/v1/system/status'))).status).toBe('COLLECTING');

      finish();
      await a.state.collections.settled(started.id);
      const second = await api(b, '/api/v1/collections', { method: 'POST' });
      expect(second.status).toBe(202);
      await b.state.collections.settled(((await second.json()) as { id: string }).id);
      // B's collector found nothing of A's: each server remembers its own workspace.
      expect(recalled).toEqual({ a: undefined, b: undefined });
      const third = await json<{ id: string }>(await api(a, '/api/v1/collections', { method: 'POST' }));
      await a.state.collections.settled(third.id);
      expect(recalled.a).toEqual({ server: 'a' });
      expect((await json<SystemState>(await api(b, '/api/v1/system/status'))).status).toBe('IDLE');
    },
  );
});

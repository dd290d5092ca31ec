import { expect, it } from 'vitest';
import { addUser, bearer, signedFrom, signIn, userSession } from '../helpers/access.ts';
import { createTestDatabase, describePostgres } from '../helpers/postgres.ts';
import { startRuntime } from '../helpers/runtime.ts';
import type { Runtime } from '../../src-main/runtime.ts';

/**
 * Two servers per test, and sign-ins that hash (scrypt) and slow down on purpose: on a
 * loaded machine that takes more than the default 20 s.
 */
const TIMEOUT_MS = 60_000;

/**
 * Rate limits in team mode are the team's, not each server's: the counters live in the
 * database, so attempts spread over two servers are limited together (N servers must not
 * allow N times the budget).
 */

async function twoServers(overrides: Parameters<typeof startRuntime>[0]): Promise<[Runtime, Runtime]> {
  const { url } = await createTestDatabase();
  const a = await startRuntime({ databaseUrl: url, ...overrides });
  const b = await startRuntime({ databaseUrl: url, ...overrides });
  return [a, b];
}

const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

describePostgres('team mode: rate limits shared by the servers of one database', () => {
  it(
    'failed sign-ins spread over two servers are counted together: the limit is reached on either, with Retry-After',
    async () => {
      const [a, b] = await twoServers({ signInAttempts: 4 });
      await addUser(a, 'ada', 'viewer');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await signIn(i % 2 ? b : a, { name: 'ada', password: `wrong-${i}-password` })).status);
      // Alone, each server saw two failures of the four allowed; together they reach the limit.
      expect(statuses).toEqual([401, 401, 401, 401]);
      for (const server of [a, b]) {
        const limited = await signIn(server, { name: 'ada', password: 'correct horse battery' });
        expect(limited.status, server.url).toBe(429);
        const retryAfter = Number(limited.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(30);
        expect(await errorCode(limited)).toBe('rate_limited');
      }
      // Per address too: another name from the same address is refused on both.
      await addUser(a, 'bo', 'viewer');
      for (const server of [a, b])
        expect((await signIn(server, { name: 'bo', password: 'correct horse battery' })).status).toBe(429);
    },
    TIMEOUT_MS,
  );

  it(
    'a success clears the name’s count on every server',
    async () => {
      const [a, b] = await twoServers({ signInAttempts: 6 });
      await addUser(a, 'cy', 'viewer');
      for (let i = 0; i < 2; i++)
        expect((await signIn(a, { name: 'cy', password: `nope-${i}-password` })).status).toBe(401);
      expect((await signIn(b, { name: 'cy', password: 'correct horse battery' })).status).toBe(200);
      const rows = await a.store.all<{ key: string; count: number }>(
        'SELECT key, count FROM sign_in_failures ORDER BY key',
      );
      // The name starts again; the address keeps its two failures (as on one server).
      expect(rows.map((row) => [row.key.split(':')[0], Number(row.count)])).toEqual([['addr', 2]]);
    },
    TIMEOUT_MS,
  );

  it(
    'API requests of one principal over two servers share one token bucket',
    async () => {
      const [a, b] = await twoServers({ apiRateBurst: 4, apiRatePerSecond: 0.2 });
      const ada = await userSession(a, 'ada', 'viewer');
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 6; i++) {
        const response = await fetch(`${(i % 2 ? b : a).url}/api/v1/session`, { headers: bearer(ada.access) });
        statuses.push(response.status);
        if (response.status === 429) {
          retryAfter = response.headers.get('retry-after');
          expect(await errorCode(response)).toBe('rate_limited');
        }
      }
      // Each server alone would have allowed all six (four each); together they allow the burst.
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(statuses.slice(4)).toEqual([429, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(5);
      // Two requests at once on both servers for a fresh principal: never more than the burst.
      await addUser(a, 'bo', 'viewer');
      const bo = await signedFrom(await signIn(b, { name: 'bo', password: 'correct horse battery' }));
      const burst = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          fetch(`${(i % 2 ? b : a).url}/api/v1/session`, { headers: bearer(bo.access) }).then((r) => r.status),
        ),
      );
      expect(burst.filter((status) => status === 200)).toHaveLength(4);
      // The owner on loopback stays exempt.
      for (let i = 0; i < 10; i++)
        expect((await fetch(`${b.url}/api/v1/session`, { headers: { 'x-session-token': b.token } })).status).toBe(200);
    },
    TIMEOUT_MS,
  );
});

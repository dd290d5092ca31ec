import { Health } from '../../../src-shared/server-info.ts';
import type { LogFileStatus } from '../../logger.ts';
import { defineRoute } from '../route.ts';

export interface HealthSource {
  version: string;
  startedAtMs: number;
  /** As written in server.json: a start-up that finds a stale server.json compares it. */
  startedAt: string;
  /** The store's state: ok, or error and why (PostgreSQL unreachable, the LISTEN connection lost). */
  storeHealth: () => { status: 'ok' | 'error'; reason?: string };
  dialect: 'sqlite' | 'postgres';
  logStatus: () => LogFileStatus;
  schemaVersion: number;
  lastSequenceNumber: () => number;
}

export const healthRoutes = (source: HealthSource) => [
  defineRoute({
    method: 'get',
    path: '/health',
    summary: 'Liveness and basic figures; needs no token',
    tags: ['server'],
    policy: { role: 'public', readOnly: 'allowed' },
    responses: { 200: { description: 'The server is up', schema: Health } },
    handler: () => {
      const store = source.storeHealth();
      const storeOk = store.status === 'ok';
      const log = source.logStatus();
      const body: Health = {
        status: storeOk && log.status === 'ok' ? 'ok' : 'degraded',
        version: source.version,
        started_at: source.startedAt,
        uptime_s: Math.round((Date.now() - source.startedAtMs) / 100) / 10,
        memory_mb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
        store: {
          status: storeOk ? 'ok' : 'error',
          schema_version: source.schemaVersion,
          last_sequence_number: storeOk ? source.lastSequenceNumber() : 0,
          ...(source.dialect === 'postgres' ? { dialect: source.dialect } : {}),
          ...(store.reason === undefined ? {} : { error: store.reason }),
        },
        log,
      };
      return { body };
    },
  }),
];

import { Health } from '../../../src-shared/server-info.ts';
import { defineRoute } from '../route.ts';

export interface HealthSource {
  version: string;
  startedAt: number;
  storePing: () => boolean;
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
      const storeOk = source.storePing();
      const body: Health = {
        status: storeOk ? 'ok' : 'degraded',
        version: source.version,
        uptime_s: Math.round((Date.now() - source.startedAt) / 100) / 10,
        memory_mb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
        store: {
          status: storeOk ? 'ok' : 'error',
          schema_version: source.schemaVersion,
          last_sequence_number: storeOk ? source.lastSequenceNumber() : 0,
        },
      };
      return { body };
    },
  }),
];

import { defineRoute } from '../http/route.ts';
import type { Metrics } from './metrics.ts';

export const metricsRoutes = (metrics: Metrics) => [
  defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format); needs an admin credential',
    description:
      'Events published, delivered and dropped, gaps by reason, WebSocket and SSE clients, request durations ' +
      'by route template, database and WAL size, the lock holder, and the process metrics (CPU, memory, GC, ' +
      'event-loop lag). docs/metrics.md lists them all; docs/grafana-dashboard.json charts them.',
    tags: ['server'],
    policy: { role: 'admin', readOnly: 'allowed' },
    responses: { 200: { description: 'The metrics, in Prometheus text format 0.0.4', contentType: 'text/plain' } },
    handler: async ({ ctx }) => {
      const body = await metrics.render();
      ctx.set('Cache-Control', 'no-store');
      ctx.type = metrics.contentType;
      ctx.body = body;
      return undefined;
    },
  }),
];

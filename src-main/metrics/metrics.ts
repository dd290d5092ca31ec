import fs from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StreamStats } from '../events/stream-stats.ts';

/** What the metrics read at scrape time; every figure is kept by the part that owns it. */
export interface MetricsSources {
  stats: StreamStats;
  wsClients: () => number;
  sseClients: () => number;
  lastSequenceNumber: () => number;
  /** The SQLite file; its `-wal` beside it. */
  databaseFile: string;
  /** Who holds the workspace lock now (null: nobody). */
  lockHolder: () => 'server' | 'cli' | null;
  /** Tasks by status, every status listed (a status with none is 0, not absent). */
  taskCounts: () => Promise<Record<string, number>>;
}

/** Request durations from under a millisecond (a GET) to seconds (a stalled disk). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const GAP_REASONS = ['retention', 'overflow', 'limit'] as const;
const LOCK_HOLDERS = ['server', 'cli', 'none'] as const;

/**
 * Process metrics (CPU, memory, GC, event-loop lag) describe the process, not one server,
 * and prom-client's collectors start timers and observers that are never stopped. So they
 * live in one registry per process, made on the first scrape (a server nobody scrapes pays
 * nothing), while each runtime has its own registry: tests run several in one process.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0; // no -wal right after a TRUNCATE checkpoint
  }
}

/** A counter that mirrors a running total kept elsewhere (prom-client counters only go up by inc). */
function mirror(counter: Counter, value: number, labels?: Record<string, string>): void {
  if (labels) counter.labels(labels).inc(value);
  else counter.inc(value);
}

/**
 * The Prometheus view of one runtime. Counters are read from the totals the event core
 * keeps (StreamStats) when scraped, so publishing pays nothing for being measured; only
 * request durations are observed as they happen, by the HTTP layer's hook.
 */
export class Metrics {
  readonly #registry = new Registry();
  readonly #requestDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(sources: MetricsSources) {
    const registers = [this.#registry];
    const { stats } = sources;
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          mirror(this, read());
        },
      });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });

    counter('lookout_events_published_total', 'Events stored and fanned out', () => stats.published);
    counter(
      'lookout_events_delivered_total',
      'Events handed to a WebSocket or SSE client (replayed or live)',
      () => stats.delivered,
    );
    counter(
      'lookout_events_dropped_total',
      "Events dropped from a slow consumer's full queue (each is reported to it as an overflow gap)",
      () => stats.dropped,
    );
    new Counter({
      name: 'lookout_gaps_total',
      help: 'Gap notices sent to clients, by reason (retention, overflow, limit)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of GAP_REASONS) mirror(this, stats.gaps[reason], { reason });
      },
    });
    gauge('lookout_ws_clients', 'Connected WebSocket clients', sources.wsClients);
    gauge('lookout_sse_clients', 'Connected SSE clients', sources.sseClients);
    gauge(
      'lookout_queue_high_water_events',
      "The most events ever waiting in one client's queue (at the queue size, a client overflowed)",
      () => stats.queueHighWater,
    );
    gauge('lookout_last_sequence_number', 'The newest stored sequence number', sources.lastSequenceNumber);
    gauge('lookout_db_size_bytes', 'Size of the SQLite database file', () => fileSize(sources.databaseFile));
    gauge('lookout_wal_size_bytes', 'Size of the SQLite write-ahead log', () =>
      fileSize(`${sources.databaseFile}-wal`),
    );
    new Gauge({
      name: 'lookout_lock_holder',
      help: 'Who holds the workspace lock: 1 for the holder (server, cli or none), 0 for the others',
      labelNames: ['holder'],
      registers,
      collect() {
        const holder = sources.lockHolder() ?? 'none';
        for (const name of LOCK_HOLDERS) this.labels({ holder: name }).set(name === holder ? 1 : 0);
      },
    });
    new Gauge({
      name: 'lookout_tasks',
      help: 'Tasks by status',
      labelNames: ['status'],
      registers,
      async collect() {
        for (const [status, count] of Object.entries(await sources.taskCounts())) this.labels({ status }).set(count);
      },
    });
    this.#requestDuration = new Histogram({
      name: 'lookout_http_request_duration_seconds',
      help: 'HTTP request durations by route template (never the raw path), method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    });
  }

  /** `route` is the matched route template (`/api/v1/events`), or `unmatched`. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.#requestDuration.observe({ method, route, status: String(status) }, seconds);
  }

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  /** The text exposition: this runtime's metrics, then the process's. */
  async render(): Promise<string> {
    const [own, process] = await Promise.all([this.#registry.metrics(), processMetrics().metrics()]);
    return `${own}${process}`;
  }
}

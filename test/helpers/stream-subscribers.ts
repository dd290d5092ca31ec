import http from 'node:http';
import { WebSocket } from 'ws';

/**
 * Stream subscribers for race tests: each records the sequence numbers it is handed, in
 * order, and (with `reconnect`) cuts its connection every RECONNECT_EVERY events and
 * resumes where it was (`since` on /ws, Last-Event-ID on SSE), as a real client does.
 * `query` is the stream's query string (with its `?`), which must leave room for `&since=`.
 */

/** Where a server is reached. */
export interface Endpoint {
  url: string;
  token: string;
}

const RECONNECT_EVERY = 37;

export interface Collector {
  seqs: number[];
  /** Anything else with meaning: gaps, errors (none are expected here). */
  odd: string[];
  connections: number;
  /** How many of those the server confirmed (`connected`): the stream is live from then on. */
  live: number;
  stop: () => void;
}

/** A WebSocket subscriber; with `reconnect`, it cuts its connection every few events and resumes with since. */
export function wsSubscriber(server: Endpoint, query: string, reconnect: boolean): Collector {
  const collector: Collector = { seqs: [], odd: [], connections: 0, live: 0, stop: () => undefined };
  let stopped = false;
  let current: WebSocket | undefined;
  const open = () => {
    if (stopped) return;
    const since = collector.seqs.length > 0 ? `&since=${collector.seqs.at(-1)}` : '';
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws${query}${since}`, {
      headers: { 'x-session-token': server.token },
    });
    current = ws;
    collector.connections++;
    let sinceOpen = 0;
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { type: string; sequence_number?: number };
      if (typeof message.sequence_number === 'number') {
        collector.seqs.push(message.sequence_number);
        if (reconnect && ++sinceOpen % RECONNECT_EVERY === 0) ws.terminate();
      } else if (message.type === 'connected') {
        collector.live++;
      } else if (!['snapshot', 'replay_complete'].includes(message.type)) {
        collector.odd.push(raw.toString());
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (current === ws) setImmediate(open);
    });
  };
  open();
  collector.stop = () => {
    stopped = true;
    current?.terminate();
  };
  return collector;
}

/** An SSE subscriber; with `reconnect`, it drops the response every few events and resumes with Last-Event-ID. */
export function sseSubscriber(server: Endpoint, query: string, reconnect: boolean): Collector {
  const collector: Collector = { seqs: [], odd: [], connections: 0, live: 0, stop: () => undefined };
  let stopped = false;
  let current: http.ClientRequest | undefined;
  const open = () => {
    if (stopped) return;
    const headers: Record<string, string> = { 'x-session-token': server.token };
    if (collector.seqs.length > 0) headers['Last-Event-ID'] = String(collector.seqs.at(-1));
    collector.connections++;
    let sinceOpen = 0;
    let buffer = '';
    const req = http.get(`${server.url}/api/v1/sse${query}`, { headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          if (id) {
            collector.seqs.push(Number(id[1]));
            if (reconnect && ++sinceOpen % RECONNECT_EVERY === 0) {
              req.destroy();
              return;
            }
          } else if (event === 'connected') {
            collector.live++;
          } else if (event && event !== 'replay_complete') {
            collector.odd.push(block);
          }
        }
      });
    });
    current = req;
    req.on('error', () => undefined);
    req.on('close', () => {
      if (current === req) setImmediate(open);
    });
  };
  open();
  collector.stop = () => {
    stopped = true;
    current?.destroy();
  };
  return collector;
}

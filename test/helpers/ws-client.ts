import { WebSocket } from 'ws';
import type { Runtime } from '../../src-main/runtime.ts';

export interface Received {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  events: () => { sequence_number: number; type: string; data: Record<string, unknown> }[];
  controls: (type?: string) => Record<string, unknown>[];
  waitFor: (predicate: (messages: Record<string, unknown>[]) => boolean, timeoutMs?: number) => Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens /ws with the runtime's token and records every message. */
export function connectWs(
  runtime: Runtime,
  query = '',
  options: { headers?: Record<string, string>; autoPong?: boolean } = {},
): Promise<Received> {
  const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}/ws${query}`, {
    headers: { 'x-session-token': runtime.token, ...options.headers },
    autoPong: options.autoPong ?? true,
  });
  return wrap(ws);
}

export function wrap(ws: WebSocket): Promise<Received> {
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const waiter of waiters) waiter();
    });
  });
  const received: Received = {
    ws,
    messages,
    closed,
    events: () => messages.filter((m) => typeof m.sequence_number === 'number') as ReturnType<Received['events']>,
    controls: (type) =>
      messages.filter((m) => typeof m.sequence_number !== 'number' && (type === undefined || m.type === type)),
    waitFor: (predicate, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (predicate(messages)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out; got ${messages.length} messages: ${JSON.stringify(messages.slice(-5))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(received));
    ws.once('error', reject);
  });
}

/** The HTTP status a refused upgrade answers with (and its body). */
export function upgradeRefusal(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  });
}

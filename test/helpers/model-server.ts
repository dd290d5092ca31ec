import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/**
 * A local OpenAI-compatible chat completions server speaking the real streaming wire
 * format: `data: {json}\n\n` chunks with choices[0].delta.content, then `data: [DONE]`.
 * Each request is answered by the next scripted behaviour (the last one repeats).
 */
export type Behaviour =
  | { kind: 'stream'; chunks: string[]; delayMs?: number; done?: boolean }
  | { kind: 'status'; status: number; body?: string; retryAfter?: string }
  | { kind: 'disconnect'; chunks: string[] }
  | { kind: 'hang'; chunks: string[] }
  | { kind: 'json'; content: string };

export interface SeenRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: { model: string; stream: boolean; messages: { role: string; content: string }[] } & Record<string, unknown>;
}

export interface ModelServer {
  url: string;
  requests: SeenRequest[];
  /** Requests whose connection closed before the server ended its answer (the client aborted). */
  aborted: number;
  script(...behaviours: Behaviour[]): void;
  close(): Promise<void>;
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

const chunk = (content: string | null, finish: string | null = null) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1764514800,
    model: 'test-model',
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
  })}\n\n`;

export async function startModelServer(): Promise<ModelServer> {
  let behaviours: Behaviour[] = [{ kind: 'stream', chunks: ['Hello', ' world'] }];
  let next = 0;
  const state: ModelServer = {
    url: '',
    requests: [],
    aborted: 0,
    script: (...list) => {
      behaviours = list;
      next = 0;
    },
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (part: string) => (raw += part));
    req.on('end', () => {
      state.requests.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw) as SeenRequest['body'] });
      const behaviour = behaviours[Math.min(next++, behaviours.length - 1)]!;
      res.on('close', () => {
        if (!res.writableEnded) state.aborted++;
      });
      void answer(behaviour, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return state;
}

async function answer(behaviour: Behaviour, res: http.ServerResponse): Promise<void> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  if (behaviour.kind === 'status') {
    res.writeHead(behaviour.status, {
      'content-type': 'application/json',
      ...(behaviour.retryAfter === undefined ? {} : { 'retry-after': behaviour.retryAfter }),
    });
    res.end(
      behaviour.body ?? JSON.stringify({ error: { message: `status ${behaviour.status}`, type: 'server_error' } }),
    );
    return;
  }
  if (behaviour.kind === 'json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: behaviour.content } }] }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(': keep-alive comment\n\n');
  res.write(
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] })}\n\n`,
  );
  for (const text of behaviour.chunks) {
    if (res.destroyed) return;
    res.write(chunk(text));
    await sleep(behaviour.kind === 'stream' ? (behaviour.delayMs ?? 5) : 5);
  }
  if (behaviour.kind === 'disconnect') {
    res.socket?.destroy();
    return;
  }
  if (behaviour.kind === 'hang') {
    // Keeps the stream open, a chunk now and then, until the client goes away.
    while (!res.destroyed) {
      res.write(chunk('.'));
      await sleep(50);
    }
    return;
  }
  res.write(chunk(null, 'stop'));
  if (behaviour.done !== false) res.write('data: [DONE]\n\n');
  res.end();
}

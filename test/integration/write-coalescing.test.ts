import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs, type Received } from '../helpers/ws-client.ts';

/**
 * Corking (src-main/gateway/write-coalescing.ts) holds a client's frames until the tick
 * ends. These races check that holding them changes nothing a client can observe: with
 * concurrent publishers, clients joining mid-flood, and slow clients on both transports,
 * every client gets every event once, in order, or a gap for it, before the next event.
 */

type Rt = Awaited<ReturnType<typeof startRuntime>>;

interface Item {
  seq?: number;
  gap?: { from: number; to: number; reason: string };
}

/** An SSE client on a raw socket, so the test can stop reading it like a slow consumer. */
function sseClient(runtime: Rt, query: string) {
  const items: Item[] = [];
  let buffer = '';
  let response: http.IncomingMessage | undefined;
  const opened = new Promise<void>((resolve, reject) => {
    const req = http.get(
      `${runtime.url}/api/v1/sse${query}`,
      { headers: { 'x-session-token': runtime.token } },
      (res) => {
        response = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let index;
          while ((index = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, index);
            buffer = buffer.slice(index + 2);
            const fields = new Map(
              block
                .split('\n')
                .filter((line) => !line.startsWith(':'))
                .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)] as const),
            );
            const data = fields.get('data');
            if (fields.has('id')) items.push({ seq: Number(fields.get('id')) });
            else if (fields.get('event') === 'gap' && data) items.push({ gap: JSON.parse(data) as Item['gap'] });
          }
          if (items.length === 0) resolve();
        });
        resolve();
      },
    );
    req.on('error', reject);
  });
  return {
    items,
    opened,
    pause: () => response!.pause(),
    resume: () => response!.resume(),
    close: () => response?.destroy(),
  };
}

function wsItems(client: Received): Item[] {
  return client.messages
    .map((m): Item | undefined =>
      typeof m.sequence_number === 'number'
        ? { seq: m.sequence_number }
        : m.type === 'gap'
          ? { gap: m as unknown as Item['gap'] }
          : undefined,
    )
    .filter((item): item is Item => item !== undefined);
}

/**
 * Every expected number exactly once, as an event or inside a gap; numbers strictly
 * increasing; each overflow gap right before the event after it. Returns the matching
 * events dropped (the numbers of expected events the gaps cover).
 */
function checkAccounting(items: Item[], expected: number[], label: string): number {
  const wanted = new Set(expected);
  const seen = new Map<number, number>();
  let last = 0;
  let dropped = 0;
  items.forEach((item, index) => {
    if (item.gap) {
      expect(item.gap.reason, label).toBe('overflow');
      expect(item.gap.from, label).toBeGreaterThan(last);
      // A range of numbers: it may span events the filter excludes (x.other), never delivered ones.
      for (let s = item.gap.from; s <= item.gap.to; s++) {
        if (!wanted.has(s)) continue;
        seen.set(s, (seen.get(s) ?? 0) + 1);
        dropped++;
      }
      last = item.gap.to;
      const next = items[index + 1];
      if (next?.seq !== undefined) expect(next.seq, `${label}: event after a gap`).toBe(item.gap.to + 1);
    } else {
      expect(item.seq!, `${label}: order`).toBeGreaterThan(last);
      expect(wanted.has(item.seq!), `${label}: only x.race events`).toBe(true);
      seen.set(item.seq!, (seen.get(item.seq!) ?? 0) + 1);
      last = item.seq!;
    }
  });
  const wrong = expected.filter((s) => seen.get(s) !== 1);
  expect(wrong.slice(0, 5), `${label}: numbers not seen exactly once`).toEqual([]);
  expect(seen.size, label).toBe(expected.length);
  return dropped;
}

describe('write coalescing (corked sockets)', () => {
  it(
    'keeps no hole, no duplicate and exact gap accounting with concurrent publishers and slow clients',
    { timeout: 90_000 },
    async () => {
      const runtime = await startRuntime({ queueSize: 100 });
      const types = '?types=x.race';
      const fast = await Promise.all([connectWs(runtime, types), connectWs(runtime, types), connectWs(runtime, types)]);
      const slowWs = await connectWs(runtime, types);
      await Promise.all([...fast, slowWs].map((c) => c.waitFor((m) => m.some((x) => x.type === 'snapshot'))));
      const fastSse = sseClient(runtime, types);
      const slowSse = sseClient(runtime, types);
      await Promise.all([fastSse.opened, slowSse.opened]);
      (slowWs.ws as unknown as { _socket: net.Socket })._socket.pause();
      slowSse.pause();

      const blob = 'y'.repeat(3000);
      const post = async (events: unknown[]) => {
        const res = await api(runtime, '/api/v1/events', { method: 'POST', json: { events } });
        expect(res.status).toBe(201);
      };
      const publisher = async (p: number) => {
        for (let round = 0; round < 8; round++) {
          await post(Array.from({ length: 100 }, (_, i) => ({ type: 'x.race', data: { p, round, i, blob } })));
          await post([{ type: 'x.race', data: { p, round, single: true } }]);
          await post([{ type: 'x.other', data: {} }]); // filtered out everywhere
        }
      };
      // A client that joins mid-flood with a replay from the start.
      const joining = (async () => {
        await post([{ type: 'x.race', data: { first: true } }]);
        return connectWs(runtime, `${types}&since=0`);
      })();
      const [late] = await Promise.all([joining, publisher(1), publisher(2), publisher(3), publisher(4)]);

      const expected = (await runtime.bus.log.read({ after: 0, patterns: ['x.race'], limit: 10_000 })).map((e) =>
        Number(e.seq),
      );
      expect(expected.length).toBe(4 * 8 * 101 + 1);
      const last = expected.at(-1)!;
      const reached = (items: () => Item[]) => () => {
        const tail = items().at(-1);
        return tail?.seq === last || tail?.gap?.to === last;
      };
      for (const client of [...fast, late]) {
        await client.waitFor(
          reached(() => wsItems(client)),
          20_000,
        );
      }
      await expect
        .poll(
          reached(() => fastSse.items),
          { timeout: 20_000 },
        )
        .toBe(true);

      (slowWs.ws as unknown as { _socket: net.Socket })._socket.resume();
      slowSse.resume();
      await slowWs.waitFor(
        reached(() => wsItems(slowWs)),
        20_000,
      );
      await expect
        .poll(
          reached(() => slowSse.items),
          { timeout: 20_000 },
        )
        .toBe(true);

      for (const [i, client] of fast.entries()) {
        expect(
          wsItems(client).map((item) => item.seq),
          `fast ws ${i}`,
        ).toEqual(expected);
      }
      expect(fastSse.items.map((item) => item.seq)).toEqual(expected);
      expect(checkAccounting(wsItems(late), expected, 'late ws (replay then live)')).toBe(0);
      const droppedWs = checkAccounting(wsItems(slowWs), expected, 'slow ws');
      const droppedSse = checkAccounting(slowSse.items, expected, 'slow sse');
      expect(droppedWs + droppedSse).toBeGreaterThan(0);
      // The server's own count of drops is exactly what the gaps announced.
      expect(runtime.bus.stats.dropped).toBe(droppedWs + droppedSse);
      fastSse.close();
      slowSse.close();
    },
  );
});

describe('shared event frames (src-main/gateway/text-frame.ts)', () => {
  it(
    'interleave with each client’s own control frames without tearing, at every frame-length form',
    { timeout: 90_000 },
    async () => {
      const runtime = await startRuntime({ queueSize: 10_000 });
      const clients = await Promise.all([0, 1, 2].map(() => connectWs(runtime, '?types=x.frame')));
      const [pinger, switcher, plain] = clients as [Received, Received, Received];
      await Promise.all(clients.map((c) => c.waitFor((m) => m.some((x) => x.type === 'snapshot'))));

      // Payloads on both sides of the 7-bit, 16-bit and 64-bit length forms, multi-byte text included.
      const sizes = [10, 100, 200, 60_000, 65_400];
      const texts = sizes.flatMap((n) => ['a'.repeat(n), 'é€😀'.repeat(Math.floor(n / 9))]);
      const publisher = async (p: number) => {
        for (let round = 0; round < 6; round++) {
          const res = await api(runtime, '/api/v1/events', {
            method: 'POST',
            json: { events: texts.map((text, i) => ({ type: 'x.frame', data: { p, round, i, text } })) },
          });
          expect(res.status).toBe(201);
        }
      };
      // While events flow: one client pings (pongs are its own frames, written by ws), another
      // changes its filter twice (a `subscribed` frame each time).
      let pings = 0;
      const pinging = (async () => {
        for (let i = 0; i < 60; i++) {
          pinger.ws.send(JSON.stringify({ type: 'ping', id: `p${i}` }));
          pings++;
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const switching = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        switcher.ws.send(JSON.stringify({ type: 'subscribe', types: ['x.none'] }));
        await switcher.waitFor((m) => m.some((x) => x.type === 'subscribed'));
        switcher.ws.send(JSON.stringify({ type: 'subscribe', types: ['x.frame'] }));
      })();
      await Promise.all([publisher(1), publisher(2), pinging, switching]);

      const expected = await runtime.bus.log.read({ after: 0, patterns: ['x.frame'], limit: 10_000 });
      expect(expected.length).toBe(2 * 6 * texts.length);
      const last = expected.at(-1)!.seq;
      for (const client of clients)
        await client.waitFor(() => client.events().at(-1)?.sequence_number === last, 30_000);
      await pinger.waitFor((m) => m.filter((x) => x.type === 'pong').length === pings, 30_000);

      // Every frame parsed as JSON (wrap() would have thrown on a torn one) and nothing was refused.
      for (const client of clients) expect(client.controls('error')).toEqual([]);
      const byNumber = new Map(expected.map((e) => [e.seq, e.json]));
      for (const client of [pinger, plain]) {
        expect(client.events().map((e) => e.sequence_number)).toEqual(expected.map((e) => e.seq));
      }
      // The switcher got a suffix after its second subscribe, in order, each event intact.
      const switched = switcher.events();
      expect(switched.length).toBeGreaterThan(0);
      expect(switched.map((e) => e.sequence_number)).toEqual(
        expected.map((e) => e.seq).filter((seq) => seq >= switched[0]!.sequence_number),
      );
      for (const client of clients) {
        for (const event of client.events()) expect(JSON.stringify(event)).toBe(byNumber.get(event.sequence_number));
      }
      expect(pinger.controls('pong').map((m) => m.id)).toEqual(Array.from({ length: pings }, (_, i) => `p${i}`));
    },
  );
});

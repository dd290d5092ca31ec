import { describe, expect, it } from 'vitest';
import { parseNonNegativeInteger } from '../../src-shared/non-negative-integer.ts';
import { runLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs, upgradeRefusal } from '../helpers/ws-client.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const NOT_NUMBERS = ['0x10', '+5', '', ' 5', '1e3', '10.0', '1.5', '-1', 'abc', '1234567890123456'];

describe('one strict reading of numbers', () => {
  it('reads plain decimal digits only', () => {
    expect(parseNonNegativeInteger('0')).toBe(0);
    expect(parseNonNegativeInteger('42')).toBe(42);
    expect(parseNonNegativeInteger('999999999999999')).toBe(999_999_999_999_999);
    for (const text of NOT_NUMBERS) expect(parseNonNegativeInteger(text), JSON.stringify(text)).toBeUndefined();
  });

  it('refuses the same texts on GET /events (since, limit), /sse and /ws (since, tail) alike', async () => {
    const runtime = await startRuntime();
    const headers = { 'x-session-token': runtime.token };
    for (const text of NOT_NUMBERS) {
      const q = encodeURIComponent(text);
      for (const path of [
        `/api/v1/events?since=${q}`,
        `/api/v1/events?limit=${q}`,
        `/api/v1/sse?since=${q}`,
        `/api/v1/sse?tail=${q}`,
      ]) {
        const res = await api(runtime, path);
        expect(res.status, path).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: 'invalid_input' } });
      }
      for (const name of ['since', 'tail']) {
        const ws = await upgradeRefusal(`ws://127.0.0.1:${runtime.port}/ws?${name}=${q}`, headers);
        expect(ws.status, `/ws?${name}=${q}`).toBe(400);
      }
    }
    expect((await api(runtime, '/api/v1/events?since=0&limit=10')).status).toBe(200);
  });

  it('refuses them in lookout tail --since too', async () => {
    const result = await runLookout(['tail', '--workspace', tempWorkspace(), '--since', '0x10']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--since takes a sequence number/);
  });
});

describe('/ws?since= beyond the newest event', () => {
  it('is clamped to the newest: replay_complete names it, and live events follow it', async () => {
    const runtime = await startRuntime();
    await runtime.bus.publish([{ type: 'x.one', data: {} }]);
    const newest = runtime.bus.log.lastSequenceNumber;
    const client = await connectWs(runtime, `?since=${newest + 1000}`);
    await client.waitFor((m) => m.some((x) => x.type === 'replay_complete'));
    expect(client.controls('replay_complete')[0]!.last_sequence_number).toBe(newest);
    await runtime.bus.publish([{ type: 'x.two', data: {} }]);
    await client.waitFor((m) => m.some((x) => x.type === 'x.two'));
    expect(client.events().map((e) => e.sequence_number)).toEqual([newest + 1]);
    client.ws.close();
  });
});

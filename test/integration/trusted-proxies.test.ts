import os from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../src-main/runtime.ts';
import { addUser } from '../helpers/access.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { api, startRuntime } from '../helpers/runtime.ts';

// A reverse proxy on another host (Caddy in a container network) reaches Lookout from a
// non-loopback address. Here the machine's own non-loopback address plays the proxy: a
// real TCP connection whose peer is not 127.0.0.1.
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((nic) => nic && nic.family === 'IPv4' && !nic.internal)?.address;

const FORWARDED = { 'x-forwarded-for': '127.0.0.1, 203.0.113.7', 'x-forwarded-proto': 'https' };

/** A sign-in sent from the LAN address, as the proxy would forward it. */
function signInViaProxy(runtime: Runtime, body: unknown) {
  return rawRequest(`http://${lanAddress}:${runtime.port}/api/v1/auth/sign-in`, {
    method: 'POST',
    // What the Caddyfile sets: Lookout only answers to its own names (DNS-rebinding defence).
    headers: { host: `127.0.0.1:${runtime.port}`, 'content-type': 'application/json', ...FORWARDED },
    body: JSON.stringify(body),
  });
}

async function failedSignInAddresses(runtime: Runtime): Promise<unknown[]> {
  const res = await api(runtime, '/api/v1/events?types=auth.sign_in_failed');
  const { events } = (await res.json()) as { events: { data: { address: string } }[] };
  return events.map((e) => e.data.address);
}

describe.skipIf(!lanAddress)(
  `--trusted-proxies: a proxy on another host${lanAddress ? '' : ' (skipped: no non-loopback IPv4 address here)'}`,
  () => {
    it('believes X-Forwarded-For/-Proto from a listed proxy: the client is remote, its cookie Secure', async () => {
      const runtime = await startRuntime({ host: '0.0.0.0', allowRemote: true, trustedProxies: [`${lanAddress}/32`] });
      await addUser(runtime, 'ada', 'viewer');

      const user = await signInViaProxy(runtime, { name: 'ada', password: 'correct horse battery' });
      expect(user.status).toBe(200);
      expect(String(user.headers['set-cookie'])).toContain('Secure');
      // The owner token is for this machine only: through the proxy it is refused.
      expect((await signInViaProxy(runtime, { token: runtime.token })).status).toBe(401);
      expect((await signInViaProxy(runtime, { name: 'ada', password: 'wrong' })).status).toBe(401);
      // Limits and audit see the real client, not the proxy (else one bad actor would
      // lock every user out of signing in, all being "the proxy").
      expect(await failedSignInAddresses(runtime)).toEqual(['203.0.113.7', '203.0.113.7']);
    });

    it('ignores those headers from anyone not listed (--trust-proxy alone trusts loopback only)', async () => {
      const runtime = await startRuntime({ host: '0.0.0.0', allowRemote: true, trustProxy: true });
      await addUser(runtime, 'ada', 'viewer');

      const user = await signInViaProxy(runtime, { name: 'ada', password: 'correct horse battery' });
      expect(user.status).toBe(200);
      expect(String(user.headers['set-cookie'])).not.toContain('Secure');
      expect((await signInViaProxy(runtime, { name: 'ada', password: 'wrong' })).status).toBe(401);
      expect(await failedSignInAddresses(runtime)).toEqual([lanAddress]);
    });
  },
);

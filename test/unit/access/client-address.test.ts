import { describe, expect, it } from 'vitest';
import { proxyTrust, TRUST_NO_PROXY } from '../../../src-main/access/client-address.ts';

describe('proxyTrust', () => {
  it('trusts loopback only with --trust-proxy', () => {
    const local = proxyTrust({ trustProxy: true, trustedProxies: [] });
    expect(['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1'].map(local)).toEqual([true, true, true, true]);
    expect(local('172.28.0.10')).toBe(false);
    expect(proxyTrust({ trustProxy: false, trustedProxies: [] })('127.0.0.1')).toBe(false);
    expect(TRUST_NO_PROXY('127.0.0.1')).toBe(false);
  });

  it('trusts listed addresses and ranges, whatever socket family reports them', () => {
    const trust = proxyTrust({ trustProxy: false, trustedProxies: ['172.28.0.10', '10.1.0.0/16', 'fd00::/64'] });
    expect(trust('172.28.0.10')).toBe(true);
    expect(trust('::ffff:172.28.0.10')).toBe(true); // a dual-stack listener's view of an IPv4 peer
    expect(trust('172.28.0.11')).toBe(false);
    expect(trust('10.1.255.4')).toBe(true);
    expect(trust('10.2.0.1')).toBe(false);
    expect(trust('fd00::5')).toBe(true);
    expect(trust('fd01::5')).toBe(false);
    // Loopback is not implied by a list: a proxy elsewhere does not make this machine one.
    expect(trust('127.0.0.1')).toBe(false);
    expect(trust(undefined)).toBe(false);
    expect(trust('')).toBe(false);
  });

  it('refuses an entry that is not an address', () => {
    expect(() => proxyTrust({ trustProxy: false, trustedProxies: ['caddy'] })).toThrow(
      /not an IP address or CIDR: caddy/,
    );
  });
});

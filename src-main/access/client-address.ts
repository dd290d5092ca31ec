import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { parseAddressOrCidr } from '../config.ts';

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/;

export const isLoopbackAddress = (address: string | undefined): boolean =>
  address !== undefined && LOOPBACK.test(address);

/**
 * Whether a peer (the TCP connection's own address) is a reverse proxy whose
 * X-Forwarded-For and X-Forwarded-Proto are believed. Built once from the configuration.
 */
export type ProxyTrust = (peer: string | undefined) => boolean;

/** Nobody speaks for the client: the peer is the client. */
export const TRUST_NO_PROXY: ProxyTrust = () => false;

/**
 * `--trust-proxy` trusts a proxy on this machine (a loopback peer); `--trusted-proxies`
 * names proxies elsewhere, by address or CIDR: Caddy in a container network reaches
 * Lookout from its own container address, never from loopback.
 */
export function proxyTrust(options: { trustProxy: boolean; trustedProxies: readonly string[] }): ProxyTrust {
  const list = new BlockList();
  for (const entry of options.trustedProxies) {
    const parsed = parseAddressOrCidr(entry);
    if (!parsed) throw new Error(`not an IP address or CIDR: ${entry}`);
    if (parsed.prefix === undefined) list.addAddress(parsed.address, parsed.family);
    else list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  const listed = options.trustedProxies.length > 0;
  return (peer) => {
    if (!peer) return false;
    if (options.trustProxy && isLoopbackAddress(peer)) return true;
    if (!listed) return false;
    // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d.
    const v4 = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(peer)?.[1];
    if (v4) return list.check(v4, 'ipv4');
    return list.check(peer, isIP(peer) === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * The address a request comes from. Behind a trusted reverse proxy, the proxy's own
 * connection is the peer, so the client is the last `X-Forwarded-For` entry (the one
 * the proxy appended; anything left of it is the client's own claim).
 */
export function clientAddress(req: IncomingMessage, trustProxy: ProxyTrust): string {
  const peer = req.socket.remoteAddress ?? '';
  if (!trustProxy(peer)) return peer;
  const forwarded = req.headers['x-forwarded-for'];
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',');
  const last = list[list.length - 1]?.trim();
  return last || peer;
}

/** Whether the original request was https (only a trusted proxy can say so). */
export function isHttps(req: IncomingMessage, trustProxy: ProxyTrust): boolean {
  if (!trustProxy(req.socket.remoteAddress)) return false;
  const proto = req.headers['x-forwarded-proto'];
  return (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase() === 'https';
}

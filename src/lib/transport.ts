import { BlockList, isIP } from 'node:net';
import { normalizeIp, type ProxyTrust } from './ip.js';

/** What a request says about how it reached this server. */
export interface TransportFacts {
  /** The socket's peer address. */
  readonly remoteAddress: string | undefined;
  /** Whether the connection to this server is TLS; absent: not known to be. */
  readonly encrypted?: boolean | undefined;
  /** `X-Forwarded-Proto`, believed only from a trusted proxy. */
  readonly forwardedProto?: string | undefined;
  /** `X-Forwarded-For`: its presence says a proxy forwarded the request. */
  readonly forwardedFor?: string | string[] | undefined;
}

/**
 * The scheme of the request as the client used it: `https` on a TLS socket, or when a trusted
 * proxy (`trustProxy`) says `X-Forwarded-Proto: https` (its first value, the client's hop);
 * otherwise `http`.
 */
export function requestScheme(source: TransportFacts, trust: ProxyTrust): 'http' | 'https' {
  if (source.encrypted === true) return 'https';
  if (source.forwardedProto !== undefined && trust(normalizeIp(source.remoteAddress), 0)) {
    const first = source.forwardedProto.split(',', 1)[0]?.trim().toLowerCase();
    if (first === 'https') return 'https';
  }
  return 'http';
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether `address` is a loopback address: 127.0.0.0/8, `::1`, or `::ffff:127.x.y.z`. */
export function isLoopbackAddress(address: string | undefined): boolean {
  const ip = normalizeIp(address);
  const family = isIP(ip);
  return family !== 0 && LOOPBACK.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Whether credentials in this request crossed the network encrypted: it came over HTTPS (see
 * {@link requestScheme}), or straight from this machine (a loopback peer). A request that was
 * relayed (it carries `X-Forwarded-For` or `X-Forwarded-Proto`) gets no loopback exemption, even
 * from a proxy on this machine: its address says nothing about the client's own connection, and
 * only a trusted proxy's `X-Forwarded-Proto: https` vouches for that. (A local proxy left out of
 * `trustProxy` would otherwise make every client look local.)
 */
export function isSecureTransport(source: TransportFacts, trust: ProxyTrust): boolean {
  if (requestScheme(source, trust) === 'https') return true;
  if (source.forwardedProto !== undefined || source.forwardedFor !== undefined) return false;
  return isLoopbackAddress(source.remoteAddress);
}

import { BlockList, isIP } from 'node:net';
import type { TrustProxy } from '../core/config.js';

/**
 * A client address as stored in `last_ip`: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes IPv4,
 * anything that is not an IP address becomes `""`.
 */
export function normalizeIp(address: string | undefined): string {
  if (address === undefined || address.length === 0 || address.length > 45) return '';
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) return address.slice(7);
  if (address.startsWith('::FFFF:') && isIP(address.slice(7)) === 4) return address.slice(7);
  return isIP(address) === 0 ? '' : address.toLowerCase();
}

/** Decides which peer addresses are trusted proxies. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** Compiles the `trustProxy` option once. */
export function compileTrustProxy(trust: TrustProxy): ProxyTrust {
  if (trust === false) return () => false;
  if (trust === true) return () => true;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  const list = new BlockList();
  for (const entry of trust) {
    const [net, bits] = entry.split('/');
    const family = isIP(normalizeIp(net) || (net ?? ''));
    if (family === 0)
      throw new TypeError(`nilva-session: option "trustProxy" has an entry that is not an address: ${JSON.stringify(entry)}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const address = normalizeIp(net);
    if (bits === undefined) list.addAddress(address, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new TypeError(`nilva-session: option "trustProxy" has a bad prefix length: ${JSON.stringify(entry)}`);
      }
      list.addSubnet(address, prefix, type);
    }
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * The client's IP: the socket's peer, or, when that peer is a trusted proxy, the nearest
 * untrusted address of `X-Forwarded-For` (walked from the right). Garbage entries end the walk.
 */
export function clientIp(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, trust: ProxyTrust): string {
  let current = normalizeIp(remoteAddress);
  if (forwardedFor === undefined || current === '') return current;
  const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  for (let hop = 0, i = chain.length - 1; i >= 0; hop++, i--) {
    if (!trust(current, hop)) break;
    const next = normalizeIp(chain[i]?.trim());
    if (next === '') break;
    current = next;
  }
  return current;
}

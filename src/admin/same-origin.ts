import type { ProxyTrust } from '../lib/ip.js';
import { hostOrigin } from '../lib/origin.js';
import { requestScheme } from '../lib/transport.js';

/** The request headers the same-origin check reads. */
export interface OriginFacts {
  /** `Sec-Fetch-Site`, set by the browser (scripts cannot forge it). */
  readonly secFetchSite: string | undefined;
  /** `Origin`, sent by browsers on every cross-origin request and on every POST. */
  readonly origin: string | undefined;
}

/** What {@link requestOrigin} needs to know about the request. */
export interface OriginSource {
  readonly host: string | undefined;
  /** Whether the connection to this server is TLS. */
  readonly encrypted: boolean;
  /** `X-Forwarded-Proto`, believed only from a trusted proxy. */
  readonly forwardedProto: string | undefined;
  readonly remoteAddress: string | undefined;
}

// The scheme is the API's concern too (`requireSecureTransport`): one framework-free rule.
export type { TransportFacts } from '../lib/transport.js';
export { requestScheme };

/** `scheme://host[:port]` of the request, or `undefined` without a well-formed `Host` header. */
export function requestOrigin(source: OriginSource, trust: ProxyTrust): string | undefined {
  return hostOrigin(source.host, requestScheme(source, trust));
}

/**
 * The CSRF check of state-changing requests a browser authenticated with its cookie: with
 * `Sec-Fetch-Site`, it must be `same-origin` or `none` (typed by the user); without it, `Origin`
 * must equal the request's own origin. A request with neither header is refused: every browser
 * that runs these pages sends at least `Origin` on a POST, and other clients use the
 * `Authorization` header, which needs no such check.
 *
 * @example isSameOriginRequest({ secFetchSite: 'cross-site', origin: 'https://evil.example' }, 'http://127.0.0.1:3000') // false
 */
export function isSameOriginRequest(facts: OriginFacts, ownOrigin: string | undefined): boolean {
  if (facts.secFetchSite !== undefined) {
    const site = facts.secFetchSite.trim().toLowerCase();
    return site === 'same-origin' || site === 'none';
  }
  if (facts.origin !== undefined) return ownOrigin !== undefined && facts.origin.trim().toLowerCase() === ownOrigin;
  return false;
}

/**
 * `nilva-session/utils`: the helpers the library is built from, for applications that want the
 * same behaviour outside a request (a script that issues tokens, a log line that needs the
 * client IP as the library sees it).
 *
 * The first group keeps the names of the Python original's `nilva_session.utils`, in camelCase:
 * `random_token_generator` → {@link randomTokenGenerator}, `token_generator` →
 * {@link tokenGenerator}, `token_expire_at_generator` → {@link tokenExpireAtGenerator},
 * `hash_data` → {@link hashData}. The rest are this library's own helpers: client IP and proxy
 * trust, User-Agent parsing, `Authorization` header parsing, token shape checks, and the
 * Python-style UTC timestamp the contract's messages use.
 *
 * Applications rarely need these: `SessionManager` and the integrations call them for you.
 *
 * @example
 * import { clientIp, compileTrustProxy } from 'nilva-session/utils';
 * const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], compileTrustProxy(['127.0.0.1', '::1']));
 *
 * @module
 */

export type { ParsedAuthorization } from '../core/authorization-header.js';
export { parseAuthorization } from '../core/authorization-header.js';
export type { ProxyTrust } from '../lib/ip.js';
export { clientIp, compileTrustProxy, normalizeIp } from '../lib/ip.js';
export { pythonUtcString } from '../lib/time.js';
export {
  hashData,
  isWellFormedToken,
  KEY_PREFIX_LENGTH,
  randomTokenGenerator,
  tokenExpireAtGenerator,
  tokenGenerator,
} from '../tokens/opaque-token.js';
export type { UserAgentData } from '../useragent/user-agent-data.js';
export { sameUserAgentFamily, userAgentData } from '../useragent/user-agent-data.js';

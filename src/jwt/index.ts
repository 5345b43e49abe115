/**
 * `nilva-session/jwt`: the codec behind `SessionManager`'s `jwt` option, for applications that
 * issue or verify the session-bound access/refresh pairs themselves (a custom login route, a
 * test). Configure JWTs with the `jwt` option of `SessionManager` (its types, `JwtOptions` and
 * `JwtKey`, are exported from `nilva-session`); `sessions.jwt` is the codec it built.
 *
 * @module
 */

export type { JwtAlgorithm, JwtClaims, JwtConfig, JwtFailure, JwtKey, JwtOptions, JwtVerification } from '../tokens/jwt.js';
export { JwtCodec } from '../tokens/jwt.js';

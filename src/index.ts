// nilva-session: database-backed session authentication for Node.js APIs.
// Optional pieces live under subpaths: nilva-session/kysely, /http, /express, /fastify, /hono,
// /redis, /testing. The in-process cache and the JWT codec are here.

export type { CacheRef } from './cache/invalidation-message.js';
export type { MemorySessionCacheOptions } from './cache/memory-session-cache.js';
export { MemorySessionCache } from './cache/memory-session-cache.js';
export type { ParsedAuthorization } from './core/authorization-header.js';
export { parseAuthorization } from './core/authorization-header.js';
export type { SessionConfig, SessionManagerOptions, TrustProxy, UserAgentPolicy } from './core/config.js';
export { resolveConfig } from './core/config.js';
export type { SessionErrorCode } from './core/errors.js';
export { messages, SessionError } from './core/errors.js';
export type { SessionEndReason, SessionEvent, SessionLogger } from './core/events.js';
export type { SessionRecord, SessionRef, UserId } from './core/session.js';
export type {
  AdminKeyset,
  AdminListPage,
  AdminListQuery,
  AdminSessionChanges,
  AdminSortKey,
  AdminStatusFilter,
  DailyCount,
  SessionAdminStore,
  SortOrder,
  UserAgentCount,
} from './core/session-admin-store.js';
export type { CachedSession, CacheRead, SessionCache } from './core/session-cache.js';
export type {
  AuthFailure,
  AuthOutcome,
  AuthSuccess,
  CreatedSession,
  CreateSessionInput,
  MaybePromise,
  RequestFacts,
} from './core/session-manager.js';
export { SessionManager } from './core/session-manager.js';
export type { SessionStore } from './core/session-store.js';
export type { ProxyTrust } from './lib/ip.js';
export { clientIp, compileTrustProxy, normalizeIp } from './lib/ip.js';
export { pythonUtcString } from './lib/time.js';
export type { JwtAlgorithm, JwtClaims, JwtConfig, JwtFailure, JwtKey, JwtOptions, JwtVerification } from './tokens/jwt.js';
export { JwtCodec } from './tokens/jwt.js';
export {
  hashData,
  isWellFormedToken,
  KEY_PREFIX_LENGTH,
  randomTokenGenerator,
  tokenExpireAtGenerator,
  tokenGenerator,
} from './tokens/opaque-token.js';
export type { UserAgentData } from './useragent/user-agent-data.js';
export { sameUserAgentFamily, userAgentData } from './useragent/user-agent-data.js';

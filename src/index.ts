// nilva-session: database-backed session authentication for Node.js APIs.
// The root holds what applications use: the engine, its errors, the in-process cache and the
// types around them. Optional pieces live under subpaths: nilva-session/kysely, /redis, /http,
// /express, /fastify, /hono, /admin (and /admin/express, /admin/fastify, /admin/hono),
// /testing; the building blocks are in /utils (token generators, IP and User-Agent helpers)
// and /jwt (the JWT codec).

export type { CacheRef } from './cache/invalidation-message.js';
export type { MemorySessionCacheOptions } from './cache/memory-session-cache.js';
export { MemorySessionCache } from './cache/memory-session-cache.js';
export type { SessionConfig, SessionLimitAction, SessionManagerOptions, TrustProxy, UserAgentPolicy } from './core/config.js';
export type { SessionErrorCode } from './core/errors.js';
export { SessionError } from './core/errors.js';
export type { SessionEndReason, SessionEvent, SessionLogger } from './core/events.js';
export type { SessionEnd, SessionRecord, SessionRef, UserId } from './core/session.js';
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
  RenewedSession,
  RenewSessionOptions,
  RequestFacts,
} from './core/session-manager.js';
export { SessionManager } from './core/session-manager.js';
export type { SessionPage } from './core/session-page.js';
export type { ActivePage, ActivePagePosition, InsertSecrets, LimitedInsert, SessionLimit, SessionStore } from './core/session-store.js';
export type { NilvaContext } from './integrations/nilva-context.js';
export type { JwtAlgorithm, JwtClaims, JwtKey, JwtOptions } from './tokens/jwt.js';

/**
 * Declares the application's user type once, for every integration. `req.nilva.user` (Express)
 * and `request.nilva.user` (Fastify) are then of that type, and `nilvaExpress(api)` /
 * `nilvaFastify` refuse a `SessionApi` whose user is of another type.
 *
 * Declared here, in the root module itself, so that an application's augmentation of
 * `'nilva-session'` always lands on it.
 *
 * @example
 * declare module 'nilva-session' {
 *   interface Register {
 *     user: AppUser;
 *   }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the application through declaration merging.
export interface Register {}

/** The user type declared in {@link Register}; `unknown` when none is. */
export type RegisteredUser = Register extends { readonly user: infer TUser } ? TUser : unknown;

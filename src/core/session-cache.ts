import type { SessionRef, UserId } from './session.js';

/**
 * The minimal record a cache holds for an active session: enough to run every check of a
 * request, nothing secret (no token, no password hash). Times are epoch milliseconds.
 */
export interface CachedSession {
  readonly id: string;
  readonly userId: UserId;
  readonly keyHash: string;
  /** Absolute expiry, or `null` for none. */
  readonly expireAt: number | null;
  readonly lastOnline: number;
  readonly lastIp: string;
  readonly userAgent: string;
  readonly createdAt: number;
  /** When the user last authenticated for this session (`requireFreshAuth` judges it). */
  readonly authenticatedAt: number;
  /** The application's user as `loadUser` returned it (keep it small and free of secrets). */
  readonly user: unknown;
}

/** A cache read: synchronous when the answer is in this process, a promise otherwise. */
export type CacheRead = CachedSession | undefined | Promise<CachedSession | undefined>;

/**
 * An accelerator in front of the store, never a second source of truth: the core runs every
 * check on a hit as on a miss, and clears entries on every path that ends or changes a session.
 *
 * Keys are the token's SHA-256 (`byKeyHash`) and the session id (`byId`); the raw token never
 * reaches a cache.
 */
export interface SessionCache {
  byKeyHash(keyHash: string): CacheRead;
  byId(id: string): CacheRead;
  /**
   * A counter that changes on every invalidation this cache knows of. The core reads it before
   * a store lookup and passes it to `set`, which drops the fill if an invalidation happened in
   * between (so a concurrent revoke cannot be undone by a stale fill).
   */
  epoch(): number;
  /** Stores `entry` for at most `ttlMs` (the core caps it at the session's expiry). */
  set(entry: CachedSession, ttlMs: number, epoch: number): void | Promise<void>;
  /** Replaces fields of an existing entry without extending its lifetime. */
  update?(entry: CachedSession): void | Promise<void>;
  /** Clears these sessions here and, for shared caches, in every other process. */
  invalidate(refs: readonly SessionRef[]): void | Promise<void>;
  close?(): Promise<void>;
}

/**
 * A user's identifier as the application's users table has it: a string, or an integer.
 */
export type UserId = string | number;

/**
 * One row of the `user_session` table, as the core sees it. Times are `Date`s in UTC.
 *
 * The raw token is never part of a session: only its SHA-256 (`keyHash`) and its first
 * characters (`keyPrefix`, for display) are kept.
 */
export interface SessionRecord {
  readonly id: string;
  readonly userId: UserId;
  readonly keyHash: string;
  readonly keyPrefix: string;
  /** `null` means no absolute expiry. */
  readonly expireAt: Date | null;
  readonly isActive: boolean;
  readonly lastOnline: Date;
  readonly lastIp: string;
  readonly userAgent: string;
  readonly detail: string | null;
  readonly createdAt: Date;
  /**
   * The `jti` of the session's current refresh token, when refresh rotation is on (JWT
   * sessions); `null` otherwise. Not secret: a jti alone authenticates nothing.
   */
  readonly refreshJti: string | null;
}

/** What the store needs to identify a session in every cache: its id and its key hash. */
export interface SessionRef {
  readonly id: string;
  readonly keyHash: string;
  readonly userId: UserId;
}

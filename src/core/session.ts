import type { SessionEndReason } from './events.js';

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
  /** A sentence for people: why the session ended (derived from `endReason`, editable by an admin). */
  readonly detail: string | null;
  /**
   * Why the session ended, as a stable code: behaviour is keyed on it, never on `detail`.
   * `null` while the session is active (and for rows ended before the code was recorded).
   */
  readonly endReason: SessionEndReason | null;
  readonly createdAt: Date;
  /**
   * When the user last proved who they are for this session (a password at login, or again at
   * a step-up): what `requireFreshAuth` judges. A renewal without re-authentication keeps it.
   */
  readonly authenticatedAt: Date;
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

/** How a session ends: the stable code, and the sentence stored in `detail` for people. */
export interface SessionEnd {
  readonly reason: SessionEndReason;
  readonly detail: string;
}

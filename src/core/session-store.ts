import type { SessionEnd, SessionRecord, SessionRef, UserId } from './session.js';

/** What {@link SessionStore.insert} is given besides the row: the raw token, never to be stored by default. */
export interface InsertSecrets {
  /** The session's raw opaque token, as handed to the client. */
  readonly token: string;
}

/** The cap {@link SessionStore.insertWithinLimit} enforces. */
export interface SessionLimit {
  /** Most active, unexpired sessions of the user once the call is done (≥ 1). */
  readonly max: number;
  /** At the cap: end the least recently used sessions to make room, or refuse the new one. */
  readonly action: 'end-least-recent' | 'refuse';
  /** Sessions expired at this time do not count. */
  readonly now: Date;
  /** What the sessions ended to make room record. */
  readonly end: SessionEnd;
}

/** What {@link SessionStore.insertWithinLimit} did. */
export interface LimitedInsert {
  /** `false` only with `'refuse'`, at the cap: nothing changed. */
  readonly inserted: boolean;
  /** The sessions ended to make room (empty with `'refuse'`). */
  readonly ended: readonly SessionRef[];
}

/** Where a page of a user's active sessions starts, and how long it is (see {@link SessionStore.listActivePage}). */
export interface ActivePage {
  /** Most sessions to return, at least 1. */
  readonly limit: number;
  /** The position after which the page starts: the previous page's last session. */
  readonly after?: ActivePagePosition | undefined;
}

/** A session's place in the order of `listActive`: its `last_online` and its `id`. */
export interface ActivePagePosition {
  readonly lastOnline: Date;
  /** A lowercase hyphenated UUID. */
  readonly id: string;
}

/**
 * The persistence the core needs. Stores receive `now` from the core and never read the
 * clock themselves. Every method may reject; the core turns a rejection into
 * `ERR_STORE_UNAVAILABLE` (HTTP 503).
 *
 * A store must pass the conformance suite in `nilva-session/testing`.
 */
export interface SessionStore {
  /**
   * Inserts a new session row. `secrets.token` is the session's raw opaque token, which the
   * core passes along and a store must ignore: only a store told to keep it may (the Kysely
   * store's `djangoCoexistence`, which writes the Python original's raw `key` column so that
   * the Django app can read sessions created here during a gradual move).
   */
  insert(session: SessionRecord, secrets?: InsertSecrets): Promise<void>;
  /**
   * Optional: a login under `maxSessionsPerUser`, as one step per user. Counts the user's
   * sessions as {@link listActive} at `limit.now` does; below `limit.max` it inserts `session`
   * (as {@link insert}). At the cap, `'end-least-recent'` first ends (as {@link deactivate} with
   * `limit.end`) the least recently used ones, the tail of `listActive`'s order, until
   * `limit.max − 1` remain, then inserts; `'refuse'` changes nothing and returns
   * `inserted: false`.
   *
   * Calls for the same user must be serialised with each other (a lock per user, held from the
   * count to the commit of the insert), so that concurrent logins, on any number of processes,
   * never leave more than `limit.max` active sessions at any moment; it must not wait on
   * anything but other calls for the same user. Returns whether the session was inserted and the
   * sessions it ended, once its changes are committed (the core then clears them from the
   * caches).
   *
   * Without it, the core lists, ends and inserts in separate calls, and concurrent logins can
   * overshoot the cap (`'end-least-recent'`) or all be refused at the last place (`'refuse'`).
   */
  insertWithinLimit?(session: SessionRecord, limit: SessionLimit, secrets?: InsertSecrets): Promise<LimitedInsert>;
  /** The session whose `key_hash` equals `keyHash`, active or not. */
  findByKeyHash(keyHash: string): Promise<SessionRecord | undefined>;
  /** The session with this id, active or not. `id` is a lowercase hyphenated UUID. */
  findById(id: string): Promise<SessionRecord | undefined>;
  /**
   * The user's active sessions that have not expired at `now`
   * (`expire_at` null or later than `now`), newest `last_online` first.
   */
  listActive(userId: UserId, now: Date): Promise<SessionRecord[]>;
  /**
   * One page of {@link listActive}: at most `page.limit` of the same sessions in the same order
   * (`last_online` newest first, then `id` ascending), starting after `page.after` when given
   * (the last session of the previous page). Optional: without it the core pages through
   * `listActive`'s whole answer, which costs the full list per page for a user with thousands of
   * sessions.
   */
  listActivePage?(userId: UserId, now: Date, page: ActivePage): Promise<SessionRecord[]>;
  /** Sets `last_ip` only. */
  updateLastIp(id: string, lastIp: string): Promise<void>;
  /**
   * Sets `last_online` for each entry, never moving it backwards. Batched by the core
   * (write-behind), so one call may carry many sessions.
   */
  touch(entries: ReadonlyArray<{ readonly id: string; readonly lastOnline: Date }>): Promise<void>;
  /**
   * Marks the given sessions inactive, recording `end.reason` (`end_reason`) and `end.detail`,
   * only where they are still active and, when `userId` is given, only where they belong to
   * that user. Returns the sessions that changed, so that their cache entries can be cleared.
   */
  deactivate(ids: readonly string[], end: SessionEnd, options?: { readonly userId?: UserId }): Promise<SessionRef[]>;
  /**
   * Marks every active session of the user inactive (as {@link deactivate}), except `exceptId`.
   * Returns the sessions that changed.
   */
  deactivateAllForUser(userId: UserId, end: SessionEnd, options?: { readonly exceptId?: string }): Promise<SessionRef[]>;
  /** The user's active sessions, whatever their expiry (for cache invalidation). */
  refsForUser(userId: UserId): Promise<SessionRef[]>;
  /**
   * Deletes up to `limit` sessions whose `expire_at` is at or before `before`, and, when
   * `inactiveBefore` is given, inactive sessions whose `last_online` is at or before it.
   * Returns the deleted sessions.
   */
  deleteExpired(options: { readonly before: Date; readonly inactiveBefore?: Date; readonly limit: number }): Promise<SessionRef[]>;
  /**
   * Refresh rotation: atomically replaces the session's `refresh_jti` with `newJti`, only where
   * the session is active and its `refresh_jti` equals `presentedJti` or is null. Null: the
   * session's refresh tokens predate rotation (issued by the Python original, or while
   * `rotateRefreshTokens` was off), so the first one presented is adopted. Returns whether it
   * did. Two concurrent calls must not both succeed (whatever jtis they present, once the row
   * holds a jti only that one matches).
   */
  rotateRefreshJti(id: string, presentedJti: string, newJti: string): Promise<boolean>;
  /**
   * Start-up check (`SessionManager.ready()`): resolves when the store can serve, rejects with
   * a `SessionError` `ERR_STORE_NOT_READY` saying what to do (its table is missing, a migration
   * is pending, …) or with the driver's error when it cannot be reached.
   */
  check?(): Promise<void>;
  /**
   * A line for the operator about an error this store threw: what failed and what to do
   * ("run `nilva-session migrate`", "nothing accepts connections at 127.0.0.1:5432", …).
   * Never includes a token or a password.
   */
  explainError?(error: unknown): string;
  /** Releases connections. */
  close?(): Promise<void>;
}

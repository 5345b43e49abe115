import type { SessionRecord, SessionRef, UserId } from './session.js';

/** Columns the admin list can be sorted by. Ties are broken by id, in the same direction. */
export type AdminSortKey = 'created_at' | 'last_online' | 'expire_at';

/** Sort direction. */
export type SortOrder = 'asc' | 'desc';

/**
 * Which sessions the admin list shows: `active` and `inactive` follow the `is_active` column
 * (as the Django admin's filter does); `expired` are sessions whose `expire_at` has passed,
 * active or not; `all` is every row.
 */
export type AdminStatusFilter = 'all' | 'active' | 'inactive' | 'expired';

/**
 * A position in the sorted list: the sort column's value and the id of one row. For
 * `expire_at`, `null` ("never expires") sorts after every time in ascending order.
 */
export interface AdminKeyset {
  readonly value: Date | null;
  readonly id: string;
}

/** A query of {@link SessionAdminStore.list}. */
export interface AdminListQuery {
  /** Default `'all'`. */
  readonly status?: AdminStatusFilter | undefined;
  /** Only this user's sessions. */
  readonly userId?: UserId | undefined;
  /** Only sessions whose `last_ip` is exactly this address. */
  readonly ip?: string | undefined;
  /**
   * Only sessions whose `last_ip` starts with this text (`203.0.113.`, `2001:db8:`). Hex digits,
   * `.` and `:` only; anything else matches nothing.
   */
  readonly ipPrefix?: string | undefined;
  /** Default `'created_at'`. */
  readonly sort?: AdminSortKey | undefined;
  /** Default `'desc'`. */
  readonly order?: SortOrder | undefined;
  /** The next page: rows strictly after this position, in the sort order. */
  readonly after?: AdminKeyset | undefined;
  /**
   * The previous page: the `limit` rows strictly before this position, returned in the sort
   * order. Give `after` or `before`, not both.
   */
  readonly before?: AdminKeyset | undefined;
  /** Rows per page, 1 to 1000. */
  readonly limit: number;
  /** The instant `expired` is judged against. */
  readonly now: Date;
}

/** One page of the admin list. */
export interface AdminListPage {
  /** At most `limit` sessions, in the sort order. */
  readonly sessions: SessionRecord[];
  /**
   * Whether more rows exist in the direction of travel: after the last row (no cursor, or
   * `after`), or before the first row (`before`).
   */
  readonly hasMore: boolean;
}

/** The fields an administrator may change: nothing else of a session is editable. */
export interface AdminSessionChanges {
  readonly isActive?: boolean | undefined;
  readonly detail?: string | null | undefined;
}

/** Sessions created on one UTC day. */
export interface DailyCount {
  /** `YYYY-MM-DD`, UTC. */
  readonly day: string;
  readonly count: number;
}

/** Active sessions sharing one exact User-Agent string. */
export interface UserAgentCount {
  readonly userAgent: string;
  readonly count: number;
}

/**
 * What the admin pages need of a store, beyond {@link SessionStore}: a filtered, sorted,
 * keyset-paginated list (never `OFFSET`, so the thousandth page costs what the first does),
 * the two editable fields, deletion, and the dashboard's aggregates.
 *
 * Writes here change the store only. Use them through `AdminService` (`nilva-session/admin`),
 * which ends sessions through the `SessionManager` and clears the caches.
 */
export interface SessionAdminStore {
  list(query: AdminListQuery): Promise<AdminListPage>;
  /** The session with this id; a malformed id is `undefined`, never an error. */
  findById(id: string): Promise<SessionRecord | undefined>;
  /**
   * Sets `is_active` and/or `detail` of one session (nothing else changes; reactivation is
   * allowed). Setting `is_active` also sets `end_reason`: `null` when reactivated, `admin` when
   * ended. Returns the session's ref, or `undefined` when there is no such session.
   */
  update(id: string, changes: AdminSessionChanges): Promise<SessionRef | undefined>;
  /** Deletes these sessions; unknown and malformed ids are ignored. Returns the deleted ones. */
  delete(ids: readonly string[]): Promise<SessionRef[]>;
  /** Sessions active at `now`: `is_active` and not expired. */
  countActive(now: Date): Promise<number>;
  /** Sessions created in `[since, until)`, per UTC day, days without sessions left out. */
  loginsPerDay(since: Date, until: Date): Promise<DailyCount[]>;
  /** The `limit` most common User-Agent strings among sessions active at `now`, most common first. */
  topUserAgents(now: Date, limit: number): Promise<UserAgentCount[]>;
}

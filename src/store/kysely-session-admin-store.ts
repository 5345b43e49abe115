import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely';
import type { SessionRecord, SessionRef } from '../core/session.js';
import type {
  AdminKeyset,
  AdminListPage,
  AdminListQuery,
  AdminSessionChanges,
  AdminSortKey,
  DailyCount,
  SessionAdminStore,
  UserAgentCount,
} from '../core/session-admin-store.js';
import { explainDriverError } from './driver-errors.js';
import type { KyselySessionStoreOptions } from './kysely-session-store.js';
import { normalizeUuid, RECORD_COLUMNS, REF_COLUMNS, type RowCodec, sortedIds } from './row-codec.js';
import { resolveStoreOptions, type SessionDatabase, type SqlDialect, type UserIdType } from './session-table.js';
import type { SessionTableGuard } from './session-table-check.js';

type Db = Kysely<SessionDatabase>;
type Where = ExpressionBuilder<SessionDatabase, string>;
type Condition = (eb: Where) => Expression<SqlBool>;

/** Rows per DELETE statement. */
const CHUNK = 500;
const MAX_LIMIT = 1000;
const SORT_KEYS: readonly AdminSortKey[] = ['created_at', 'last_online', 'expire_at'];
const IP_PREFIX = /^[0-9a-f:.]{1,45}$/;

/** Options of {@link KyselySessionAdminStore}: the same as the session store's, for the same table. */
export type KyselySessionAdminStoreOptions<DB> = KyselySessionStoreOptions<DB>;

/**
 * The SQL {@link SessionAdminStore} for the admin pages, over the table of `KyselySessionStore`
 * (same options). Needs migration 3 (`add_admin_indexes`) of `migrateSessionStore`.
 *
 * The list is keyset-paginated: each page is `WHERE (sort, id) beyond the cursor ORDER BY
 * sort, id LIMIT n+1`, bounded on the `(created_at, id)`, `(last_online, id)` or
 * `(expire_at, id)` index, so a page deep in a million rows costs what the first does; `OFFSET` is never
 * used. `NULL` `expire_at` ("never") sorts after every time in ascending order, on every dialect.
 *
 * @example
 * const adminStore = new KyselySessionAdminStore({ db, dialect, userIdType: 'integer' });
 * const page = await adminStore.list({ status: 'inactive', limit: 50, now: new Date() });
 */
export class KyselySessionAdminStore<DB = SessionDatabase> implements SessionAdminStore {
  readonly dialect: SqlDialect;
  readonly tableName: string;
  readonly #db: Db;
  readonly #table: SessionTableGuard;

  /** @throws TypeError naming the option when an option is invalid */
  constructor(options: KyselySessionAdminStoreOptions<DB>) {
    const resolved = resolveStoreOptions('KyselySessionAdminStore', options);
    this.dialect = resolved.dialect;
    this.tableName = resolved.tableName;
    this.#db = resolved.db;
    this.#table = resolved.table;
  }

  /**
   * How `user_id` is stored: the `userIdType` option, or, when it was left out, the table's
   * own type once the first query has read it (`undefined` until then).
   */
  get userIdType(): UserIdType | undefined {
    return this.#table.userIdType;
  }

  /**
   * Checks that the table exists, every migration is applied, and `user_id` is of
   * `userIdType`. `SessionManager.ready()` calls it at start-up.
   *
   * @throws SessionError `ERR_STORE_NOT_READY` saying what is wrong and what to do
   */
  check(): Promise<void> {
    return this.#table.check();
  }

  /** What failed and what to do about it, from the driver's error code. */
  explainError(error: unknown): string {
    return explainDriverError(error, this.dialect, this.tableName);
  }

  /**
   * @throws TypeError when `limit` is not an integer from 1 to 1000, `sort` or `order` is
   * unknown, or both `after` and `before` are given
   */
  async list(query: AdminListQuery): Promise<AdminListPage> {
    const { limit } = query;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new TypeError(`nilva-session: list "limit" must be an integer from 1 to ${MAX_LIMIT}`);
    }
    const sort = query.sort ?? 'created_at';
    const order = query.order ?? 'desc';
    if (!SORT_KEYS.includes(sort)) throw new TypeError(`nilva-session: list "sort" must be one of ${SORT_KEYS.join(', ')}`);
    if (order !== 'asc' && order !== 'desc') throw new TypeError('nilva-session: list "order" must be "asc" or "desc"');
    if (query.after !== undefined && query.before !== undefined) throw new TypeError('nilva-session: give "after" or "before", not both');
    const filter = this.#filter(query, await this.#table.codec());
    if (filter === undefined) return { sessions: [], hasMore: false };
    const backwards = query.before !== undefined;
    const cursor = query.after ?? query.before;
    if (cursor !== undefined && !validKeyset(cursor, sort)) return { sessions: [], hasMore: false };
    // The direction the rows are read in: the sort order, or its reverse for a previous page.
    const descending = (order === 'desc') !== backwards;
    const rows: SessionRecord[] = [];
    for (const segment of segments(sort, descending, cursor)) {
      const want = limit + 1 - rows.length;
      if (want <= 0) break;
      rows.push(...(await this.#scan(sort, descending, segment, filter, want)));
    }
    const hasMore = rows.length > limit;
    const sessions = rows.slice(0, limit);
    if (backwards) sessions.reverse();
    return { sessions, hasMore };
  }

  /** The WHERE of the filters, or `undefined` when nothing can match (a user id of the wrong type, a bad prefix). */
  #filter(query: AdminListQuery, c: RowCodec): Condition | undefined {
    let userId: string | number | undefined;
    if (query.userId !== undefined) {
      userId = c.userId(query.userId);
      if (userId === undefined) return undefined;
    }
    let ipPrefix: string | undefined;
    if (query.ipPrefix !== undefined) {
      ipPrefix = query.ipPrefix.toLowerCase();
      // Only address characters, so the LIKE pattern holds no wildcard of the caller's.
      if (!IP_PREFIX.test(ipPrefix)) return undefined;
    }
    const status = query.status ?? 'all';
    const now = c.time(query.now);
    return (eb) => {
      const terms: Expression<SqlBool>[] = [];
      if (status === 'active') terms.push(eb('is_active', '=', c.bool(true)));
      else if (status === 'inactive') terms.push(eb('is_active', '=', c.bool(false)));
      else if (status === 'expired') terms.push(eb('expire_at', '<=', now));
      if (userId !== undefined) terms.push(eb('user_id', '=', userId));
      if (query.ip !== undefined) terms.push(eb('last_ip', '=', query.ip));
      if (ipPrefix !== undefined) terms.push(eb('last_ip', 'like', `${ipPrefix}%`));
      return eb.and(terms);
    };
  }

  async #scan(sort: AdminSortKey, descending: boolean, segment: Segment, filter: Condition, limit: number): Promise<SessionRecord[]> {
    const c = await this.#table.codec();
    const dir = descending ? 'desc' : 'asc';
    const cmp = descending ? '<' : '>';
    let query = this.#db.selectFrom(this.tableName).select(RECORD_COLUMNS).where(filter);
    if (segment.nulls) {
      // Only expire_at has NULLs: the "never expires" rows, in id order.
      query = query.where('expire_at', 'is', null);
      if (segment.from !== undefined) query = query.where('id', cmp, c.id(segment.from.id) as string);
      query = query.orderBy('id', dir);
    } else {
      if (sort === 'expire_at') query = query.where('expire_at', 'is not', null);
      const from = segment.from;
      if (from !== undefined && from.value !== null) {
        const v = c.time(from.value);
        // `col >= v AND (col > v OR id > id0)`: the first term bounds the index range scan.
        const id = c.id(from.id) as string; // the table's form (validKeyset checked it is a UUID)
        query = query.where((eb) => eb.and([eb(sort, descending ? '<=' : '>=', v), eb.or([eb(sort, cmp, v), eb('id', cmp, id)])]));
      }
      query = query.orderBy(sort, dir).orderBy('id', dir);
    }
    const rows = await query.limit(limit).execute();
    return rows.map((row) => c.record(row));
  }

  async findById(id: string): Promise<SessionRecord | undefined> {
    const codec = await this.#table.codec();
    const uuid = codec.id(id);
    if (uuid === undefined) return undefined;
    const row = await this.#db.selectFrom(this.tableName).select(RECORD_COLUMNS).where('id', '=', uuid).executeTakeFirst();
    return row === undefined ? undefined : codec.record(row);
  }

  async update(id: string, changes: AdminSessionChanges): Promise<SessionRef | undefined> {
    const codec = await this.#table.codec();
    const uuid = codec.id(id);
    if (uuid === undefined) return undefined;
    const set: { is_active?: boolean | number; detail?: string | null; end_reason?: string | null } = {};
    if (changes.isActive !== undefined) {
      if (typeof changes.isActive !== 'boolean') throw new TypeError('nilva-session: update "isActive" must be a boolean');
      set.is_active = codec.bool(changes.isActive);
      // A reactivated session has no end; one ended here was ended by an administrator.
      set.end_reason = changes.isActive ? null : 'admin';
    }
    if (changes.detail !== undefined) {
      if (changes.detail !== null && typeof changes.detail !== 'string')
        throw new TypeError('nilva-session: update "detail" must be a string or null');
      set.detail = changes.detail;
    }
    const select = () => this.#db.selectFrom(this.tableName).select(REF_COLUMNS).where('id', '=', uuid).executeTakeFirst();
    if (Object.keys(set).length === 0) {
      const row = await select();
      return row === undefined ? undefined : codec.ref(row);
    }
    if (this.dialect === 'mysql') {
      await this.#db.updateTable(this.tableName).set(set).where('id', '=', uuid).execute();
      const row = await select();
      return row === undefined ? undefined : codec.ref(row);
    }
    const row = await this.#db.updateTable(this.tableName).set(set).where('id', '=', uuid).returning(REF_COLUMNS).executeTakeFirst();
    return row === undefined ? undefined : codec.ref(row);
  }

  async delete(ids: readonly string[]): Promise<SessionRef[]> {
    const uuids = sortedIds((await this.#table.codec()).ids(ids));
    const refs: SessionRef[] = [];
    for (let i = 0; i < uuids.length; i += CHUNK) refs.push(...(await this.#delete(uuids.slice(i, i + CHUNK))));
    return refs;
  }

  async #delete(ids: readonly string[]): Promise<SessionRef[]> {
    const c = await this.#table.codec();
    if (this.dialect !== 'mysql') {
      const rows = await this.#db.deleteFrom(this.tableName).where('id', 'in', ids).returning(REF_COLUMNS).execute();
      return rows.map((row) => c.ref(row));
    }
    // No DELETE … RETURNING on MySQL: lock the rows by primary key, delete exactly those.
    const run = async (trx: Db) => {
      const rows = await trx.selectFrom(this.tableName).select(REF_COLUMNS).where('id', 'in', ids).forUpdate().execute();
      if (rows.length === 0) return [];
      await trx
        .deleteFrom(this.tableName)
        .where(
          'id',
          'in',
          rows.map((row) => row.id),
        )
        .execute();
      return rows.map((row) => c.ref(row));
    };
    return this.#db.isTransaction ? run(this.#db) : this.#db.transaction().execute(run);
  }

  async countActive(now: Date): Promise<number> {
    const codec = await this.#table.codec();
    const at = codec.time(now);
    const row = await this.#db
      .selectFrom(this.tableName)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('is_active', '=', codec.bool(true))
      .where((eb) => eb.or([eb('expire_at', 'is', null), eb('expire_at', '>', at)]))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async loginsPerDay(since: Date, until: Date): Promise<DailyCount[]> {
    const c = await this.#table.codec();
    // Times are UTC in every dialect (timestamptz, DATETIME written in UTC, ISO text).
    const day =
      this.dialect === 'postgres'
        ? sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`
        : this.dialect === 'mysql'
          ? sql<string>`date_format(created_at, '%Y-%m-%d')`
          : sql<string>`substr(created_at, 1, 10)`;
    const { rows } = await sql<{ day: string; n: number | string | bigint }>`select ${day} as day, count(*) as n
      from ${sql.table(this.tableName)}
      where created_at >= ${c.time(since)} and created_at < ${c.time(until)}
      group by 1 order by 1`.execute(this.#db);
    return rows.map((row) => ({ day: String(row.day), count: Number(row.n) }));
  }

  async topUserAgents(now: Date, limit: number): Promise<UserAgentCount[]> {
    const codec = await this.#table.codec();
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new TypeError(`nilva-session: topUserAgents "limit" must be an integer from 1 to ${MAX_LIMIT}`);
    }
    const at = codec.time(now);
    const rows = await this.#db
      .selectFrom(this.tableName)
      .select((eb) => ['user_agent', eb.fn.countAll().as('n')])
      .where('is_active', '=', codec.bool(true))
      .where((eb) => eb.or([eb('expire_at', 'is', null), eb('expire_at', '>', at)]))
      .groupBy('user_agent')
      .orderBy('n', 'desc')
      .orderBy('user_agent', 'asc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ userAgent: row.user_agent, count: Number(row.n) }));
  }
}

/** One ordered run of rows to read: the non-null sort values, or (expire_at only) the NULLs. */
interface Segment {
  readonly nulls: boolean;
  /** Read rows strictly beyond this position; none: from the start of the segment. */
  readonly from: AdminKeyset | undefined;
}

/**
 * The segments a page reads, in order. Only `expire_at` has NULLs ("never"), which sort after
 * every time: ascending reads the times and then the NULLs; descending the NULLs first.
 */
function segments(sort: AdminSortKey, descending: boolean, cursor: AdminKeyset | undefined): Segment[] {
  if (sort !== 'expire_at') return [{ nulls: false, from: cursor }];
  if (!descending) {
    if (cursor === undefined)
      return [
        { nulls: false, from: undefined },
        { nulls: true, from: undefined },
      ];
    if (cursor.value === null) return [{ nulls: true, from: cursor }];
    return [
      { nulls: false, from: cursor },
      { nulls: true, from: undefined },
    ];
  }
  if (cursor === undefined)
    return [
      { nulls: true, from: undefined },
      { nulls: false, from: undefined },
    ];
  if (cursor.value === null)
    return [
      { nulls: true, from: cursor },
      { nulls: false, from: undefined },
    ];
  return [{ nulls: false, from: cursor }];
}

function validKeyset(cursor: AdminKeyset, sort: AdminSortKey): boolean {
  if (normalizeUuid(cursor.id) !== cursor.id) return false;
  if (cursor.value === null) return sort === 'expire_at';
  return cursor.value instanceof Date && !Number.isNaN(cursor.value.getTime());
}

import { createHash } from 'node:crypto';
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { SessionEnd, SessionRecord, SessionRef, UserId } from '../core/session.js';
import type { ActivePage, InsertSecrets, LimitedInsert, SessionLimit, SessionStore } from '../core/session-store.js';
import { explainDriverError } from './driver-errors.js';
import { decodeBool, decodeTime, normalizeUuid, RECORD_COLUMNS, REF_COLUMNS, sortedIds } from './row-codec.js';
import { resolveStoreOptions, type SessionDatabase, type SqlDialect, type UserIdType } from './session-table.js';
import type { SessionTableGuard } from './session-table-check.js';
import { sqliteImmediateTransaction } from './sqlite-immediate.js';

/** Options of {@link KyselySessionStore}. */
export interface KyselySessionStoreOptions<DB> {
  /**
   * The application's Kysely instance (or a transaction). The store never closes it: close
   * the connection where you opened it.
   *
   * On MySQL/MariaDB the mysql2 pool must be created with `timezone: 'Z'` (as
   * `connectDatabase` does), so that `DATETIME(3)` columns hold UTC.
   */
  readonly db: Kysely<DB>;
  /** The SQL dialect behind `db`. */
  readonly dialect: SqlDialect;
  /**
   * The session table, created by `migrateSessionStore` with the same name. Default
   * `'user_session'`. Must match `/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`.
   */
  readonly tableName?: string | undefined;
  /**
   * The type of `user_id`: `'string'` (ids come back as strings) or `'integer'` (numbers).
   * Default: read from the table before the first query, so it is given once, to
   * `migrateSessionStore`. When given, it must agree with the table, or every call fails with
   * `ERR_STORE_NOT_READY` (see {@link KyselySessionStore.check}).
   */
  readonly userIdType?: UserIdType | undefined;
  /**
   * For the window of a gradual move from the Python original (PostgreSQL and MySQL/MariaDB),
   * while its Django app still serves the same table: every session created here also gets
   * the raw token in the original's `key` column, so the Django app accepts it too. The
   * table must have been converted with `nilva-session migrate --from-django --coexistence`
   * (its triggers fill `key_hash` for the rows Django inserts). Default `false`.
   *
   * The cost: raw tokens are at rest in the database again, for the new sessions too, until
   * the move ends (`--end-coexistence`, then `--drop-raw-keys`). See
   * docs/migrating-from-django.md.
   */
  readonly djangoCoexistence?: boolean | undefined;
}

type Db = Kysely<SessionDatabase>;
type Where = ExpressionBuilder<SessionDatabase, string>;

/** Rows per statement for IN lists and batched updates: far below every dialect's parameter limit. */
const CHUNK = 500;

/**
 * The SQL {@link SessionStore}: PostgreSQL, MySQL/MariaDB and SQLite through Kysely. Create
 * the table first with `migrateSessionStore`.
 *
 * Values are normalised per dialect: booleans are booleans, times are `Date`s, ids are
 * lowercase UUIDs, user ids are strings or numbers as `userIdType` says. Ids that are not
 * UUIDs match no session (they never reach PostgreSQL's uuid cast). `listActive` breaks ties
 * of `last_online` by id. Driver errors are not caught: the core turns them into
 * `ERR_STORE_UNAVAILABLE` (HTTP 503).
 *
 * The store does not own `db` and has no `close()`: close the connection where you opened it.
 *
 * @example
 * const { db, dialect } = await connectDatabase('postgres://app@localhost/app');
 * await migrateSessionStore(db, { dialect });
 * const store = new KyselySessionStore({ db, dialect });
 */
export class KyselySessionStore<DB = SessionDatabase> implements SessionStore {
  /** The dialect the store writes SQL for. */
  readonly dialect: SqlDialect;
  /** The session table's name. */
  readonly tableName: string;
  /** Whether the store writes the raw `key` column (`djangoCoexistence`). */
  readonly djangoCoexistence: boolean;
  readonly #db: Db;
  readonly #table: SessionTableGuard;

  /** @throws TypeError naming the option when an option is invalid */
  constructor(options: KyselySessionStoreOptions<DB>) {
    const coexistence = (options as { djangoCoexistence?: unknown } | null | undefined)?.djangoCoexistence ?? false;
    if (typeof coexistence !== 'boolean') {
      throw new TypeError(`nilva-session: option "djangoCoexistence" must be a boolean, got ${JSON.stringify(coexistence)}`);
    }
    const resolved = resolveStoreOptions('KyselySessionStore', options, ['djangoCoexistence'], coexistence);
    if (coexistence && resolved.dialect === 'sqlite') {
      // Django's SQLite rows keep naive text times and 32-hex ids that this store's text
      // comparisons cannot share: a SQLite table is converted once, with the Django app stopped.
      throw new TypeError(
        'nilva-session: option "djangoCoexistence" is for PostgreSQL and MySQL/MariaDB; a SQLite table is converted once',
      );
    }
    this.djangoCoexistence = coexistence;
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
   * With `djangoCoexistence`, `secrets.token` is written to the raw `key` column (and required:
   * without it the Django app could not read the row).
   */
  async insert(session: SessionRecord, secrets?: InsertSecrets): Promise<void> {
    await this.#insert(this.#db, session, secrets);
  }

  async #insert(db: Db, session: SessionRecord, secrets: InsertSecrets | undefined): Promise<void> {
    const codec = await this.#table.codec();
    const id = codec.id(session.id);
    if (id === undefined) throw new TypeError(`nilva-session: session id must be a UUID, got ${JSON.stringify(session.id)}`);
    const token = secrets?.token;
    if (this.djangoCoexistence && typeof token !== 'string') {
      throw new TypeError('nilva-session: with djangoCoexistence, insert needs the raw token (insert(session, { token }))');
    }
    const userId = codec.userId(session.userId);
    if (userId === undefined) {
      throw new TypeError(`nilva-session: user id ${JSON.stringify(session.userId)} is not an integer (userIdType is 'integer')`);
    }
    if (session.refreshJti !== null && !isJti(session.refreshJti)) {
      throw new TypeError(`nilva-session: refreshJti must be null or a string of 1 to ${MAX_JTI_LENGTH} characters`);
    }
    const c = codec;
    const row = {
      id,
      user_id: userId,
      key_hash: session.keyHash,
      key_prefix: session.keyPrefix,
      expire_at: session.expireAt === null ? null : c.time(session.expireAt),
      is_active: c.bool(session.isActive),
      last_online: c.time(session.lastOnline),
      last_ip: session.lastIp,
      user_agent: session.userAgent,
      detail: session.detail,
      end_reason: session.endReason,
      created_at: c.time(session.createdAt),
      authenticated_at: c.time(session.authenticatedAt),
      refresh_jti: session.refreshJti,
    };
    // `key` is the original's column, not part of SessionTable: written only during a Django coexistence.
    await db
      .insertInto(this.tableName)
      .values(this.djangoCoexistence ? ({ ...row, key: token } as typeof row) : row)
      .execute();
  }

  /**
   * One transaction under a lock of the (table, user) pair, held from the count to the commit:
   *
   * - PostgreSQL: `pg_advisory_xact_lock` on a 64-bit hash of the table's name and the user id
   *   (`hashtextextended`, PostgreSQL 11+); the commit releases it. Row locks are taken after it
   *   and no other path waits for it, so it adds no deadlock; a hash collision only serialises
   *   two users' logins.
   * - MySQL/MariaDB: `GET_LOCK` on a name hashed from the table and the user, taken on one
   *   connection before its transaction begins and released after it commits. It locks a name,
   *   not index ranges: a `SELECT … FOR UPDATE` of the user's rows would take gap locks that
   *   block other users' inserts. Waited for at most 10 s, then the call fails.
   * - SQLite: `BEGIN IMMEDIATE` takes the database's write lock before the count (writers are
   *   serialised, in every process on the file).
   *
   * Given an application's transaction as `db`, the work runs in it: PostgreSQL's lock then lasts
   * until the application commits, MySQL's is released when this call returns (before that
   * commit), and SQLite relies on the application's transaction.
   *
   * @throws TypeError for a bad `limit`, or a session {@link insert} refuses
   */
  async insertWithinLimit(session: SessionRecord, limit: SessionLimit, secrets?: InsertSecrets): Promise<LimitedInsert> {
    const { max, action, now, end } = limit ?? ({} as Partial<SessionLimit>);
    if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) {
      throw new TypeError('nilva-session: insertWithinLimit "max" must be a positive integer');
    }
    if (action !== 'end-least-recent' && action !== 'refuse') {
      throw new TypeError('nilva-session: insertWithinLimit "action" must be "end-least-recent" or "refuse"');
    }
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('nilva-session: insertWithinLimit "now" must be a Date');
    const codec = await this.#table.codec();
    const userId = codec.userId(session.userId);
    if (userId === undefined) {
      throw new TypeError(`nilva-session: user id ${JSON.stringify(session.userId)} is not an integer (userIdType is 'integer')`);
    }
    const at = codec.time(now);
    return this.#underUserLock(userId, async (db) => {
      // As listActive counts and orders them: its tail is the least recently used.
      const active = await db
        .selectFrom(this.tableName)
        .select('id')
        .where('user_id', '=', userId)
        .where('is_active', '=', codec.bool(true))
        .where((eb) => eb.or([eb('expire_at', 'is', null), eb('expire_at', '>', at)]))
        .orderBy('last_online', 'desc')
        .orderBy('id', 'asc')
        .execute();
      let ended: SessionRef[] = [];
      if (active.length >= max) {
        if (action === 'refuse') return { inserted: false, ended };
        ended = await this.#deactivate({ ids: active.slice(max - 1).map((row) => row.id), userId }, end as SessionEnd, db);
      }
      await this.#insert(db, session, secrets);
      return { inserted: true, ended };
    });
  }

  /** Runs `work` in a transaction that holds the (table, user) lock of {@link insertWithinLimit}. */
  async #underUserLock<T>(userId: string | number, work: (db: Db) => Promise<T>): Promise<T> {
    const key = `${this.tableName}:${String(userId)}`;
    if (this.dialect === 'postgres') {
      return this.#transaction(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
        return work(trx);
      });
    }
    if (this.dialect === 'mysql') {
      // At most 64 characters; the hash keeps long table names and user ids apart.
      const name = `nilva-session:${createHash('sha1').update(key).digest('hex')}`;
      const locked = async (conn: Db): Promise<T> => {
        const { rows } = await sql<{ got: number | string | null }>`select get_lock(${name}, ${USER_LOCK_WAIT_SECONDS}) as got`.execute(
          conn,
        );
        if (Number(rows[0]?.got) !== 1) {
          throw new Error(`nilva-session: another login of the same user held the session-limit lock for ${USER_LOCK_WAIT_SECONDS} s`);
        }
        try {
          return await this.#transaction(work, conn);
        } finally {
          // A broken connection has lost the lock with its session already.
          await sql`select release_lock(${name})`.execute(conn).catch(() => undefined);
        }
      };
      return this.#db.isTransaction ? locked(this.#db) : this.#db.connection().execute(locked);
    }
    if (this.#db.isTransaction) return work(this.#db);
    return sqliteImmediateTransaction(this.#db, work);
  }

  async findByKeyHash(keyHash: string): Promise<SessionRecord | undefined> {
    if (typeof keyHash !== 'string') return undefined;
    const codec = await this.#table.codec();
    const row = await this.#db.selectFrom(this.tableName).select(RECORD_COLUMNS).where('key_hash', '=', keyHash).executeTakeFirst();
    return row === undefined ? undefined : codec.record(row);
  }

  async findById(id: string): Promise<SessionRecord | undefined> {
    // A malformed id would make PostgreSQL's uuid cast fail; no row can have one anyway, so it
    // is answered without I/O.
    if (normalizeUuid(id) === undefined) return undefined;
    const codec = await this.#table.codec();
    const uuid = codec.id(id) as string;
    const row = await this.#db.selectFrom(this.tableName).select(RECORD_COLUMNS).where('id', '=', uuid).executeTakeFirst();
    return row === undefined ? undefined : codec.record(row);
  }

  listActive(userId: UserId, now: Date): Promise<SessionRecord[]> {
    return this.#active(userId, now, undefined);
  }

  listActivePage(userId: UserId, now: Date, page: ActivePage): Promise<SessionRecord[]> {
    return this.#active(userId, now, page);
  }

  async #active(userId: UserId, now: Date, page: ActivePage | undefined): Promise<SessionRecord[]> {
    const codec = await this.#table.codec();
    const uid = codec.userId(userId);
    if (uid === undefined) return [];
    const at = codec.time(now);
    let query = this.#db
      .selectFrom(this.tableName)
      .select(RECORD_COLUMNS)
      .where('user_id', '=', uid)
      .where('is_active', '=', codec.bool(true))
      .where((eb) => eb.or([eb('expire_at', 'is', null), eb('expire_at', '>', at)]));
    const after = page?.after;
    const afterId = after === undefined ? undefined : codec.id(after.id);
    if (after !== undefined) {
      if (afterId === undefined) return [];
      // Keyset, after (t, id) in "last_online desc, id asc" order: no OFFSET, so the 100th page
      // costs what the first does. `last_online <= t` first: a bound an index range scan can
      // start from (an OR alone made PostgreSQL walk the last_online index from the newest row
      // of the whole table, 3.6 s for a deep page of a user's 10,000 sessions in 1 M rows).
      const t = codec.time(after.lastOnline);
      query = query.where((eb) => eb.and([eb('last_online', '<=', t), eb.or([eb('last_online', '<', t), eb('id', '>', afterId)])]));
    }
    query = query.orderBy('last_online', 'desc').orderBy('id', 'asc');
    const rows = await (page === undefined ? query : query.limit(page.limit)).execute();
    return rows.map((row) => codec.record(row));
  }

  async updateLastIp(id: string, lastIp: string): Promise<void> {
    if (normalizeUuid(id) === undefined) return;
    const uuid = (await this.#table.codec()).id(id) as string;
    await this.#db.updateTable(this.tableName).set({ last_ip: lastIp }).where('id', '=', uuid).execute();
  }

  async touch(entries: ReadonlyArray<{ readonly id: string; readonly lastOnline: Date }>): Promise<void> {
    // One value per session (the latest), in id order so that concurrent batches lock rows in
    // the same order.
    if (!entries.some((entry) => normalizeUuid(entry.id) !== undefined)) return;
    const codec = await this.#table.codec();
    const latest = new Map<string, number>();
    for (const entry of entries) {
      const id = codec.id(entry.id);
      const at = entry.lastOnline.getTime();
      if (id === undefined || Number.isNaN(at)) continue;
      const seen = latest.get(id);
      if (seen === undefined || at > seen) latest.set(id, at);
    }
    const sorted = [...latest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (this.dialect === 'postgres') {
      // Two array parameters, whatever the batch size: one statement, one plan.
      if (sorted.length > 0) await this.#touchPostgres(sorted);
      return;
    }
    for (let i = 0; i < sorted.length; i += CHUNK) await this.#touchCase(sorted.slice(i, i + CHUNK));
  }

  /**
   * PostgreSQL: two array parameters whatever the batch size (one statement, one plan). The
   * rows are locked in id order first, as every multi-row write of this store does, so that
   * concurrent batches and revocations cannot deadlock.
   */
  async #touchPostgres(batch: ReadonlyArray<readonly [string, number]>): Promise<void> {
    const ids = batch.map(([id]) => id);
    const times = batch.map(([, at]) => new Date(at).toISOString());
    const table = sql.table(this.tableName);
    await sql`with v as (
        select * from unnest(cast(${ids} as uuid[]), cast(${times} as timestamptz[])) as v(id, last_online)
      ), locked as (
        select s.id, v.last_online from ${table} as s join v on s.id = v.id
        where s.last_online < v.last_online order by s.id for update of s
      )
      update ${table} as s set last_online = locked.last_online from locked
      where s.id = locked.id and s.last_online < locked.last_online`.execute(this.#db);
  }

  /**
   * MySQL and SQLite: `SET last_online = GREATEST(last_online, CASE id WHEN … END) WHERE id IN (…)`.
   * InnoDB walks the primary key in order, so rows are locked in id order.
   */
  async #touchCase(batch: ReadonlyArray<readonly [string, number]>): Promise<void> {
    const c = await this.#table.codec();
    const cases = batch.map(([id, at]) =>
      this.dialect === 'mysql'
        ? sql`when ${id} then cast(${c.time(new Date(at))} as datetime(3))`
        : sql`when ${id} then ${c.time(new Date(at))}`,
    );
    const newest = sql`case id ${sql.join(cases, sql` `)} end`;
    // GREATEST/MAX keep the later time, so last_online never moves backwards; SQLite's
    // two-argument max() compares the ISO text, whose order is time order.
    const value = this.dialect === 'mysql' ? sql`greatest(last_online, ${newest})` : sql`max(last_online, ${newest})`;
    await sql`update ${sql.table(this.tableName)}
      set last_online = ${value}
      where id in (${sql.join(batch.map(([id]) => id))})`.execute(this.#db);
  }

  async deactivate(ids: readonly string[], end: SessionEnd, options?: { readonly userId?: UserId }): Promise<SessionRef[]> {
    if (!ids.some((id) => normalizeUuid(id) !== undefined)) return [];
    const codec = await this.#table.codec();
    const uuids = codec.ids(ids);
    if (uuids.length === 0) return [];
    let userId: string | number | undefined;
    if (options?.userId !== undefined) {
      userId = codec.userId(options.userId);
      if (userId === undefined) return [];
    }
    const refs: SessionRef[] = [];
    for (let i = 0; i < uuids.length; i += CHUNK) {
      refs.push(...(await this.#deactivate({ ids: uuids.slice(i, i + CHUNK), userId }, end)));
    }
    return refs;
  }

  async deactivateAllForUser(userId: UserId, end: SessionEnd, options?: { readonly exceptId?: string }): Promise<SessionRef[]> {
    const codec = await this.#table.codec();
    const uid = codec.userId(userId);
    if (uid === undefined) return [];
    // A malformed exceptId names no session, so nothing is excepted.
    const exceptId = options?.exceptId === undefined ? undefined : codec.id(options.exceptId);
    return this.#deactivate({ ids: undefined, userId: uid, exceptId }, end);
  }

  /**
   * Marks the active rows of `scope` inactive and returns exactly the rows this call changed,
   * even when another call races for the same rows. Rows are locked in id order, so two
   * revocations (or a revocation and a touch) cannot deadlock.
   *
   * - PostgreSQL: `UPDATE … WHERE id IN (SELECT … ORDER BY id FOR UPDATE) RETURNING`; a row
   *   changed by a concurrent call is re-checked after its lock and dropped.
   * - SQLite: one `UPDATE … RETURNING` (writes are serialised).
   * - MySQL (no `UPDATE … RETURNING`): in a transaction, lock the candidate rows by primary key
   *   (`SELECT … FOR UPDATE` reads the latest committed version), keep those still active and
   *   in scope, update them by id. Locking by primary key only takes no gap locks.
   */
  async #deactivate(scope: DeactivateScope, end: SessionEnd, db: Db = this.#db): Promise<SessionRef[]> {
    const c = await this.#table.codec();
    const inactive = { is_active: c.bool(false), detail: end.detail, end_reason: end.reason };
    const inScope = (eb: Where) => {
      const terms = [eb('is_active', '=', c.bool(true))];
      if (scope.ids !== undefined) terms.push(eb('id', 'in', scope.ids));
      if (scope.userId !== undefined) terms.push(eb('user_id', '=', scope.userId));
      if (scope.exceptId !== undefined) terms.push(eb('id', '<>', scope.exceptId));
      return eb.and(terms);
    };
    if (scope.ids !== undefined && scope.ids.length === 0) return [];
    if (this.dialect === 'sqlite') {
      const rows = await db.updateTable(this.tableName).set(inactive).where(inScope).returning(REF_COLUMNS).execute();
      return rows.map((row) => c.ref(row));
    }
    if (this.dialect === 'postgres') {
      const locked = db.selectFrom(this.tableName).select('id').where(inScope).orderBy('id').forUpdate();
      const rows = await db
        .updateTable(this.tableName)
        .set(inactive)
        .where('id', 'in', locked)
        .where('is_active', '=', true)
        .returning(REF_COLUMNS)
        .execute();
      return rows.map((row) => c.ref(row));
    }
    return this.#transaction(async (trx) => {
      const candidates = scope.ids ?? (await trx.selectFrom(this.tableName).select('id').where(inScope).execute()).map((row) => row.id);
      if (candidates.length === 0) return [];
      const rows = await trx
        .selectFrom(this.tableName)
        .select([...REF_COLUMNS, 'is_active'])
        .where('id', 'in', sortedIds(candidates))
        .forUpdate()
        .execute();
      const hits = rows.filter(
        (row) =>
          decodeBool(row.is_active) &&
          (scope.userId === undefined || c.ref(row).userId === scope.userId) &&
          row.id.toLowerCase() !== scope.exceptId?.toLowerCase(),
      );
      if (hits.length === 0) return [];
      await trx
        .updateTable(this.tableName)
        .set(inactive)
        .where(
          'id',
          'in',
          hits.map((row) => row.id),
        )
        .execute();
      return hits.map((row) => c.ref(row));
    }, db);
  }

  /**
   * One conditional `UPDATE … SET refresh_jti = newJti WHERE id = … AND is_active AND
   * (refresh_jti = presentedJti OR refresh_jti IS NULL)` on every dialect. The database
   * re-checks the condition on the row's latest version after taking its lock (PostgreSQL
   * re-evaluates it after a concurrent update commits, InnoDB's UPDATE reads the latest
   * committed row, SQLite serialises writes), so of concurrent calls exactly one changes the
   * row: the first sets a jti, which the others' `presentedJti` is not (a fresh `newJti` each),
   * and the row is no longer null. Null is a session whose refresh tokens predate rotation (the
   * Python original's, or issued while rotation was off): the first refresh adopts it.
   *
   * A malformed id, or a presented jti that is not a string, matches no session: `false`.
   *
   * @throws TypeError when `newJti` is not a string of 1 to 64 characters
   */
  async rotateRefreshJti(id: string, presentedJti: string, newJti: string): Promise<boolean> {
    if (!isJti(newJti)) throw new TypeError(`nilva-session: newJti must be a string of 1 to ${MAX_JTI_LENGTH} characters`);
    if (normalizeUuid(id) === undefined || !isJti(presentedJti)) return false;
    const codec = await this.#table.codec();
    const uuid = codec.id(id) as string;
    const result = await this.#db
      .updateTable(this.tableName)
      .set({ refresh_jti: newJti })
      .where('id', '=', uuid)
      .where('is_active', '=', codec.bool(true))
      .where((eb) => eb.or([eb('refresh_jti', '=', presentedJti), eb('refresh_jti', 'is', null)]))
      .executeTakeFirst();
    // mysql2 reports matched rows (its FOUND_ROWS flag), so a no-op rotation to the same jti
    // counts as done on every dialect.
    return result.numUpdatedRows > 0n;
  }

  async refsForUser(userId: UserId): Promise<SessionRef[]> {
    const codec = await this.#table.codec();
    const uid = codec.userId(userId);
    if (uid === undefined) return [];
    const rows = await this.#db
      .selectFrom(this.tableName)
      .select(REF_COLUMNS)
      .where('user_id', '=', uid)
      .where('is_active', '=', codec.bool(true))
      .execute();
    return rows.map((row) => codec.ref(row));
  }

  async deleteExpired(options: { readonly before: Date; readonly inactiveBefore?: Date; readonly limit: number }): Promise<SessionRef[]> {
    const { before, inactiveBefore, limit } = options;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('nilva-session: deleteExpired "limit" must be a positive integer');
    const c = await this.#table.codec();
    const purgeable = (eb: Where) => {
      const expired = eb('expire_at', '<=', c.time(before));
      if (inactiveBefore === undefined) return expired;
      return eb.or([expired, eb.and([eb('is_active', '=', c.bool(false)), eb('last_online', '<=', c.time(inactiveBefore))])]);
    };
    if (this.dialect !== 'mysql') {
      let batch = this.#db.selectFrom(this.tableName).select('id').where(purgeable).limit(limit);
      // Concurrent purgers on PostgreSQL take different rows instead of waiting on each other
      // or on a revocation in progress.
      if (this.dialect === 'postgres') batch = batch.forUpdate().skipLocked();
      const rows = await this.#db.deleteFrom(this.tableName).where('id', 'in', batch).returning(REF_COLUMNS).execute();
      return rows.map((row) => c.ref(row));
    }
    // MySQL allows neither LIMIT in an IN subquery nor DELETE … RETURNING. Find a batch without
    // locking (a locking range scan would take gap locks and block logins), then lock it by
    // primary key, re-check it, and delete it by id.
    return this.#transaction(async (trx) => {
      const found = await trx.selectFrom(this.tableName).select('id').where(purgeable).limit(limit).execute();
      if (found.length === 0) return [];
      const rows = await trx
        .selectFrom(this.tableName)
        .select([...REF_COLUMNS, 'expire_at', 'is_active', 'last_online'])
        .where('id', 'in', sortedIds(found.map((row) => row.id)))
        .forUpdate()
        .execute();
      const hits = rows.filter(
        (row) =>
          (row.expire_at !== null && decodeTime(row.expire_at).getTime() <= before.getTime()) ||
          (inactiveBefore !== undefined && !decodeBool(row.is_active) && decodeTime(row.last_online).getTime() <= inactiveBefore.getTime()),
      );
      if (hits.length === 0) return [];
      await trx
        .deleteFrom(this.tableName)
        .where(
          'id',
          'in',
          hits.map((row) => row.id),
        )
        .execute();
      return hits.map((row) => c.ref(row));
    });
  }

  async #transaction<T>(work: (trx: Db) => Promise<T>, db: Db = this.#db): Promise<T> {
    // Inside the application's transaction already: use it (Kysely does not nest them).
    if (db.isTransaction) return work(db);
    return db.transaction().execute(work);
  }
}

/** How long a MySQL login waits for another login of the same user (insertWithinLimit). */
const USER_LOCK_WAIT_SECONDS = 10;

/** The longest jti the `refresh_jti varchar(64)` column holds. */
const MAX_JTI_LENGTH = 64;

function isJti(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_JTI_LENGTH;
}

interface DeactivateScope {
  /** These sessions only (lowercase UUIDs), or every session of `userId`. */
  readonly ids: readonly string[] | undefined;
  readonly userId: string | number | undefined;
  readonly exceptId?: string | undefined;
}

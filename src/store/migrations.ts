import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { SessionError } from '../core/errors.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { columnExists, inspectSessionTable, MIGRATIONS_TABLE_NAME, tableExists } from './catalog.js';
import { withMigrationLock } from './migration-lock.js';
import { LATEST_MIGRATION } from './migration-versions.js';
import { type SqlDialect, type UserIdType, validateDialect, validateTableName, validateUserIdType } from './session-table.js';
import { verifySessionTable } from './session-table-check.js';

export { MIGRATIONS_TABLE_NAME };

/** Options of {@link migrateSessionStore}. */
export interface MigrateSessionStoreOptions {
  /** The SQL dialect behind `db`. */
  readonly dialect: SqlDialect;
  /** The session table to create or bring up to date. Default `'user_session'`. */
  readonly tableName?: string | undefined;
  /**
   * The type of `user_id` when the table is created: `'string'` (default; `text`, or
   * `varchar(191)` on MySQL) or `'integer'` (`bigint`, `integer` on SQLite), matching the
   * application's users table. The stores read it back from the table, so it is given here
   * only. For an existing table it is checked: a different type is an error, never ignored.
   */
  readonly userIdType?: UserIdType | undefined;
}

/** What {@link migrateSessionStore} did. */
export interface MigrationResult {
  /** Names of the migrations applied by this call, in order; empty when all were applied before. */
  readonly applied: readonly string[];
}

/** Options of {@link dropSessionStore}. */
export interface DropSessionStoreOptions {
  /** The SQL dialect behind `db`. */
  readonly dialect: SqlDialect;
  /** The session table to drop. Default `'user_session'`. */
  readonly tableName?: string | undefined;
}

interface MigrationContext {
  readonly db: Kysely<unknown>;
  readonly dialect: SqlDialect;
  readonly tableName: string;
  readonly userIdType: UserIdType;
}

interface Migration {
  readonly version: number;
  readonly name: string;
  /** Must be idempotent on MySQL, where DDL is not transactional. */
  up(context: MigrationContext): Promise<void>;
}

/** Append only: never edit or reorder an applied migration. */
const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'create_session_table', up: createSessionTable },
  { version: 2, name: 'add_refresh_jti', up: addRefreshJti },
  { version: 3, name: 'add_admin_indexes', up: addAdminIndexes },
  { version: 4, name: 'add_end_reason_and_authenticated_at', up: addEndReasonAndAuthenticatedAt },
  { version: 5, name: 'add_user_last_online_index', up: addUserLastOnlineIndex },
];

// The table check (session-table-check.ts) knows the versions without importing this file.
if (MIGRATIONS.at(-1)?.version !== LATEST_MIGRATION) throw new Error('nilva-session: LATEST_MIGRATION is out of date');

/**
 * Creates the session table (docs/design.md) and its indexes, or brings an existing one up to
 * date. Safe to run on every start, and from several processes at once: a database lock makes
 * them take turns, and a bookkeeping table (`nilva_session_migrations`) records what each
 * session table has applied.
 *
 * On MySQL/MariaDB it also checks that the mysql2 pool writes times in UTC (`timezone: 'Z'`).
 *
 * @throws TypeError naming the option when an option is invalid
 * @throws SessionError `ERR_STORE_NOT_READY` when the existing table's `user_id` is not of `userIdType`
 * @example
 * await migrateSessionStore(db, { dialect: 'postgres', userIdType: 'integer' });
 */
export async function migrateSessionStore<DB>(db: Kysely<DB>, options: MigrateSessionStoreOptions): Promise<MigrationResult> {
  if (typeof options !== 'object' || options === null) throw new TypeError('nilva-session: migrateSessionStore needs an options object');
  assertKnownOptions(
    'migrateSessionStore',
    options,
    optionNames<MigrateSessionStoreOptions>({ dialect: true, tableName: true, userIdType: true }),
  );
  const dialect = validateDialect(options.dialect);
  const tableName = validateTableName(options.tableName);
  const declared = options.userIdType === undefined ? undefined : validateUserIdType(options.userIdType);
  const userIdType = declared ?? 'string';
  const base = db as unknown as Kysely<unknown>;
  if (dialect === 'mysql') await assertMysqlUtc(base);
  return withMigrationLock(base, dialect, MIGRATIONS_TABLE_NAME, async (locked) => {
    const facts = await inspectSessionTable(locked, dialect, tableName);
    if (facts.exists && facts.columns.has('key') && !facts.columns.has('key_hash')) {
      // Migration 1 would find the table there and skip it, then record it as applied: the
      // original's table must be converted, not migrated.
      throw new SessionError(
        'ERR_STORE_NOT_READY',
        `nilva-session: the table "${tableName}" is the Python original's (a raw \`key\` column, no \`key_hash\`): ` +
          'convert it with `nilva-session migrate --from-django` (or migrateFromDjango from nilva-session/kysely)',
      );
    }
    // An existing table keeps its user_id type: say so rather than leave the caller believing
    // the type it asked for.
    if (declared !== undefined && facts.exists) verifySessionTable(facts, tableName, declared, false, false);
    await createMigrationsTable(locked, dialect);
    const done = await sql<{ version: number | string }>`select version from ${sql.table(MIGRATIONS_TABLE_NAME)}
      where table_name = ${tableName}`.execute(locked);
    const applied = new Set(done.rows.map((row) => Number(row.version)));
    const names: string[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await migration.up({ db: locked, dialect, tableName, userIdType });
      await sql`insert into ${sql.table(MIGRATIONS_TABLE_NAME)} (table_name, version, name)
        values (${tableName}, ${migration.version}, ${migration.name})`.execute(locked);
      names.push(migration.name);
    }
    return { applied: names };
  });
}

/**
 * Drops the session table (its rows and indexes) and forgets its migrations. For tests and the
 * CLI; there is no undo.
 *
 * @throws TypeError naming the option when `tableName` is invalid
 */
export async function dropSessionStore<DB>(db: Kysely<DB>, options: DropSessionStoreOptions): Promise<void> {
  if (typeof options !== 'object' || options === null) throw new TypeError('nilva-session: dropSessionStore needs an options object');
  assertKnownOptions('dropSessionStore', options, optionNames<DropSessionStoreOptions>({ dialect: true, tableName: true }));
  const dialect = validateDialect(options.dialect);
  const tableName = validateTableName(options.tableName);
  const base = db as unknown as Kysely<unknown>;
  await base.schema.dropTable(tableName).ifExists().execute();
  if (await tableExists(base, dialect, MIGRATIONS_TABLE_NAME)) {
    await sql`delete from ${sql.table(MIGRATIONS_TABLE_NAME)} where table_name = ${tableName}`.execute(base);
  }
}

/**
 * Records every migration as applied to `tableName`, for a table brought to the latest schema
 * by other means (the conversion of the Python original's table); returns the names recorded
 * by this call. Idempotent.
 */
export async function recordAllMigrations(db: Kysely<unknown>, dialect: SqlDialect, tableName: string): Promise<string[]> {
  await createMigrationsTable(db, dialect);
  const done = await sql<{ version: number | string }>`select version from ${sql.table(MIGRATIONS_TABLE_NAME)}
    where table_name = ${tableName}`.execute(db);
  const applied = new Set(done.rows.map((row) => Number(row.version)));
  const names: string[] = [];
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    await sql`insert into ${sql.table(MIGRATIONS_TABLE_NAME)} (table_name, version, name)
      values (${tableName}, ${migration.version}, ${migration.name})`.execute(db);
    names.push(migration.name);
  }
  return names;
}

/** The bookkeeping table, unless it exists. */
export async function createMigrationsTable(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const appliedAt = dialect === 'postgres' ? 'timestamptz' : dialect === 'mysql' ? 'datetime' : 'text';
  await db.schema
    .createTable(MIGRATIONS_TABLE_NAME)
    .ifNotExists()
    .addColumn('table_name', sql.raw(dialect === 'sqlite' ? 'text' : 'varchar(64)'), (col) => col.notNull())
    .addColumn('version', 'integer', (col) => col.notNull())
    .addColumn('name', sql.raw(dialect === 'sqlite' ? 'text' : 'varchar(100)'), (col) => col.notNull())
    .addColumn('applied_at', sql.raw(appliedAt), (col) => col.notNull().defaultTo(sql`CURRENT_TIMESTAMP`))
    .addPrimaryKeyConstraint(`${MIGRATIONS_TABLE_NAME}_pkey`, ['table_name', 'version'])
    .execute();
}

/** Column types per dialect. */
function columnTypes(dialect: SqlDialect, userIdType: UserIdType) {
  switch (dialect) {
    case 'postgres':
      return {
        id: 'uuid',
        userId: userIdType === 'integer' ? 'bigint' : 'text',
        keyHash: 'char(64)',
        keyPrefix: 'varchar(8)',
        time: 'timestamptz',
        bool: 'boolean',
        ip: 'varchar(45)',
      };
    case 'mysql':
      // varchar(191): MySQL cannot index TEXT without a prefix length.
      return {
        id: 'char(36)',
        userId: userIdType === 'integer' ? 'bigint' : 'varchar(191)',
        keyHash: 'char(64)',
        keyPrefix: 'varchar(8)',
        time: 'datetime(3)',
        bool: 'boolean',
        ip: 'varchar(45)',
      };
    case 'sqlite':
      // No date or boolean types: times are ISO-8601 UTC text, booleans 0/1.
      return {
        id: 'text',
        userId: userIdType === 'integer' ? 'integer' : 'text',
        keyHash: 'text',
        keyPrefix: 'text',
        time: 'text',
        bool: 'integer',
        ip: 'text',
      };
  }
}

const INDEXES: ReadonlyArray<{ readonly suffix: string; readonly columns: readonly string[] }> = [
  { suffix: 'user_active_idx', columns: ['user_id', 'is_active'] },
  { suffix: 'expire_at_idx', columns: ['expire_at'] },
  { suffix: 'active_last_online_idx', columns: ['is_active', 'last_online'] },
];

/** Migration 1: the session table, with its indexes. */
async function createSessionTable({ db, dialect, tableName, userIdType }: MigrationContext): Promise<void> {
  const t = columnTypes(dialect, userIdType);
  let create = db.schema
    .createTable(tableName)
    .ifNotExists()
    .addColumn('id', sql.raw(t.id), (col) => col.primaryKey())
    .addColumn('user_id', sql.raw(t.userId), (col) => col.notNull())
    .addColumn('key_hash', sql.raw(t.keyHash), (col) => col.notNull().unique())
    .addColumn('key_prefix', sql.raw(t.keyPrefix), (col) => col.notNull())
    .addColumn('expire_at', sql.raw(t.time))
    .addColumn('is_active', sql.raw(t.bool), (col) => col.notNull())
    .addColumn('last_online', sql.raw(t.time), (col) => col.notNull())
    .addColumn('last_ip', sql.raw(t.ip), (col) => col.notNull())
    .addColumn('user_agent', 'text', (col) => col.notNull())
    .addColumn('detail', 'text')
    .addColumn('created_at', sql.raw(t.time), (col) => col.notNull());
  if (dialect === 'mysql') {
    // A binary, no-pad collation: user ids 'alice', 'Alice' and 'alice ' are three users, as
    // they are on PostgreSQL and SQLite (the default collations would make them one).
    const collation = await binaryCollation(db);
    create = create.modifyEnd(sql.raw(` engine=InnoDB default charset=utf8mb4 collate=${collation}`));
  }
  await create.execute();
  await createIndexes(db, dialect, tableName, INDEXES);
}

/**
 * Migration 3: the indexes of the admin list's keyset pagination, `(created_at, id)`,
 * `(last_online, id)` and `(expire_at, id)`, and `last_ip` for the search by address.
 * `(expire_at, id)` replaces migration 1's `(expire_at)`, which then only cost writes: it
 * serves the purge as well, and ties of `expire_at` (sessions created in one batch) no longer
 * make PostgreSQL sort them all for one page.
 */
async function addAdminIndexes({ db, dialect, tableName }: MigrationContext): Promise<void> {
  await createIndexes(db, dialect, tableName, ADMIN_INDEXES);
  await dropIndex(db, dialect, tableName, indexName(tableName, 'expire_at_idx'));
}

const ADMIN_INDEXES: ReadonlyArray<{ readonly suffix: string; readonly columns: readonly string[] }> = [
  { suffix: 'created_at_id_idx', columns: ['created_at', 'id'] },
  { suffix: 'last_online_id_idx', columns: ['last_online', 'id'] },
  { suffix: 'expire_at_id_idx', columns: ['expire_at', 'id'] },
  { suffix: 'last_ip_idx', columns: ['last_ip'] },
];

/**
 * Migration 5: `(user_id, last_online desc, id)`, the order of a user's session list, so that
 * a page of `GET active` (and the whole list) is a range of one index. Without it, a page of a
 * user with 10,000 sessions in a table of 10 M read and sorted all of them, or PostgreSQL walked
 * the whole table's `(last_online, id)` index looking for the user's rows (175 ms a page).
 */
async function addUserLastOnlineIndex({ db, dialect, tableName }: MigrationContext): Promise<void> {
  await createIndexes(db, dialect, tableName, USER_LIST_INDEXES);
}

const USER_LIST_INDEXES: ReadonlyArray<{ readonly suffix: string; readonly columns: readonly string[] }> = [
  { suffix: 'user_last_online_idx', columns: ['user_id', 'last_online desc', 'id'] },
];

/**
 * The indexes a table at the latest migration has, beyond its primary key and `key_hash`'s
 * unique index, each created unless it exists: for a table built by other means (the
 * conversion of the Python original's table).
 */
export async function createLatestIndexes(db: Kysely<unknown>, dialect: SqlDialect, tableName: string): Promise<void> {
  // Migration 3 dropped migration 1's expire_at_idx for expire_at_id_idx.
  await createIndexes(db, dialect, tableName, [
    ...INDEXES.filter((index) => index.suffix !== 'expire_at_idx'),
    ...ADMIN_INDEXES,
    ...USER_LIST_INDEXES,
  ]);
}

/** Drops the index unless it is gone already (MySQL has no DROP INDEX IF EXISTS). */
async function dropIndex(db: Kysely<unknown>, dialect: SqlDialect, tableName: string, name: string): Promise<void> {
  if (dialect === 'mysql') {
    const existing = await sql<{ n: number }>`select count(*) as n from information_schema.statistics
      where table_schema = database() and table_name = ${tableName} and index_name = ${name}`.execute(db);
    if (Number(existing.rows[0]?.n) === 0) return;
    await db.schema.dropIndex(name).on(tableName).execute();
    return;
  }
  await db.schema.dropIndex(name).ifExists().execute();
}

/** Creates each index unless it exists (idempotent on MySQL, whose DDL is not transactional). */
async function createIndexes(
  db: Kysely<unknown>,
  dialect: SqlDialect,
  tableName: string,
  indexes: ReadonlyArray<{ readonly suffix: string; readonly columns: readonly string[] }>,
): Promise<void> {
  for (const index of indexes) {
    const name = indexName(tableName, index.suffix);
    if (dialect === 'mysql') {
      // MySQL has no CREATE INDEX IF NOT EXISTS.
      const existing = await sql<{ n: number }>`select count(*) as n from information_schema.statistics
        where table_schema = database() and table_name = ${tableName} and index_name = ${name}`.execute(db);
      if (Number(existing.rows[0]?.n) > 0) continue;
      await db.schema
        .createIndex(name)
        .on(tableName)
        .columns([...index.columns])
        .execute();
    } else {
      await db.schema
        .createIndex(name)
        .ifNotExists()
        .on(tableName)
        .columns([...index.columns])
        .execute();
    }
  }
}

/**
 * Migration 2: `refresh_jti varchar(64) null`, the jti of the session's current refresh token
 * when refresh rotation is on. Existing rows get `null`. Idempotent: the column is added only
 * when missing (MySQL 8 has no `ADD COLUMN IF NOT EXISTS`, and its DDL is not transactional).
 */
async function addRefreshJti({ db, dialect, tableName }: MigrationContext): Promise<void> {
  if (await columnExists(db, dialect, tableName, 'refresh_jti')) return;
  await db.schema
    .alterTable(tableName)
    .addColumn('refresh_jti', sql.raw(dialect === 'sqlite' ? 'text' : 'varchar(64)'))
    .execute();
}

/**
 * The sentences rows carried before `end_reason` existed, by the code they stand for: frozen
 * here (never read from END_DETAILS at run time, which may change later) for migration 4.
 */
const LEGACY_DETAILS: Readonly<Record<string, string>> = {
  user_agent_changed: 'User suspended; because user agent changed!',
  revoked_by_user: 'Revoked by the user.',
  logout: 'Logged out.',
  revoked_all: 'Revoked with all of the user’s sessions.',
  session_limit: 'Ended: the user reached the session limit.',
  idle_timeout: 'Ended: idle for too long.',
  admin: 'Revoked by an administrator.',
  blacklisted: 'Logged out: refresh token blacklisted.',
  refresh_reuse: 'Revoked: a rotated refresh token was used again.',
};

/**
 * Migration 4: `end_reason varchar(32) null`, why a session ended as a stable code (behaviour
 * used to be keyed on the `detail` sentence), and `authenticated_at`, when the user last proved
 * who they are for the session (step-up). Existing rows: `authenticated_at` = `created_at` (the
 * login was the last authentication), and ended rows get the code their `detail` sentence
 * stands for (rows whose detail was edited keep `null`: their reason is unknown). Idempotent.
 */
async function addEndReasonAndAuthenticatedAt({ db, dialect, tableName }: MigrationContext): Promise<void> {
  const t = columnTypes(dialect, 'string');
  if (!(await columnExists(db, dialect, tableName, 'end_reason'))) {
    await db.schema
      .alterTable(tableName)
      .addColumn('end_reason', sql.raw(dialect === 'sqlite' ? 'text' : 'varchar(32)'))
      .execute();
  }
  if (!(await columnExists(db, dialect, tableName, 'authenticated_at'))) {
    await db.schema.alterTable(tableName).addColumn('authenticated_at', sql.raw(t.time)).execute();
  }
  const table = sql.table(tableName);
  await sql`update ${table} set authenticated_at = created_at where authenticated_at is null`.execute(db);
  const cases = Object.entries(LEGACY_DETAILS).map(([reason, detail]) => sql`when ${detail} then ${reason}`);
  await sql`update ${table} set end_reason = case detail ${sql.join(cases, sql` `)} end
    where end_reason is null and is_active = ${dialect === 'sqlite' ? 0 : sql.raw('false')}
      and detail in (${sql.join(Object.values(LEGACY_DETAILS))})`.execute(db);
}

/**
 * An index name unique to the table, within the 63 characters PostgreSQL keeps (MySQL: 64):
 * long table names are shortened and disambiguated by a digest.
 */
export function indexName(tableName: string, suffix: string): string {
  const name = `${tableName}_${suffix}`;
  if (name.length <= 63) return name;
  const digest = createHash('sha256').update(tableName).digest('hex').slice(0, 8);
  return `${tableName.slice(0, 63 - suffix.length - 10)}_${digest}_${suffix}`;
}

/** The best exact-match collation of the server: MariaDB's no-pad binary, MySQL 8's, else utf8mb4_bin. */
async function binaryCollation(db: Kysely<unknown>): Promise<string> {
  const preferred = ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin'];
  const { rows } = await sql<{ name: string }>`select collation_name as name from information_schema.collations
    where collation_name in (${sql.join(preferred)})`.execute(db);
  const available = new Set(rows.map((row) => row.name));
  return preferred.find((name) => available.has(name)) ?? 'utf8mb4_bin';
}

/**
 * mysql2 converts `Date` parameters and `DATETIME` results with its `timezone` option, whose
 * default is the process's local zone. The store needs UTC: check it once, where it is cheap.
 */
export async function assertMysqlUtc(db: Kysely<unknown>): Promise<void> {
  const probe = new Date(Date.UTC(2000, 0, 2, 3, 4, 5, 6));
  const { rows } = await sql<{ probe: string }>`select cast(${probe} as char) as probe`.execute(db);
  const seen = rows[0]?.probe;
  if (seen !== '2000-01-02 03:04:05.006') {
    throw new Error(
      `nilva-session: the mysql2 pool must use timezone 'Z' (UTC); it sent ${JSON.stringify(seen)} for ${probe.toISOString()}. Create it with { timezone: 'Z' }, as connectDatabase does.`,
    );
  }
}

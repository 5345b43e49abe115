import { type Kysely, type RawBuilder, sql } from 'kysely';
import { SessionError } from '../core/errors.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { hashData, KEY_PREFIX_LENGTH } from '../tokens/opaque-token.js';
import { tableExists } from './catalog.js';
import {
  coexistenceTriggersInstalled,
  dropCoexistenceTriggers,
  installCoexistenceTriggers,
  ORIGINAL_SUSPENDED_DETAIL,
} from './django-coexistence.js';
import { type ColumnFact, differencesFromOriginal, readColumns } from './django-table-check.js';
import { withSessionLock } from './migration-lock.js';
import { LATEST_MIGRATION } from './migration-versions.js';
import {
  assertMysqlUtc,
  createLatestIndexes,
  createMigrationsTable,
  indexName,
  MIGRATIONS_TABLE_NAME,
  recordAllMigrations,
} from './migrations.js';
import { decodeBool, decodeTime, hyphenateHexId } from './row-codec.js';
import { type SqlDialect, validateDialect, validateTableName } from './session-table.js';
import { sqliteImmediateTransaction } from './sqlite-immediate.js';

// The in-place conversion of the Python original's `user_session` table (Django) into this
// library's schema, so that its sessions keep working: every raw key gets its SHA-256 in
// key_hash, ids, addresses and times take this library's forms, and the migrations are recorded
// as applied. Batched (bounded transactions), resumable (every step finds what is left to do from
// the table itself), and safe to interrupt at any point, even with SIGKILL.

/** Options of {@link migrateFromDjango}. */
export interface MigrateFromDjangoOptions {
  /** The SQL dialect behind `db`. */
  readonly dialect: SqlDialect;
  /** The original's table. Default `'user_session'` (the original's `db_table`). */
  readonly tableName?: string | undefined;
  /** Rows converted per transaction. Default 1000: short locks, and few round trips. */
  readonly batchSize?: number | undefined;
  /** Only inspect: report the plan and the row counts, write nothing. Default `false`. */
  readonly dryRun?: boolean | undefined;
  /**
   * Give the original's sessions without `expire_at` (which never expire) an expiry this many
   * seconds after the conversion started. Default `null`: they keep never expiring, as the
   * original promised the users who signed in with it; a forced expiry is a policy change to
   * make on purpose (and it logs those users out when it passes).
   */
  readonly expireMissingAfterSeconds?: number | null | undefined;
  /**
   * PostgreSQL and MySQL/MariaDB: prepare for a gradual move, while the Django app keeps
   * serving the same table: triggers fill this library's columns for the rows Django inserts,
   * and on MySQL the ids stay `char(32)` without hyphens, the form Django looks them up by
   * (the store reads the form from the table). Use it with the store's `djangoCoexistence`.
   * Default `false`.
   */
  readonly coexistence?: boolean | undefined;
  /** The move is over: drop the coexistence triggers. Default `false`. */
  readonly endCoexistence?: boolean | undefined;
  /**
   * Drop the raw `key` column, once every row has its hash (checked). Refused while the
   * coexistence triggers are on: the Django app needs the keys. Default `false`: the keys are
   * what a return to the Django app needs.
   */
  readonly dropRawKeys?: boolean | undefined;
  /** Called after each batch with the rows converted so far and the rows there were to convert. */
  readonly onProgress?: ((progress: DjangoConversionProgress) => void) | undefined;
}

/** Progress of the row conversion. */
export interface DjangoConversionProgress {
  /** Rows converted by this call so far. */
  readonly done: number;
  /** Rows this call found to convert. */
  readonly total: number;
}

/** The table's sessions by the state the original would give them now. */
export interface DjangoSessionCounts {
  /** Active, with an expiry in the future. */
  readonly active: number;
  /** Active, without `expire_at`. */
  readonly neverExpires: number;
  /** Active, past their expiry (refused, as by the original). */
  readonly expired: number;
  /** `is_active` false: suspended or revoked (refused). */
  readonly suspended: number;
  readonly total: number;
}

/** What {@link migrateFromDjango} found and did (or, for a dry run, would do). */
export interface DjangoConversionReport {
  readonly tableName: string;
  readonly dryRun: boolean;
  /** Where the table stood before the call. */
  readonly state: 'original' | 'partly-converted' | 'converted';
  readonly counts: DjangoSessionCounts;
  /**
   * How many raw keys have each length (empty once they are dropped): the manager's
   * `tokenSize` must be that length, or those tokens are refused as malformed.
   */
  readonly keyLengths: ReadonlyArray<{ readonly length: number; readonly count: number }>;
  /** The steps, in order, one sentence each. */
  readonly plan: readonly string[];
  /** Rows converted by this call. */
  readonly converted: number;
  /** Migrations recorded as applied by this call. */
  readonly applied: readonly string[];
  /** Whether the coexistence triggers are on after the call. */
  readonly coexistence: boolean;
  /** Whether the raw `key` column is still there after the call. */
  readonly rawKeys: boolean;
}

const OPTIONS = optionNames<MigrateFromDjangoOptions>({
  dialect: true,
  tableName: true,
  batchSize: true,
  dryRun: true,
  expireMissingAfterSeconds: true,
  coexistence: true,
  endCoexistence: true,
  dropRawKeys: true,
  onProgress: true,
});

/** The bookkeeping record of a conversion: its `applied_at` is when it started (the base of `expireMissingAfterSeconds`). */
const STARTED_VERSION = 0;
const STARTED_NAME = 'convert_from_django';
const STARTED_COEXISTENCE_NAME = 'convert_from_django_coexistence';

interface Resolved {
  readonly dialect: SqlDialect;
  readonly tableName: string;
  readonly batchSize: number;
  readonly dryRun: boolean;
  readonly expireAfterMs: number | null;
  readonly coexistence: boolean;
  readonly endCoexistence: boolean;
  readonly dropRawKeys: boolean;
  readonly onProgress: ((progress: DjangoConversionProgress) => void) | undefined;
}

function flag(options: MigrateFromDjangoOptions, name: 'dryRun' | 'coexistence' | 'endCoexistence' | 'dropRawKeys'): boolean {
  const value = options[name] ?? false;
  if (typeof value !== 'boolean') throw new TypeError(`nilva-session: option "${name}" must be a boolean, got ${JSON.stringify(value)}`);
  return value;
}

function resolve(options: MigrateFromDjangoOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw new TypeError('nilva-session: migrateFromDjango needs an options object');
  assertKnownOptions('migrateFromDjango', options, OPTIONS);
  const dialect = validateDialect(options.dialect);
  const tableName = validateTableName(options.tableName);
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new TypeError(`nilva-session: option "batchSize" must be an integer from 1 to 100000, got ${JSON.stringify(batchSize)}`);
  }
  const expire = options.expireMissingAfterSeconds ?? null;
  if (expire !== null && (typeof expire !== 'number' || !Number.isSafeInteger(expire) || expire < 1)) {
    throw new TypeError(
      `nilva-session: option "expireMissingAfterSeconds" must be a positive integer or null, got ${JSON.stringify(expire)}`,
    );
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new TypeError('nilva-session: option "onProgress" must be a function');
  }
  const resolved: Resolved = {
    dialect,
    tableName,
    batchSize,
    dryRun: flag(options, 'dryRun'),
    expireAfterMs: expire === null ? null : expire * 1000,
    coexistence: flag(options, 'coexistence'),
    endCoexistence: flag(options, 'endCoexistence'),
    dropRawKeys: flag(options, 'dropRawKeys'),
    onProgress: options.onProgress,
  };
  if (resolved.coexistence && dialect === 'sqlite') {
    throw new TypeError(
      'nilva-session: option "coexistence" is for PostgreSQL and MySQL/MariaDB; a SQLite table is converted once, with the Django app stopped',
    );
  }
  if (resolved.coexistence && resolved.endCoexistence) {
    throw new TypeError('nilva-session: options "coexistence" and "endCoexistence" exclude each other');
  }
  if (resolved.coexistence && resolved.dropRawKeys) {
    throw new TypeError(
      'nilva-session: option "dropRawKeys" cannot go with "coexistence": the Django app looks sessions up by their raw keys',
    );
  }
  return resolved;
}

/**
 * Converts the Python original's `user_session` table (Django, on PostgreSQL, MySQL/MariaDB or
 * SQLite) into this library's schema, in place, without logging anyone out: every session keeps
 * its token and its state (docs/migrating-from-django.md). Afterwards `migrateSessionStore` has
 * nothing to apply and the stores accept the table.
 *
 * - Adds `key_hash` (SHA-256 hex of `key`), `key_prefix`, `refresh_jti`, `end_reason`
 *   (`user_agent_changed` for the original's suspended rows) and `authenticated_at`
 *   (= `created_at`), and this library's indexes; `key` becomes nullable (sessions created
 *   here have no raw key unless coexistence is on) and stays until `dropRawKeys`.
 * - PostgreSQL: `last_ip` from `inet` to `varchar(45)`. MySQL: `last_ip` from `char(39)` to
 *   `varchar(45)`, ids from `char(32)` to hyphenated `char(36)` (kept with `coexistence`);
 *   `datetime(6)` stays (the store reads and compares it as it does `datetime(3)`).
 * - SQLite: the table is rebuilt (SQLite cannot drop a NOT NULL), with hyphenated ids and
 *   ISO-8601 UTC text times (Django wrote `YYYY-MM-DD HH:MM:SS[.ffffff]`), then swapped in.
 *
 * Rows are converted in transactions of `batchSize`; an interrupted run (even SIGKILL) leaves
 * a consistent table, and running it again finishes the work. Two runs never interleave (a
 * database lock), and a `migrateSessionStore` started meanwhile waits.
 *
 * @throws TypeError naming the option when an option is invalid
 * @throws SessionError `ERR_STORE_NOT_READY` when the table is missing or is not the original's
 *   (the message says what differs), or a requested step cannot be taken
 * @example
 * const report = await migrateFromDjango(db, { dialect: 'postgres', dryRun: true });
 * console.log(report.plan.join('\n'), report.counts);
 */
export async function migrateFromDjango<DB>(db: Kysely<DB>, options: MigrateFromDjangoOptions): Promise<DjangoConversionReport> {
  const o = resolve(options);
  const base = db as unknown as Kysely<unknown>;
  if (o.dialect === 'mysql') await assertMysqlUtc(base);
  if (o.dryRun) {
    const table = await inspect(base, o);
    return report(o, table, await countSessions(base, o, table), await keyLengths(base, o, table), plan(o, table), 0, [], table);
  }
  return withSessionLock(base, o.dialect, MIGRATIONS_TABLE_NAME, async (conn) => {
    const before = await inspect(conn, o);
    const counts = await countSessions(conn, o, before);
    const lengths = await keyLengths(conn, o, before);
    const steps = plan(o, before);
    let converted = 0;
    let applied: string[] = [];
    if (o.coexistence && !before.triggers) assertCoexistencePossible(o, before);
    if (before.state !== 'converted') {
      // The start is recorded before any change, with the coexistence choice: a run resumed
      // after a kill goes on the way the first one chose (on MySQL, whether ids keep Django's form).
      const start = await recordStart(conn, o);
      const coexistence = o.coexistence || start.coexistence || before.triggers;
      const resolved = { ...o, coexistence };
      await prepare(conn, resolved, before);
      const prepared = await inspect(conn, o);
      if (coexistence) await installCoexistenceTriggers(conn, o.dialect, o.tableName);
      converted = await fill(conn, resolved, prepared, start.at);
      applied = await finalise(conn, resolved, start.at);
    } else if (o.coexistence && !before.triggers) {
      await installCoexistenceTriggers(conn, o.dialect, o.tableName);
    }
    if (o.endCoexistence) await dropCoexistenceTriggers(conn, o.dialect, o.tableName);
    if (o.dropRawKeys) await dropRawKeys(conn, o);
    const after = await inspect(conn, o);
    return report(o, before, counts, lengths, steps, converted, applied, after);
  });
}

// ---------------------------------------------------------------------------------------------
// Where the table stands

interface TableState {
  readonly state: DjangoConversionReport['state'];
  /** The columns of the table being converted (on SQLite before the swap: the original's). */
  readonly columns: ReadonlyMap<string, ColumnFact>;
  readonly triggers: boolean;
  /** SQLite: the rebuilt table exists (the rows are being copied). */
  readonly rebuilding: boolean;
}

/** The SQLite table the rows are copied into before it replaces the original. */
function rebuildName(tableName: string): string {
  return `${tableName}__nilva_django`;
}

async function inspect(db: Kysely<unknown>, o: Resolved): Promise<TableState> {
  const columns = await readColumns(db, o.dialect, o.tableName);
  if (columns.size === 0) {
    throw notReady(
      `the table "${o.tableName}" does not exist: give the original's table (--table NAME), or run \`nilva-session migrate\` for a new one`,
    );
  }
  const triggers = await coexistenceTriggersInstalled(db, o.dialect, o.tableName);
  const rebuilding = o.dialect === 'sqlite' && (await tableExists(db, o.dialect, rebuildName(o.tableName)));
  let recorded = new Set<number>();
  if (await tableExists(db, o.dialect, MIGRATIONS_TABLE_NAME)) {
    const done = await sql<{ version: number | string }>`select version from ${sql.table(MIGRATIONS_TABLE_NAME)}
      where table_name = ${o.tableName}`.execute(db);
    recorded = new Set(done.rows.map((row) => Number(row.version)));
  }
  const upToDate = Array.from({ length: LATEST_MIGRATION }, (_, i) => i + 1).every((v) => recorded.has(v));
  if (upToDate && columns.has('key_hash')) return { state: 'converted', columns, triggers, rebuilding: false };
  if (!columns.has('key') && columns.has('key_hash')) {
    throw notReady(`the table "${o.tableName}" is this library's but lacks migrations: run \`nilva-session migrate\``);
  }
  const problems = differencesFromOriginal(o.dialect, columns);
  if (problems.length > 0) {
    throw notReady(`the table "${o.tableName}" is not the Python original's user_session, so it is left alone: ${problems.join('; ')}`);
  }
  const started = columns.has('key_hash') || rebuilding || recorded.has(STARTED_VERSION);
  return { state: started ? 'partly-converted' : 'original', columns, triggers, rebuilding };
}

function assertCoexistencePossible(o: Resolved, table: TableState): void {
  if (!table.columns.has('key')) {
    throw notReady(
      `coexistence needs the raw \`key\` column of "${o.tableName}", which was dropped: the Django app cannot find its sessions`,
    );
  }
  if (o.dialect === 'mysql' && table.columns.get('id')?.type === 'char(36)') {
    throw notReady(
      `the ids of "${o.tableName}" were converted to char(36), and the Django app looks sessions up by 32-hex ids: ` +
        'on MySQL, coexistence must be chosen at the first conversion',
    );
  }
}

function notReady(message: string): SessionError {
  return new SessionError('ERR_STORE_NOT_READY', `nilva-session: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Report

/** The table the counts read: on SQLite, the original until the swap. */
function sourceTable(o: Resolved, table: TableState): { readonly name: string; readonly djangoTimes: boolean } {
  const djangoTimes = o.dialect === 'sqlite' && table.state !== 'converted';
  return { name: o.tableName, djangoTimes };
}

async function countSessions(db: Kysely<unknown>, o: Resolved, table: TableState): Promise<DjangoSessionCounts> {
  const source = sourceTable(o, table);
  const now = new Date();
  // SQLite compares text: the original's rows hold Django's naive text, converted rows ISO text.
  const at = o.dialect !== 'sqlite' ? now : source.djangoTimes ? djangoText(now) : now.toISOString();
  const active = o.dialect === 'sqlite' ? sql`is_active = 1` : o.dialect === 'mysql' ? sql`is_active = 1` : sql`is_active`;
  const { rows } = await sql<Record<'active' | 'never' | 'expired' | 'suspended' | 'total', number | string | null>>`select
      sum(case when ${active} and expire_at is null then 1 else 0 end) as never,
      sum(case when ${active} and expire_at > ${at} then 1 else 0 end) as active,
      sum(case when ${active} and expire_at <= ${at} then 1 else 0 end) as expired,
      sum(case when ${active} then 0 else 1 end) as suspended,
      count(*) as total
    from ${sql.table(source.name)}`.execute(db);
  const row = rows[0];
  return {
    active: Number(row?.active ?? 0),
    neverExpires: Number(row?.never ?? 0),
    expired: Number(row?.expired ?? 0),
    suspended: Number(row?.suspended ?? 0),
    total: Number(row?.total ?? 0),
  };
}

async function keyLengths(db: Kysely<unknown>, o: Resolved, table: TableState): Promise<Array<{ length: number; count: number }>> {
  if (!table.columns.has('key')) return [];
  const length = o.dialect === 'mysql' ? sql`char_length(\`key\`)` : sql`length(${sql.ref('key')})`;
  const { rows } = await sql<{ len: number | string | null; n: number | string }>`select ${length} as len, count(*) as n
    from ${sql.table(o.tableName)} where ${sql.ref('key')} is not null group by ${length} order by 1`.execute(db);
  return rows.map((row) => ({ length: Number(row.len), count: Number(row.n) }));
}

function plan(o: Resolved, table: TableState): string[] {
  const steps: string[] = [];
  const t = o.tableName;
  if (table.state === 'converted') steps.push(`"${t}" is converted already: no row to convert`);
  else {
    if (table.state === 'partly-converted') steps.push(`resume the interrupted conversion of "${t}"`);
    if (o.dialect === 'sqlite') {
      steps.push(
        `rebuild "${t}" as ${rebuildName(t)} (SQLite cannot drop a NOT NULL): ids hyphenated, times as ISO-8601 UTC text, then swap it in`,
      );
    } else {
      const missing = ['key_hash', 'key_prefix', 'refresh_jti', 'end_reason', 'authenticated_at'].filter((c) => !table.columns.has(c));
      if (missing.length > 0) steps.push(`add columns ${missing.join(', ')}`);
      steps.push('make `key` nullable (sessions created here have no raw key unless coexistence is on)');
      if (o.dialect === 'postgres' && table.columns.get('last_ip')?.type === 'inet') steps.push('change last_ip from inet to varchar(45)');
      if (o.dialect === 'mysql') {
        if (table.columns.get('last_ip')?.type === 'char(39)') steps.push('change last_ip from char(39) to varchar(45)');
        const idType = table.columns.get('id')?.type;
        if (o.coexistence || table.triggers) steps.push('keep id char(32) without hyphens: the Django app looks sessions up by that form');
        else if (idType === 'char(32)') steps.push('change id from char(32) to char(36) and write every id hyphenated');
        steps.push('keep datetime(6): the store reads and compares it as it does datetime(3)');
      }
    }
    if (o.coexistence || table.triggers) {
      steps.push('install triggers that fill key_hash, key_prefix and authenticated_at for the rows the Django app inserts');
    }
    steps.push(`fill key_hash (SHA-256 hex of key), key_prefix and authenticated_at, in transactions of ${o.batchSize} rows`);
    steps.push("end_reason = 'user_agent_changed' for the suspended rows that carry the original's suspension sentence");
    steps.push(
      o.expireAfterMs === null
        ? 'keep the sessions without expire_at never-expiring, as the original promised (expireMissingAfterSeconds, --expire-missing-after, changes that)'
        : `give the active sessions without expire_at an expiry ${o.expireAfterMs / 1000} s after the conversion started`,
    );
    steps.push(`create the indexes and record migrations 1-${LATEST_MIGRATION} in ${MIGRATIONS_TABLE_NAME}`);
  }
  if (table.state === 'converted' && o.coexistence && !table.triggers) steps.push('install the coexistence triggers');
  if (o.endCoexistence) steps.push(table.triggers ? 'drop the coexistence triggers' : 'no coexistence triggers to drop');
  if (o.dropRawKeys) steps.push('drop the raw key column once every row has its hash');
  else if (table.columns.has('key'))
    steps.push('keep the raw key column (a return to the Django app needs it; dropRawKeys, --drop-raw-keys, drops it)');
  return steps;
}

function report(
  o: Resolved,
  before: TableState,
  counts: DjangoSessionCounts,
  lengths: Array<{ length: number; count: number }>,
  steps: string[],
  converted: number,
  applied: string[],
  after: TableState,
): DjangoConversionReport {
  return {
    tableName: o.tableName,
    dryRun: o.dryRun,
    state: before.state,
    counts,
    keyLengths: lengths,
    plan: steps,
    converted,
    applied,
    coexistence: after.triggers,
    rawKeys: after.columns.has('key'),
  };
}

// ---------------------------------------------------------------------------------------------
// Schema, before the rows

/**
 * The DDL before the rows, idempotent: every change is taken only when the catalogue says it
 * is still to do (MySQL's DDL commits by itself, statement by statement).
 */
async function prepare(db: Kysely<unknown>, o: Resolved, table: TableState): Promise<void> {
  const t = sql.table(o.tableName);
  const has = (column: string) => table.columns.has(column);
  if (o.dialect === 'postgres') {
    const changes: RawBuilder<unknown>[] = [sql`alter column ${sql.ref('key')} drop not null`];
    if (table.columns.get('last_ip')?.type === 'inet') {
      // host() is the address alone: inet's text form would append /32 or /128.
      changes.push(sql`alter column last_ip type varchar(45) using host(last_ip)`);
    }
    for (const [column, type] of ADDED.postgres) if (!has(column)) changes.push(sql`add column ${sql.ref(column)} ${sql.raw(type)}`);
    await db.transaction().execute(async (trx) => {
      await sql`alter table ${t} ${sql.join(changes, sql`, `)}`.execute(trx);
      await sql`create unique index if not exists ${sql.id(indexName(o.tableName, 'key_hash_key'))} on ${t} (key_hash)`.execute(trx);
    });
    return;
  }
  if (o.dialect === 'mysql') {
    const changes: RawBuilder<unknown>[] = [];
    const key = table.columns.get('key');
    if (key !== undefined && !key.nullable) changes.push(sql`modify \`key\` ${sql.raw(key.type)} null`);
    if (table.columns.get('last_ip')?.type === 'char(39)') changes.push(sql`modify last_ip varchar(45) not null`);
    // Coexistence keeps Django's id form.
    if (!o.coexistence && table.columns.get('id')?.type === 'char(32)') changes.push(sql`modify id char(36) not null`);
    for (const [column, type] of ADDED.mysql) if (!has(column)) changes.push(sql`add column ${sql.ref(column)} ${sql.raw(type)}`);
    // One ALTER: InnoDB copies the table once, and it happens entirely or not at all.
    if (changes.length > 0) await sql`alter table ${t} ${sql.join(changes, sql`, `)}`.execute(db);
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from information_schema.statistics
      where table_schema = database() and table_name = ${o.tableName} and index_name = 'key_hash'`.execute(db);
    if (Number(rows[0]?.n) === 0) await sql`alter table ${t} add unique key key_hash (key_hash)`.execute(db);
    return;
  }
  // SQLite: this library's table, plus the raw key (not UNIQUE: key_hash is, and a plain column
  // can be dropped later, which a UNIQUE one cannot).
  await sql`create table if not exists ${sql.table(rebuildName(o.tableName))} (
      id text primary key,
      user_id integer not null,
      key_hash text not null unique,
      key_prefix text not null,
      expire_at text,
      is_active integer not null,
      last_online text not null,
      last_ip text not null,
      user_agent text not null,
      detail text,
      created_at text not null,
      refresh_jti text,
      end_reason text,
      authenticated_at text,
      ${sql.ref('key')} text
    )`.execute(db);
}

/** The columns the conversion adds, nullable until every row is filled. */
const ADDED = {
  postgres: [
    ['key_hash', 'char(64)'],
    ['key_prefix', 'varchar(8)'],
    ['refresh_jti', 'varchar(64)'],
    ['end_reason', 'varchar(32)'],
    ['authenticated_at', 'timestamptz'],
  ],
  // datetime(6) like the original's other times, so authenticated_at = created_at exactly.
  mysql: [
    ['key_hash', 'char(64) null'],
    ['key_prefix', 'varchar(8) null'],
    ['refresh_jti', 'varchar(64) null'],
    ['end_reason', 'varchar(32) null'],
    ['authenticated_at', 'datetime(6) null'],
  ],
} as const;

/**
 * Records that the conversion started, once, and whether for coexistence; returns when it
 * started (the base of `expireMissingAfterSeconds`, the same for a resumed run) and the choice.
 */
async function recordStart(db: Kysely<unknown>, o: Resolved): Promise<{ readonly at: Date; readonly coexistence: boolean }> {
  await createMigrationsTable(db, o.dialect);
  const migrations = sql.table(MIGRATIONS_TABLE_NAME);
  const { rows } = await sql<{ at: Date | string; name: string }>`select applied_at as at, name from ${migrations}
    where table_name = ${o.tableName} and version = ${STARTED_VERSION}`.execute(db);
  const seen = rows[0];
  if (seen !== undefined) {
    const coexistence = seen.name === STARTED_COEXISTENCE_NAME;
    if (o.coexistence && !coexistence) {
      await sql`update ${migrations} set name = ${STARTED_COEXISTENCE_NAME}
        where table_name = ${o.tableName} and version = ${STARTED_VERSION}`.execute(db);
    }
    return { at: decodeTime(seen.at), coexistence: coexistence || o.coexistence };
  }
  // Whole seconds: MySQL's applied_at is a datetime without fraction.
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const name = o.coexistence ? STARTED_COEXISTENCE_NAME : STARTED_NAME;
  await sql`insert into ${migrations} (table_name, version, name, applied_at)
    values (${o.tableName}, ${STARTED_VERSION}, ${name}, ${o.dialect === 'sqlite' ? now.toISOString() : now})`.execute(db);
  return { at: now, coexistence: o.coexistence };
}

// ---------------------------------------------------------------------------------------------
// Rows

/** Converts every row still to convert, batch by batch; returns how many. */
async function fill(db: Kysely<unknown>, o: Resolved, table: TableState, startedAt: Date): Promise<number> {
  const expireAt = o.expireAfterMs === null ? null : new Date(startedAt.getTime() + o.expireAfterMs);
  if (o.dialect === 'sqlite') return fillSqlite(db, o, expireAt);
  const convertIds = o.dialect === 'mysql' && table.columns.get('id')?.type === 'char(36)';
  const total = await remaining(db, o);
  let done = 0;
  o.onProgress?.({ done, total });
  // A keyset pass over the ids; a second pass catches rows written behind the cursor meanwhile.
  for (let pass = 0; pass < 2; pass++) {
    let cursor: string | undefined;
    for (;;) {
      const batch = await fillBatch(db, o, cursor, expireAt, convertIds);
      if (batch.count === 0) break;
      done += batch.count;
      cursor = batch.last;
      o.onProgress?.({ done, total: Math.max(total, done) });
    }
    if ((await remaining(db, o)) === 0) return done;
  }
  throw notReady(`rows of "${o.tableName}" have neither a key nor a key_hash: delete them or give them a key, then run again`);
}

/** Rows without key_hash (PostgreSQL, MySQL). */
async function remaining(db: Kysely<unknown>, o: Resolved): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(o.tableName)}
    where key_hash is null`.execute(db);
  return Number(rows[0]?.n);
}

/** One transaction: up to batchSize rows after `cursor`, hashed by the database itself. */
async function fillBatch(
  db: Kysely<unknown>,
  o: Resolved,
  cursor: string | undefined,
  expireAt: Date | null,
  convertIds: boolean,
): Promise<{ count: number; last: string | undefined }> {
  const t = sql.table(o.tableName);
  const after = cursor === undefined ? sql`` : sql`and id > ${cursor}`;
  const sentence = ORIGINAL_SUSPENDED_DETAIL;
  return db.transaction().execute(async (trx) => {
    if (o.dialect === 'postgres') {
      // The same expression as the trigger's, which hashes what Django inserts.
      const { rows } = await sql<{ id: string }>`with batch as (
          select id from ${t} where key_hash is null and key is not null ${after} order by id limit ${o.batchSize} for update
        )
        update ${t} as s set
          key_hash = encode(sha256(convert_to(s.key, 'UTF8')), 'hex'),
          key_prefix = left(s.key, ${KEY_PREFIX_LENGTH}),
          authenticated_at = coalesce(s.authenticated_at, s.created_at),
          end_reason = case when not s.is_active and s.end_reason is null and s.detail = ${sentence}
            then 'user_agent_changed' else s.end_reason end,
          expire_at = case when cast(${expireAt} as timestamptz) is not null and s.is_active and s.expire_at is null
            then cast(${expireAt} as timestamptz) else s.expire_at end
        from batch where s.id = batch.id
        returning s.id`.execute(trx);
      const ids = rows.map((row) => String(row.id)).sort();
      return { count: ids.length, last: ids.at(-1) };
    }
    // MySQL: lock the batch by primary key, then update exactly it.
    const { rows } = await sql<{ id: string }>`select id from ${t}
      where key_hash is null and \`key\` is not null ${after} order by id limit ${o.batchSize} for update`.execute(trx);
    if (rows.length === 0) return { count: 0, last: undefined };
    const ids = rows.map((row) => String(row.id));
    if (convertIds) {
      const bad = ids.find((id) => hyphenateHexId(id) === undefined || id !== id.toLowerCase());
      if (bad !== undefined) throw notReady(`the row of "${o.tableName}" with id ${JSON.stringify(bad)} has no 32-hex UUID id`);
    }
    // Assignments run left to right on MySQL: id, which the others do not read, goes last.
    const id = convertIds
      ? sql`, id = concat_ws('-', substr(id, 1, 8), substr(id, 9, 4), substr(id, 13, 4), substr(id, 17, 4), substr(id, 21, 12))`
      : sql``;
    await sql`update ${t} set
        key_hash = sha2(\`key\`, 256),
        key_prefix = left(\`key\`, ${KEY_PREFIX_LENGTH}),
        authenticated_at = coalesce(authenticated_at, created_at),
        end_reason = case when is_active = 0 and end_reason is null and detail = ${sentence} then 'user_agent_changed' else end_reason end,
        expire_at = case when ${expireAt} is not null and is_active = 1 and expire_at is null then ${expireAt} else expire_at end
        ${id}
      where id in (${sql.join(ids)})`.execute(trx);
    return { count: ids.length, last: ids.at(-1) };
  });
}

/** The columns the SQLite rebuild copies from the original. */
interface OriginalRow {
  id: string;
  key: string | null;
  expire_at: string | null;
  is_active: number | string;
  last_online: string;
  last_ip: string;
  user_agent: string;
  detail: string | null;
  created_at: string;
  user_id: number | string | bigint;
}

/** SQLite: copies the original's rows into the rebuilt table, in id order, one transaction per batch. */
async function fillSqlite(db: Kysely<unknown>, o: Resolved, expireAt: Date | null): Promise<number> {
  const from = sql.table(o.tableName);
  const into = sql.table(rebuildName(o.tableName));
  const count = async (table: typeof from) => Number((await sql<{ n: number }>`select count(*) as n from ${table}`.execute(db)).rows[0]?.n);
  const total = Math.max(0, (await count(from)) - (await count(into)));
  let done = 0;
  o.onProgress?.({ done, total });
  for (;;) {
    const copied = await sqliteImmediateTransaction(db, async (conn) => {
      // Where the copy stands, read inside the transaction: the rebuilt table's last id.
      const { rows: last } = await sql<{ id: string | null }>`select max(id) as id from ${into}`.execute(conn);
      const cursor = last[0]?.id ?? null;
      const { rows } = await sql<OriginalRow>`select id, ${sql.ref('key')}, expire_at, is_active, last_online, last_ip, user_agent,
          detail, created_at, user_id from ${from}
        ${cursor === null ? sql`` : sql`where id > ${cursor.replaceAll('-', '')}`}
        order by id limit ${o.batchSize}`.execute(conn);
      await insertConverted(conn, o, rows, expireAt);
      return rows.length;
    });
    if (copied === 0) return done;
    done += copied;
    o.onProgress?.({ done, total: Math.max(total, done) });
  }
}

/** Writes original rows, converted, into the rebuilt table. */
async function insertConverted(db: Kysely<unknown>, o: Resolved, rows: readonly OriginalRow[], expireAt: Date | null): Promise<void> {
  // 15 parameters a row: 400 rows stay far below SQLite's parameter limit.
  for (let i = 0; i < rows.length; i += 400) {
    const values = rows.slice(i, i + 400).map((row) => {
      const c = convertRow(o, row, expireAt);
      return sql`(${sql.join([
        c.id,
        c.user_id,
        c.key_hash,
        c.key_prefix,
        c.expire_at,
        c.is_active,
        c.last_online,
        c.last_ip,
        c.user_agent,
        c.detail,
        c.created_at,
        c.end_reason,
        c.authenticated_at,
        c.key,
      ])})`;
    });
    await sql`insert into ${sql.table(rebuildName(o.tableName))}
      (id, user_id, key_hash, key_prefix, expire_at, is_active, last_online, last_ip, user_agent, detail, created_at,
       end_reason, authenticated_at, ${sql.ref('key')})
      values ${sql.join(values)}`.execute(db);
  }
}

/** One original row in this library's SQLite forms: hyphenated id, ISO-8601 UTC text, hashed key. */
function convertRow(o: Resolved, row: OriginalRow, expireAt: Date | null) {
  const id = typeof row.id === 'string' && row.id === row.id.toLowerCase() ? hyphenateHexId(row.id) : undefined;
  if (id === undefined) throw notReady(`the row of "${o.tableName}" with id ${JSON.stringify(row.id)} has no 32-hex UUID id`);
  if (typeof row.key !== 'string') throw notReady(`the row of "${o.tableName}" with id ${row.id} has no key`);
  const time = (value: string, column: string) => {
    try {
      // Django's naive text is UTC (USE_TZ = True); decodeTime reads text without offset as UTC.
      return decodeTime(value).toISOString();
    } catch {
      throw notReady(`the row of "${o.tableName}" with id ${row.id} has an unreadable ${column}: ${JSON.stringify(value)}`);
    }
  };
  const active = decodeBool(row.is_active);
  const createdAt = time(row.created_at, 'created_at');
  const expire = row.expire_at === null ? (active && expireAt !== null ? expireAt.toISOString() : null) : time(row.expire_at, 'expire_at');
  return {
    id,
    user_id: row.user_id,
    key_hash: hashData(row.key),
    key_prefix: row.key.slice(0, KEY_PREFIX_LENGTH),
    expire_at: expire,
    is_active: active ? 1 : 0,
    last_online: time(row.last_online, 'last_online'),
    last_ip: row.last_ip,
    user_agent: row.user_agent,
    detail: row.detail,
    created_at: createdAt,
    end_reason: !active && row.detail === ORIGINAL_SUSPENDED_DETAIL ? 'user_agent_changed' : null,
    authenticated_at: createdAt,
    key: row.key,
  };
}

// ---------------------------------------------------------------------------------------------
// Schema, after the rows

/** NOT NULL on the filled columns, the indexes, and the migrations recorded: the table is this library's. */
async function finalise(db: Kysely<unknown>, o: Resolved, startedAt: Date): Promise<string[]> {
  const t = sql.table(o.tableName);
  if (o.dialect === 'postgres') {
    return db.transaction().execute(async (trx) => {
      await sql`alter table ${t} alter column key_hash set not null, alter column key_prefix set not null`.execute(trx);
      await createLatestIndexes(trx, o.dialect, o.tableName);
      return recordAllMigrations(trx, o.dialect, o.tableName);
    });
  }
  if (o.dialect === 'mysql') {
    const columns = await readColumns(db, o.dialect, o.tableName);
    if (columns.get('key_hash')?.nullable === true || columns.get('key_prefix')?.nullable === true) {
      await sql`alter table ${t} modify key_hash char(64) not null, modify key_prefix varchar(8) not null`.execute(db);
    }
    await createLatestIndexes(db, o.dialect, o.tableName);
    return recordAllMigrations(db, o.dialect, o.tableName);
  }
  return sqliteImmediateTransaction(db, async (conn) => {
    const into = sql.table(rebuildName(o.tableName));
    // Rows the original gained or lost behind the copy's cursor: the copy must equal it exactly.
    const hyphenated = sql`substr(o.id, 1, 8) || '-' || substr(o.id, 9, 4) || '-' || substr(o.id, 13, 4) || '-' ||
      substr(o.id, 17, 4) || '-' || substr(o.id, 21, 12)`;
    const { rows: missed } = await sql<OriginalRow>`select o.id, o.${sql.ref('key')}, o.expire_at, o.is_active, o.last_online,
        o.last_ip, o.user_agent, o.detail, o.created_at, o.user_id from ${t} as o
      where not exists (select 1 from ${into} as n where n.id = ${hyphenated})`.execute(conn);
    const expireAt = o.expireAfterMs === null ? null : new Date(startedAt.getTime() + o.expireAfterMs);
    await insertConverted(conn, o, missed, expireAt);
    // o.id = the copy's id without hyphens: the original's primary key answers each lookup.
    await sql`delete from ${into} where not exists (select 1 from ${t} as o where o.id = replace(${into}.id, '-', ''))`.execute(conn);
    await sql`drop table ${t}`.execute(conn);
    await sql`alter table ${into} rename to ${t}`.execute(conn);
    await createLatestIndexes(conn, o.dialect, o.tableName);
    return recordAllMigrations(conn, o.dialect, o.tableName);
  });
}

/** Drops the raw `key` column, after checking that every row has its hash. */
async function dropRawKeys(db: Kysely<unknown>, o: Resolved): Promise<void> {
  const table = await inspect(db, o);
  if (!table.columns.has('key')) return;
  if (table.triggers) {
    throw notReady(`the coexistence triggers are on "${o.tableName}": end the coexistence first (endCoexistence, --end-coexistence)`);
  }
  if (table.state !== 'converted' || (await remaining(db, o)) > 0) {
    throw notReady(`rows of "${o.tableName}" lack key_hash: the raw keys are kept`);
  }
  if (o.dialect === 'mysql') await sql`alter table ${sql.table(o.tableName)} drop column \`key\``.execute(db);
  else await sql`alter table ${sql.table(o.tableName)} drop column ${sql.ref('key')}`.execute(db);
}

/** Django's naive UTC text for a time (SQLite), to compare with what it stored. */
function djangoText(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}.${String(date.getUTCMilliseconds() * 1000).padStart(6, '0')}`;
}

// The scale part's tables: how the bulk-loaded sessions look, and how they are loaded fast
// (PostgreSQL: the migration's indexes and unique constraints dropped, rows inserted with
// `INSERT … SELECT generate_series` on two connections, the indexes built again from their own
// definitions, then VACUUM ANALYZE; MariaDB: the secondary indexes dropped and added again).
import { sql } from 'kysely';
import type { BenchDatabase } from './environment.js';
import { USER_AGENT } from './environment.js';

/**
 * The sessions of a table of `count` rows, numbered 1..count in creation order:
 *
 * - created over the 60 days before the load, evenly, in `i` order (so the heap is in creation
 *   order, as a table that only grows is); a 30-day lifetime, so the older half (`i ≤ count/2`)
 *   has expired; the live half expires a day after the load at the earliest;
 * - one live session in ten has ended (`i % 10 = 7`: logged out, `is_active` false);
 * - five sessions per user (user `(i % (count/5)) + 1`), spread over the 60 days;
 * - from 100 k rows on, one user ({@link HEAVY_USER}) has {@link HEAVY_SESSIONS} live sessions,
 *   every `stride`-th row of the live half;
 * - `last_online` somewhere between creation and the load (or the expiry), `last_ip` a
 *   pseudo-random 10.x.y.z (so an address prefix matches rows of every age).
 */
export interface ScaleLayout {
  readonly count: number;
  readonly users: number;
  /** Rows `i ≤ expiredBelow` have expired. */
  readonly expiredBelow: number;
  /** 0 when the table has no heavy user. */
  readonly heavyStride: number;
  /** The load's "now", the origin of every time in the table. */
  readonly base: Date;
}

/** The user with {@link HEAVY_SESSIONS} sessions (from 100 k rows on). */
export const HEAVY_USER = 900_000_001;
export const HEAVY_SESSIONS = 10_000;
/** An ordinary user, with five sessions. */
export const ORDINARY_USER = 42;

const DAY_SECONDS = 86_400;
const SPAN_SECONDS = 60 * DAY_SECONDS;
const LIFETIME_SECONDS = 30 * DAY_SECONDS;
const INACTIVE_MOD = 7;

export function scaleLayout(count: number, base = new Date()): ScaleLayout {
  const half = Math.floor(count / 2);
  const heavyStride = count >= 100_000 ? Math.floor((count - half) / HEAVY_SESSIONS) : 0;
  return { count, users: Math.max(1, Math.floor(count / 5)), expiredBelow: half, heavyStride, base };
}

/** The opaque token of bulk-inserted session `i`: 50 characters of [a-z0-9], as the SQL below builds it. */
export function tokenOf(i: number): string {
  return `b${String(i).padStart(49, '0')}`;
}

/** The `last_ip` of session `i`, as the SQL below computes it. */
export function ipOf(i: number): string {
  const h = Number((BigInt(i) * 2246822519n) % 4294967296n);
  return `10.${Math.floor(h / 65536) % 256}.${Math.floor(h / 256) % 256}.${h % 256}`;
}

/** Whether session `i` authenticates: not expired, not ended. */
export function isLive(layout: ScaleLayout, i: number): boolean {
  return i > layout.expiredBelow && i % 10 !== INACTIVE_MOD;
}

export function isHeavy(layout: ScaleLayout, i: number): boolean {
  return layout.heavyStride > 0 && i > layout.expiredBelow && (i - layout.expiredBelow) % layout.heavyStride === 3 % layout.heavyStride;
}

/** A random live session, not one of the heavy user's. */
export function randomLive(layout: ScaleLayout): number {
  for (;;) {
    const i = layout.expiredBelow + 1 + Math.floor(Math.random() * (layout.count - layout.expiredBelow));
    if (isLive(layout, i) && !isHeavy(layout, i)) return i;
  }
}

/** Every session of the heavy user, in `i` order. */
export function heavySessions(layout: ScaleLayout): number[] {
  const out: number[] = [];
  if (layout.heavyStride === 0) return out;
  for (let i = layout.expiredBelow + 1; i <= layout.count && out.length < HEAVY_SESSIONS; i++) if (isHeavy(layout, i)) out.push(i);
  return out;
}

/** The row values of sessions `from..to` as a SELECT over `i` (the same expressions on both dialects where they can be). */
function pgInsert(table: string, layout: ScaleLayout, from: number, to: number) {
  const { count, users, expiredBelow, heavyStride, base } = layout;
  // created = base - span + span * i / count; expired rows: created + lifetime (≤ base); live
  // ones at least a day after base.
  return sql`insert into ${sql.table(table)}
      (id, user_id, key_hash, key_prefix, expire_at, is_active, last_online, last_ip, user_agent, detail, created_at,
       refresh_jti, end_reason, authenticated_at)
    select gen_random_uuid(), u, encode(sha256(convert_to(tok, 'UTF8')), 'hex'), substr(tok, 1, 8), exp,
      (i % 10 <> ${INACTIVE_MOD} or i <= ${expiredBelow}),
      created + (least(exp, ${base}::timestamptz) - created) * ((i::bigint * 2654435761) % 1000003) / 1000003.0,
      '10.' || (h >> 16) % 256 || '.' || (h >> 8) % 256 || '.' || h % 256, ${USER_AGENT},
      case when i % 10 = ${INACTIVE_MOD} and i > ${expiredBelow} then 'Logged out.' end, created, null,
      case when i % 10 = ${INACTIVE_MOD} and i > ${expiredBelow} then 'logout' end, created
    from (
      select i, tok, created, h,
        case when i <= ${expiredBelow} then created + make_interval(secs => ${LIFETIME_SECONDS})
          else greatest(created + make_interval(secs => ${LIFETIME_SECONDS}), ${base}::timestamptz + interval '1 day') end as exp,
        case when ${heavyStride} > 0 and i > ${expiredBelow} and (i - ${expiredBelow}) % greatest(${heavyStride}, 1) = 3 % greatest(${heavyStride}, 1)
          then ${HEAVY_USER} else (i % ${users}) + 1 end as u
      from (
        select i, 'b' || lpad(i::text, 49, '0') as tok,
          ${base}::timestamptz - make_interval(secs => ${SPAN_SECONDS}) + make_interval(secs => ${SPAN_SECONDS}::float8 * i / ${count}) as created,
          (i::bigint * 2246822519) % 4294967296 as h
        from generate_series(${from}::int, ${to}::int) as i
      ) as g
    ) as r`;
}

/** What the load took. */
export interface LoadTimes {
  /** Inserting the rows. */
  readonly insertSeconds: number;
  /** Building the indexes again, and VACUUM ANALYZE. */
  readonly indexSeconds: number;
}

/** Loads the rows of `layout` into the (migrated, empty) PostgreSQL table. */
export async function loadPostgres(database: BenchDatabase, layout: ScaleLayout, log: (line: string) => void): Promise<LoadTimes> {
  const { db, tableName } = database;
  const table = sql.table(tableName);
  // The migration's own definitions, to build exactly the same indexes and constraints afterwards.
  const constraints = await sql<{ name: string; kind: string }>`select conname as name, contype as kind
    from pg_constraint where conrelid = ${tableName}::regclass and contype in ('p', 'u')`.execute(db);
  const indexes = await sql<{ name: string; def: string }>`select indexname as name, indexdef as def from pg_indexes
    where schemaname = current_schema() and tablename = ${tableName}`.execute(db);
  const constraintNames = new Set(constraints.rows.map((c) => c.name));
  for (const c of constraints.rows) await sql`alter table ${table} drop constraint ${sql.id(c.name)}`.execute(db);
  for (const ix of indexes.rows) if (!constraintNames.has(ix.name)) await sql`drop index ${sql.id(ix.name)}`.execute(db);

  const t0 = performance.now();
  const chunk = 500_000;
  const chunks: Array<[number, number]> = [];
  for (let from = 1; from <= layout.count; from += chunk) chunks.push([from, Math.min(layout.count, from + chunk - 1)]);
  let done = 0;
  // Two connections: the machine has two cores, and the statement is CPU-bound (SHA-256, UUIDs).
  const insert = async () => {
    for (let next = chunks.shift(); next !== undefined; next = chunks.shift()) {
      await pgInsert(tableName, layout, next[0], next[1]).execute(db);
      done += next[1] - next[0] + 1;
      if (layout.count >= 2_000_000 && done % 2_000_000 < chunk) log(`    ${(done / 1e6).toFixed(1)} M rows inserted`);
    }
  };
  await Promise.all([insert(), insert()]);
  const insertSeconds = (performance.now() - t0) / 1000;

  // Every index (the constraints' unique ones too) from its definition, two at a time: CREATE
  // INDEX builds share the table, an ALTER TABLE … ADD CONSTRAINT would lock it.
  const t1 = performance.now();
  const queue = indexes.rows.map((ix) => ix.def);
  const build = () =>
    db.connection().execute(async (c) => {
      await sql`set maintenance_work_mem = '1GB'`.execute(c);
      await sql`set max_parallel_maintenance_workers = 0`.execute(c);
      for (let def = queue.shift(); def !== undefined; def = queue.shift()) await sql.raw(def).execute(c);
    });
  await Promise.all([build(), build()]);
  for (const c of constraints.rows) {
    const kind = c.kind === 'p' ? sql`primary key` : sql`unique`;
    await sql`alter table ${table} add constraint ${sql.id(c.name)} ${kind} using index ${sql.id(c.name)}`.execute(db);
  }
  // As autovacuum would have left a table this old: hint bits set, visibility map, statistics.
  await sql`vacuum (analyze) ${table}`.execute(db);
  const indexSeconds = (performance.now() - t1) / 1000;
  if (layout.count >= 2_000_000) log(`    indexes built and vacuumed in ${indexSeconds.toFixed(0)} s`);
  return { insertSeconds, indexSeconds };
}

/** The MariaDB/MySQL form of the rows of sessions `from..to` (the sequence engine's `seq_FROM_to_TO` for `i`). */
function mysqlInsert(table: string, layout: ScaleLayout, from: number, to: number) {
  const { count, users, expiredBelow, heavyStride, base } = layout;
  const stride = Math.max(heavyStride, 1);
  return sql`insert into ${sql.table(table)}
      (id, user_id, key_hash, key_prefix, expire_at, is_active, last_online, last_ip, user_agent, detail, created_at,
       refresh_jti, end_reason, authenticated_at)
    select uuid(), u, sha2(tok, 256), substr(tok, 1, 8), exp,
      (i % 10 <> ${INACTIVE_MOD} or i <= ${expiredBelow}),
      created + interval floor(timestampdiff(microsecond, created, least(exp, b)) * ((i * 2654435761) % 1000003) / 1000003) microsecond,
      concat('10.', (h >> 16) % 256, '.', (h >> 8) % 256, '.', h % 256), ${USER_AGENT},
      case when i % 10 = ${INACTIVE_MOD} and i > ${expiredBelow} then 'Logged out.' end, created, null,
      case when i % 10 = ${INACTIVE_MOD} and i > ${expiredBelow} then 'logout' end, created
    from (
      select i, tok, created, h, b,
        case when i <= ${expiredBelow} then created + interval ${LIFETIME_SECONDS} second
          else greatest(created + interval ${LIFETIME_SECONDS} second, b + interval 1 day) end as exp,
        case when ${heavyStride} > 0 and i > ${expiredBelow} and (i - ${expiredBelow}) % ${stride} = 3 % ${stride}
          then ${HEAVY_USER} else (i % ${users}) + 1 end as u
      from (
        select seq as i, concat('b', lpad(seq, 49, '0')) as tok, cast(${base} as datetime(3)) as b,
          cast(${base} as datetime(3)) - interval ${SPAN_SECONDS} second
            + interval floor(${SPAN_SECONDS * 1_000_000} * (seq / ${count})) microsecond as created,
          (seq * 2246822519) % 4294967296 as h
        from ${sql.raw(`seq_${from}_to_${to}`)}
      ) as g
    ) as r`;
}

/**
 * Loads the rows of `layout` into the (migrated, empty) MariaDB table: the secondary indexes
 * dropped, the rows inserted from the sequence engine, the indexes added again in one
 * ALTER TABLE (sorted builds), then ANALYZE TABLE. The primary key stays: MariaDB's `uuid()`
 * values grow with time, so the clustered index is appended to.
 */
export async function loadMysql(database: BenchDatabase, layout: ScaleLayout): Promise<LoadTimes> {
  const { db, tableName } = database;
  const table = sql.table(tableName);
  const { rows } = await sql<{ name: string; nonUnique: number | string; column: string; collation: string | null }>`
    select index_name as name, non_unique as nonUnique, column_name as \`column\`, collation from information_schema.statistics
    where table_schema = database() and table_name = ${tableName} and index_name <> 'PRIMARY' order by index_name, seq_in_index`.execute(
    db,
  );
  const indexes = new Map<string, { unique: boolean; columns: string[] }>();
  for (const row of rows) {
    const index = indexes.get(row.name) ?? { unique: Number(row.nonUnique) === 0, columns: [] };
    index.columns.push(`\`${row.column}\`${row.collation === 'D' ? ' desc' : ''}`);
    indexes.set(row.name, index);
  }
  const names = [...indexes.keys()];
  await sql`alter table ${table} ${sql.raw(names.map((n) => `drop index \`${n}\``).join(', '))}`.execute(db);
  const t0 = performance.now();
  const chunk = 250_000;
  const chunks: Array<[number, number]> = [];
  for (let from = 1; from <= layout.count; from += chunk) chunks.push([from, Math.min(layout.count, from + chunk - 1)]);
  const insert = async () => {
    for (let next = chunks.shift(); next !== undefined; next = chunks.shift())
      await mysqlInsert(tableName, layout, next[0], next[1]).execute(db);
  };
  await Promise.all([insert(), insert()]);
  const insertSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const adds = [...indexes].map(([name, ix]) => `add ${ix.unique ? 'unique ' : ''}index \`${name}\` (${ix.columns.join(', ')})`);
  await sql`alter table ${table} ${sql.raw(adds.join(', '))}`.execute(db);
  await sql`analyze table ${table}`.execute(db);
  return { insertSeconds, indexSeconds: (performance.now() - t1) / 1000 };
}

import { type Kysely, sql } from 'kysely';
import type { SqlDialect, UserIdType } from './session-table.js';

// What the database's catalogue says about tables and columns, on each dialect.

/**
 * The bookkeeping table: one row per (session table, migration version) applied. Shared by
 * every session table of the database, so each is migrated on its own.
 */
export const MIGRATIONS_TABLE_NAME = 'nilva_session_migrations';

/**
 * Whether an unqualified table name resolves to a table. (Kysely's introspection would also
 * do, but it reads every table's columns, and on PostgreSQL it fails when another session
 * drops a table meanwhile.)
 */
export async function tableExists(db: Kysely<unknown>, dialect: SqlDialect, name: string): Promise<boolean> {
  const query =
    dialect === 'postgres'
      ? sql<{ n: number | string }>`select count(*) as n where to_regclass(${name}) is not null`
      : dialect === 'mysql'
        ? sql<{
            n: number | string;
          }>`select count(*) as n from information_schema.tables where table_schema = database() and table_name = ${name}`
        : sql<{ n: number | string }>`select count(*) as n from sqlite_master where type = 'table' and name = ${name}`;
  const { rows } = await query.execute(db);
  return Number(rows[0]?.n) > 0;
}

export async function columnExists(db: Kysely<unknown>, dialect: SqlDialect, tableName: string, column: string): Promise<boolean> {
  const query =
    dialect === 'sqlite'
      ? sql<{ n: number | string }>`select count(*) as n from pragma_table_info(${tableName}) where name = ${column}`
      : dialect === 'postgres'
        ? sql<{ n: number | string }>`select count(*) as n from information_schema.columns
            where table_schema = current_schema() and table_name = ${tableName} and column_name = ${column}`
        : sql<{ n: number | string }>`select count(*) as n from information_schema.columns
            where table_schema = database() and table_name = ${tableName} and column_name = ${column}`;
  const { rows } = await query.execute(db);
  return Number(rows[0]?.n) > 0;
}

/** What the database says about a session table. */
export interface SessionTableFacts {
  /** Whether the table exists. */
  readonly exists: boolean;
  /** The column names, lowercase. */
  readonly columns: ReadonlySet<string>;
  /** `user_id`'s type as the database names it (`bigint`, `text`, `varchar`, …); `undefined` without the column. */
  readonly userIdColumnType: string | undefined;
  /**
   * `id`'s type with its length where the database has one (`uuid`, `char(36)`, `char(32)`,
   * `text`); `undefined` without the column.
   */
  readonly idColumnType: string | undefined;
  /** The migrations recorded for the table in `nilva_session_migrations`. */
  readonly applied: ReadonlySet<number>;
}

/** Reads the table's columns and recorded migrations: two or three small catalogue queries. */
export async function inspectSessionTable(db: Kysely<unknown>, dialect: SqlDialect, tableName: string): Promise<SessionTableFacts> {
  const query =
    dialect === 'postgres'
      ? sql<{ column_name: string; data_type: string }>`select column_name, data_type from information_schema.columns
          where table_schema = current_schema() and table_name = ${tableName}`
      : dialect === 'mysql'
        ? sql<{ column_name: string; data_type: string; column_type: string }>`select column_name as column_name,
            data_type as data_type, column_type as column_type
            from information_schema.columns where table_schema = database() and table_name = ${tableName}`
        : sql<{
            column_name: string;
            data_type: string;
          }>`select name as column_name, type as data_type from pragma_table_info(${tableName})`;
  const { rows } = await query.execute(db);
  const columns = new Set(rows.map((row) => String(row.column_name).toLowerCase()));
  const userId = rows.find((row) => String(row.column_name).toLowerCase() === 'user_id');
  const id = rows.find((row) => String(row.column_name).toLowerCase() === 'id') as
    | { data_type: string; column_type?: string | undefined }
    | undefined;
  let applied = new Set<number>();
  if (rows.length > 0 && (await tableExists(db, dialect, MIGRATIONS_TABLE_NAME))) {
    const done = await sql<{ version: number | string }>`select version from ${sql.table(MIGRATIONS_TABLE_NAME)}
      where table_name = ${tableName}`.execute(db);
    applied = new Set(done.rows.map((row) => Number(row.version)));
  }
  return {
    exists: rows.length > 0,
    columns,
    userIdColumnType: userId === undefined ? undefined : String(userId.data_type).toLowerCase(),
    idColumnType: id === undefined ? undefined : String(id.column_type ?? id.data_type).toLowerCase(),
    applied,
  };
}

/**
 * The `userIdType` a column type stands for: integer types hold numbers, character types and
 * PostgreSQL's `uuid` hold strings. `undefined` for anything else.
 */
export function userIdTypeOfColumn(columnType: string): UserIdType | undefined {
  if (/int/.test(columnType)) return 'integer';
  if (/char|text|uuid|clob/.test(columnType)) return 'string';
  return undefined;
}

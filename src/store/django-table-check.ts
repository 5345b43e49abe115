import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from './session-table.js';

// Recognising the Python original's `user_session` table before converting it: the conversion
// rewrites columns in place, so it must be sure of what it rewrites, and say what differs when it
// is not.

/** One column as the database's catalogue describes it. */
export interface ColumnFact {
  readonly name: string;
  /**
   * The type, lowercase: PostgreSQL's `data_type` (`uuid`, `timestamp with time zone`, …),
   * MySQL's `column_type` with its length (`char(32)`, `datetime(6)`), SQLite's declared type.
   */
  readonly type: string;
  readonly nullable: boolean;
}

/** The table's columns, by lowercase name; empty when the table does not exist. */
export async function readColumns(db: Kysely<unknown>, dialect: SqlDialect, tableName: string): Promise<Map<string, ColumnFact>> {
  const query =
    dialect === 'postgres'
      ? sql<{ name: string; type: string; nullable: string }>`select column_name as name, data_type as type, is_nullable as nullable
          from information_schema.columns where table_schema = current_schema() and table_name = ${tableName}`
      : dialect === 'mysql'
        ? sql<{ name: string; type: string; nullable: string }>`select column_name as name, column_type as type, is_nullable as nullable
            from information_schema.columns where table_schema = database() and table_name = ${tableName}`
        : sql<{
            name: string;
            type: string;
            nullable: number;
          }>`select name, type, case when "notnull" = 1 then 'NO' else 'YES' end as nullable
            from pragma_table_info(${tableName})`;
  const { rows } = await query.execute(db);
  const columns = new Map<string, ColumnFact>();
  for (const row of rows) {
    const name = String(row.name).toLowerCase();
    columns.set(name, { name, type: String(row.type).toLowerCase(), nullable: String(row.nullable).toUpperCase() === 'YES' });
  }
  return columns;
}

/** What a column of the original may be, per dialect, and what the message calls it. */
interface Expected {
  readonly postgres: RegExp;
  readonly mysql: RegExp;
  readonly sqlite: RegExp;
  readonly what: string;
}

const TIME: Expected = {
  postgres: /^timestamp with time zone$/,
  mysql: /^datetime(\(\d\))?$/,
  sqlite: /^datetime$/,
  what: 'a date-time',
};
const TEXT: Expected = { postgres: /^text$/, mysql: /^(long|medium)?text$/, sqlite: /^text$/, what: 'text' };

/**
 * The original's columns (its only migration, as Django 3.2+ writes it on each backend). A
 * column this conversion already changed is accepted in its new form too, so an interrupted run
 * is recognised when it is run again.
 */
const ORIGINAL_COLUMNS: Readonly<Record<string, Expected>> = {
  id: { postgres: /^uuid$/, mysql: /^char\((32|36)\)$/, sqlite: /^char\(32\)$/, what: 'a UUID (uuid, or char(32))' },
  key: { postgres: /^character varying$/, mysql: /^varchar\(\d+\)$/, sqlite: /^varchar\(\d+\)$/, what: 'a varchar' },
  expire_at: TIME,
  is_active: { postgres: /^boolean$/, mysql: /^tinyint\(1\)$/, sqlite: /^bool$/, what: 'a boolean' },
  last_online: TIME,
  last_ip: { postgres: /^(inet|character varying)$/, mysql: /^(char\(39\)|varchar\(45\))$/, sqlite: /^char\(39\)$/, what: 'an IP address' },
  user_agent: TEXT,
  detail: TEXT,
  created_at: TIME,
  user_id: {
    postgres: /^(smallint|integer|bigint)$/,
    mysql: /^(small|medium|big)?int(\(\d+\))?$/,
    sqlite: /^(integer|bigint)$/,
    what: 'an integer',
  },
};

/** The columns an interrupted conversion may have added already (PostgreSQL and MySQL convert in place). */
const ADDED_COLUMNS: ReadonlySet<string> = new Set(['key_hash', 'key_prefix', 'refresh_jti', 'end_reason', 'authenticated_at']);

/**
 * What keeps `columns` from being the original's table, one sentence each (a missing column, an
 * unexpected type, a column the original never had); empty when it is the original's, possibly
 * with the columns an interrupted conversion added.
 */
export function differencesFromOriginal(dialect: SqlDialect, columns: ReadonlyMap<string, ColumnFact>): string[] {
  const problems: string[] = [];
  for (const [name, expected] of Object.entries(ORIGINAL_COLUMNS)) {
    const column = columns.get(name);
    if (column === undefined) problems.push(`column \`${name}\` is missing`);
    else if (!expected[dialect].test(column.type)) problems.push(`column \`${name}\` is ${column.type}, expected ${expected.what}`);
  }
  for (const name of columns.keys()) {
    if (!(name in ORIGINAL_COLUMNS) && !ADDED_COLUMNS.has(name)) problems.push(`column \`${name}\` is not one of the original's`);
  }
  return problems;
}

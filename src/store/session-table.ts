import type { Kysely } from 'kysely';
import { assertKnownOptions } from '../lib/option-names.js';
import { SessionTableGuard } from './session-table-check.js';

/**
 * The SQL databases the store supports. `mysql` covers MySQL 8 and MariaDB 10.5+.
 */
export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

/**
 * How `user_id` is stored: `string` (text; the default) or `integer` (a 64-bit integer,
 * returned as a JavaScript `number`).
 */
export type UserIdType = 'string' | 'integer';

/**
 * The `user_session` table as the drivers return it. The unions cover the three
 * dialects: PostgreSQL returns native types, MySQL returns booleans as `0`/`1`, SQLite stores
 * times as ISO-8601 UTC text and booleans as integers. The store normalises every value before
 * it leaves the store.
 *
 * Use it to declare the table in your own Kysely database type:
 *
 * @example
 * interface Database { user_session: SessionTable; users: UsersTable }
 */
export interface SessionTable {
  id: string;
  user_id: string | number | bigint;
  key_hash: string;
  key_prefix: string;
  expire_at: Date | string | null;
  is_active: boolean | number;
  last_online: Date | string;
  last_ip: string;
  user_agent: string;
  detail: string | null;
  created_at: Date | string;
  /** The jti of the session's current refresh token (refresh rotation); added by migration 2. */
  refresh_jti: string | null;
  /** Why the session ended, a `SessionEndReason` code; added by migration 4. */
  end_reason: string | null;
  /** When the user last authenticated for the session; added by migration 4 (null: `created_at`). */
  authenticated_at: Date | string | null;
}

/**
 * The Kysely database type the store queries through: any table name maps to
 * {@link SessionTable}, because the name is chosen at run time (`tableName`).
 */
export type SessionDatabase = Record<string, SessionTable>;

/** The default table name. */
export const DEFAULT_TABLE_NAME = 'user_session';

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const DIALECTS: readonly SqlDialect[] = ['postgres', 'mysql', 'sqlite'];
const USER_ID_TYPES: readonly UserIdType[] = ['string', 'integer'];

/**
 * Returns `tableName` (or the default) after checking it is a plain SQL identifier of at most
 * 63 characters, so it can be quoted safely in every dialect.
 *
 * @throws TypeError naming the option when it is not
 */
export function validateTableName(tableName: unknown): string {
  if (tableName === undefined) return DEFAULT_TABLE_NAME;
  if (typeof tableName !== 'string' || !TABLE_NAME.test(tableName)) {
    throw new TypeError(
      `nilva-session: option "tableName" must match /^[A-Za-z_][A-Za-z0-9_]{0,62}$/, got ${JSON.stringify(tableName) ?? String(tableName)}`,
    );
  }
  return tableName;
}

/** @throws TypeError naming the option unless it is one of the supported dialects */
export function validateDialect(dialect: unknown): SqlDialect {
  if (typeof dialect === 'string' && (DIALECTS as readonly string[]).includes(dialect)) return dialect as SqlDialect;
  throw new TypeError(
    `nilva-session: option "dialect" must be one of ${DIALECTS.join(', ')}, got ${JSON.stringify(dialect) ?? String(dialect)}`,
  );
}

/** @throws TypeError naming the option unless it is `'string'`, `'integer'` or undefined (`'string'`) */
export function validateUserIdType(userIdType: unknown): UserIdType {
  if (userIdType === undefined) return 'string';
  if (typeof userIdType === 'string' && (USER_ID_TYPES as readonly string[]).includes(userIdType)) return userIdType as UserIdType;
  throw new TypeError(
    `nilva-session: option "userIdType" must be 'string' or 'integer', got ${JSON.stringify(userIdType) ?? String(userIdType)}`,
  );
}

const STORE_OPTIONS = ['db', 'dialect', 'tableName', 'userIdType'] as const;

/** The options both Kysely stores take, validated. */
export interface ResolvedStoreOptions {
  readonly db: Kysely<SessionDatabase>;
  readonly dialect: SqlDialect;
  readonly tableName: string;
  /** The check before the first query, with the `userIdType` option (`undefined`: read from the table). */
  readonly table: SessionTableGuard;
}

/**
 * Validates `{ db, dialect, tableName, userIdType }` for a store class named `owner`.
 * The application's database type knows nothing of a table whose name is chosen at run time,
 * so the stores query it through the SessionDatabase view of the same instance.
 *
 * `extra`: the names of the owner's own options (it validates their values itself);
 * `rawKeys`: the table check also requires the original's raw `key` column.
 *
 * @throws TypeError naming the option when an option is invalid
 */
export function resolveStoreOptions(owner: string, options: unknown, extra: readonly string[] = [], rawKeys = false): ResolvedStoreOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`nilva-session: ${owner} needs an options object`);
  assertKnownOptions(owner, options, [...STORE_OPTIONS, ...extra]);
  const o = options as { db?: unknown; dialect?: unknown; tableName?: unknown; userIdType?: unknown };
  const db = o.db as { selectFrom?: unknown } | null | undefined;
  if (typeof db !== 'object' || db === null || typeof db.selectFrom !== 'function') {
    throw new TypeError('nilva-session: option "db" must be a Kysely instance');
  }
  const dialect = validateDialect(o.dialect);
  const tableName = validateTableName(o.tableName);
  const userIdType = o.userIdType === undefined ? undefined : validateUserIdType(o.userIdType);
  return {
    db: db as unknown as Kysely<SessionDatabase>,
    dialect,
    tableName,
    table: new SessionTableGuard(db as unknown as Kysely<unknown>, dialect, tableName, userIdType, rawKeys),
  };
}

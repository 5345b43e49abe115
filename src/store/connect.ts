import { fileURLToPath } from 'node:url';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';
import type { SessionDatabase, SqlDialect } from './session-table.js';

/** An open database: the Kysely instance, its dialect, and how to close it. */
export interface DatabaseConnection<DB> {
  readonly db: Kysely<DB>;
  readonly dialect: SqlDialect;
  /** Closes the pool (or the SQLite file). */
  close(): Promise<void>;
}

/** Milliseconds SQLite waits for another connection's write lock before failing with SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

const SUPPORTED = 'postgres://, postgresql://, mysql://, mariadb://, sqlite:PATH, sqlite::memory:, file:PATH';

/**
 * Opens a database from a URL, loading only the driver it needs (drivers are optional peer
 * dependencies: a PostgreSQL application never loads mysql2).
 *
 * - `postgres://user:password@host:5432/db` or `postgresql://…`: a `pg` pool.
 * - `mysql://user:password@host:3306/db` or `mariadb://…`: a `mysql2` pool with
 *   `timezone: 'Z'` (the store keeps `DATETIME(3)` in UTC and needs mysql2 to convert `Date`s
 *   as UTC), `dateStrings: false` and `supportBigNumbers: true`. Query parameters of the URL
 *   are passed to mysql2 (e.g. `?connectionLimit=20`), except those three.
 * - `sqlite:PATH`, `sqlite:///absolute/path`, `file:PATH`, `file:///absolute/path`, or
 *   `sqlite::memory:` / `file::memory:`: a `better-sqlite3` database, in WAL mode (files) with
 *   a busy timeout of 5 s.
 *
 * The type parameter only types the returned Kysely instance (default: the session table).
 *
 * @throws TypeError when the scheme is not one of these (the message lists them; the URL
 *   itself is not repeated, as it may hold a password)
 * @example
 * const { db, dialect, close } = await connectDatabase(process.env.DATABASE_URL ?? 'sqlite:./sessions.db');
 */
export async function connectDatabase<DB = SessionDatabase>(url: string): Promise<DatabaseConnection<DB>> {
  if (typeof url !== 'string') throw new TypeError(`nilva-session: a database URL must be a string; supported: ${SUPPORTED}`);
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  switch (scheme) {
    case 'postgres:':
    case 'postgresql:':
      return connectPostgres<DB>(url);
    case 'mysql:':
    case 'mariadb:':
      return connectMysql<DB>(url);
    case 'sqlite:':
    case 'file:':
      return connectSqlite<DB>(sqlitePath(url, scheme));
    default:
      throw new TypeError(
        `nilva-session: unsupported database URL scheme ${JSON.stringify(scheme || url.slice(0, 12))}; supported: ${SUPPORTED}`,
      );
  }
}

async function connectPostgres<DB>(url: string): Promise<DatabaseConnection<DB>> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url });
  // An idle client losing its server emits 'error' on the pool, which would otherwise crash the
  // process. The next query fails instead, and the core answers 503.
  pool.on('error', () => undefined);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

async function connectMysql<DB>(url: string): Promise<DatabaseConnection<DB>> {
  const { default: mysql } = await import('mysql2');
  // mysql2 reads the URL itself; its scheme is not checked, but normalise it for clarity.
  const uri = `mysql:${url.slice(url.indexOf(':') + 1)}`;
  const pool = mysql.createPool({ uri, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: false });
  const db = new Kysely<DB>({ dialect: new MysqlDialect({ pool }) });
  return { db, dialect: 'mysql', close: () => db.destroy() };
}

async function connectSqlite<DB>(path: string): Promise<DatabaseConnection<DB>> {
  const { default: Database } = await import('better-sqlite3');
  const database = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  if (path !== ':memory:') database.pragma('journal_mode = WAL');
  database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

function sqlitePath(url: string, scheme: string): string {
  let path: string;
  if (url.toLowerCase().startsWith('file://')) path = fileURLToPath(url);
  else {
    path = url.slice(scheme.length);
    // sqlite:///absolute/path and sqlite://relative/path, as other tools write them.
    if (path.startsWith('//')) path = path.slice(2);
  }
  if (path === '') throw new TypeError(`nilva-session: a SQLite URL needs a path or :memory:; supported: ${SUPPORTED}`);
  return path;
}

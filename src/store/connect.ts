import { fileURLToPath } from 'node:url';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { importPeer } from '../lib/peer-import.js';
import { explainDriverError } from './driver-errors.js';
import { DEFAULT_TABLE_NAME, type SessionDatabase, type SqlDialect } from './session-table.js';

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
 * dependencies: a PostgreSQL application never loads mysql2), and checks that it answers.
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
 * Errors say what to do, and never repeat the password: a missing driver names the package to
 * install; a server that cannot be reached, a refused user or a missing database is an `Error`
 * naming the host, port, user and database with a hint (its `cause` is the driver's error).
 * Pass `{ verify: false }` to skip the round trip (the first query then fails instead).
 *
 * The type parameter only types the returned Kysely instance (default: the session table).
 *
 * @throws TypeError when the URL is not a string or its scheme is not one of these
 * @throws Error when the driver is not installed, or the database does not answer
 * @example
 * const { db, dialect, close } = await connectDatabase(process.env.DATABASE_URL ?? 'sqlite:./sessions.db');
 */
export async function connectDatabase<DB = SessionDatabase>(
  url: string,
  options: ConnectDatabaseOptions = {},
): Promise<DatabaseConnection<DB>> {
  if (typeof url !== 'string') {
    throw new TypeError(
      `nilva-session: a database URL must be a string, got ${url === undefined ? 'undefined (is the variable that should hold it set?)' : typeof url}; supported: ${SUPPORTED}`,
    );
  }
  assertKnownOptions('connectDatabase', options, optionNames<ConnectDatabaseOptions>({ verify: true }));
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  let connection: DatabaseConnection<DB>;
  switch (scheme) {
    case 'postgres:':
    case 'postgresql:':
      connection = await connectPostgres<DB>(url);
      break;
    case 'mysql:':
    case 'mariadb:':
      connection = await connectMysql<DB>(url);
      break;
    case 'sqlite:':
    case 'file:':
      connection = await connectSqlite<DB>(sqlitePath(url, scheme));
      break;
    default:
      throw new TypeError(
        `nilva-session: unsupported database URL scheme ${JSON.stringify(scheme || url.slice(0, 12))}; supported: ${SUPPORTED}`,
      );
  }
  if (options.verify !== false) await verifyConnection(connection, url);
  return connection;
}

/** Options of {@link connectDatabase}. */
export interface ConnectDatabaseOptions {
  /** Run `select 1` before returning, so a wrong URL fails here with a clear message. Default `true`. */
  readonly verify?: boolean | undefined;
}

async function verifyConnection<DB>(connection: DatabaseConnection<DB>, url: string): Promise<void> {
  try {
    await sql`select 1`.execute(connection.db);
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw new Error(
      `nilva-session: cannot use the database at ${redactedUrl(url)}: ${explainDriverError(error, connection.dialect, DEFAULT_TABLE_NAME)}`,
      {
        cause: error,
      },
    );
  }
}

/** The URL without its password (and without query parameters, which may carry secrets too). */
export function redactedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${url.slice(0, url.indexOf(':') + 1)}… (not a valid URL)`;
  }
  if (parsed.protocol === 'sqlite:' || parsed.protocol === 'file:') return `${parsed.protocol}${parsed.pathname}`;
  const user = parsed.username === '' ? '' : `${decodeURIComponent(parsed.username)}@`;
  return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
}

async function connectPostgres<DB>(url: string): Promise<DatabaseConnection<DB>> {
  const { default: pg } = await importPeer(() => import('pg'), 'pg', 'a postgres:// database URL');
  const pool = new pg.Pool({ connectionString: url });
  // An idle client losing its server emits 'error' on the pool, which would otherwise crash the
  // process. The next query fails instead, and the core answers 503.
  pool.on('error', () => undefined);
  // That listener only covers idle clients: one checked out when its server goes away (a
  // restart terminates every backend) emits 'error' on the client itself, often after its query
  // was already rejected and before Kysely releases it, which crashed the process. Its query
  // rejects anyway (a 503), and the pool drops a client that is no longer queryable on release.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

async function connectMysql<DB>(url: string): Promise<DatabaseConnection<DB>> {
  const { default: mysql } = await importPeer(() => import('mysql2'), 'mysql2', 'a mysql:// database URL');
  // mysql2 reads the URL itself; its scheme is not checked, but normalise it for clarity.
  const uri = `mysql:${url.slice(url.indexOf(':') + 1)}`;
  const pool = mysql.createPool({ uri, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: false });
  const db = new Kysely<DB>({ dialect: new MysqlDialect({ pool }) });
  return { db, dialect: 'mysql', close: () => db.destroy() };
}

async function connectSqlite<DB>(path: string): Promise<DatabaseConnection<DB>> {
  const { default: Database } = await importPeer(() => import('better-sqlite3'), 'better-sqlite3', 'a sqlite: database URL');
  let database: InstanceType<typeof Database>;
  try {
    database = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  } catch (error) {
    throw new Error(`nilva-session: cannot open the SQLite database ${path}: ${explainDriverError(error, 'sqlite', DEFAULT_TABLE_NAME)}`, {
      cause: error,
    });
  }
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

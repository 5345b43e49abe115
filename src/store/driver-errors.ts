import { SessionError } from '../core/errors.js';
import type { SqlDialect } from './session-table.js';

/**
 * What to tell an operator about a failed query: the driver's own words plus a hint they can
 * act on. Told apart by the drivers' stable codes (SQLSTATE for PostgreSQL, mysql2's `ER_…`
 * names, better-sqlite3's `SQLITE_…`, Node's socket errors), never by their messages.
 */
export function explainDriverError(error: unknown, dialect: SqlDialect, tableName: string): string {
  if (error instanceof SessionError) return error.message;
  const code = codeOf(error);
  const said = messageOf(error);
  const hint = hintFor(code, error, dialect, tableName);
  return `${said}${code === undefined || said.includes(code) ? '' : ` (${code})`}${hint === undefined ? '' : `. ${hint}`}`;
}

const MIGRATE = 'run `nilva-session migrate` (or call migrateSessionStore) against this database';

function hintFor(code: string | undefined, error: unknown, dialect: SqlDialect, tableName: string): string | undefined {
  switch (code) {
    // The table, a column or the database is missing.
    case '42P01':
    case 'ER_NO_SUCH_TABLE':
      return `The session table "${tableName}" does not exist: ${MIGRATE}`;
    case '42703':
    case 'ER_BAD_FIELD_ERROR':
      return `The session table "${tableName}" lacks a column: a migration is pending: ${MIGRATE}`;
    case '3D000':
    case 'ER_BAD_DB_ERROR':
      return 'The database named in the URL does not exist: create it, or fix the name in the URL';
    // Credentials.
    case '28P01':
    case '28000':
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
      return 'The database refused the user: check the user name and password in the database URL';
    // The server or the way to it.
    case 'ECONNREFUSED':
      return `Nothing accepts connections at ${addressOf(error) ?? 'the URL’s host and port'}: is the ${serverName(dialect)} server running, and are the host and port of the URL right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The host name ${hostnameOf(error) ?? 'of the URL'} could not be resolved: check the host in the database URL`;
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'EHOSTUNREACH':
    case 'PROTOCOL_CONNECTION_LOST':
    case '57P01':
    case '57P02':
    case '57P03':
      return `The connection to the ${serverName(dialect)} server was lost or timed out: check that it is up and reachable`;
    case '53300':
    case 'ER_CON_COUNT_ERROR':
      return 'The server has no connection slot left: lower the pool size or raise the server’s connection limit';
    case 'SQLITE_CANTOPEN':
      return 'The SQLite file cannot be opened: check that its directory exists and is writable';
    case 'SQLITE_READONLY':
      return 'The SQLite file is read-only: check its permissions';
    case 'SQLITE_BUSY':
      return 'The SQLite file stayed locked by another connection past the busy timeout';
    default:
      return undefined;
  }
}

function serverName(dialect: SqlDialect): string {
  return dialect === 'postgres' ? 'PostgreSQL' : dialect === 'mysql' ? 'MySQL/MariaDB' : 'SQLite';
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  // Node's happy-eyeballs connect reports every address it tried in an AggregateError.
  const inner = (error as { errors?: unknown }).errors;
  return Array.isArray(inner) && inner.length > 0 ? codeOf(inner[0]) : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.message === '' && error.errors.length > 0) {
    return error.errors.map((e: unknown) => messageOf(e)).join('; ');
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function addressOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { address, port } = error as { address?: unknown; port?: unknown };
  if (typeof address === 'string') return typeof port === 'number' ? `${address}:${port}` : address;
  const inner = (error as { errors?: unknown }).errors;
  if (!Array.isArray(inner)) return undefined;
  const all = inner.map((e: unknown) => addressOf(e)).filter((a): a is string => a !== undefined);
  return all.length === 0 ? undefined : all.join(' and ');
}

function hostnameOf(error: unknown): string | undefined {
  const hostname = typeof error === 'object' && error !== null ? (error as { hostname?: unknown }).hostname : undefined;
  return typeof hostname === 'string' ? hostname : undefined;
}

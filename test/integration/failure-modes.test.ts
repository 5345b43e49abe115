// Errors that explain themselves: each way a newcomer's set-up goes wrong, with what the client
// is answered and what the operator reads in the log. Real PostgreSQL, MariaDB and SQLite.
import { SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import { connectDatabase, KyselySessionStore, migrateSessionStore } from 'nilva-session/kysely';
import { afterEach, describe, expect, test } from 'vitest';
import { importPeer } from '../../src/lib/peer-import.js';
import { DIALECTS, openTestDatabase, TEST_DATABASE_URLS, type TestDatabase, uniqueTableName } from '../helpers/databases.js';
import { freePort } from '../helpers/redis.js';

/** A logger that keeps every line, so a test can assert what an operator would read. */
function recordingLogger() {
  const lines: Array<{ level: 'warn' | 'error'; message: string }> = [];
  return {
    lines,
    logger: {
      warn: (message: string) => {
        lines.push({ level: 'warn', message });
      },
      error: (message: string) => {
        lines.push({ level: 'error', message });
      },
    },
  };
}

const facts = { remoteAddress: '127.0.0.1', forwardedFor: undefined, userAgent: 'curl/8.0' };

/** `POST login` and an authenticated `GET active`, as the HTTP contract answers them. */
async function loginAndList(api: SessionApi<unknown>) {
  const login = await api.handle({
    ...facts,
    authorization: undefined,
    method: 'POST',
    path: 'login',
    query: new URLSearchParams(),
    contentType: 'application/json',
    body: JSON.stringify({ username: 'alice', password: 'pw' }),
  });
  const list = await api.handle({
    ...facts,
    authorization: `Token ${'a'.repeat(50)}`,
    method: 'GET',
    path: 'active',
    query: new URLSearchParams(),
    contentType: undefined,
    body: undefined,
  });
  return { login, list };
}

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
});

describe.each(DIALECTS)('on %s', (dialect) => {
  test('no migration: requests answer 503 with the contract’s body, the log says once to run migrate, ready() refuses at once', async () => {
    const connection = await connectDatabase(TEST_DATABASE_URLS[dialect]);
    opened.push(connection);
    const tableName = uniqueTableName('never_migrated');
    const { lines, logger } = recordingLogger();
    const manager = new SessionManager({ store: new KyselySessionStore({ db: connection.db, dialect, tableName }), logger });
    const api = new SessionApi({ manager, verifyCredentials: () => 1, logger });

    await expect(manager.ready()).rejects.toMatchObject({
      code: 'ERR_STORE_NOT_READY',
      message: `nilva-session: the session table "${tableName}" does not exist: run \`nilva-session migrate\` (or call migrateSessionStore) against this database before serving requests`,
    });
    for (let i = 0; i < 3; i++) {
      const { login, list } = await loginAndList(api);
      for (const response of [login, list]) {
        expect(response?.status).toBe(503);
        expect(JSON.parse(response?.body ?? '')).toEqual({ detail: 'Service temporarily unavailable.' });
      }
    }
    // Six failed requests, one line: the first of the outage.
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('error');
    expect(lines[0]?.message).toContain(`the session table "${tableName}" does not exist: run \`nilva-session migrate\``);

    // Migrating heals it without a restart. The recovery is said once too, by the first success
    // a second or more after the last failure (one between two failures ends no outage).
    await migrateSessionStore(connection.db, { dialect, tableName });
    await manager.ready();
    const { login: soon } = await loginAndList(api);
    expect(soon?.status).toBe(200);
    expect(lines).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1050));
    const { login } = await loginAndList(api);
    expect(login?.status).toBe(200);
    expect(lines.map((l) => l.message)).toEqual([lines[0]?.message, 'nilva-session: the session store answers again']);
    await manager.close();
    await connection.db.schema.dropTable(tableName).execute();
  });

  test('userIdType mismatch: migrate refuses to keep the other type silently, and the store refuses to serve', async () => {
    const database: TestDatabase = await openTestDatabase(dialect, { userIdType: 'string' });
    opened.push(database);
    const expected = new RegExp(
      `userIdType is 'integer' but the session table "${database.tableName}" stores user_id as [a-z ()0-9]+ \\('string'\\): give userIdType 'string' \\(or leave it out: the store reads it from the table\\)`,
    );
    await expect(migrateSessionStore(database.db, { dialect, tableName: database.tableName, userIdType: 'integer' })).rejects.toThrow(
      expected,
    );

    const { lines, logger } = recordingLogger();
    const store = new KyselySessionStore({ db: database.db, dialect, tableName: database.tableName, userIdType: 'integer' });
    const manager = new SessionManager({ store, logger });
    await expect(manager.ready()).rejects.toMatchObject({ code: 'ERR_STORE_NOT_READY' });
    await expect(manager.ready()).rejects.toThrow(expected);
    const api = new SessionApi({ manager, verifyCredentials: () => 1, logger });
    const { login } = await loginAndList(api);
    expect(login?.status).toBe(503);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toMatch(expected);
    await manager.close();
  });

  test('userIdType left out: the store reads it from the table and ids come back in its type', async () => {
    const database = await openTestDatabase(dialect, { userIdType: 'integer' });
    opened.push(database);
    const store = new KyselySessionStore({ db: database.db, dialect, tableName: database.tableName });
    const manager = new SessionManager({ store });
    await manager.ready();
    expect(store.userIdType).toBe('integer');
    const { session } = await manager.createSession({ userId: 42 });
    const [listed] = await manager.listSessions(42);
    expect(listed?.id).toBe(session.id);
    expect(listed?.userId).toBe(42);
    await manager.close();
  });
});

describe('database down', () => {
  test('every request answers 503, the log names the host and port once per outage with a hint', async () => {
    const port = await freePort();
    const connection = await connectDatabase(`postgres://postgres@127.0.0.1:${port}/test`, { verify: false });
    opened.push(connection);
    const { lines, logger } = recordingLogger();
    const manager = new SessionManager({ store: new KyselySessionStore({ db: connection.db, dialect: 'postgres' }), logger });
    const api = new SessionApi({ manager, verifyCredentials: () => 1, logger });
    for (let i = 0; i < 3; i++) {
      const { login, list } = await loginAndList(api);
      expect(login?.status).toBe(503);
      expect(list?.status).toBe(503);
      expect(login?.headers['retry-after']).toBe('5');
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toContain(`Nothing accepts connections at 127.0.0.1:${port}: is the PostgreSQL server running`);
    await expect(manager.ready()).rejects.toThrow(
      new RegExp(`^nilva-session: the session store cannot be reached: .*Nothing accepts connections at 127\\.0\\.0\\.1:${port}`),
    );
    await manager.close();
  });

  test('verifyCredentials failing is logged as the application’s failure, not disguised', async () => {
    const database = await openTestDatabase('sqlite');
    opened.push(database);
    const { lines, logger } = recordingLogger();
    const manager = new SessionManager({ store: database.store, logger });
    const api = new SessionApi({
      manager,
      logger,
      verifyCredentials: () => {
        throw new Error('users table is locked');
      },
    });
    const { login } = await loginAndList(api);
    // An application error, not a database outage: DRF's generic 500, and the cause for the operator.
    expect(login?.status).toBe(500);
    expect(login?.body).toBe('{"detail":"A server error occurred."}');
    expect(lines).toEqual([
      { level: 'error', message: 'nilva-session: verifyCredentials threw; login answers 500: users table is locked' },
    ]);
    await manager.close();
  });
});

describe('wrong URL at start-up', () => {
  test('a server that is not there: an Error naming host, port, user and database, never the password', async () => {
    const port = await freePort();
    const attempt = connectDatabase(`postgres://app:s3cret@127.0.0.1:${port}/appdb`);
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^nilva-session: cannot use the database at postgres://app@127\\.0\\.0\\.1:${port}/appdb: .*Nothing accepts connections at 127\\.0\\.0\\.1:${port}`,
      ),
    );
    await expect(connectDatabase(`postgres://app:s3cret@127.0.0.1:${port}/appdb`)).rejects.not.toThrow(/s3cret/);
  });

  test('a database that does not exist, a user that is refused: what the server said, and what to change', async () => {
    await expect(connectDatabase('postgres://postgres@127.0.0.1:5432/no_such_database_here')).rejects.toThrow(
      /database "no_such_database_here" does not exist.*The database named in the URL does not exist: create it, or fix the name in the URL/,
    );
    await expect(connectDatabase('mysql://nobody_here:wrong@127.0.0.1:3306/test')).rejects.toThrow(
      /^nilva-session: cannot use the database at mysql:\/\/nobody_here@127\.0\.0\.1:3306\/test: Access denied for user 'nobody_here'.*check the user name and password in the database URL/,
    );
  });

  test('a SQLite file in a directory that does not exist', async () => {
    await expect(connectDatabase('sqlite:/nonexistent-dir-for-nilva/app.sqlite')).rejects.toThrow(
      /^nilva-session: cannot open the SQLite database \/nonexistent-dir-for-nilva\/app\.sqlite: .*directory does not exist/,
    );
  });

  test('undefined (an unset environment variable) is a TypeError that says so', async () => {
    await expect(connectDatabase(undefined as unknown as string)).rejects.toThrow(
      /a database URL must be a string, got undefined \(is the variable that should hold it set\?\)/,
    );
  });
});

describe('missing driver', () => {
  test('names the package to install', async () => {
    const missing = 'nilva-test-driver-that-is-not-installed';
    await expect(importPeer(() => import(/* @vite-ignore */ missing), missing, 'a postgres:// database URL')).rejects.toThrow(
      `nilva-session: a postgres:// database URL needs the package "${missing}", which is not installed (or not resolvable from here): npm i ${missing}`,
    );
  });
});

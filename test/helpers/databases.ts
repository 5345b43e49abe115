// Real databases for tests: SQLite in memory, PostgreSQL and MariaDB on localhost.
//
//   const database = await openTestDatabase('postgres');   // fresh, migrated, uniquely named table
//   const manager = new SessionManager({ store: database.store, … });
//   …
//   await database.close();                                 // drops the table, closes the pool
//
// Test files run in parallel workers: every openTestDatabase() call gets its own random table
// name, so tests never share (or use the default) `user_session` table.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { connectDatabase } from '../../src/store/connect.js';
import { KyselySessionStore } from '../../src/store/kysely-session-store.js';
import { dropSessionStore, migrateSessionStore } from '../../src/store/migrations.js';
import type { SessionDatabase, UserIdType } from '../../src/store/session-table.js';

/** Every dialect the tests run on, for `describe.each(DIALECTS)`. */
export const DIALECTS = ['sqlite', 'postgres', 'mysql'] as const;

/** One of {@link DIALECTS}. */
export type TestDialect = (typeof DIALECTS)[number];

/** Where each test database lives (the services). */
export const TEST_DATABASE_URLS: Readonly<Record<TestDialect, string>> = {
  sqlite: 'sqlite::memory:',
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  mysql: 'mysql://root@127.0.0.1:3306/test',
};

/** An open test database with a migrated session table of its own. */
export interface TestDatabase {
  /** The Kysely instance (one pool per TestDatabase). Query the table with `sql.table(tableName)`. */
  readonly db: Kysely<SessionDatabase>;
  readonly dialect: TestDialect;
  /** A random name, unique to this TestDatabase. */
  readonly tableName: string;
  readonly userIdType: UserIdType;
  /** A store over the table. */
  readonly store: KyselySessionStore;
  /** Drops the table and closes the pool. Safe to call twice. */
  close(): Promise<void>;
}

/** Options of {@link openTestDatabase}. */
export interface OpenTestDatabaseOptions {
  /** `user_id` type of the table and the store. Default `'string'`. */
  readonly userIdType?: UserIdType;
  /** Skip the migration (the table does not exist yet). Default `false`. */
  readonly skipMigration?: boolean;
}

/** A table name no other test uses: `prefix` plus 12 random hex characters. */
export function uniqueTableName(prefix = 'test_session'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * Connects to the dialect's test database, creates a uniquely named session table and returns
 * a store over it. Call `close()` when done (in `afterAll`/`afterEach`).
 */
export async function openTestDatabase(dialect: TestDialect, options: OpenTestDatabaseOptions = {}): Promise<TestDatabase> {
  const userIdType = options.userIdType ?? 'string';
  const tableName = uniqueTableName();
  const connection = await connectDatabase<SessionDatabase>(TEST_DATABASE_URLS[dialect]);
  try {
    if (options.skipMigration !== true) await migrateSessionStore(connection.db, { dialect, tableName, userIdType });
  } catch (error) {
    await connection.close();
    throw error;
  }
  let closed = false;
  return {
    db: connection.db,
    dialect,
    tableName,
    userIdType,
    store: new KyselySessionStore({ db: connection.db, dialect, tableName, userIdType }),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await dropSessionStore(connection.db, { dialect, tableName });
      } finally {
        await connection.close();
      }
    },
  };
}

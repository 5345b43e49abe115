/**
 * The SQL session store (`nilva-session/kysely`): PostgreSQL, MySQL/MariaDB and SQLite through
 * Kysely, its migrations, the conversion of the Python original's table, and a URL-based
 * connection helper.
 *
 * @packageDocumentation
 */
export { type ConnectDatabaseOptions, connectDatabase, type DatabaseConnection } from './connect.js';
export {
  type DjangoConversionProgress,
  type DjangoConversionReport,
  type DjangoSessionCounts,
  type MigrateFromDjangoOptions,
  migrateFromDjango,
} from './django-conversion.js';
export { KyselySessionAdminStore, type KyselySessionAdminStoreOptions } from './kysely-session-admin-store.js';
export { KyselySessionStore, type KyselySessionStoreOptions } from './kysely-session-store.js';
export {
  type DropSessionStoreOptions,
  dropSessionStore,
  MIGRATIONS_TABLE_NAME,
  type MigrateSessionStoreOptions,
  type MigrationResult,
  migrateSessionStore,
} from './migrations.js';
export {
  DEFAULT_TABLE_NAME,
  type SessionDatabase,
  type SessionTable,
  type SqlDialect,
  type UserIdType,
} from './session-table.js';

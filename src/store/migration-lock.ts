import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from './session-table.js';

/** Seconds a MySQL migration waits for another process's migration to finish. */
const MYSQL_LOCK_TIMEOUT_SECONDS = 60;

/**
 * Runs `work` while holding a database-wide lock, so that two processes migrating at the same
 * time run one after the other (the second then finds everything applied):
 *
 * - PostgreSQL: a transaction holding `pg_advisory_xact_lock`; DDL is transactional, so a
 *   failed migration leaves nothing behind.
 * - SQLite: `BEGIN IMMEDIATE` on the single connection (takes the write lock up front, which a
 *   deferred transaction would try to upgrade to and fail with SQLITE_BUSY); DDL is transactional.
 * - MySQL/MariaDB: `GET_LOCK` on one pinned connection. DDL commits implicitly there, so each
 *   migration step must be idempotent by itself.
 *
 * Inside an existing transaction, `work` runs in it without a lock.
 */
export async function withMigrationLock<DB, T>(
  db: Kysely<DB>,
  dialect: SqlDialect,
  lockName: string,
  work: (db: Kysely<DB>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return work(db);
  switch (dialect) {
    case 'postgres':
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext(${lockName}))`.execute(trx);
        return work(trx);
      });
    case 'sqlite':
      return db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await work(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (error) {
          await sql`rollback`.execute(conn);
          throw error;
        }
      });
    case 'mysql':
      return db.connection().execute(async (conn) => {
        // Lock names are limited to 64 characters: use a digest.
        const name = `nilva_session:${createHash('sha256').update(lockName).digest('hex').slice(0, 40)}`;
        const { rows } = await sql<{ locked: number | null }>`select get_lock(${name}, ${MYSQL_LOCK_TIMEOUT_SECONDS}) as locked`.execute(
          conn,
        );
        if (Number(rows[0]?.locked) !== 1) {
          throw new Error(`nilva-session: another process held the migration lock for ${MYSQL_LOCK_TIMEOUT_SECONDS} s`);
        }
        try {
          return await work(conn);
        } finally {
          await sql`select release_lock(${name})`.execute(conn);
        }
      });
  }
}

import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from './session-table.js';
import { sqliteImmediateTransaction } from './sqlite-immediate.js';

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
      return sqliteImmediateTransaction(db, work);
    case 'mysql':
      return db.connection().execute(async (conn) => {
        const name = mysqlLockName(lockName);
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

/** MySQL lock names are limited to 64 characters: a digest of the name. */
function mysqlLockName(lockName: string): string {
  return `nilva_session:${createHash('sha256').update(lockName).digest('hex').slice(0, 40)}`;
}

/**
 * Runs `work` on one pinned connection while holding the lock {@link withMigrationLock} takes,
 * for work made of many transactions (the batched conversion of the Python original's table),
 * so a `migrateSessionStore` started meanwhile waits for it, and two conversions never
 * interleave:
 *
 * - PostgreSQL: a session-level advisory lock on the same key as `pg_advisory_xact_lock`.
 * - MySQL/MariaDB: `GET_LOCK` on the same name.
 * - SQLite: no lock (one file, and `work`'s transactions are `BEGIN IMMEDIATE`, each re-reading
 *   where the work stands).
 *
 * A process killed while holding it loses its connection, and the server releases the lock.
 * Waits up to 60 s for another holder, then fails saying so.
 */
export async function withSessionLock<DB, T>(
  db: Kysely<DB>,
  dialect: SqlDialect,
  lockName: string,
  work: (conn: Kysely<DB>) => Promise<T>,
): Promise<T> {
  if (dialect === 'sqlite') return work(db);
  return db.connection().execute(async (conn) => {
    const busy = new Error(`nilva-session: another process held the migration lock for ${MYSQL_LOCK_TIMEOUT_SECONDS} s`);
    if (dialect === 'mysql') {
      const name = mysqlLockName(lockName);
      const { rows } = await sql<{ locked: number | null }>`select get_lock(${name}, ${MYSQL_LOCK_TIMEOUT_SECONDS}) as locked`.execute(
        conn,
      );
      if (Number(rows[0]?.locked) !== 1) throw busy;
      try {
        return await work(conn);
      } finally {
        await sql`select release_lock(${name})`.execute(conn);
      }
    }
    // pg_advisory_lock would wait forever: poll the try-variant for as long as MySQL waits.
    const deadline = Date.now() + MYSQL_LOCK_TIMEOUT_SECONDS * 1000;
    for (;;) {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(hashtext(${lockName})) as locked`.execute(conn);
      if (rows[0]?.locked === true) break;
      if (Date.now() >= deadline) throw busy;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    try {
      return await work(conn);
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${lockName}))`.execute(conn);
    }
  });
}

import { type Kysely, sql } from 'kysely';

/**
 * Runs `work` in a `BEGIN IMMEDIATE` transaction on one SQLite connection: the write lock is
 * taken at the start, so two such transactions run one after the other instead of both reading
 * and then one failing to upgrade its lock (Kysely's `transaction()` issues a deferred `BEGIN`).
 * A failed `work` or `COMMIT` is rolled back; a failed rollback hides nothing (its error is the
 * lesser one).
 */
export function sqliteImmediateTransaction<DB, T>(db: Kysely<DB>, work: (conn: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await work(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
  });
}

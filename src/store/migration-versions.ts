/** The newest migration's version: a table without it is out of date. Kept in step with `MIGRATIONS`. */
export const LATEST_MIGRATION = 5;

/** The newest migration the store's queries need (`end_reason`, `authenticated_at`). */
export const QUERIES_NEED_MIGRATION = 4;

/** The columns that migration adds: a table that has them can serve even without the record. */
export const COLUMNS_OF_QUERIES_NEED_MIGRATION: readonly string[] = ['end_reason', 'authenticated_at'];

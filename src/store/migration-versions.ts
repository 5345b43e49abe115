/** The newest migration's version: a table without it is out of date. Kept in step with `MIGRATIONS`. */
export const LATEST_MIGRATION = 3;

/** The newest migration the store's queries need (`refresh_jti`); later ones add indexes only. */
export const QUERIES_NEED_MIGRATION = 2;

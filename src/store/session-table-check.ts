import type { Kysely } from 'kysely';
import { SessionError } from '../core/errors.js';
import { inspectSessionTable, type SessionTableFacts, userIdTypeOfColumn } from './catalog.js';
import { COLUMNS_OF_QUERIES_NEED_MIGRATION, LATEST_MIGRATION, QUERIES_NEED_MIGRATION } from './migration-versions.js';
import { type IdForm, RowCodec } from './row-codec.js';
import type { SqlDialect, UserIdType } from './session-table.js';

const MIGRATE_HINT = 'run `nilva-session migrate` (or call migrateSessionStore) against this database';

/**
 * Checks a session table against what the store needs, and returns its `userIdType`:
 *
 * - the table exists (else: migrate);
 * - `strict`: every migration is applied; otherwise: those the store's queries need;
 * - `user_id`'s column type agrees with `declared`, when given.
 *
 * `checkMigrations: false` skips the second point (the migration itself is about to apply them).
 *
 * @throws SessionError `ERR_STORE_NOT_READY` whose message says what is wrong and what to do
 */
export function verifySessionTable(
  facts: SessionTableFacts,
  tableName: string,
  declared: UserIdType | undefined,
  strict: boolean,
  checkMigrations = true,
): UserIdType {
  if (!facts.exists) {
    throw notReady(`the session table "${tableName}" does not exist: ${MIGRATE_HINT} before serving requests`);
  }
  const needed = strict ? LATEST_MIGRATION : QUERIES_NEED_MIGRATION;
  const pending: number[] = [];
  for (let version = 1; version <= needed; version++) if (!facts.applied.has(version)) pending.push(version);
  // A table migrated before the bookkeeping existed, or copied from elsewhere, still works if
  // it has the columns; only `strict` (start-up) insists on the record.
  if (
    checkMigrations &&
    pending.length > 0 &&
    (strict || !COLUMNS_OF_QUERIES_NEED_MIGRATION.every((column) => facts.columns.has(column)))
  ) {
    throw notReady(`the session table "${tableName}" lacks migration(s) ${pending.join(', ')} of ${LATEST_MIGRATION}: ${MIGRATE_HINT}`);
  }
  const columnType = facts.userIdColumnType;
  const actual = columnType === undefined ? undefined : userIdTypeOfColumn(columnType);
  if (actual === undefined) {
    throw notReady(
      `the session table "${tableName}" has user_id of type ${columnType ?? '(missing)'}, which is neither an integer nor a string type`,
    );
  }
  if (declared !== undefined && declared !== actual) {
    throw notReady(
      `userIdType is '${declared}' but the session table "${tableName}" stores user_id as ${columnType} ('${actual}'): ` +
        `give userIdType '${actual}' (or leave it out: the store reads it from the table)`,
    );
  }
  return actual;
}

/**
 * How the table writes ids: Django's 32-hex form when the table is a MySQL table converted from
 * the Python original for coexistence (its `id` is still `char(32)`), else hyphenated UUIDs.
 */
export function idFormOfTable(dialect: SqlDialect, facts: Pick<SessionTableFacts, 'idColumnType'>): IdForm {
  return dialect === 'mysql' && facts.idColumnType === 'char(32)' ? 'hex' : 'uuid';
}

function notReady(message: string): SessionError {
  return new SessionError('ERR_STORE_NOT_READY', `nilva-session: ${message}`);
}

/**
 * The table check both Kysely stores run before their first query, once: it learns
 * `userIdType` from the table when it was not given, and refuses a table that is missing,
 * unmigrated or of the other `user_id` type instead of answering wrongly. A failed check is
 * not remembered, so the store recovers once the table is migrated.
 */
export class SessionTableGuard {
  readonly #db: Kysely<unknown>;
  readonly #dialect: SqlDialect;
  readonly #tableName: string;
  readonly #declared: UserIdType | undefined;
  readonly #rawKeys: boolean;
  #codec: RowCodec | undefined;
  #pending: Promise<RowCodec> | undefined;

  /** `rawKeys`: the store writes the original's raw `key` column too (Django coexistence). */
  constructor(db: Kysely<unknown>, dialect: SqlDialect, tableName: string, declared: UserIdType | undefined, rawKeys = false) {
    this.#db = db;
    this.#dialect = dialect;
    this.#tableName = tableName;
    this.#declared = declared;
    this.#rawKeys = rawKeys;
  }

  /** The `userIdType` in force: the declared one, or the table's once checked. */
  get userIdType(): UserIdType | undefined {
    return this.#codec === undefined ? this.#declared : this.#codec.userIdType;
  }

  /** The row codec, once the table has passed the check. Synchronous after the first success. */
  codec(): RowCodec | Promise<RowCodec> {
    if (this.#codec !== undefined) return this.#codec;
    this.#pending ??= this.#run(false).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** The full start-up check: also refuses a pending migration. */
  async check(): Promise<void> {
    await this.#run(true);
  }

  async #run(strict: boolean): Promise<RowCodec> {
    const facts = await inspectSessionTable(this.#db, this.#dialect, this.#tableName);
    const userIdType = verifySessionTable(facts, this.#tableName, this.#declared, strict);
    if (this.#rawKeys && !facts.columns.has('key')) {
      throw notReady(
        `djangoCoexistence is on but the session table "${this.#tableName}" has no raw \`key\` column: ` +
          'it was not converted from the Python original (`nilva-session migrate --from-django`), or its raw keys were dropped',
      );
    }
    this.#codec ??= new RowCodec(this.#dialect, userIdType, idFormOfTable(this.#dialect, facts));
    return this.#codec;
  }
}

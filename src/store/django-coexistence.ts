import { type Kysely, sql } from 'kysely';
import { indexName } from './migrations.js';
import type { SqlDialect } from './session-table.js';

// The database side of a gradual move from the Python original: while its Django app and this
// library serve the same converted table, the rows Django inserts lack the columns Django does
// not know. Triggers fill them, so this library finds those sessions by key hash at once. The
// Node side (KyselySessionStore's djangoCoexistence) writes the raw `key` Django looks up.
//
// What the triggers do, on every row written by anyone:
// - INSERT with a raw `key` and no `key_hash` (Django's): key_hash = SHA-256 hex of the key
//   (UTF-8, as hashData), key_prefix = its first 8 characters, authenticated_at = created_at.
// - INSERT or UPDATE: an active row has no end_reason (Django's admin reactivates by setting
//   is_active alone); a row Django suspends (is_active false, its detail sentence, no reason)
//   gets end_reason 'user_agent_changed'. Rows this library ends carry their reason already.
//
// Django's other ways to end a session (its API's DELETE, the JWT blacklist) set is_active alone:
// their end_reason stays NULL (unknown), which this library reads as "ended".

/** The original's sentence for a session it suspended after a User-Agent change. */
export const ORIGINAL_SUSPENDED_DETAIL = 'User suspended; because user agent changed!';

/** The names of the objects the triggers need: one trigger and its function on PostgreSQL, two triggers on MySQL. */
export function coexistenceObjectNames(tableName: string): { readonly function: string; readonly insert: string; readonly update: string } {
  return {
    function: indexName(tableName, 'nilva_django_fill'),
    insert: indexName(tableName, 'nilva_django_bi'),
    update: indexName(tableName, 'nilva_django_bu'),
  };
}

/** Whether the coexistence triggers are on the table. */
export async function coexistenceTriggersInstalled(db: Kysely<unknown>, dialect: SqlDialect, tableName: string): Promise<boolean> {
  if (dialect === 'sqlite') return false;
  const names = coexistenceObjectNames(tableName);
  const query =
    dialect === 'postgres'
      ? sql<{ n: number | string }>`select count(*) as n from pg_trigger
          where tgrelid = to_regclass(${tableName}) and tgname = ${names.insert}`
      : sql<{ n: number | string }>`select count(*) as n from information_schema.triggers
          where trigger_schema = database() and event_object_table = ${tableName} and trigger_name in (${names.insert}, ${names.update})`;
  const { rows } = await query.execute(db);
  return Number(rows[0]?.n) > 0;
}

/**
 * Installs (or replaces) the triggers. The table must have this library's columns already.
 * PostgreSQL 11+ (`sha256`); MySQL 5.7+/MariaDB 10.2+. On MySQL with binary logging, a user
 * without SUPER needs `log_bin_trust_function_creators`; either way it needs the TRIGGER privilege.
 */
export async function installCoexistenceTriggers(db: Kysely<unknown>, dialect: SqlDialect, tableName: string): Promise<void> {
  const names = coexistenceObjectNames(tableName);
  const table = sql.table(tableName);
  const sentence = sql.lit(ORIGINAL_SUSPENDED_DETAIL);
  if (dialect === 'postgres') {
    // One function for both events; `key` is read through NEW, so the function needs the column.
    await sql`create or replace function ${sql.id(names.function)}() returns trigger language plpgsql as $fill$
      begin
        if tg_op = 'INSERT' then
          if new.key_hash is null and new.key is not null then
            new.key_hash := encode(sha256(convert_to(new.key, 'UTF8')), 'hex');
            new.key_prefix := left(new.key, 8);
          end if;
          if new.authenticated_at is null then
            new.authenticated_at := new.created_at;
          end if;
        end if;
        if new.is_active then
          new.end_reason := null;
        elsif new.end_reason is null and new.detail = ${sentence} then
          new.end_reason := 'user_agent_changed';
        end if;
        return new;
      end
      $fill$`.execute(db);
    await sql`drop trigger if exists ${sql.id(names.insert)} on ${table}`.execute(db);
    await sql`create trigger ${sql.id(names.insert)} before insert or update on ${table}
      for each row execute function ${sql.id(names.function)}()`.execute(db);
    return;
  }
  if (dialect !== 'mysql') throw new TypeError('nilva-session: coexistence with the Django app is for PostgreSQL and MySQL/MariaDB');
  // MySQL checks NOT NULL after BEFORE triggers, so Django's INSERT, which leaves key_hash out,
  // passes once the trigger has filled it.
  const endReason = sql`if new.is_active then
      set new.end_reason = null;
    elseif new.end_reason is null and new.detail = ${sentence} then
      set new.end_reason = 'user_agent_changed';
    end if;`;
  await sql`drop trigger if exists ${sql.id(names.insert)}`.execute(db);
  await sql`create trigger ${sql.id(names.insert)} before insert on ${table} for each row begin
      if new.key_hash is null and new.\`key\` is not null then
        set new.key_hash = sha2(new.\`key\`, 256), new.key_prefix = left(new.\`key\`, 8);
      end if;
      if new.authenticated_at is null then
        set new.authenticated_at = new.created_at;
      end if;
      ${endReason}
    end`.execute(db);
  await sql`drop trigger if exists ${sql.id(names.update)}`.execute(db);
  await sql`create trigger ${sql.id(names.update)} before update on ${table} for each row begin
      ${endReason}
    end`.execute(db);
}

/** Removes the triggers (and PostgreSQL's function). Idempotent. */
export async function dropCoexistenceTriggers(db: Kysely<unknown>, dialect: SqlDialect, tableName: string): Promise<void> {
  const names = coexistenceObjectNames(tableName);
  if (dialect === 'postgres') {
    await sql`drop trigger if exists ${sql.id(names.insert)} on ${sql.table(tableName)}`.execute(db);
    await sql`drop function if exists ${sql.id(names.function)}()`.execute(db);
    return;
  }
  if (dialect !== 'mysql') return;
  await sql`drop trigger if exists ${sql.id(names.insert)}`.execute(db);
  await sql`drop trigger if exists ${sql.id(names.update)}`.execute(db);
}

// The Python original's `user_session` table, as real Django created and filled it
// (test/fixtures/django-user-session), loaded into a private schema (PostgreSQL), a private
// database (MariaDB) or a file of its own (SQLite), so tests running in parallel never meet:
//
//   const django = await openDjangoDatabase('mysql');      // auth_user + DDL + the 12 sessions
//   await migrateFromDjango(django.db, { dialect: 'mysql' });
//   …
//   await django.close();                                  // drops the database
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { connectDatabase } from '../../src/store/connect.js';
import { TEST_DATABASE_URLS, type TestDialect } from './databases.js';

export const FIXTURE_DIR = join(import.meta.dirname, '../fixtures/django-user-session');

/** The fixture files' name for each dialect (Django's backend names). */
const BACKEND: Readonly<Record<TestDialect, string>> = { postgres: 'postgresql', mysql: 'mysql', sqlite: 'sqlite' };

/** One line of tokens.csv: a session's raw key and the state it must have after the move. */
export interface FixtureToken {
  readonly id: string;
  readonly key: string;
  readonly user: 'alice' | 'bob' | 'carol';
  readonly expectedState: 'active' | 'never-expires' | 'expired' | 'suspended';
  readonly accepted: boolean;
}

/** The fixture users' ids. */
export const FIXTURE_USER_IDS: Readonly<Record<FixtureToken['user'], number>> = { alice: 1, bob: 2, carol: 3 };

export function fixtureTokens(): FixtureToken[] {
  const [header, ...lines] = readFileSync(join(FIXTURE_DIR, 'tokens.csv'), 'utf8').trim().split('\n');
  if (header !== 'id,key,user,expected_state,accepted') throw new Error(`unexpected tokens.csv header ${header}`);
  return lines.map((line) => {
    const [id, key, user, expectedState, accepted] = line.split(',') as [string, string, string, string, string];
    return {
      id,
      key,
      user: user as FixtureToken['user'],
      expectedState: expectedState as FixtureToken['expectedState'],
      accepted: accepted === 'true',
    };
  });
}

/** The statements of one fixture file, in order (comment lines dropped; one statement per `;` at a line end). */
export function fixtureStatements(dialect: TestDialect, part: 'auth_user' | 'ddl' | 'data'): string[] {
  const file = part === 'ddl' ? `${BACKEND[dialect]}.sql` : `${BACKEND[dialect]}-${part}.sql`;
  const text = readFileSync(join(FIXTURE_DIR, file), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n');
  return text
    .split(/;\s*\n/)
    .map((statement) => statement.trim().replace(/;$/, ''))
    .filter((statement) => statement !== '');
}

/** The fixture's session INSERTs alone, each exactly as Django's ORM issues it. */
export function fixtureSessionInserts(dialect: TestDialect): string[] {
  return fixtureStatements(dialect, 'data').filter((statement) => /^INSERT INTO [`"]user_session[`"]/.test(statement));
}

/** A private database holding the original's tables. */
export interface DjangoDatabase {
  readonly dialect: TestDialect;
  /** The URL of the private schema/database, for the CLI. */
  readonly url: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tables are the original's, not typed here
  readonly db: Kysely<any>;
  /** Runs raw statements in order on one connection (BEGIN/COMMIT included). */
  run(statements: readonly string[]): Promise<void>;
  /** Drops the private schema/database and closes the pool. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Creates a private schema (PostgreSQL), database (MariaDB, utf8mb4_general_ci as Django's
 * was) or file (SQLite) and loads the fixture's parts into it, in order: by default auth_user,
 * the DDL and the 12 sessions.
 */
export async function openDjangoDatabase(
  dialect: TestDialect,
  parts: ReadonlyArray<'auth_user' | 'ddl' | 'data'> = ['auth_user', 'ddl', 'data'],
): Promise<DjangoDatabase> {
  const name = `djfix_${randomBytes(6).toString('hex')}`;
  let url: string;
  let drop: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'djfix-'));
    url = `sqlite:${join(dir, 'django.sqlite3')}`;
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const admin = await connectDatabase(TEST_DATABASE_URLS[dialect]);
    try {
      if (dialect === 'postgres') await sql`create schema ${sql.id(name)}`.execute(admin.db);
      else await sql`create database ${sql.id(name)} character set utf8mb4 collate utf8mb4_general_ci`.execute(admin.db);
    } finally {
      await admin.close();
    }
    url =
      dialect === 'postgres'
        ? `${TEST_DATABASE_URLS.postgres}?options=${encodeURIComponent(`-c search_path=${name}`)}`
        : `mysql://root@127.0.0.1:3306/${name}`;
    drop = async () => {
      const again = await connectDatabase(TEST_DATABASE_URLS[dialect]);
      try {
        if (dialect === 'postgres') await sql`drop schema if exists ${sql.id(name)} cascade`.execute(again.db);
        else await sql`drop database if exists ${sql.id(name)}`.execute(again.db);
      } finally {
        await again.close();
      }
    };
  }
  // biome-ignore lint/suspicious/noExplicitAny: see DjangoDatabase.db
  const connection = await connectDatabase<any>(url);
  const run = (statements: readonly string[]) =>
    connection.db.connection().execute(async (conn) => {
      for (const statement of statements) await sql.raw(statement).execute(conn);
    });
  let closed = false;
  const database: DjangoDatabase = {
    dialect,
    url,
    db: connection.db,
    run,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await connection.close();
      } finally {
        await drop();
      }
    },
  };
  try {
    for (const part of parts) await run(fixtureStatements(dialect, part));
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/** A deterministic generator (mulberry32), so two databases can hold the same generated rows. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A raw key as the original draws it: 50 characters of [a-z0-9]. */
function originalKey(random: () => number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let key = '';
  for (let i = 0; i < 50; i++) key += alphabet[Math.floor(random() * 36)];
  return key;
}

/** Django's stored text of a time on MySQL/SQLite (naive UTC; SQLite drops a zero fraction), or PostgreSQL's. */
function djangoTime(dialect: TestDialect, ms: number): string {
  const iso = new Date(ms).toISOString();
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  if (dialect === 'postgres') return `${base}.${iso.slice(20, 23)}+00`;
  if (dialect === 'sqlite' && ms % 1000 === 0) return base;
  return `${base}.${iso.slice(20, 23)}000`;
}

/**
 * Inserts `count` sessions the way Django's ORM writes them (its column list, its id, time and
 * boolean forms), for the fixture's users 1–3 (inserted first), from `seed`: the same seed gives
 * the same rows.
 */
export async function insertGeneratedSessions(database: DjangoDatabase, count: number, seed: number): Promise<void> {
  // The fixture's three users, for the foreign key.
  await database.run(fixtureStatements(database.dialect, 'data').filter((statement) => /^INSERT INTO [`"]auth_user[`"]/.test(statement)));
  const random = generator(seed);
  const q = database.dialect === 'mysql' ? '`' : '"';
  const columns = ['id', 'key', 'expire_at', 'is_active', 'last_online', 'last_ip', 'user_agent', 'detail', 'created_at', 'user_id']
    .map((c) => `${q}${c}${q}`)
    .join(', ');
  const T0 = Date.UTC(2025, 4, 10, 8, 0, 0);
  for (let start = 0; start < count; start += 500) {
    const values: string[] = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
      const id =
        database.dialect === 'postgres'
          ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
          : hex;
      const created = T0 + Math.floor(random() * 1e9);
      const kind = Math.floor(random() * 4); // never-expires, active, expired, suspended
      const expire =
        kind === 0 ? 'NULL' : `'${djangoTime(database.dialect, kind === 2 ? Date.UTC(2025, 0, 1) : Date.UTC(2099, 0, 1) + i)}'`;
      const active = kind === 3 ? (database.dialect === 'postgres' ? 'false' : '0') : database.dialect === 'postgres' ? 'true' : '1';
      const detail = kind === 3 ? "'User suspended; because user agent changed!'" : 'NULL';
      values.push(
        `('${id}', '${originalKey(random)}', ${expire}, ${active}, '${djangoTime(database.dialect, created + 60_000)}', '10.0.${i % 250}.${i % 200}', 'curl/8.5.0', ${detail}, '${djangoTime(database.dialect, created)}', ${1 + (i % 3)})`,
      );
    }
    await database.run([`INSERT INTO ${q}user_session${q} (${columns}) VALUES ${values.join(', ')}`]);
  }
}

// migrateSessionStore and dropSessionStore on the three real databases: idempotence,
// concurrency, the schema, table name validation, integer user ids.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionRecord } from '../../src/core/session.js';
import { connectDatabase, type DatabaseConnection } from '../../src/store/connect.js';
import { KyselySessionStore } from '../../src/store/kysely-session-store.js';
import { dropSessionStore, MIGRATIONS_TABLE_NAME, type MigrationResult, migrateSessionStore } from '../../src/store/migrations.js';
import type { SessionDatabase, SqlDialect } from '../../src/store/session-table.js';
import { DIALECTS, TEST_DATABASE_URLS, uniqueTableName } from '../helpers/databases.js';

const run = promisify(execFile);

/** Every migration, in order: what a fresh table gets. */
const ALL_MIGRATIONS = [
  'create_session_table',
  'add_refresh_jti',
  'add_admin_indexes',
  'add_end_reason_and_authenticated_at',
  'add_user_last_online_index',
];

function session(userId: string | number): SessionRecord {
  const now = new Date('2026-11-27T11:12:12.750Z');
  return {
    id: randomUUID(),
    userId,
    keyHash: randomUUID().replaceAll('-', '').repeat(2),
    keyPrefix: 'abcdefgh',
    expireAt: null,
    isActive: true,
    lastOnline: now,
    lastIp: '127.0.0.1',
    userAgent: 'test',
    detail: null,
    endReason: null,
    createdAt: now,
    authenticatedAt: now,
    refreshJti: null,
  };
}

/** Index name → its columns, in order. */
async function indexes(db: Kysely<SessionDatabase>, dialect: SqlDialect, table: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (dialect === 'postgres') {
    const { rows } = await sql<{ name: string; column: string }>`
      select i.relname as name, a.attname as column
      from pg_index x
      join pg_class t on t.oid = x.indrelid
      join pg_class i on i.oid = x.indexrelid
      join lateral unnest(x.indkey) with ordinality as k(attnum, n) on true
      join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
      where t.relname = ${table} order by i.relname, k.n`.execute(db);
    for (const row of rows) out.set(row.name, [...(out.get(row.name) ?? []), row.column]);
  } else if (dialect === 'mysql') {
    const { rows } = await sql<{ name: string; column: string }>`
      select index_name as name, column_name as \`column\` from information_schema.statistics
      where table_schema = database() and table_name = ${table} order by index_name, seq_in_index`.execute(db);
    for (const row of rows) out.set(row.name, [...(out.get(row.name) ?? []), row.column]);
  } else {
    const list = await sql<{ name: string }>`select name from pragma_index_list(${table})`.execute(db);
    for (const { name } of list.rows) {
      const cols = await sql<{ name: string }>`select name from pragma_index_info(${name}) order by seqno`.execute(db);
      out.set(
        name,
        cols.rows.map((c) => c.name),
      );
    }
  }
  return out;
}

async function columnType(db: Kysely<SessionDatabase>, dialect: SqlDialect, table: string, column: string): Promise<string> {
  if (dialect === 'sqlite') {
    const { rows } = await sql<{ type: string }>`select type from pragma_table_info(${table}) where name = ${column}`.execute(db);
    return String(rows[0]?.type).toLowerCase();
  }
  const schema = dialect === 'postgres' ? sql`current_schema()` : sql`database()`;
  const { rows } = await sql<{ type: string }>`select data_type as type from information_schema.columns
    where table_schema = ${schema} and table_name = ${table} and column_name = ${column}`.execute(db);
  return String(rows[0]?.type).toLowerCase();
}

const STORE_MODULE = new URL('../../src/store/index.ts', import.meta.url).href;
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs migrateSessionStore in a separate Node process: the real "two instances start at once"
 * case (better-sqlite3 is synchronous, so two connections in one process cannot wait for each
 * other's locks).
 */
async function migrateInChildProcess(url: string, dialect: SqlDialect, tableName: string): Promise<MigrationResult> {
  const code = `
    const { connectDatabase, migrateSessionStore } = await import(${JSON.stringify(STORE_MODULE)});
    const [url, dialect, tableName] = process.argv.slice(1);
    const connection = await connectDatabase(url);
    try { process.stdout.write(JSON.stringify(await migrateSessionStore(connection.db, { dialect, tableName }))); }
    finally { await connection.close(); }`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, url, dialect, tableName], {
    cwd: REPO_ROOT,
  });
  return JSON.parse(stdout) as MigrationResult;
}

describe.each(DIALECTS)('migrateSessionStore on %s', (dialect) => {
  let connection: DatabaseConnection<SessionDatabase>;
  const created: string[] = [];

  /** A table name that afterAll drops. */
  function table(prefix?: string): string {
    const name = uniqueTableName(prefix);
    created.push(name);
    return name;
  }

  beforeAll(async () => {
    connection = await connectDatabase<SessionDatabase>(TEST_DATABASE_URLS[dialect]);
  });

  afterAll(async () => {
    for (const name of created) await dropSessionStore(connection.db, { dialect, tableName: name });
    await connection?.close();
  });

  test('creates the table once: a second run applies nothing and keeps the rows', async () => {
    const tableName = table();
    const first = await migrateSessionStore(connection.db, { dialect, tableName });
    expect(first.applied).toEqual(ALL_MIGRATIONS);
    const store = new KyselySessionStore({ db: connection.db, dialect, tableName });
    const row = session('alice');
    await store.insert(row);
    const second = await migrateSessionStore(connection.db, { dialect, tableName });
    expect(second.applied).toEqual([]);
    expect(await store.findById(row.id)).toEqual(row);
  });

  test('records the applied migrations in the bookkeeping table, under the table name', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName });
    const { rows } = await sql<{ version: number; name: string }>`select version, name from ${sql.table(MIGRATIONS_TABLE_NAME)}
      where table_name = ${tableName}`.execute(connection.db);
    expect(rows.map((r) => [Number(r.version), r.name])).toEqual(ALL_MIGRATIONS.map((name, i) => [i + 1, name]));
  });

  test('creates the documented indexes and a unique key_hash', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName });
    const found = [...(await indexes(connection.db, dialect, tableName)).values()].map((cols) => cols.join(','));
    expect(found).toEqual(
      expect.arrayContaining([
        'user_id,is_active',
        'is_active,last_online',
        'key_hash',
        // add_admin_indexes: keyset pagination of the admin list, search by address
        'created_at,id',
        'last_online,id',
        'expire_at,id',
        'last_ip',
        // add_user_last_online_index: a user's list, in its order, one index range per page
        'user_id,last_online,id',
      ]),
    );
    // (expire_at, id) replaced migration 1's (expire_at).
    expect(found).not.toContain('expire_at');
    const store = new KyselySessionStore({ db: connection.db, dialect, tableName });
    const first = session('alice');
    await store.insert(first);
    await expect(store.insert({ ...session('bob'), keyHash: first.keyHash })).rejects.toThrow();
  });

  test('two processes migrating one table at once both succeed, and one of them applies it', async () => {
    const tableName = table();
    let url = TEST_DATABASE_URLS[dialect];
    let file: string | undefined;
    if (dialect === 'sqlite') {
      file = join(tmpdir(), `nilva-migrate-${randomUUID()}.db`);
      url = `sqlite:${file}`;
    }
    try {
      const results = await Promise.all([migrateInChildProcess(url, dialect, tableName), migrateInChildProcess(url, dialect, tableName)]);
      expect(results.flatMap((r) => r.applied)).toEqual(ALL_MIGRATIONS);
      const a = await connectDatabase<SessionDatabase>(url);
      try {
        const store = new KyselySessionStore({ db: a.db, dialect, tableName });
        const row = session('alice');
        await store.insert(row);
        expect(await store.findById(row.id)).toEqual(row);
        await dropSessionStore(a.db, { dialect, tableName });
      } finally {
        await a.close();
      }
    } finally {
      if (file !== undefined) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    }
  });

  test('add_refresh_jti: a nullable varchar(64) column; a table from before it is upgraded, its rows kept with null', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName });
    expect(await columnType(connection.db, dialect, tableName, 'refresh_jti')).toBe(
      { sqlite: 'text', postgres: 'character varying', mysql: 'varchar' }[dialect],
    );
    // Take the table back to where migration 1 left it, with a row in it.
    await sql`alter table ${sql.table(tableName)} drop column refresh_jti`.execute(connection.db);
    await sql`delete from ${sql.table(MIGRATIONS_TABLE_NAME)} where table_name = ${tableName} and version >= 2`.execute(connection.db);
    const old = session('alice');
    const { refreshJti: _, ...columns } = old;
    await sql`insert into ${sql.table(tableName)} (id, user_id, key_hash, key_prefix, expire_at, is_active, last_online, last_ip, user_agent, detail, created_at)
      values (${columns.id}, ${columns.userId}, ${columns.keyHash}, ${columns.keyPrefix}, null, ${dialect === 'sqlite' ? 1 : true},
        ${dialect === 'sqlite' ? columns.lastOnline.toISOString() : columns.lastOnline}, ${columns.lastIp}, ${columns.userAgent}, null,
        ${dialect === 'sqlite' ? columns.createdAt.toISOString() : columns.createdAt})`.execute(connection.db);
    // add_admin_indexes runs again too: its indexes exist, and it skips them.
    expect((await migrateSessionStore(connection.db, { dialect, tableName })).applied).toEqual([
      'add_refresh_jti',
      'add_admin_indexes',
      'add_end_reason_and_authenticated_at',
      'add_user_last_online_index',
    ]);
    const store = new KyselySessionStore({ db: connection.db, dialect, tableName });
    expect(await store.findById(old.id)).toEqual(old);
    const jti = 'f'.repeat(64);
    const rotated = { ...session('bob'), refreshJti: jti };
    await store.insert(rotated);
    expect(await store.findById(rotated.id)).toEqual(rotated);
    expect(await store.rotateRefreshJti(rotated.id, jti, 'e'.repeat(64))).toBe(true);
  });

  test('add_end_reason_and_authenticated_at: ended rows get the code their detail stands for; authenticated_at is created_at', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName });
    // Take the table back to where migration 3 left it, with rows as that version wrote them.
    await sql`alter table ${sql.table(tableName)} drop column end_reason`.execute(connection.db);
    await sql`alter table ${sql.table(tableName)} drop column authenticated_at`.execute(connection.db);
    await sql`delete from ${sql.table(MIGRATIONS_TABLE_NAME)} where table_name = ${tableName} and version >= 4`.execute(connection.db);
    const rows = [
      { ...session('alice'), isActive: false, detail: 'Logged out: refresh token blacklisted.' },
      { ...session('alice'), isActive: false, detail: 'User suspended; because user agent changed!' },
      { ...session('alice'), isActive: false, detail: 'Lost phone, see ticket 4711.' },
      { ...session('alice'), isActive: true, detail: null },
    ];
    for (const row of rows) {
      const time = (d: Date) => (dialect === 'sqlite' ? d.toISOString() : d);
      await sql`insert into ${sql.table(tableName)} (id, user_id, key_hash, key_prefix, expire_at, is_active, last_online, last_ip, user_agent, detail, created_at)
        values (${row.id}, ${row.userId}, ${row.keyHash}, ${row.keyPrefix}, null, ${dialect === 'sqlite' ? Number(row.isActive) : row.isActive},
          ${time(row.lastOnline)}, ${row.lastIp}, ${row.userAgent}, ${row.detail}, ${time(row.createdAt)})`.execute(connection.db);
    }
    expect((await migrateSessionStore(connection.db, { dialect, tableName })).applied).toEqual([
      'add_end_reason_and_authenticated_at',
      'add_user_last_online_index',
    ]);
    const store = new KyselySessionStore({ db: connection.db, dialect, tableName });
    const read = await Promise.all(rows.map((row) => store.findById(row.id)));
    expect(read.map((row) => row?.endReason)).toEqual(['blacklisted', 'user_agent_changed', null, null]);
    expect(read.map((row) => row?.authenticatedAt.getTime())).toEqual(rows.map((row) => row.createdAt.getTime()));
    // Running it again changes nothing.
    expect((await migrateSessionStore(connection.db, { dialect, tableName })).applied).toEqual([]);
  });

  test('add_user_last_online_index: a table from before it gets the index, and its user list pages the same', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName });
    // Take the table back to where migration 4 left it, with a user's sessions in it.
    const [name] =
      [...(await indexes(connection.db, dialect, tableName))].find(([, cols]) => cols.join(',') === 'user_id,last_online,id') ?? [];
    if (name === undefined) throw new Error('the migration made no (user_id, last_online, id) index');
    await (dialect === 'mysql' ? sql`drop index ${sql.id(name)} on ${sql.table(tableName)}` : sql`drop index ${sql.id(name)}`).execute(
      connection.db,
    );
    await sql`delete from ${sql.table(MIGRATIONS_TABLE_NAME)} where table_name = ${tableName} and version >= 5`.execute(connection.db);
    const store = new KyselySessionStore({ db: connection.db, dialect, tableName });
    const rows = Array.from({ length: 5 }, (_, i) => ({ ...session('carol'), lastOnline: new Date(Date.UTC(2026, 10, 27, 12, i % 3)) }));
    for (const row of rows) await store.insert(row);
    const now = new Date(Date.UTC(2026, 10, 28));
    const before = await store.listActive('carol', now);
    expect(before).toHaveLength(5);
    expect((await migrateSessionStore(connection.db, { dialect, tableName })).applied).toEqual(['add_user_last_online_index']);
    expect([...(await indexes(connection.db, dialect, tableName)).values()].map((cols) => cols.join(','))).toContain(
      'user_id,last_online,id',
    );
    expect(await store.listActive('carol', now)).toEqual(before);
    const first = await store.listActivePage?.('carol', now, { limit: 2 });
    const last = first?.at(-1);
    if (last === undefined) throw new Error('no first page');
    const rest = await store.listActivePage?.('carol', now, { limit: 10, after: { lastOnline: last.lastOnline, id: last.id } });
    expect([...(first ?? []), ...(rest ?? [])]).toEqual(before);
  });

  test('integer user ids: a 64-bit integer column, ids returned as numbers', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName, userIdType: 'integer' });
    expect(await columnType(connection.db, dialect, tableName, 'user_id')).toBe(dialect === 'sqlite' ? 'integer' : 'bigint');
    const store = new KyselySessionStore({ db: connection.db, dialect, tableName, userIdType: 'integer' });
    for (const userId of [1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const row = session(userId);
      await store.insert(row);
      const found = await store.findById(row.id);
      expect(found?.userId).toBe(userId);
      expect((await store.listActive(userId, new Date(0))).map((s) => s.id)).toEqual([row.id]);
    }
  });

  test('integer user ids: a non-integer user id is refused on insert and matches nothing', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName, userIdType: 'integer' });
    const store = new KyselySessionStore({ db: connection.db, dialect, tableName, userIdType: 'integer' });
    await expect(store.insert(session('alice'))).rejects.toThrow(TypeError);
    expect(await store.listActive('alice', new Date(0))).toEqual([]);
    expect(await store.refsForUser(1.5)).toEqual([]);
    expect(await store.deactivateAllForUser('x', { reason: 'revoked_all', detail: 'Revoked.' })).toEqual([]);
  });

  test('string user ids: a text column (varchar(191) on MySQL)', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName });
    expect(await columnType(connection.db, dialect, tableName, 'user_id')).toBe(dialect === 'mysql' ? 'varchar' : 'text');
  });

  test('a 63-character table name works, its index names shortened to fit', async () => {
    const tableName = `t${'x'.repeat(50)}${uniqueTableName('').slice(1)}`;
    expect(tableName).toHaveLength(63);
    created.push(tableName);
    await migrateSessionStore(connection.db, { dialect, tableName });
    const names = [...(await indexes(connection.db, dialect, tableName)).keys()];
    // Our index names (SQLite's own autoindex names are not limited).
    for (const name of names.filter((n) => n.endsWith('_idx'))) expect(name.length).toBeLessThanOrEqual(63);
    expect(names.filter((n) => n.endsWith('_idx'))).toHaveLength(7); // 3 of migration 1, one replaced, 4 of migration 3, 1 of migration 5
    expect(names.filter((n) => n.endsWith('_user_active_idx'))).toHaveLength(1);
    const store = new KyselySessionStore({ db: connection.db, dialect, tableName });
    const row = session('alice');
    await store.insert(row);
    expect(await store.findByKeyHash(row.keyHash)).toEqual(row);
  });

  test('two session tables in one database are migrated and used independently', async () => {
    const first = table();
    const second = table();
    await migrateSessionStore(connection.db, { dialect, tableName: first });
    expect((await migrateSessionStore(connection.db, { dialect, tableName: second })).applied).toEqual(ALL_MIGRATIONS);
    const row = session('alice');
    await new KyselySessionStore({ db: connection.db, dialect, tableName: first }).insert(row);
    expect(await new KyselySessionStore({ db: connection.db, dialect, tableName: second }).findById(row.id)).toBeUndefined();
  });

  test('dropSessionStore removes the table and its bookkeeping, so a new migration recreates it', async () => {
    const tableName = table();
    await migrateSessionStore(connection.db, { dialect, tableName });
    await dropSessionStore(connection.db, { dialect, tableName });
    await expect(new KyselySessionStore({ db: connection.db, dialect, tableName }).findById(randomUUID())).rejects.toThrow();
    expect((await migrateSessionStore(connection.db, { dialect, tableName })).applied).toEqual(ALL_MIGRATIONS);
    await dropSessionStore(connection.db, { dialect, tableName });
    await dropSessionStore(connection.db, { dialect, tableName }); // dropping twice is fine
  });

  test.each([
    'user-session',
    'user session',
    'user_session; drop table users',
    '1user_session',
    '',
    'x'.repeat(64),
    'public.user_session',
    '"user_session"',
  ])('rejects the table name %j with a TypeError naming the option', async (tableName) => {
    await expect(migrateSessionStore(connection.db, { dialect, tableName })).rejects.toThrow(/option "tableName"/);
    await expect(migrateSessionStore(connection.db, { dialect, tableName })).rejects.toBeInstanceOf(TypeError);
    await expect(dropSessionStore(connection.db, { dialect, tableName })).rejects.toBeInstanceOf(TypeError);
    expect(() => new KyselySessionStore({ db: connection.db, dialect, tableName })).toThrow(/option "tableName"/);
  });

  test('rejects an unknown dialect or user id type with a TypeError naming the option', async () => {
    const tableName = table();
    const options = { dialect: 'oracle' as SqlDialect, tableName };
    await expect(migrateSessionStore(connection.db, options)).rejects.toThrow(/option "dialect"/);
    await expect(migrateSessionStore(connection.db, { dialect, tableName, userIdType: 'uuid' as 'string' })).rejects.toThrow(
      /option "userIdType"/,
    );
    expect(() => new KyselySessionStore({ db: connection.db, dialect, tableName, userIdType: 'bigint' as 'integer' })).toThrow(TypeError);
  });
});

describe('migrateSessionStore on mysql with a pool not in UTC', () => {
  test('refuses to migrate and explains the timezone option', async () => {
    const { default: mysql } = await import('mysql2');
    const { Kysely, MysqlDialect } = await import('kysely');
    const pool = mysql.createPool({ uri: TEST_DATABASE_URLS.mysql, timezone: '+02:00' });
    const db = new Kysely<SessionDatabase>({ dialect: new MysqlDialect({ pool }) });
    try {
      await expect(migrateSessionStore(db, { dialect: 'mysql', tableName: uniqueTableName() })).rejects.toThrow(/timezone 'Z'/);
    } finally {
      await db.destroy();
    }
  });
});

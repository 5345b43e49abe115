// A gradual move on PostgreSQL and MariaDB: the Django app and this library serve the same
// converted table at once. Rows are written the way Django's ORM writes them (the INSERTs of the
// fixture's data files, and UPDATEs of the shape its save() and its API's bulk revoke issue), and
// read the way it reads them; every session made by either side is usable by the other.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { SessionManager } from 'nilva-session';
import { KyselySessionAdminStore, KyselySessionStore, migrateFromDjango, migrateSessionStore } from 'nilva-session/kysely';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { defineSessionAdminStoreConformance } from '../../src/testing/admin-store-conformance.js';
import { defineSessionStoreConformance } from '../../src/testing/store-conformance.js';
import {
  type DjangoDatabase,
  FIXTURE_USER_IDS,
  fixtureSessionInserts,
  fixtureStatements,
  fixtureTokens,
  openDjangoDatabase,
} from '../helpers/django-fixture.js';

const quiet = { warn: () => undefined, error: () => undefined };
const tokens = fixtureTokens();
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';

describe.each(['postgres', 'mysql'] as const)('coexistence with the Django app on %s', (dialect) => {
  const q = (name: string) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
  const T = q('user_session');
  /** The id as Django's ORM puts it in SQL on this backend. */
  const djangoId = (id: string) => (dialect === 'mysql' ? id.replaceAll('-', '') : id);
  const yes = dialect === 'mysql' ? '1' : 'true';
  const no = dialect === 'mysql' ? '0' : 'false';

  let django: DjangoDatabase | undefined;
  afterEach(async () => {
    await django?.close();
    django = undefined;
  });

  /** The original's table with half the fixture's sessions, converted for coexistence, then Django inserting the rest. */
  async function halfway(): Promise<{ django: DjangoDatabase; store: KyselySessionStore; manager: SessionManager }> {
    django = await openDjangoDatabase(dialect, ['auth_user', 'ddl']);
    const users = fixtureStatements(dialect, 'data').filter((s) => /^INSERT INTO [`"]auth_user/.test(s));
    const sessions = fixtureSessionInserts(dialect);
    await django.run([...users, ...sessions.slice(0, 6)]);
    const report = await migrateFromDjango(django.db, { dialect, coexistence: true });
    expect(report).toMatchObject({ converted: 6, coexistence: true, rawKeys: true });
    // Django keeps serving: its next six sign-ins, exactly as its ORM inserts them.
    await django.run(sessions.slice(6));
    const store = new KyselySessionStore({ db: django.db, dialect, djangoCoexistence: true });
    return { django, store, manager: new SessionManager({ store, logger: quiet }) };
  }

  test('sessions Django inserts after the conversion authenticate here, each as tokens.csv says', async () => {
    const { django, store, manager } = await halfway();
    expect(await migrateSessionStore(django.db, { dialect })).toEqual({ applied: [] });
    await manager.ready();
    for (const token of tokens) {
      const row = await store.findById(token.id);
      expect(row?.userId, token.id).toBe(FIXTURE_USER_IDS[token.user]);
      const outcome = await manager.authenticate(`Token ${token.key}`, { ip: row?.lastIp ?? '', userAgent: row?.userAgent ?? '' });
      expect(outcome?.ok, `${token.expectedState} ${token.id}`).toBe(token.accepted);
    }
    // The triggers filled what Django does not know, as the conversion did for the older rows.
    const { rows } = await sql<{ id: string; key_prefix: string; end_reason: string | null; same: number | boolean }>`select id,
      key_prefix, end_reason, case when authenticated_at = created_at then 1 else 0 end as same from user_session`.execute(django.db);
    expect(rows).toHaveLength(12);
    for (const row of rows) {
      const token = tokens.find((t) => djangoId(t.id) === row.id);
      expect(token, `row ${row.id} keeps Django's id form`).toBeDefined();
      expect(row.key_prefix).toBe(token?.key.slice(0, 8));
      expect(row.end_reason).toBe(token?.expectedState === 'suspended' ? 'user_agent_changed' : null);
      expect(Number(row.same)).toBe(1);
    }
    await manager.close();
  });

  test('a session created here is what Django’s ORM reads: raw key, its id form, naive UTC times', async () => {
    const { django, manager } = await halfway();
    const { token, session } = await manager.createSession({ userId: FIXTURE_USER_IDS.bob, ip: '198.51.100.9', userAgent: FIREFOX });
    // UserSession.objects.get(key=…), as Django's token authentication issues it.
    const byKey = await sql
      .raw<Record<string, unknown>>(
        `SELECT ${T}.${q('id')}, ${T}.${q('user_id')}, ${T}.${q('key')}, ${T}.${q('expire_at')}, ${T}.${q('is_active')}, ` +
          `${T}.${q('last_online')}, ${T}.${q('last_ip')}, ${T}.${q('user_agent')}, ${T}.${q('detail')}, ${T}.${q('created_at')} ` +
          `FROM ${T} WHERE ${T}.${q('key')} = '${token}' LIMIT 21`,
      )
      .execute(django.db);
    expect(byKey.rows).toHaveLength(1);
    const row = byKey.rows[0] as Record<string, unknown>;
    expect(String(row.id)).toBe(djangoId(session.id));
    expect(Number(row.user_id)).toBe(FIXTURE_USER_IDS.bob);
    expect(row.key).toBe(token);
    expect(row.last_ip).toBe('198.51.100.9');
    expect(row.user_agent).toBe(FIREFOX);
    expect(row.detail).toBeNull();
    expect(Boolean(Number(row.is_active) || row.is_active === true)).toBe(true);
    // Django reads MySQL's datetime(6) as naive UTC, PostgreSQL's timestamptz as it is.
    const text = await sql
      .raw<{ created: string; expires: string }>(
        dialect === 'mysql'
          ? `SELECT CAST(created_at AS CHAR) AS created, CAST(expire_at AS CHAR) AS expires FROM ${T} WHERE id = '${djangoId(session.id)}'`
          : `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS created, to_char(expire_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS expires FROM ${T} WHERE id = '${session.id}'`,
      )
      .execute(django.db);
    const naive = (date: Date | null) => `${date?.toISOString().slice(0, 23).replace('T', ' ')}000`;
    expect(text.rows[0]).toEqual({ created: naive(session.createdAt), expires: naive(session.expireAt) });
    // The token works here, of course.
    expect(await manager.authenticate(`Token ${token}`, { ip: '198.51.100.9', userAgent: FIREFOX })).toMatchObject({ ok: true });
    await manager.close();
  });

  test('revocations cross over: Django’s bulk revoke and suspension end sessions here, and ours end them for Django', async () => {
    const { django, store, manager } = await halfway();
    const facts = { ip: '198.51.100.9', userAgent: FIREFOX };
    const mine = await manager.createSession({ userId: FIXTURE_USER_IDS.carol, ...facts });
    // Django's API DELETE: a bulk UPDATE of the caller's active sessions by id.
    await django.run([
      `UPDATE ${T} SET ${q('is_active')} = ${no} WHERE (${T}.${q('is_active')} AND ${T}.${q('user_id')} = 3 AND ${T}.${q('id')} IN ('${djangoId(mine.session.id)}'))`,
    ]);
    expect(await manager.authenticate(`Token ${mine.token}`, facts)).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_SUSPENDED' } });

    // Django's suspension after a User-Agent change: save() writes every column, by id.
    const active = tokens.find((t) => t.expectedState === 'active' && t.user === 'bob') as (typeof tokens)[number];
    const before = await store.findById(active.id);
    await django.run([
      `UPDATE ${T} SET ${q('user_id')} = 2, ${q('key')} = '${active.key}', ${q('expire_at')} = ${q('expire_at')}, ${q('is_active')} = ${no}, ` +
        `${q('last_online')} = ${q('last_online')}, ${q('last_ip')} = '10.0.0.5', ${q('user_agent')} = '', ` +
        `${q('detail')} = 'User suspended; because user agent changed!', ${q('created_at')} = ${q('created_at')} WHERE ${T}.${q('id')} = '${djangoId(active.id)}'`,
    ]);
    const suspended = await store.findById(active.id);
    expect(suspended).toMatchObject({ isActive: false, endReason: 'user_agent_changed', keyHash: before?.keyHash });
    expect(await manager.authenticate(`Token ${active.key}`, { ip: '10.0.0.5', userAgent: '' })).toMatchObject({ ok: false });

    // And back: Django's admin reactivates it (is_active alone): this library's end reason goes.
    await django.run([`UPDATE ${T} SET ${q('is_active')} = ${yes} WHERE ${T}.${q('id')} = '${djangoId(active.id)}'`]);
    expect(await store.findById(active.id)).toMatchObject({ isActive: true, endReason: null });

    // Revoked here: Django's lookup by key and by id sees it ended.
    const never = tokens.find((t) => t.expectedState === 'never-expires' && t.user === 'alice') as (typeof tokens)[number];
    expect(await manager.revokeSession(never.id, 'logout')).toBe(true);
    const { rows } = await sql
      .raw<{ is_active: unknown }>(
        `SELECT ${q('is_active')} FROM ${T} WHERE ${T}.${q('id')} = '${djangoId(never.id)}' AND ${T}.${q('key')} = '${never.key}'`,
      )
      .execute(django.db);
    expect(rows.map((r) => Number(r.is_active === true ? 1 : r.is_active === false ? 0 : r.is_active))).toEqual([0]);
    // Django's JWT class finds ours by id, too (its UUIDField in SQL).
    const { rows: byId } = await sql
      .raw<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${T} WHERE ${T}.${q('id')} = '${djangoId(mine.session.id)}'`)
      .execute(django.db);
    expect(Number(byId[0]?.n)).toBe(1);
    await manager.close();
  });

  test('ending the coexistence drops the triggers; only then may the raw keys go', async () => {
    const { django, manager } = await halfway();
    await expect(migrateFromDjango(django.db, { dialect, dropRawKeys: true })).rejects.toThrow('end the coexistence first');
    const ended = await migrateFromDjango(django.db, { dialect, endCoexistence: true });
    expect(ended).toMatchObject({ state: 'converted', converted: 0, coexistence: false, rawKeys: true });
    // Without the triggers, Django's INSERT (no key_hash) is refused by the database.
    const key = randomBytes(25).toString('hex');
    const id = randomBytes(16).toString('hex');
    const pgId = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    await expect(
      django.run([
        `INSERT INTO ${T} (${q('id')}, ${q('key')}, ${q('expire_at')}, ${q('is_active')}, ${q('last_online')}, ${q('last_ip')}, ${q('user_agent')}, ${q('detail')}, ${q('created_at')}, ${q('user_id')}) ` +
          `VALUES ('${dialect === 'mysql' ? id : pgId}', '${key}', NULL, ${yes}, '2025-06-01 00:00:00', '10.0.0.1', 'curl/8.5.0', NULL, '2025-06-01 00:00:00', 1)`,
      ]),
    ).rejects.toThrow(/key_hash/);
    const dropped = await migrateFromDjango(django.db, { dialect, dropRawKeys: true });
    expect(dropped).toMatchObject({ rawKeys: false });
    // The store without coexistence serves on; with it, the missing key column is named.
    const plain = new SessionManager({ store: new KyselySessionStore({ db: django.db, dialect }), logger: quiet });
    await plain.ready();
    const token = tokens.find((t) => t.expectedState === 'active') as (typeof tokens)[number];
    const row = await new KyselySessionStore({ db: django.db, dialect }).findById(token.id);
    expect(await plain.authenticate(`Token ${token.key}`, { ip: row?.lastIp ?? '', userAgent: row?.userAgent ?? '' })).toMatchObject({
      ok: true,
    });
    await expect(manager.ready()).rejects.toThrow('has no raw `key` column');
    await plain.close();
    await manager.close();
  });

  test('rollback after a one-shot conversion, as the guide says: the Django app serves the table again', async () => {
    django = await openDjangoDatabase(dialect);
    await migrateFromDjango(django.db, { dialect });
    const manager = new SessionManager({ store: new KyselySessionStore({ db: django.db, dialect }), logger: quiet });
    const created = await manager.createSession({ userId: 1, ip: '10.0.0.1', userAgent: FIREFOX });
    await manager.close();
    // The guide's rollback: on MySQL, the ids back to Django's form first; then the triggers.
    if (dialect === 'mysql') {
      await django.run([
        "UPDATE `user_session` SET `id` = REPLACE(`id`, '-', '')",
        'ALTER TABLE `user_session` MODIFY `id` char(32) NOT NULL',
      ]);
    }
    expect(await migrateFromDjango(django.db, { dialect, coexistence: true })).toMatchObject({ coexistence: true, rawKeys: true });
    // Django's sign-in inserts again, and its lookups and saves by id find the converted rows.
    const id = randomBytes(16).toString('hex');
    const key = randomBytes(25).toString('hex');
    const insertId =
      dialect === 'mysql' ? id : `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    await django.run([
      `INSERT INTO ${T} (${q('id')}, ${q('key')}, ${q('expire_at')}, ${q('is_active')}, ${q('last_online')}, ${q('last_ip')}, ${q('user_agent')}, ${q('detail')}, ${q('created_at')}, ${q('user_id')}) ` +
        `VALUES ('${insertId}', '${key}', NULL, ${yes}, '2025-06-01 00:00:00', '10.0.0.1', 'curl/8.5.0', NULL, '2025-06-01 00:00:00', 1)`,
    ]);
    const converted = tokens.find((t) => t.expectedState === 'active') as (typeof tokens)[number];
    const { rows } = await sql
      .raw<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM ${T} WHERE ${T}.${q('id')} = '${djangoId(converted.id)}' AND ${T}.${q('key')} = '${converted.key}'`,
      )
      .execute(django.db);
    expect(Number(rows[0]?.n)).toBe(1);
    // A session created here meanwhile has no raw key: that user signs in again on Django.
    const { rows: mine } = await sql
      .raw<{ key: string | null }>(`SELECT ${q('key')} AS ${q('key')} FROM ${T} WHERE ${T}.${q('id')} = '${djangoId(created.session.id)}'`)
      .execute(django.db);
    expect(mine).toEqual([{ key: null }]);
  });

  if (dialect === 'mysql') {
    test('coexistence cannot start after a conversion that rewrote the ids (Django looks sessions up by 32-hex ids)', async () => {
      django = await openDjangoDatabase(dialect);
      await migrateFromDjango(django.db, { dialect });
      await expect(migrateFromDjango(django.db, { dialect, coexistence: true })).rejects.toThrow(
        'on MySQL, coexistence must be chosen at the first conversion',
      );
    });
  }
});

// The store conformance suites on a MariaDB table converted for coexistence, whose ids keep
// Django's char(32) form: every method reads and writes that form, and the core sees hyphenated
// UUIDs. One private database, one converted table per test. The suites use user ids up to
// Number.MAX_SAFE_INTEGER and no users table, so these tables take the original's DDL with
// user_id as bigint and without the foreign key to auth_user; the id and every other column are
// as Django creates them.
let shared: Promise<DjangoDatabase> | undefined;
afterAll(async () => {
  if (shared !== undefined) await (await shared).close();
});

/** A fresh original's table under a name of its own, converted for coexistence. */
async function coexistenceTable(): Promise<{ database: DjangoDatabase; tableName: string; drop: () => Promise<void> }> {
  shared ??= openDjangoDatabase('mysql', []);
  const database = await shared;
  const tableName = `user_session_${randomBytes(6).toString('hex')}`;
  const ddl = fixtureStatements('mysql', 'ddl')
    .filter((s) => !s.includes('FOREIGN KEY'))
    .map((s) => s.replace('`user_id` integer NOT NULL', '`user_id` bigint NOT NULL').replaceAll('user_session', tableName));
  await database.run(ddl);
  await migrateFromDjango(database.db, { dialect: 'mysql', tableName, coexistence: true });
  const { rows } = await sql<{ type: string }>`select column_type as type from information_schema.columns
    where table_schema = database() and table_name = ${tableName} and column_name = 'id'`.execute(database.db);
  expect(rows[0]?.type).toBe('char(32)');
  return {
    database,
    tableName,
    drop: async () => {
      await database.run([`DROP TABLE \`${tableName}\``, `DELETE FROM nilva_session_migrations WHERE table_name = '${tableName}'`]);
    },
  };
}

defineSessionStoreConformance(
  'KyselySessionStore with djangoCoexistence on a MariaDB table converted for coexistence (char(32) ids)',
  async () => {
    const { database, tableName, drop } = await coexistenceTable();
    const store = new KyselySessionStore({ db: database.db, dialect: 'mysql', tableName, djangoCoexistence: true });
    return { store, userIdType: 'integer', cleanup: drop };
  },
  { describe, test },
);

defineSessionAdminStoreConformance(
  'KyselySessionAdminStore on a MariaDB table converted for coexistence (char(32) ids)',
  async () => {
    const { database, tableName, drop } = await coexistenceTable();
    const store = new KyselySessionStore({ db: database.db, dialect: 'mysql', tableName });
    const adminStore = new KyselySessionAdminStore({ db: database.db, dialect: 'mysql', tableName });
    return { store, adminStore, userIdType: 'integer', cleanup: drop };
  },
  { describe, test },
);

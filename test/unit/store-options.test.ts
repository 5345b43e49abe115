import { Kysely, SqliteDialect } from 'kysely';
import { describe, expect, test } from 'vitest';
import { connectDatabase } from '../../src/store/connect.js';
import { KyselySessionAdminStore } from '../../src/store/kysely-session-admin-store.js';
import { KyselySessionStore } from '../../src/store/kysely-session-store.js';
import { indexName } from '../../src/store/migrations.js';
import type { SessionDatabase } from '../../src/store/session-table.js';
import { DEFAULT_TABLE_NAME, validateTableName } from '../../src/store/session-table.js';

// A Kysely instance that never connects: the constructor and validation do no I/O.
const db = new Kysely<SessionDatabase>({
  dialect: new SqliteDialect({
    database: async () => {
      throw new Error('no I/O expected');
    },
  }),
});

describe('KyselySessionStore options', () => {
  test('defaults to the user_session table, and to the user id type the table has (unknown before the first query)', () => {
    const store = new KyselySessionStore({ db, dialect: 'sqlite' });
    expect(store.tableName).toBe(DEFAULT_TABLE_NAME);
    expect(store.tableName).toBe('user_session');
    expect(store.userIdType).toBeUndefined();
    expect(new KyselySessionStore({ db, dialect: 'sqlite', userIdType: 'integer' }).userIdType).toBe('integer');
  });

  test('refuses a misspelled option with a TypeError naming it and the nearest valid name, before any I/O', () => {
    const options = { db, dialect: 'sqlite', userIdTYPE: 'integer' } as unknown as ConstructorParameters<typeof KyselySessionStore>[0];
    expect(() => new KyselySessionStore(options)).toThrow(
      new TypeError('nilva-session: unknown option "userIdTYPE" for KyselySessionStore; did you mean "userIdType"?'),
    );
  });

  test.each(['a', '_', 'A_b_9', `t${'x'.repeat(62)}`])('accepts the table name %j', (tableName) => {
    expect(validateTableName(tableName)).toBe(tableName);
  });

  test.each(['', '9a', 'a-b', 'a b', 'a.b', 'a;', 'é', `t${'x'.repeat(63)}`, 'a\u0000'])(
    'refuses the table name %j with a TypeError naming the option',
    (tableName) => {
      expect(() => new KyselySessionStore({ db, dialect: 'sqlite', tableName })).toThrow(TypeError);
      expect(() => new KyselySessionStore({ db, dialect: 'sqlite', tableName })).toThrow(/option "tableName"/);
    },
  );

  test('refuses an unknown dialect or user id type, naming the option', () => {
    expect(() => new KyselySessionStore({ db, dialect: 'mssql' as 'sqlite' })).toThrow(/option "dialect"/);
    expect(() => new KyselySessionStore({ db, dialect: 'sqlite', userIdType: 'number' as 'integer' })).toThrow(/option "userIdType"/);
  });

  test('djangoCoexistence is a boolean, for PostgreSQL and MySQL only; the admin store does not take it', () => {
    expect(() => new KyselySessionStore({ db, dialect: 'postgres', djangoCoexistence: 'yes' as unknown as boolean })).toThrow(
      /option "djangoCoexistence" must be a boolean/,
    );
    expect(() => new KyselySessionStore({ db, dialect: 'sqlite', djangoCoexistence: true })).toThrow(
      /option "djangoCoexistence" is for PostgreSQL and MySQL\/MariaDB/,
    );
    expect(new KyselySessionStore({ db, dialect: 'mysql', djangoCoexistence: true }).djangoCoexistence).toBe(true);
    expect(new KyselySessionStore({ db, dialect: 'mysql' }).djangoCoexistence).toBe(false);
    expect(() => new KyselySessionAdminStore({ db, dialect: 'mysql', djangoCoexistence: true } as never)).toThrow(
      /unknown option "djangoCoexistence" for KyselySessionAdminStore/,
    );
  });

  test('refuses something that is not a Kysely instance as db', () => {
    expect(() => new KyselySessionStore({ db: {} as typeof db, dialect: 'sqlite' })).toThrow(/option "db"/);
  });

  test('a non-positive or fractional purge limit is a TypeError, before any I/O', async () => {
    const store = new KyselySessionStore({ db, dialect: 'sqlite' });
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(store.deleteExpired({ before: new Date(), limit })).rejects.toThrow(TypeError);
    }
  });

  test('malformed ids are unknown without touching the database', async () => {
    const store = new KyselySessionStore({ db, dialect: 'postgres' });
    expect(await store.findById('not-a-uuid')).toBeUndefined();
    expect(await store.deactivate(['not-a-uuid', ''], { reason: 'logout', detail: 'Logged out.' })).toEqual([]);
    await store.updateLastIp('not-a-uuid', '127.0.0.1');
    await store.touch([{ id: 'not-a-uuid', lastOnline: new Date() }]);
  });
});

describe('indexName', () => {
  test('is table_suffix when that fits in 63 characters', () => {
    expect(indexName('user_session', 'expire_at_idx')).toBe('user_session_expire_at_idx');
  });

  test('shortens long table names to 63 characters, keeping names of different tables apart', () => {
    const a = indexName(`${'t'.repeat(62)}a`, 'active_last_online_idx');
    const b = indexName(`${'t'.repeat(62)}b`, 'active_last_online_idx');
    expect(a).toHaveLength(63);
    expect(b).toHaveLength(63);
    expect(a).not.toBe(b);
    expect(a.endsWith('_active_last_online_idx')).toBe(true);
  });
});

describe('connectDatabase', () => {
  test.each(['redis://127.0.0.1:6379', 'mssql://sa@host/db', 'http://example.com', 'no-scheme-at-all', ''])(
    'refuses %j with a TypeError listing the supported schemes',
    async (url) => {
      await expect(connectDatabase(url)).rejects.toThrow(TypeError);
      await expect(connectDatabase(url)).rejects.toThrow(/postgres:\/\/.*mysql:\/\/.*sqlite:/);
    },
  );

  test('does not repeat the URL (which may hold a password) in the error', async () => {
    await expect(connectDatabase('oracle://admin:s3cret@db/prod')).rejects.not.toThrow(/s3cret/);
  });

  test('refuses a SQLite URL without a path', async () => {
    await expect(connectDatabase('sqlite:')).rejects.toThrow(TypeError);
  });
});

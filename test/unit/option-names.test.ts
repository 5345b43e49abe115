// A misspelled option is a TypeError naming it and the nearest valid name, on every constructor
// that takes options, before any I/O; never silently ignored.
import { Kysely, SqliteDialect } from 'kysely';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { SessionPages } from 'nilva-session/admin';
import { SessionApi } from 'nilva-session/http';
import { connectDatabase, KyselySessionAdminStore, KyselySessionStore, migrateSessionStore } from 'nilva-session/kysely';
import { createRedisSessionCache, RedisSessionCache } from 'nilva-session/redis';
import { describe, expect, test } from 'vitest';
import { nearestName } from '../../src/lib/option-names.js';
import type { SessionDatabase } from '../../src/store/session-table.js';

const db = new Kysely<SessionDatabase>({
  dialect: new SqliteDialect({
    database: async () => {
      throw new Error('no I/O expected');
    },
  }),
});
const store = new KyselySessionStore({ db, dialect: 'sqlite', userIdType: 'integer' });

/** `options` as if they came from JavaScript or a config file: unchecked by the compiler. */
function loose(options: Record<string, unknown>): never {
  return options as never;
}

const message = (name: string, owner: string, nearest: string) =>
  `nilva-session: unknown option "${name}" for ${owner}; did you mean "${nearest}"?`;

describe('unknown option names', () => {
  test('SessionManager: cacheTTL → cacheTtlSeconds', () => {
    expect(() => new SessionManager(loose({ store, cacheTTL: 60 }))).toThrow(
      new TypeError(message('cacheTTL', 'SessionManager', 'cacheTtlSeconds')),
    );
  });

  test('SessionManager: a misspelled jwt option', () => {
    const jwt = { signingKey: 'k'.repeat(32), acessTokenTtlSeconds: 60 };
    expect(() => new SessionManager(loose({ store, jwt }))).toThrow(
      new TypeError(message('acessTokenTtlSeconds', 'the "jwt" option', 'accessTokenTtlSeconds')),
    );
  });

  test('SessionApi, SessionPages and its paths', () => {
    const manager = new SessionManager({ store });
    expect(() => new SessionApi(loose({ manager, verifyCredentials: () => null, verifyCredential: () => null }))).toThrow(
      new TypeError(message('verifyCredential', 'SessionApi', 'verifyCredentials')),
    );
    const api = new SessionApi({ manager, verifyCredentials: () => null });
    expect(() => new SessionPages(loose({ api, isstaff: () => true }))).toThrow(
      new TypeError(message('isstaff', 'SessionPages', 'isStaff')),
    );
    expect(() => new SessionPages(loose({ api, paths: { device: '/d' } }))).toThrow(
      new TypeError(message('device', 'the "paths" option of SessionPages', 'devices')),
    );
  });

  test('the stores, migrateSessionStore and connectDatabase', async () => {
    expect(() => new KyselySessionStore(loose({ db, dialect: 'sqlite', table: 'x' }))).toThrow(
      /unknown option "table" for KyselySessionStore/,
    );
    expect(() => new KyselySessionAdminStore(loose({ db, dialect: 'sqlite', userIDType: 'integer' }))).toThrow(
      new TypeError(message('userIDType', 'KyselySessionAdminStore', 'userIdType')),
    );
    await expect(migrateSessionStore(db, loose({ dialect: 'sqlite', userIdTypes: 'integer' }))).rejects.toThrow(
      new TypeError(message('userIdTypes', 'migrateSessionStore', 'userIdType')),
    );
    await expect(connectDatabase('sqlite::memory:', loose({ verfy: false }))).rejects.toThrow(
      new TypeError(message('verfy', 'connectDatabase', 'verify')),
    );
  });

  test('the caches: localTTL → localTtlSeconds', async () => {
    expect(() => new MemorySessionCache(loose({ maxSize: 10 }))).toThrow(
      /unknown option "maxSize" for MemorySessionCache; did you mean "max"\?/,
    );
    await expect(createRedisSessionCache(loose({ url: 'redis://127.0.0.1:1', localTTL: 5 }))).rejects.toThrow(
      new TypeError(message('localTTL', 'createRedisSessionCache', 'localTtlSeconds')),
    );
    const client = { sendCommand: async () => null, isReady: true, on: () => undefined };
    expect(() => new RedisSessionCache(loose({ client, namespce: 'x:' }))).toThrow(
      new TypeError(message('namespce', 'RedisSessionCache', 'namespace')),
    );
  });

  test('a name close to none lists the valid ones', () => {
    expect(() => new MemorySessionCache(loose({ colour: 'blue' }))).toThrow(
      new TypeError('nilva-session: unknown option "colour" for MemorySessionCache; the options are "max", "clock"'),
    );
  });
});

describe('nearestName', () => {
  const known = ['cacheTtlSeconds', 'sessionTtlSeconds', 'touchIntervalSeconds', 'store', 'logger', 'clock'];
  test.each([
    ['cacheTTL', 'cacheTtlSeconds'],
    ['cache_ttl_seconds', 'cacheTtlSeconds'],
    ['sesionTtlSeconds', 'sessionTtlSeconds'],
    ['loger', 'logger'],
    ['stroe', 'store'],
  ])('%s → %s', (name, nearest) => {
    expect(nearestName(name, known)).toBe(nearest);
  });

  test.each(['colour', 'xyz', 'ttl'])('%s → none', (name) => {
    expect(nearestName(name, known)).toBeUndefined();
  });
});

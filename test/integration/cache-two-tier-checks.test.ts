// The whole engine on the two-tier cache, two instances on one PostgreSQL table and one Redis:
// every check of a miss runs on a hit too (B's copy came from Redis and B never read the row),
// a revocation that lands between a miss's database read and its cache fill cannot be
// re-cached, and a suspension writes only is_active and detail even from a stale copy.
import { createClient } from '@redis/client';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RedisSessionCache } from '../../src/cache/redis-session-cache.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { hashData } from '../../src/tokens/opaque-token.js';
import { ObservedStore } from '../helpers/observed-store.js';
import { CHROME, type Cluster, type Credentials, FACTS, SIGNING_KEY, startCluster, until } from '../helpers/two-instances.js';
import { userCallbacks } from '../helpers/users.js';

const IDLE_S = 600;
const TOUCH_S = 60;
/** Users the application bars at once: its isUserActive reads this on every request. */
const barred = new Set<number>();
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    label: 'two-tier-checks',
    frameworks: null,
    manager: {
      idleTimeoutSeconds: IDLE_S,
      touchIntervalSeconds: TOUCH_S,
      isUserActive: (user) => user.isActive && !barred.has(user.id),
    },
  });
});

afterAll(async () => {
  await cluster?.close();
});

/** A fresh session, warm on A (read from the database, filled) and on B (promoted from Redis). */
async function warmSession(options: { expireAt?: Date } = {}): Promise<Credentials> {
  const { a, b } = cluster;
  const s = await cluster.newSession(cluster.newUser(), options);
  const bQueries = b.queries.count;
  for (const instance of [a, b]) {
    for (const header of [s.tokenHeader, s.bearerHeader]) {
      expect(await instance.manager.authenticate(header, FACTS)).toMatchObject({ ok: true });
      expect(sync(instance.manager.authenticate(header, FACTS))).toMatchObject({ ok: true }); // a local hit
    }
  }
  expect(b.queries.count).toBe(bQueries);
  return s;
}

/** The outcome of a call that must answer synchronously (a local hit). */
function sync(value: unknown) {
  expect(value).not.toBeInstanceOf(Promise);
  return value;
}

async function row(id: string): Promise<Record<string, unknown>> {
  const result = await sql<Record<string, unknown>>`select * from ${sql.table(cluster.database.tableName)} where id = ${id}`.execute(
    cluster.database.db,
  );
  const found = result.rows[0];
  if (found === undefined) throw new Error(`no row ${id}`);
  return found;
}

describe('checks on hits of the two-tier cache', () => {
  test('expiry: B accepts its copy 1 ms before expire_at and refuses it at expire_at, without the database', async () => {
    const { b, clock } = cluster;
    const expireAt = clock.now() + 60_000;
    const s = await warmSession({ expireAt: new Date(expireAt) });
    const before = b.queries.count;
    clock.set(expireAt - 1);
    for (const header of [s.tokenHeader, s.bearerHeader]) expect(sync(b.manager.authenticate(header, FACTS))).toMatchObject({ ok: true });
    clock.set(expireAt);
    for (const header of [s.tokenHeader, s.bearerHeader]) {
      expect(sync(b.manager.authenticate(header, FACTS))).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_EXPIRED' } });
    }
    expect(b.queries.count).toBe(before);
  });

  test('the user-active check runs on every hit: a barred user is refused from the copy, and let in again once allowed', async () => {
    const { a, b } = cluster;
    const s = await warmSession();
    const before = b.queries.count;
    barred.add(s.userId);
    try {
      for (const instance of [a, b]) {
        for (const header of [s.tokenHeader, s.bearerHeader]) {
          expect(sync(instance.manager.authenticate(header, FACTS))).toMatchObject({ ok: false, error: { code: 'ERR_USER_INACTIVE' } });
        }
      }
    } finally {
      barred.delete(s.userId);
    }
    expect(sync(b.manager.authenticate(s.tokenHeader, FACTS))).toMatchObject({ ok: true });
    expect(b.queries.count).toBe(before);
  });

  test('idle timeout: activity through A keeps the session alive for B (the store decides on a stale copy); idle past it, both refuse', async () => {
    const { a, b, clock } = cluster;
    const s = await warmSession();
    clock.advance(500_000);
    expect(await a.manager.authenticate(s.tokenHeader, FACTS)).toMatchObject({ ok: true }); // touches
    await a.manager.flush();

    // B's copy says last_online was 700 s ago; the row says 200 s.
    clock.advance(200_000);
    const before = b.queries.count;
    expect(await b.manager.authenticate(s.tokenHeader, FACTS)).toMatchObject({ ok: true });
    expect(b.queries.count).toBe(before + 1);
    await b.manager.flush();

    clock.advance(IDLE_S * 1000);
    expect(await b.manager.authenticate(s.tokenHeader, FACTS)).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_IDLE' } });
    expect(await until(() => a.cache.local.byId(s.sessionId) === undefined, 2000)).toBe(true);
    expect(await a.manager.authenticate(s.tokenHeader, FACTS)).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_SUSPENDED' } });
    expect(await row(s.sessionId)).toMatchObject({ is_active: false, detail: 'Ended: idle for too long.' });
  });

  test('idle timeout: requests less than idle − touch interval apart, served by either instance, never end a session', async () => {
    const { a, b, clock } = cluster;
    const s = await warmSession();
    // Seconds between requests, alternating A and B: activity between two touches is not
    // written, so the guarantee is idleTimeoutSeconds − touchIntervalSeconds (540 s here).
    const gaps = [59, 539, 1, 58, 539, 30, 539];
    for (const [i, gap] of gaps.entries()) {
      clock.advance(gap * 1000);
      const instance = i % 2 === 0 ? a : b;
      expect([gap, await instance.manager.authenticate(s.tokenHeader, FACTS)]).toMatchObject([gap, { ok: true }]);
      // The write-behind timer runs every second; the fake clock jumps minutes.
      await a.manager.flush();
      await b.manager.flush();
    }
    clock.advance(IDLE_S * 1000);
    expect(await b.manager.authenticate(s.tokenHeader, FACTS)).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_IDLE' } });
  });

  test('user agent: B suspends from a stale copy, writing only is_active, detail and end_reason; A refuses too', async () => {
    const { a, b, clock } = cluster;
    const s = await warmSession();
    // A records a new address and a later last_online; B's copy knows neither.
    expect(await a.manager.authenticate(s.tokenHeader, { ...FACTS, ip: '198.51.100.23' })).toMatchObject({ ok: true });
    clock.advance((TOUCH_S + 1) * 1000);
    expect(await a.manager.authenticate(s.tokenHeader, { ...FACTS, ip: '198.51.100.23' })).toMatchObject({ ok: true });
    await a.manager.flush();
    expect(b.cache.local.byId(s.sessionId)).toMatchObject({ lastIp: '127.0.0.1' });
    const before = await row(s.sessionId);
    expect(before).toMatchObject({ last_ip: '198.51.100.23', is_active: true, detail: null });

    const outcome = await b.manager.authenticate(s.tokenHeader, { ...FACTS, userAgent: CHROME });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'ERR_USER_AGENT_CHANGED', message: 'User session is suspended.' } });
    await b.manager.flush();
    await a.manager.flush();
    expect(await row(s.sessionId)).toEqual({
      ...before,
      is_active: false,
      detail: 'User suspended; because user agent changed!',
      end_reason: 'user_agent_changed',
    });

    expect(await until(() => a.cache.local.byId(s.sessionId) === undefined, 2000)).toBe(true);
    for (const instance of [a, b]) {
      expect(await instance.manager.authenticate(s.tokenHeader, FACTS)).toMatchObject({
        ok: false,
        error: { code: 'ERR_SESSION_SUSPENDED' },
      });
      expect(await instance.manager.authenticate(s.bearerHeader, FACTS)).toMatchObject({
        ok: false,
        error: { message: 'User is suspended.' },
      });
    }
  });
});

describe('a revocation between a miss’s database read and its cache fill', () => {
  for (const scheme of ['token', 'bearer'] as const) {
    test(`through A, heard by B before its fill: B drops the fill (${scheme})`, async () => {
      const { a, b } = cluster;
      const s = await cluster.newSession(cluster.newUser());
      const header = scheme === 'token' ? s.tokenHeader : s.bearerHeader;
      const held = b.store.holdNextRead();
      const pending = b.manager.authenticate(header, FACTS);
      expect(await held.read).toMatchObject({ id: s.sessionId, isActive: true });

      const epoch = b.cache.epoch();
      expect(await a.manager.revokeSession(s.sessionId, 'admin')).toBe(true);
      expect(await until(() => b.cache.epoch() !== epoch, 2000)).toBe(true);
      held.release();
      // Read before the revocation, the request is answered as of then; its row is not kept.
      expect(await pending).toMatchObject({ ok: true });

      expect(b.cache.local.byId(s.sessionId)).toBeUndefined();
      expect(await b.cache.remote.lookup('id', s.sessionId)).toBeUndefined();
      expect(await b.cache.remote.lookup('keyHash', hashData(s.token))).toBeUndefined();
      for (const instance of [a, b]) expect(await instance.manager.authenticate(header, FACTS)).toMatchObject({ ok: false });
    });
  }

  test('through B itself: its own fill is dropped', async () => {
    const { b } = cluster;
    const s = await cluster.newSession(cluster.newUser());
    const held = b.store.holdNextRead();
    const pending = b.manager.authenticate(s.tokenHeader, FACTS);
    await held.read;
    expect(await b.manager.revokeSession(s.sessionId, 'logout')).toBe(true);
    held.release();
    expect(await pending).toMatchObject({ ok: true });
    expect(b.cache.local.byId(s.sessionId)).toBeUndefined();
    expect(await b.cache.remote.lookup('id', s.sessionId)).toBeUndefined();
    expect(await b.manager.authenticate(s.tokenHeader, FACTS)).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_SUSPENDED' } });
  });

  test('through A, by an instance that cannot hear it (a Redis tier without subscriber): the tombstone refuses the fill', async () => {
    const { a, b } = cluster;
    const client = createClient({ url: cluster.redisUrl, disableOfflineQueue: true });
    client.on('error', () => undefined);
    const deaf = new RedisSessionCache({
      client,
      namespace: cluster.namespace,
      logger: { warn: () => undefined },
      onClose: () => client.close(),
    });
    await client.connect();
    expect(await deaf.ready(5000)).toBe(true);
    const store = new ObservedStore(cluster.database.store);
    const c = new SessionManager({
      store,
      cache: deaf,
      loadUser: userCallbacks(cluster.users).loadUser,
      jwt: { signingKey: SIGNING_KEY },
      clock: cluster.clock.now,
      logger: { warn: () => undefined },
    });
    try {
      const s = await cluster.newSession(cluster.newUser());
      const held = store.holdNextRead();
      const pending = c.authenticate(s.tokenHeader, FACTS);
      await held.read;
      const epoch = deaf.epoch();
      expect(await a.manager.revokeSession(s.sessionId, 'admin')).toBe(true);
      held.release();
      expect(await pending).toMatchObject({ ok: true });
      expect(deaf.epoch()).toBe(epoch); // it heard nothing: only the tombstone stood in the way
      expect(await deaf.lookup('keyHash', hashData(s.token))).toBeUndefined();
      expect(await deaf.lookup('id', s.sessionId)).toBeUndefined();
      for (const m of [c, b.manager]) {
        expect(await m.authenticate(s.tokenHeader, FACTS)).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_SUSPENDED' } });
      }
    } finally {
      await c.close();
      await deaf.close();
    }
  });
});

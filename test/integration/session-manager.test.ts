// The session engine on its own, with a fake clock, against every real store.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import type { SessionManagerOptions } from '../../src/core/config.js';
import type { SessionEvent } from '../../src/core/events.js';
import { type AuthOutcome, SessionManager } from '../../src/core/session-manager.js';
import { connectDatabase, KyselySessionStore } from '../../src/store/index.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const UA_CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const facts = { ip: '10.1.1.1', userAgent: UA };

async function outcome<T>(value: AuthOutcome<T> | undefined | Promise<AuthOutcome<T> | undefined>) {
  const o = await value;
  if (o === undefined) throw new Error('anonymous');
  return o;
}

describe.each(DIALECTS)('SessionManager on %s', (dialect) => {
  let database: TestDatabase;
  let userSeq = 1;
  const managers: SessionManager<unknown>[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
  });
  afterAll(async () => {
    for (const m of managers) await m.close();
    await database?.close();
  });

  function make(options: Partial<SessionManagerOptions<unknown>> = {}) {
    const clock = new FakeClock();
    const events: SessionEvent[] = [];
    const manager = new SessionManager({
      store: database.store,
      cache: new MemorySessionCache(),
      clock: clock.now,
      onEvent: (e) => events.push(e),
      logger: { warn: () => undefined },
      ...options,
    });
    managers.push(manager);
    return { manager, clock, events, userId: `u${userSeq++}` };
  }

  test('createSession: expires after sessionTtlSeconds unless the caller says otherwise', async () => {
    const { manager, clock, userId } = make({ sessionTtlSeconds: 3600 });
    const { session } = await manager.createSession({ userId, ip: '10.0.0.1', userAgent: UA });
    expect(session.expireAt?.getTime()).toBe(clock.now() + 3_600_000);
    const forever = await manager.createSession({ userId, expireAt: null });
    expect(forever.session.expireAt).toBeNull();
    expect(forever.session.userAgent).toBe('');
  });

  test('authenticate: a warm in-process cache answers synchronously', async () => {
    const { manager, userId } = make();
    const { token } = await manager.createSession({ userId, ...facts });
    const first = manager.authenticate(`Token ${token}`, facts);
    expect(first).toBeInstanceOf(Promise);
    expect((await outcome(first)).ok).toBe(true);
    const second = manager.authenticate(`Token ${token}`, facts);
    expect(second).not.toBeInstanceOf(Promise);
    expect((second as AuthOutcome<unknown>).ok).toBe(true);
  });

  test('authenticate: expiry is checked on cache hits too, at exactly expire_at', async () => {
    const { manager, clock, userId } = make({ sessionTtlSeconds: 60 });
    const { token } = await manager.createSession({ userId, ...facts });
    expect((await outcome(manager.authenticate(`Token ${token}`, facts))).ok).toBe(true);
    clock.advance(59_999);
    expect((await outcome(manager.authenticate(`Token ${token}`, facts))).ok).toBe(true);
    clock.advance(1);
    const o = await outcome(manager.authenticate(`Token ${token}`, facts));
    expect(o.ok === false && o.error.code).toBe('ERR_SESSION_EXPIRED');
  });

  test('idle timeout: activity resets it; past it the session ends (warm cache too)', async () => {
    const { manager, clock, userId, events } = make({ idleTimeoutSeconds: 1800, touchIntervalSeconds: 60 });
    const { token, session } = await manager.createSession({ userId, ...facts });
    expect((await outcome(manager.authenticate(`Token ${token}`, facts))).ok).toBe(true);
    clock.advance(1_799_000);
    expect((await outcome(manager.authenticate(`Token ${token}`, facts))).ok).toBe(true);
    await manager.flush();
    clock.advance(1_800_000);
    const o = await outcome(manager.authenticate(`Token ${token}`, facts));
    expect(o.ok === false && o.error.code).toBe('ERR_SESSION_IDLE');
    const later = await outcome(manager.authenticate(`Token ${token}`, facts));
    expect(later.ok === false && later.error.code).toBe('ERR_SESSION_SUSPENDED');
    expect(events.some((e) => e.type === 'session_revoked' && e.sessionId === session.id && e.reason === 'idle_timeout')).toBe(true);
  });

  test('userAgentPolicy strict suspends on a version bump; ignore never suspends', async () => {
    const bumped = UA.replace('121.0', '122.0');
    const strict = make({ userAgentPolicy: 'strict' });
    const a = await strict.manager.createSession({ userId: strict.userId, ...facts });
    const o = await outcome(strict.manager.authenticate(`Token ${a.token}`, { ...facts, userAgent: bumped }));
    expect(o.ok === false && o.error.code).toBe('ERR_USER_AGENT_CHANGED');
    const ignore = make({ userAgentPolicy: 'ignore' });
    const b = await ignore.manager.createSession({ userId: ignore.userId, ...facts });
    expect((await outcome(ignore.manager.authenticate(`Token ${b.token}`, { ...facts, userAgent: UA_CHROME }))).ok).toBe(true);
  });

  test('maxSessionsPerUser: a new login ends the least recently used session', async () => {
    const { manager, clock, userId } = make({ maxSessionsPerUser: 2 });
    const s1 = await manager.createSession({ userId, ...facts });
    clock.advance(1000);
    const s2 = await manager.createSession({ userId, ...facts });
    clock.advance(120_000);
    expect((await outcome(manager.authenticate(`Token ${s1.token}`, facts))).ok).toBe(true); // s1 now most recent
    await manager.flush();
    await manager.createSession({ userId, ...facts });
    expect((await outcome(manager.authenticate(`Token ${s1.token}`, facts))).ok).toBe(true);
    const evicted = await outcome(manager.authenticate(`Token ${s2.token}`, facts));
    expect(evicted.ok === false && evicted.error.code).toBe('ERR_SESSION_SUSPENDED');
    expect((await manager.listSessions(userId)).length).toBe(2);
  });

  test('a User-Agent past MAX_USER_AGENT_LENGTH is stored cut, and the same header still matches under the strict policy', async () => {
    const { manager, userId } = make({ userAgentPolicy: 'strict' });
    const long = `${UA} ${'x'.repeat(5000)}`;
    const { token, session } = await manager.createSession({ userId, ip: '10.0.0.1', userAgent: long });
    expect(session.userAgent).toBe(long.slice(0, 1024));
    expect((await database.store.findById(session.id))?.userAgent).toBe(long.slice(0, 1024));
    expect((await outcome(manager.authenticate(`Token ${token}`, { ip: '10.0.0.1', userAgent: long }))).ok).toBe(true);
    // What is kept is compared whole: a difference inside it is a change.
    const differs = `${long.slice(0, 1000)}y${long.slice(1001)}`;
    const o = await outcome(manager.authenticate(`Token ${token}`, { ip: '10.0.0.1', userAgent: differs }));
    expect(o.ok === false && o.error.code).toBe('ERR_USER_AGENT_CHANGED');
  });

  test('sessionLimitAction refuse: a login at the cap fails with ERR_SESSION_LIMIT and ends nothing', async () => {
    const { manager, userId } = make({ maxSessionsPerUser: 2, sessionLimitAction: 'refuse' });
    const s1 = await manager.createSession({ userId, ...facts });
    const s2 = await manager.createSession({ userId, ...facts });
    await expect(manager.createSession({ userId, ...facts })).rejects.toMatchObject({ code: 'ERR_SESSION_LIMIT' });
    for (const s of [s1, s2]) expect((await outcome(manager.authenticate(`Token ${s.token}`, facts))).ok).toBe(true);
    expect((await manager.listSessions(userId)).map((s) => s.id).sort()).toEqual([s1.session.id, s2.session.id].sort());
    // Signing out somewhere makes room.
    await manager.revokeSession(s1.session.id);
    expect((await manager.createSession({ userId, ...facts })).session.userId).toBe(userId);
  });

  test('sessionLimitAction refuse: concurrent logins never leave more than the cap', async () => {
    const { manager, userId } = make({ maxSessionsPerUser: 3, sessionLimitAction: 'refuse' });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => manager.createSession({ userId, ...facts })));
    const won = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.every((r) => (r.reason as { code?: string }).code === 'ERR_SESSION_LIMIT')).toBe(true);
    const active = await manager.listSessions(userId);
    expect(active.length).toBeLessThanOrEqual(3);
    // Every login that was answered with a session holds one of the active ones.
    expect(won.map((r) => r.value.session.id).sort()).toEqual(active.map((s) => s.id).sort());
  });

  test('revokeAllForUser: except the current session; warm caches refuse the rest at once', async () => {
    const { manager, userId } = make();
    const keep = await manager.createSession({ userId, ...facts });
    const gone = await manager.createSession({ userId, ...facts });
    for (const s of [keep, gone]) expect((await outcome(manager.authenticate(`Token ${s.token}`, facts))).ok).toBe(true);
    expect(await manager.revokeAllForUser(userId, { exceptId: keep.session.id })).toBe(1);
    expect((await outcome(manager.authenticate(`Token ${keep.token}`, facts))).ok).toBe(true);
    expect((await outcome(manager.authenticate(`Token ${gone.token}`, facts))).ok).toBe(false);
  });

  test('purgeExpired: deletes expired and long-inactive rows in batches, never live ones', async () => {
    const { manager, clock, userId, events } = make({ sessionTtlSeconds: 60 });
    const live = await manager.createSession({ userId, ...facts, expireAt: new Date(clock.now() + 40 * 86_400_000) });
    for (let i = 0; i < 5; i++) await manager.createSession({ userId, ...facts });
    const ended = await manager.createSession({ userId, ...facts, expireAt: null });
    await manager.revokeSession(ended.session.id);
    clock.advance(31 * 86_400_000);
    const result = await manager.purgeExpired({ batchSize: 2, inactiveRetentionSeconds: 30 * 86_400 });
    expect(result.deleted).toBeGreaterThanOrEqual(6);
    expect(result.batches).toBeGreaterThanOrEqual(4);
    expect((await manager.listSessions(userId)).map((s) => s.id)).toEqual([live.session.id]);
    expect(await database.store.findById(ended.session.id)).toBeUndefined();
    expect(events.some((e) => e.type === 'sessions_purged')).toBe(true);
  });

  test('events carry ids and never the token', async () => {
    const { manager, events, userId } = make();
    const { token, session } = await manager.createSession({ userId, ...facts });
    await outcome(manager.authenticate(`Token ${token}`, { ...facts, ip: '10.9.9.9' }));
    await outcome(manager.authenticate(`Token ${token}`, { ...facts, userAgent: UA_CHROME }));
    expect(events.map((e) => e.type)).toEqual(['session_created', 'session_ip_changed', 'session_suspended']);
    expect(events.every((e) => !('sessionId' in e) || e.sessionId === session.id)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(token);
  });
});

describe('SessionManager when the database is unreachable', () => {
  test('authentication fails with ERR_STORE_UNAVAILABLE (503), never a pass or a 401', async () => {
    const database = await connectDatabase('postgres://postgres@127.0.0.1:1/test', { verify: false });
    const manager = new SessionManager({
      store: new KyselySessionStore({ db: database.db, dialect: database.dialect }),
      logger: { warn: () => undefined },
    });
    try {
      const o = await outcome(manager.authenticate(`Token ${'a'.repeat(50)}`, facts));
      expect(o.ok === false && o.error.code).toBe('ERR_STORE_UNAVAILABLE');
      await expect(manager.createSession({ userId: 1 })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      await expect(manager.listSessions(1)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    } finally {
      await manager.close();
      await database.close();
    }
  });
});

// An acknowledged revocation must not be undone through Redis by a crash. Two ways it was, both
// found by test/integration/crash-consistency.test.ts (SIGKILLs on two busy cores), each with its
// regression test here:
//
// 1. A Redis read that timed out (the process starved for 500 ms) made the cache skip every
//    command for the next second (its circuit breaker), invalidations included; those were kept
//    in memory for a replay, the logout was answered 204, the process was SIGKILLed before the
//    replay, and every process started later accepted the logged-out token from Redis (until the
//    entry's TTL, 15 minutes by default). An invalidation is now always sent while the
//    connection is up.
// 2. A process killed between a revocation's database write and its invalidation leaves the
//    session in Redis although its row is inactive. Revoking it again is the repair (the client
//    got no answer, so it retries), but only `logout` cleared the caches of a session found
//    ended already: `DELETE active?token_id=…` answered 204 and left it served from Redis. Both
//    clear it now.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import { sessionEnd } from '../../src/core/end-details.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { bundleCrashWorker, type CrashWorker, startCrashWorker } from '../helpers/crash-cluster.js';
import { openTestDatabase, TEST_DATABASE_URLS, type TestDatabase } from '../helpers/databases.js';
import { type PrivateRedis, rawClient, startPrivateRedis, uniqueNamespace } from '../helpers/redis.js';
import { FACTS, propagation, SIGNING_KEY, startCluster } from '../helpers/two-instances.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';

let database: TestDatabase;
let redis: PrivateRedis;
let bundle: Awaited<ReturnType<typeof bundleCrashWorker>>;
const workers: CrashWorker[] = [];
const unexpectedExits: string[] = [];

beforeAll(async () => {
  [database, redis, bundle] = await Promise.all([
    openTestDatabase('postgres', { userIdType: 'integer' }),
    startPrivateRedis(),
    bundleCrashWorker(),
  ]);
});

afterAll(async () => {
  redis?.resume();
  for (const worker of workers) await worker.kill().catch(() => undefined);
  await bundle?.remove();
  await redis?.stop();
  await database?.close();
});

async function start(env: Record<string, string>): Promise<CrashWorker> {
  const worker = await startCrashWorker(bundle.path, env, (message) => unexpectedExits.push(message));
  workers.push(worker);
  return worker;
}

test('a logout answered while the cache was backing off from a Redis timeout is still refused after a SIGKILL', async () => {
  const env = {
    CRASH_DATABASE_URL: TEST_DATABASE_URLS.postgres,
    CRASH_TABLE: database.tableName,
    CRASH_REDIS_URL: redis.url,
    CRASH_NAMESPACE: uniqueNamespace('crash-redis-invalidation'),
    CRASH_SIGNING_KEY: `crash-redis-invalidation-${randomBytes(16).toString('hex')}`,
    CRASH_USERS: '1',
  };
  const a = await start(env);
  const ask = (worker: CrashWorker, method: string, path: string, options: { authorization?: string; body?: unknown } = {}) =>
    worker.request(method, path, { kind: 'any', userAgent: FIREFOX, ...options });

  const login = await ask(a, 'POST', '/api/login', { body: { username: 'user1', password: 'pw-1' } });
  expect(login).toMatchObject({ acked: true, status: 200 });
  const token = String((login as { json: { token: string } }).json.token);
  const authorization = `Token ${token}`;
  // Cached on A and in Redis.
  expect(await ask(a, 'GET', '/api/me', { authorization })).toMatchObject({ acked: true, status: 200 });
  const client = await rawClient(redis.url);
  const cachedKeys = async () => (await client.sendCommand(['KEYS', `${env.CRASH_NAMESPACE}user_session*`])) as string[];
  expect((await cachedKeys()).filter((key) => !key.includes('tombstone'))).toHaveLength(2);

  // One command of A times out (a token A has not cached sends a Redis read), then Redis answers
  // again at once: A backs off from Redis for retryAfterMs (1 s) after the timeout.
  redis.pause();
  const unknown = await ask(a, 'GET', '/api/me', { authorization: `Token ${'x'.repeat(50)}` });
  redis.resume();
  expect(unknown).toMatchObject({ acked: true, status: 401 });

  // Within that second: the logout is acknowledged, and A dies before any replay.
  expect(await ask(a, 'POST', '/api/logout', { authorization })).toMatchObject({ acked: true, status: 204 });
  await a.kill();

  // The token is refused by a process started after, which reads Redis first.
  const b = await start(env);
  expect(await ask(b, 'GET', '/api/me', { authorization })).toMatchObject({ acked: true, status: 401 });
  expect((await cachedKeys()).filter((key) => !key.includes('tombstone'))).toEqual([]);
  await client.close();
  expect(unexpectedExits).toEqual([]);
});

test('DELETE active?token_id= of a session a killed process had ended (row written, Redis not) clears it from Redis and every process', async () => {
  const cluster = await startCluster({ label: 'crash-redis-invalidation' });
  const processes: Array<{ close(): Promise<void> }> = [];
  try {
    const user = cluster.newUser();
    const victim = await cluster.newSession(user);
    const other = await cluster.newSession(user);
    // Warm in Redis and on both instances.
    for (const instance of [cluster.a, cluster.b]) expect((await instance.get(victim.tokenHeader)).status).toBe(200);
    // What a process SIGKILLed between the two steps of a revocation leaves: the row ended, the
    // caches not told.
    expect(await cluster.database.store.deactivate([victim.sessionId], sessionEnd('revoked_by_user'))).toHaveLength(1);

    const answer = await cluster.a.request('DELETE', `/api/active?token_id=${victim.sessionId}`, { authorization: other.tokenHeader });
    expect(answer.status).toBe(204);
    await propagation(cluster.b, victim.sessionId);
    for (const instance of [cluster.a, cluster.b]) expect((await instance.get(victim.tokenHeader)).status).toBe(401);
    // And a process started now, which asks Redis first.
    const cache = await createRedisSessionCache({ url: cluster.redisUrl, namespace: cluster.namespace });
    processes.push(cache);
    const later = new SessionManager({ store: cluster.database.store, cache, jwt: { signingKey: SIGNING_KEY } });
    expect(await later.authenticate(victim.tokenHeader, FACTS)).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_SUSPENDED' } });
    expect(await later.authenticate(victim.bearerHeader, FACTS)).toMatchObject({ ok: false });
    // The one that asked still works.
    expect((await cluster.b.get(other.tokenHeader)).status).toBe(200);
  } finally {
    for (const p of processes) await p.close();
    await cluster.close();
  }
});

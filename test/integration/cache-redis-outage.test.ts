// Faults with the whole engine over HTTP: a private redis-server (the shared one on 6379 is never
// stopped) is killed and restarted under continuous traffic to two app instances, and the
// database is unreachable. Redis down costs speed, never a request; the database down is a 503.
import { afterEach, describe, expect, test } from 'vitest';
import { createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SessionApi } from '../../src/http/session-api.js';
import { connectDatabase } from '../../src/store/connect.js';
import { KyselySessionStore } from '../../src/store/kysely-session-store.js';
import { startApp } from '../helpers/http-apps.js';
import { Client } from '../helpers/http-client.js';
import { startPrivateRedis, uniqueNamespace } from '../helpers/redis.js';
import { type Credentials, FACTS, type Instance, propagation, RecordingLogger, startCluster, until } from '../helpers/two-instances.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Requests from `instance` every few ms, round robin over `sessions`, until stopped. */
function traffic(instances: readonly Instance[], sessions: readonly Credentials[]) {
  const phase = { name: 'before' };
  const failures: string[] = [];
  const served: Record<string, number> = {};
  let stopped = false;
  const worker = async (instance: Instance, offset: number): Promise<void> => {
    for (let i = offset; !stopped; i++) {
      const s = sessions[i % sessions.length] as Credentials;
      const header = i % 2 === 0 ? s.tokenHeader : s.bearerHeader;
      const res = await instance.get(header);
      if (res.status === 200) served[phase.name] = (served[phase.name] ?? 0) + 1;
      else failures.push(`${instance.name} during "${phase.name}": ${res.status} ${res.text}`);
      await sleep(2);
    }
  };
  const workers = instances.flatMap((instance, n) => [worker(instance, n), worker(instance, n + 3)]);
  return {
    phase,
    failures,
    served,
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

describe('Redis killed and restarted under traffic', () => {
  test('no request fails, one warning per outage per instance, nothing is kept in memory meanwhile, and revocation propagates again', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const cluster = await startCluster({ label: 'outage', redisUrl: redis.url, cache: { commandTimeoutMs: 300, connectTimeoutMs: 500 } });
    cleanups.push(() => cluster.close());
    const { a, b } = cluster;

    const sessions: Credentials[] = [];
    for (let i = 0; i < 6; i++) sessions.push(await cluster.newSession(cluster.newUser()));
    const revokedDuringOutage = await cluster.newSession(cluster.newUser());
    for (const s of [...sessions, revokedDuringOutage]) {
      for (const instance of [a, b])
        for (const header of [s.tokenHeader, s.bearerHeader]) expect((await instance.get(header)).status).toBe(200);
    }
    expect(b.manager.authenticate(revokedDuringOutage.tokenHeader, FACTS)).toMatchObject({ ok: true }); // warm: synchronous

    // What B's in-process tier holds when its subscriber comes back (its own listener runs first).
    const localSizeWhenBack: number[] = [];
    const events: string[] = [];
    const unsubscribe = b.cache.remote.subscribe((event) => {
      if (event.type === 'down' || event.type === 'up') events.push(event.type);
      if (event.type === 'up') localSizeWhenBack.push(b.cache.local.size);
    });
    cleanups.push(async () => unsubscribe());

    const load = traffic([a, b], sessions);
    try {
      await sleep(400);
      load.phase.name = 'outage';
      await redis.kill();
      expect(await until(() => !a.cache.remote.listening && !b.cache.remote.listening, 2000)).toBe(true);

      // While Redis is down no instance keeps anything in memory (it could miss invalidations),
      // so every request reads the database, and a revocation is still refused at once.
      const sizes: number[] = [];
      for (let i = 0; i < 40; i++) {
        sizes.push(a.cache.local.size, b.cache.local.size);
        await sleep(10);
      }
      expect(Math.max(...sizes)).toBe(0);
      expect((await a.request('POST', '/api/logout', { authorization: revokedDuringOutage.bearerHeader })).status).toBe(204);
      expect((await b.get(revokedDuringOutage.tokenHeader)).json).toEqual({ detail: 'User session is suspended.' });
      expect((await b.get(revokedDuringOutage.bearerHeader)).json).toEqual({ detail: 'User is suspended.' });

      load.phase.name = 'restart';
      await redis.start();
      expect(await a.cache.remote.ready(15_000)).toBe(true);
      expect(await b.cache.remote.ready(15_000)).toBe(true);
      load.phase.name = 'after';
      await sleep(400);
    } finally {
      await load.stop();
    }

    console.log(
      `Redis outage under traffic: ${JSON.stringify(load.served)} requests served by phase, ${load.failures.length} failed; ` +
        `warnings: A ${a.cacheLog.warnings.length}, B ${b.cacheLog.warnings.length}`,
    );
    expect(load.failures).toEqual([]);
    for (const phase of ['before', 'outage', 'after']) expect(load.served[phase]).toBeGreaterThan(0);
    expect(events).toEqual(['down', 'up']);
    expect(localSizeWhenBack).toEqual([0]);
    for (const instance of [a, b]) {
      expect(instance.cacheLog.warnings).toHaveLength(1);
      expect(instance.cacheLog.warnings[0]).toMatch(/Redis is unavailable/);
      expect(instance.cacheLog.infos).toEqual(['nilva-session: Redis is reachable again']);
      expect(instance.log.warnings).toEqual([]);
    }

    // Back to normal: warm on both (B answers from memory again), revoke through A, B refuses.
    const s = await cluster.newSession(cluster.newUser());
    for (const instance of [a, b]) expect((await instance.get(s.tokenHeader)).status).toBe(200);
    const before = b.queries.count;
    expect((await b.get(s.tokenHeader)).status).toBe(200);
    expect(b.queries.count).toBe(before);
    expect(b.manager.authenticate(s.tokenHeader, FACTS)).toMatchObject({ ok: true });
    expect((await a.request('POST', '/api/logout', { authorization: s.tokenHeader })).status).toBe(204);
    expect(await propagation(b, s.sessionId)).toBeLessThan(100);
    expect((await b.get(s.tokenHeader)).json).toEqual({ detail: 'User session is suspended.' });
    expect((await b.get(s.bearerHeader)).json).toEqual({ detail: 'User is suspended.' });
    expect((await b.get(revokedDuringOutage.tokenHeader)).status).toBe(401);
  });
});

describe('database unreachable', () => {
  test('a request the cache cannot answer gets 503, never a 401 or a 500; warnings name no token', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const database = await connectDatabase('postgres://postgres@127.0.0.1:1/test', { verify: false });
    cleanups.push(() => database.close());
    const cacheLog = new RecordingLogger();
    const cache = await createRedisSessionCache({ url: redis.url, namespace: uniqueNamespace('db-down'), logger: cacheLog });
    cleanups.push(() => cache.close());
    const callbacks = userCallbacks(makeUsers());
    const log = new RecordingLogger();
    const manager = new SessionManager({
      store: new KyselySessionStore({ db: database.db, dialect: database.dialect }),
      cache,
      loadUser: callbacks.loadUser,
      logger: log,
    });
    cleanups.push(() => manager.close());
    const app = await startApp('hono', new SessionApi({ manager, verifyCredentials: callbacks.verifyCredentials, logger: log }));
    cleanups.push(() => app.close());
    const client = new Client(app.url);
    const token = 'a'.repeat(50);

    const unavailable = { detail: 'Service temporarily unavailable.' };
    for (const res of [
      await client.request('GET', '/api/me', { token }),
      await client.request('GET', '/api/active', { token }),
      await client.request('POST', '/api/login', { body: { username: 'alice', password: 'alice-password' } }),
    ]) {
      expect(res.status).toBe(503);
      expect(res.json).toEqual(unavailable);
    }
    expect(cacheLog.warnings).toEqual([]);
    expect(JSON.stringify(log.warnings)).not.toContain(token);
  });
});

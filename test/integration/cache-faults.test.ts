import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import type { CacheLogger } from '../../src/cache/cache-logger.js';
import { type CreateRedisSessionCacheOptions, createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import type { TieredSessionCache } from '../../src/cache/tiered-session-cache.js';
import type { CachedSession } from '../../src/core/session-cache.js';
import { type PrivateRedis, rawClient, startPrivateRedis, startTcpProxy, uniqueNamespace } from '../helpers/redis.js';

// Every test here runs its own throwaway redis-server: the shared one on 6379 is never stopped.

const namespace = uniqueNamespace('cache-faults');
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

class RecordingLogger implements CacheLogger {
  readonly warnings: string[] = [];
  readonly infos: string[] = [];
  warn(message: string): void {
    this.warnings.push(message);
  }
  info(message: string): void {
    this.infos.push(message);
  }
}

function entry(): CachedSession {
  const id = randomUUID();
  return {
    id,
    userId: 'u-1',
    keyHash: createHash('sha256').update(`token-${id}`).digest('hex'),
    expireAt: null,
    lastOnline: Date.now(),
    lastIp: '203.0.113.7',
    userAgent: 'curl/8.5.0',
    createdAt: Date.now(),
    authenticatedAt: Date.now(),
    user: { id: 'u-1' },
  };
}

const ref = (e: CachedSession) => ({ id: e.id, keyHash: e.keyHash, userId: e.userId });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function privateRedis(options: { running?: boolean } = {}): Promise<PrivateRedis> {
  const redis = await startPrivateRedis(options);
  cleanups.push(() => redis.stop());
  return redis;
}

async function cacheOn(url: string, logger: CacheLogger, options: CreateRedisSessionCacheOptions = {}): Promise<TieredSessionCache> {
  const cache = await createRedisSessionCache({ url, namespace, logger, commandTimeoutMs: 300, connectTimeoutMs: 500, ...options });
  cleanups.push(() => cache.close());
  return cache;
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** Runs `call` and returns how long it took, in ms. */
async function timed(call: () => unknown): Promise<number> {
  const started = performance.now();
  await call();
  return performance.now() - started;
}

describe('Redis faults', () => {
  test('Redis killed: reads are fast misses, writes are dropped, nothing throws, one warning per outage', async () => {
    const redis = await privateRedis();
    const logA = new RecordingLogger();
    const logB = new RecordingLogger();
    const a = await cacheOn(redis.url, logA);
    const b = await cacheOn(redis.url, logB);
    const warm = entry();
    await a.set(warm, 60_000, a.epoch());
    expect(await b.byKeyHash(warm.keyHash)).toEqual(warm);
    expect(b.local.byKeyHash(warm.keyHash)).toEqual(warm);

    await redis.kill();
    expect(await until(() => !b.remote.listening, 2000)).toBe(true);
    // The subscriber is gone: this process may miss invalidations, so it keeps nothing locally.
    expect(b.local.byKeyHash(warm.keyHash)).toBeUndefined();

    const durations: number[] = [];
    const fresh = entry();
    for (let i = 0; i < 20; i++) {
      durations.push(await timed(async () => expect(await b.byKeyHash(warm.keyHash)).toBeUndefined()));
      durations.push(await timed(async () => expect(await b.byId(warm.id)).toBeUndefined()));
      durations.push(await timed(() => a.set(fresh, 60_000, a.epoch())));
      durations.push(await timed(() => a.update({ ...warm, lastIp: '198.51.100.1' })));
      durations.push(await timed(() => a.invalidate([ref(entry())])));
    }
    expect(Math.max(...durations)).toBeLessThan(1000);
    expect(a.local.byKeyHash(fresh.keyHash)).toBeUndefined();
    expect(logA.warnings).toHaveLength(1);
    expect(logB.warnings).toHaveLength(1);
    expect(logA.warnings[0]).toMatch(/Redis is unavailable/);
  });

  test('Redis back on the same port: invalidation between instances works again and the local tier starts empty', async () => {
    const redis = await privateRedis();
    const logA = new RecordingLogger();
    const logB = new RecordingLogger();
    const a = await cacheOn(redis.url, logA);
    const b = await cacheOn(redis.url, logB);
    const before = entry();
    await a.set(before, 60_000, a.epoch());
    await b.byKeyHash(before.keyHash);
    expect(b.local.size).toBe(1);

    await redis.kill();
    expect(await until(() => !a.remote.listening && !b.remote.listening, 2000)).toBe(true);
    expect(await b.byKeyHash(before.keyHash)).toBeUndefined();
    await redis.start();
    expect(await a.remote.ready(10_000)).toBe(true);
    expect(await b.remote.ready(10_000)).toBe(true);

    // Cleared on resubscribe: nothing from before the outage is served from memory.
    expect(b.local.size).toBe(0);
    expect(b.local.byKeyHash(before.keyHash)).toBeUndefined();

    const after = entry();
    await a.set(after, 60_000, a.epoch());
    expect(await b.byKeyHash(after.keyHash)).toEqual(after);
    expect(b.byKeyHash(after.keyHash)).toEqual(after); // synchronous again
    await a.invalidate([ref(after)]);
    expect(await until(() => b.local.byKeyHash(after.keyHash) === undefined, 2000)).toBe(true);
    expect(await b.byKeyHash(after.keyHash)).toBeUndefined();

    expect(logA.warnings).toHaveLength(1);
    expect(logB.warnings).toHaveLength(1);
    expect(logB.infos).toEqual(['nilva-session: Redis is reachable again']);
  });

  test('Redis hung (SIGSTOP): reads fail fast, the subscriber notices by its ping, and all recovers on SIGCONT', async () => {
    const redis = await privateRedis();
    const log = new RecordingLogger();
    const a = await cacheOn(redis.url, new RecordingLogger(), { pingIntervalMs: 100, commandTimeoutMs: 200 });
    const b = await cacheOn(redis.url, log, { pingIntervalMs: 100, commandTimeoutMs: 200 });
    const e = entry();
    await a.set(e, 60_000, a.epoch());
    await b.byKeyHash(e.keyHash);

    redis.pause();
    try {
      const durations: number[] = [];
      for (let i = 0; i < 10; i++) durations.push(await timed(async () => expect(await a.byId(entry().id)).toBeUndefined()));
      expect(Math.max(...durations)).toBeLessThan(1000);
      expect(await until(() => !b.remote.listening, 5000)).toBe(true);
      expect(b.local.byKeyHash(e.keyHash)).toBeUndefined();
    } finally {
      redis.resume();
    }
    expect(await b.remote.ready(10_000)).toBe(true);
    expect(await a.remote.ready(10_000)).toBe(true);
    expect(await b.byKeyHash(e.keyHash)).toEqual(e);
    expect(log.warnings).toHaveLength(1);
  });

  test('one instance cut off: its invalidation is kept and replayed when it reconnects', async () => {
    const redis = await privateRedis();
    const proxy = await startTcpProxy(redis.port);
    cleanups.push(() => proxy.close());
    const a = await cacheOn(proxy.url, new RecordingLogger());
    const b = await cacheOn(redis.url, new RecordingLogger());
    const e = entry();
    await a.set(e, 60_000, a.epoch());
    expect(await b.byKeyHash(e.keyHash)).toEqual(e);

    proxy.cut();
    expect(await until(() => !a.remote.listening, 2000)).toBe(true);
    await a.invalidate([ref(e)]); // cannot reach Redis: remembered, not thrown
    expect(a.local.byKeyHash(e.keyHash)).toBeUndefined();

    proxy.restore();
    expect(await a.remote.ready(10_000)).toBe(true);
    // The replay deleted the shared entry and told b.
    expect(await until(() => b.local.byKeyHash(e.keyHash) === undefined, 3000)).toBe(true);
    expect(await b.remote.byKeyHash(e.keyHash)).toBeUndefined();
    expect(await b.byKeyHash(e.keyHash)).toBeUndefined();
  });

  test('Redis down at start-up: the factory returns in bounded time, and the cache heals when Redis comes up', async () => {
    const redis = await privateRedis({ running: false });
    const log = new RecordingLogger();
    const started = performance.now();
    const cache = await cacheOn(redis.url, log);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(cache.remote.healthy).toBe(false);
    expect(await cache.byKeyHash(entry().keyHash)).toBeUndefined();
    expect(log.warnings).toHaveLength(1);

    await redis.start();
    expect(await cache.remote.ready(10_000)).toBe(true);
    const e = entry();
    await cache.set(e, 60_000, cache.epoch());
    expect(cache.byKeyHash(e.keyHash)).toEqual(e);
  });

  test('the Lua script cache flushed (SCRIPT FLUSH): commands reload the scripts', async () => {
    const redis = await privateRedis();
    const cache = await cacheOn(redis.url, new RecordingLogger());
    const e = entry();
    await cache.set(e, 60_000, cache.epoch());
    const admin = await rawClient(redis.url);
    await admin.sendCommand(['SCRIPT', 'FLUSH']);
    await admin.close();
    expect(await cache.remote.byKeyHash(e.keyHash)).toEqual(e);
    await cache.invalidate([ref(e)]);
    expect(await cache.remote.byId(e.id)).toBeUndefined();
  });
});

import { createHash, randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { CacheLogger } from '../../src/cache/cache-logger.js';
import { createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { RedisSessionCache } from '../../src/cache/redis-session-cache.js';
import { TieredSessionCache } from '../../src/cache/tiered-session-cache.js';
import type { CachedSession } from '../../src/core/session-cache.js';
import { deleteNamespace, listKeys, REDIS_URL, type RedisRawClient, rawClient, uniqueNamespace } from '../helpers/redis.js';

const namespace = uniqueNamespace('cache-redis');
const quiet: CacheLogger = { warn: () => undefined };
const cleanups: (() => Promise<void>)[] = [];
let raw: RedisRawClient;

beforeAll(async () => {
  raw = await rawClient();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await deleteNamespace(namespace);
  await raw.close();
});

function entry(fields: Partial<CachedSession> = {}): CachedSession {
  const id = randomUUID();
  return {
    id,
    userId: 42,
    keyHash: createHash('sha256').update(`token-${id}`).digest('hex'),
    expireAt: Date.now() + 86_400_000,
    lastOnline: Date.now(),
    lastIp: '203.0.113.7',
    userAgent: 'curl/8.5.0',
    createdAt: Date.now(),
    authenticatedAt: Date.now(),
    user: { id: 42, isActive: true },
    ...fields,
  };
}

const ref = (e: CachedSession) => ({ id: e.id, keyHash: e.keyHash, userId: e.userId });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function tiered(options: Parameters<typeof createRedisSessionCache>[0] = {}): Promise<TieredSessionCache> {
  const cache = await createRedisSessionCache({ url: REDIS_URL, namespace, logger: quiet, ...options });
  cleanups.push(() => cache.close());
  expect(cache.remote.healthy).toBe(true);
  return cache;
}

/** A Redis tier on its own connections; without a subscriber when `subscribe` is false. */
async function redisTier(options: { subscribe?: boolean; tombstoneSeconds?: number; keyPrefix?: string } = {}): Promise<RedisSessionCache> {
  const client = createClient({ url: REDIS_URL, disableOfflineQueue: true });
  const subscriber = options.subscribe === false ? undefined : createClient({ url: REDIS_URL, disableOfflineQueue: true });
  const cache = new RedisSessionCache({
    client,
    subscriber,
    namespace,
    logger: quiet,
    tombstoneSeconds: options.tombstoneSeconds,
    keyPrefix: options.keyPrefix,
    onClose: async () => {
      await client.close();
      await subscriber?.close();
    },
  });
  await Promise.all([client.connect(), subscriber?.connect()]);
  expect(await cache.ready(5000)).toBe(true);
  cleanups.push(() => cache.close());
  return cache;
}

describe('TieredSessionCache', () => {
  test('a local miss reads Redis (a promise), promotes the entry, and the next read is synchronous', async () => {
    const a = await tiered();
    const b = await tiered();
    const e = entry();
    await a.set(e, 10_000, a.epoch());
    const first = b.byKeyHash(e.keyHash);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual(e);
    const second = b.byKeyHash(e.keyHash);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toEqual(e);
    expect(b.byId(e.id)).toEqual(e);
  });

  test('a promoted entry keeps the remaining Redis TTL: it never outlives the shared one', async () => {
    const a = await tiered();
    const b = await tiered();
    const e = entry();
    await a.set(e, 1000, a.epoch());
    await sleep(400);
    await b.byKeyHash(e.keyHash);
    expect(b.local.remainingTtlMs(e.keyHash)).toBeGreaterThan(0);
    expect(b.local.remainingTtlMs(e.keyHash)).toBeLessThanOrEqual(620);
  });

  test('localTtlSeconds caps how long this process keeps an entry; Redis still has it', async () => {
    const cache = await tiered({ localTtlSeconds: 0.2 });
    const e = entry();
    await cache.set(e, 10_000, cache.epoch());
    expect(cache.byKeyHash(e.keyHash)).toEqual(e);
    await sleep(300);
    const read = cache.byKeyHash(e.keyHash);
    expect(read).toBeInstanceOf(Promise);
    expect(await read).toEqual(e);
  });

  test('an invalidation in this process clears both tiers at once', async () => {
    const cache = await tiered();
    const e = entry();
    await cache.set(e, 10_000, cache.epoch());
    await cache.invalidate([ref(e)]);
    expect(cache.local.byKeyHash(e.keyHash)).toBeUndefined();
    expect(await cache.remote.byKeyHash(e.keyHash)).toBeUndefined();
  });

  test('a message from another process drops the local entry and moves the epoch', async () => {
    const a = await tiered();
    const b = await tiered();
    const e = entry();
    await a.set(e, 10_000, a.epoch());
    await b.byId(e.id);
    expect(b.local.byId(e.id)).toEqual(e);
    const epoch = b.epoch();
    await a.invalidate([ref(e)]);
    for (let i = 0; i < 200 && b.local.byId(e.id) !== undefined; i++) await sleep(5);
    expect(b.local.byId(e.id)).toBeUndefined();
    expect(b.epoch()).not.toBe(epoch);
  });

  test('needs a Redis tier with a subscriber', async () => {
    const remote = await redisTier({ subscribe: false });
    expect(() => new TieredSessionCache(new MemorySessionCache(), remote)).toThrow(TypeError);
  });
});

describe('RedisSessionCache', () => {
  test('keys: <namespace>user_session:<sha256> and <namespace>user_session_by_id:<uuid>, with a TTL', async () => {
    const cache = await redisTier();
    const e = entry();
    await cache.set(e, 5000, cache.epoch());
    const keys = (await listKeys(raw, namespace)).filter((k) => k.endsWith(e.id) || k.endsWith(e.keyHash));
    expect(keys).toEqual([`${namespace}user_session:${e.keyHash}`, `${namespace}user_session_by_id:${e.id}`]);
    for (const key of keys) {
      const pttl = Number(await raw.sendCommand(['PTTL', key]));
      expect(pttl).toBeGreaterThan(4000);
      expect(pttl).toBeLessThanOrEqual(5000);
    }
  });

  test('keys: the prefixes are configurable', async () => {
    const cache = await redisTier({ keyPrefix: 'sess:' });
    const e = entry();
    await cache.set(e, 5000, cache.epoch());
    expect(await raw.exists(`${namespace}sess:${e.keyHash}`)).toBe(1);
    expect(cache.keyOf('keyHash', e.keyHash)).toBe(`${namespace}sess:${e.keyHash}`);
  });

  test('update keeps the Redis TTL (KEEPTTL): a touch never extends a session’s cache lifetime', async () => {
    const cache = await redisTier();
    const e = entry();
    await cache.set(e, 3000, cache.epoch());
    await sleep(300);
    await cache.update({ ...e, lastIp: '198.51.100.4' });
    const pttl = Number(await raw.sendCommand(['PTTL', cache.keyOf('keyHash', e.keyHash) as string]));
    expect(pttl).toBeLessThanOrEqual(2700);
    expect((await cache.byId(e.id))?.lastIp).toBe('198.51.100.4');
  });

  test('a tombstone refuses fills of an invalidated session for tombstoneSeconds, whatever the epoch', async () => {
    // No subscriber: this instance hears nothing, only the tombstone protects it.
    const deaf = await redisTier({ subscribe: false, tombstoneSeconds: 0.3 });
    const other = await redisTier({ tombstoneSeconds: 0.3 });
    const e = entry();
    await other.invalidate([ref(e)]);
    await deaf.set(e, 10_000, deaf.epoch());
    expect(await deaf.byKeyHash(e.keyHash)).toBeUndefined();
    await sleep(400);
    await deaf.set(e, 10_000, deaf.epoch());
    expect(await deaf.byKeyHash(e.keyHash)).toEqual(e);
  });

  test('a value that is not a session id or a SHA-256 hex is a miss without any command', async () => {
    const cache = await redisTier();
    expect(await cache.byId('*')).toBeUndefined();
    expect(await cache.byKeyHash('not-a-hash')).toBeUndefined();
    expect(cache.keyOf('id', 'x\r\nFLUSHALL')).toBeUndefined();
    expect(await cache.fill(entry({ id: 'not-a-uuid' }), 1000)).toBe(false);
  });

  test('a user that JSON cannot carry is not cached, and that is reported once', async () => {
    const warnings: string[] = [];
    const client = createClient({ url: REDIS_URL, disableOfflineQueue: true });
    const cache = new RedisSessionCache({ client, namespace, logger: { warn: (m) => warnings.push(m) }, onClose: () => client.close() });
    cleanups.push(() => cache.close());
    await client.connect();
    const e = entry({ user: { id: 1n } });
    await cache.set(e, 1000, cache.epoch());
    await cache.set(entry({ user: { id: 2n } }), 1000, cache.epoch());
    expect(await cache.byKeyHash(e.keyHash)).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/JSON/);
  });

  test('options: bad values are TypeErrors naming the option', async () => {
    const client = createClient({ url: REDIS_URL });
    expect(() => new RedisSessionCache({ client, namespace: 'has space' })).toThrow(/"namespace"/);
    expect(() => new RedisSessionCache({ client, tombstoneSeconds: 0 })).toThrow(/"tombstoneSeconds"/);
    expect(() => new RedisSessionCache({ client, keyPrefix: 'x:', idPrefix: 'x:' })).toThrow(/"keyPrefix"/);
    expect(() => new RedisSessionCache({ client: {} as never })).toThrow(/"client"/);
    await expect(createRedisSessionCache({ url: 'http://example.com' })).rejects.toThrow(/"url"/);
    await expect(createRedisSessionCache({ url: REDIS_URL, localTtlSeconds: 0, logger: quiet })).rejects.toThrow(/"localTtlSeconds"/);
  });
});

describe('createRedisSessionCache', () => {
  test('with an application’s client: uses it, duplicates a subscriber, and close() leaves the client open', async () => {
    const client = createClient({ url: REDIS_URL, disableOfflineQueue: true });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const cache = await createRedisSessionCache({ client, namespace, logger: quiet });
      expect(cache.remote.healthy).toBe(true);
      const e = entry();
      await cache.set(e, 5000, cache.epoch());
      expect(await client.exists(`${namespace}user_session:${e.keyHash}`)).toBe(1);
      await cache.close();
      expect(client.isOpen).toBe(true);
      expect(await client.ping()).toBe('PONG');
    } finally {
      await client.close();
    }
  });
});

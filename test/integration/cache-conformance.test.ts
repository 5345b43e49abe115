import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { CacheLogger } from '../../src/cache/cache-logger.js';
import { createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { RedisSessionCache } from '../../src/cache/redis-session-cache.js';
import { defineSessionCacheConformance, type SessionCacheHarness } from '../../src/testing/cache-conformance.js';
import { deleteNamespace, listKeys, REDIS_URL, type RedisRawClient, rawClient } from '../helpers/redis.js';

const quiet: CacheLogger = { warn: () => undefined };
let raw: RedisRawClient;

beforeAll(async () => {
  raw = await rawClient();
});
afterAll(async () => {
  await raw.close();
});

/** dump and writeRaw over the shared server, for a cache that names its keys with `keyOf`. */
function inspect(namespace: string, keyOf: (kind: 'keyHash' | 'id', value: string) => string | undefined) {
  return {
    dump: async (): Promise<ReadonlyMap<string, string>> => {
      const out = new Map<string, string>();
      for (const key of await listKeys(raw, namespace)) out.set(key, String(await raw.get(key)));
      return out;
    },
    writeRaw: async (kind: 'keyHash' | 'id', value: string, data: string): Promise<void> => {
      const key = keyOf(kind, value);
      if (key === undefined) throw new Error(`no key for ${value}`);
      await raw.set(key, data, { expiration: { type: 'PX', value: 10_000 } });
    },
  };
}

defineSessionCacheConformance(
  'MemorySessionCache',
  async (): Promise<SessionCacheHarness> => {
    const cache = new MemorySessionCache({ max: 1000 });
    return { cache, cleanup: () => cache.close() };
  },
  { describe, test },
);

defineSessionCacheConformance(
  'RedisSessionCache',
  async ({ namespace }): Promise<SessionCacheHarness> => {
    const options = { url: REDIS_URL, disableOfflineQueue: true };
    const client = createClient(options);
    const subscriber = createClient(options);
    const cache = new RedisSessionCache({
      client,
      subscriber,
      namespace,
      logger: quiet,
      onClose: async () => {
        await client.close();
        await subscriber.close();
      },
    });
    await Promise.all([client.connect(), subscriber.connect()]);
    if (!(await cache.ready(5000))) throw new Error('Redis is not reachable');
    return {
      cache,
      ...inspect(namespace, (kind, value) => cache.keyOf(kind, value)),
      cleanup: async () => {
        await cache.close();
        await deleteNamespace(namespace);
      },
    };
  },
  { describe, test },
  { shared: true, dump: true, writeRaw: true },
);

defineSessionCacheConformance(
  'TieredSessionCache (createRedisSessionCache)',
  async ({ namespace }): Promise<SessionCacheHarness> => {
    const cache = await createRedisSessionCache({ url: REDIS_URL, namespace, logger: quiet });
    if (!cache.remote.healthy) throw new Error('Redis is not reachable');
    return {
      cache,
      ...inspect(namespace, (kind, value) => cache.remote.keyOf(kind, value)),
      cleanup: async () => {
        await cache.close();
        await deleteNamespace(namespace);
      },
    };
  },
  { describe, test },
  { shared: true, dump: true, writeRaw: true },
);

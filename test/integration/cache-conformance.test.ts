import { createClient, createCluster } from '@redis/client';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { CacheLogger } from '../../src/cache/cache-logger.js';
import { createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { RedisSessionCache } from '../../src/cache/redis-session-cache.js';
import { defineSessionCacheConformance, type SessionCacheHarness } from '../../src/testing/cache-conformance.js';
import { REDIS_TARGETS, type RedisInspector, type RedisTarget } from '../helpers/redis.js';

const quiet: CacheLogger = { warn: () => undefined };
const inspectors = new Map<RedisTarget['name'], RedisInspector>();

beforeAll(async () => {
  for (const target of REDIS_TARGETS) inspectors.set(target.name, await target.inspect());
});
afterAll(async () => {
  for (const inspector of inspectors.values()) await inspector.close();
});

/** dump and writeRaw behind the cache's back, for a cache that names its keys with `keyOf`. */
function inspect(target: RedisTarget, namespace: string, keyOf: (kind: 'keyHash' | 'id', value: string) => string | undefined) {
  const raw = (): RedisInspector => inspectors.get(target.name) as RedisInspector;
  return {
    dump: async (): Promise<ReadonlyMap<string, string>> => {
      const out = new Map<string, string>();
      for (const key of await raw().keys(namespace)) out.set(key, String(await raw().get(key)));
      return out;
    },
    writeRaw: async (kind: 'keyHash' | 'id', value: string, data: string): Promise<void> => {
      const key = keyOf(kind, value);
      if (key === undefined) throw new Error(`no key for ${value}`);
      await raw().set(key, data, 10_000);
    },
  };
}

/** The two connections of a RedisSessionCache made by hand, on a single server or a cluster. */
function connections(target: RedisTarget) {
  if ('url' in target.connection) {
    const options = { url: target.connection.url, disableOfflineQueue: true };
    return { client: createClient(options), subscriber: createClient(options) };
  }
  const options = { rootNodes: target.connection.urls.map((url) => ({ url })), defaults: { disableOfflineQueue: true } };
  return { client: createCluster(options), subscriber: createCluster({ ...options, minimizeConnections: true }) };
}

defineSessionCacheConformance(
  'MemorySessionCache',
  async (): Promise<SessionCacheHarness> => {
    const cache = new MemorySessionCache({ max: 1000 });
    return { cache, cleanup: () => cache.close() };
  },
  { describe, test },
);

describe.each(REDIS_TARGETS)('Redis ($name)', (target) => {
  defineSessionCacheConformance(
    `RedisSessionCache (${target.name})`,
    async ({ namespace }): Promise<SessionCacheHarness> => {
      const { client, subscriber } = connections(target);
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
        ...inspect(target, namespace, (kind, value) => cache.keyOf(kind, value)),
        cleanup: async () => {
          await cache.close();
          await inspectors.get(target.name)?.deleteNamespace(namespace);
        },
      };
    },
    { describe, test },
    { shared: true, dump: true, writeRaw: true },
  );

  defineSessionCacheConformance(
    `TieredSessionCache (createRedisSessionCache, ${target.name})`,
    async ({ namespace }): Promise<SessionCacheHarness> => {
      const cache = await createRedisSessionCache({ ...target.connection, namespace, logger: quiet });
      if (!cache.remote.healthy) throw new Error('Redis is not reachable');
      return {
        cache,
        ...inspect(target, namespace, (kind, value) => cache.remote.keyOf(kind, value)),
        cleanup: async () => {
          await cache.close();
          await inspectors.get(target.name)?.deleteNamespace(namespace);
        },
      };
    },
    { describe, test },
    { shared: true, dump: true, writeRaw: true },
  );
});

// The Redis tier on the shared local Redis Cluster (scripts/redis-cluster.sh): the ways to give
// it a cluster, what a revocation leaves on the replicas, and the options that are refused.
import { randomUUID } from 'node:crypto';
import { createClient, createCluster } from '@redis/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CacheLogger } from '../../src/cache/cache-logger.js';
import { createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import type { CachedSession } from '../../src/core/session-cache.js';
import { hashData } from '../../src/tokens/opaque-token.js';
import { clusterTarget, freePort, REDIS_CLUSTER_URLS, type RedisInspector, uniqueNamespace } from '../helpers/redis.js';

const quiet: CacheLogger = { warn: () => undefined };
let inspector: RedisInspector;
const namespaces: string[] = [];

beforeAll(async () => {
  inspector = await clusterTarget().inspect();
});
afterAll(async () => {
  for (const ns of namespaces) await inspector.deleteNamespace(ns);
  await inspector.close();
});

function namespace(): string {
  const ns = uniqueNamespace('cluster');
  namespaces.push(ns);
  return ns;
}

function entry(): CachedSession {
  const id = randomUUID();
  const now = Date.now();
  return {
    id,
    userId: 7,
    keyHash: hashData(`token-${id}`),
    expireAt: now + 86_400_000,
    lastOnline: now,
    lastIp: '203.0.113.7',
    userAgent: 'curl/8.5.0',
    createdAt: now,
    authenticatedAt: now,
    user: { id: 7 },
  };
}

describe('createRedisSessionCache on a Redis Cluster', () => {
  test('an application’s own createCluster() client: used as it is, left open by close(), its duplicate subscribes', async () => {
    const own = createCluster({ rootNodes: REDIS_CLUSTER_URLS.map((url) => ({ url })), defaults: { disableOfflineQueue: true } });
    own.on('error', () => undefined);
    await own.connect();
    const ns = namespace();
    const a = await createRedisSessionCache({ client: own, namespace: ns, logger: quiet });
    const b = await createRedisSessionCache({ urls: REDIS_CLUSTER_URLS, namespace: ns, logger: quiet });
    expect(a.remote.healthy).toBe(true);
    expect(b.remote.healthy).toBe(true);
    const e = entry();
    await a.set(e, 60_000, a.epoch());
    // The app's client sees the entry under its hash-tagged key.
    expect(await own.get(`${ns}user_session_by_id:{${e.id}}`)).toContain(e.id);
    expect(await b.byKeyHash(e.keyHash)).toEqual(e);
    expect(b.local.byId(e.id)).toEqual(e);
    await a.invalidate([e]);
    const deadline = performance.now() + 2000;
    while (b.local.byId(e.id) !== undefined && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(b.local.byId(e.id)).toBeUndefined();
    await a.close();
    await b.close();
    expect(own.isOpen).toBe(true);
    expect(await own.sendCommand(`${ns}x`, false, ['PING'])).toBe('PONG');
    await own.close();
  });

  test('cluster: createCluster() options (rootNodes, defaults) are taken as they are', async () => {
    const ns = namespace();
    const cache = await createRedisSessionCache({
      cluster: { rootNodes: [{ url: REDIS_CLUSTER_URLS[1] }], defaults: { name: 'nilva-test' } },
      namespace: ns,
      logger: quiet,
    });
    expect(cache.remote.healthy).toBe(true);
    const e = entry();
    await cache.set(e, 60_000, cache.epoch());
    expect(await cache.remote.lookup('id', e.id)).toMatchObject({ entry: e });
    await cache.close();
  });

  test('a revocation returns only once a replica holds the deletion and the tombstone', async () => {
    const ns = namespace();
    const cache = await createRedisSessionCache({ urls: REDIS_CLUSTER_URLS, namespace: ns, logger: quiet });
    const e = entry();
    await cache.set(e, 60_000, cache.epoch());
    await cache.invalidate([e]);
    // Read each key on a replica of its slot, right after invalidate() returned.
    const raw = createCluster({ rootNodes: REDIS_CLUSTER_URLS.map((url) => ({ url })), useReplicas: true });
    raw.on('error', () => undefined);
    await raw.connect();
    try {
      for (const value of [e.id, e.keyHash]) {
        const entryKey = `${ns}${value === e.id ? 'user_session_by_id:' : 'user_session:'}{${value}}`;
        const tombstone = `${ns}user_session_tombstone:{${value}}`;
        const replica = raw.slots[keySlot(entryKey)]?.replicas?.[0];
        if (replica === undefined) throw new Error(`no replica for ${entryKey}`);
        const client = createClient({ url: `redis://${replica.host}:${replica.port}` });
        client.on('error', () => undefined);
        await client.connect();
        try {
          await client.sendCommand(['READONLY']);
          expect(await client.sendCommand(['EXISTS', entryKey])).toBe(0);
          expect(await client.sendCommand(['EXISTS', tombstone])).toBe(1);
        } finally {
          client.destroy();
        }
      }
    } finally {
      await raw.close();
      await cache.close();
    }
  });

  test('a cluster that cannot be reached: the cache is returned anyway and misses, nothing throws', async () => {
    const port = await freePort();
    const cache = await createRedisSessionCache({ urls: [`redis://127.0.0.1:${port}`], connectTimeoutMs: 300, logger: quiet });
    expect(cache.remote.healthy).toBe(false);
    const e = entry();
    await cache.set(e, 60_000, cache.epoch());
    expect(await cache.byId(e.id)).toBeUndefined();
    await cache.invalidate([e]);
    await cache.close();
  });

  test('options: one way to name Redis; cluster URLs name no database', async () => {
    await expect(createRedisSessionCache({ url: 'redis://127.0.0.1:6379', urls: REDIS_CLUSTER_URLS })).rejects.toThrow(
      'give one of the options "url", "urls", "cluster" and "client", not "url" and "urls"',
    );
    await expect(createRedisSessionCache({ urls: [] })).rejects.toThrow('option "urls" must be a non-empty array');
    await expect(createRedisSessionCache({ urls: ['http://127.0.0.1:7000'] })).rejects.toThrow(
      'option "urls" must hold redis:// or rediss:// URLs',
    );
    await expect(createRedisSessionCache({ urls: ['redis://127.0.0.1:7000/2'] })).rejects.toThrow('a Redis Cluster has database 0 only');
    await expect(createRedisSessionCache({ cluster: { rootNodes: [] } })).rejects.toThrow('at least one of "rootNodes"');
  });
});

/** CRC16 (XMODEM) of the key's hash tag, modulo 16384: the key's slot, as Redis computes it. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const tag = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

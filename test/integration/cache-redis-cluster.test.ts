// The Redis tier on the shared local Redis Cluster (scripts/redis-cluster.sh): the ways to give
// it a cluster, what a revocation leaves on the replicas, and the options that are refused.
import { randomUUID } from 'node:crypto';
import { createClient, createCluster } from '@redis/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CacheLogger } from '../../src/cache/cache-logger.js';
import { createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import { RedisSessionCache } from '../../src/cache/redis-session-cache.js';
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

  // What protects an instance that may have missed an invalidation: a failing master's replica
  // takes over with the entries whose deletion never reached it, and the revoking instance's
  // message went unheard here. The entries below, filled by another instance, stand for those.
  test('a subscriber that lost its connection: no cluster entry trusted until it hears again, then none filled before', async () => {
    const ns = namespace();
    const name = `nilva-test-sub-${randomUUID()}`;
    const own = createCluster({ rootNodes: REDIS_CLUSTER_URLS.map((url) => ({ url })), defaults: { disableOfflineQueue: true } });
    const sub = own.duplicate({ minimizeConnections: true, defaults: { disableOfflineQueue: true, name } });
    for (const c of [own, sub]) c.on('error', () => undefined);
    await own.connect();
    await sub.connect();
    const watcher = new RedisSessionCache({ client: own, subscriber: sub, namespace: ns, logger: quiet });
    const other = await createRedisSessionCache({ urls: REDIS_CLUSTER_URLS, namespace: ns, logger: quiet });
    try {
      expect(await watcher.ready()).toBe(true);
      const before = entry();
      await other.remote.fill(before, 60_000);
      expect(await watcher.lookup('id', before.id)).toMatchObject({ entry: before });

      // The subscriber's connection is cut: node-redis reconnects it, and until its probe is
      // heard again the watcher reads nothing from Redis.
      const downs: string[] = [];
      watcher.subscribe((event) => {
        if (event.type === 'down' || event.type === 'up') downs.push(event.type);
      });
      expect(await killClientsNamed(name)).toBeGreaterThan(0);
      await until(() => downs.includes('up'));
      expect(downs.slice(0, 2)).toEqual(['down', 'up']);
      // Filled before it heard again: distrusted, although Redis holds it.
      expect(await watcher.lookup('id', before.id)).toBeUndefined();
      expect(await watcher.lookup('keyHash', before.keyHash)).toBeUndefined();
      expect(await other.remote.lookup('id', before.id)).toMatchObject({ entry: before });
      // Filled once it listens again (past the second of margin for clocks): trusted.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const after = entry();
      await other.remote.fill(after, 60_000);
      expect(await watcher.lookup('id', after.id)).toMatchObject({ entry: after });

      // The subscriber is gone for good: no entry is trusted, old or new.
      await sub.close();
      await until(() => !watcher.listening);
      const during = entry();
      await other.remote.fill(during, 60_000);
      for (const e of [after, during]) {
        expect(await watcher.lookup('id', e.id)).toBeUndefined();
        expect(await watcher.lookup('keyHash', e.keyHash)).toBeUndefined();
        expect(await other.remote.lookup('id', e.id)).toMatchObject({ entry: e });
      }
    } finally {
      await other.close();
      await watcher.close();
      if (sub.isOpen) await sub.close();
      await own.close();
    }
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

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Closes, on every node of the shared cluster, the connections of clients with this name. */
async function killClientsNamed(name: string): Promise<number> {
  let killed = 0;
  for (const url of REDIS_CLUSTER_URLS) {
    const client = createClient({ url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const list = String(await client.sendCommand(['CLIENT', 'LIST']));
      for (const line of list.split('\n')) {
        const fields = new Map(line.split(' ').map((field) => field.split('=', 2) as [string, string]));
        if (fields.get('name') !== name) continue;
        killed += Number(await client.sendCommand(['CLIENT', 'KILL', 'ID', fields.get('id') as string]));
      }
    } finally {
      client.destroy();
    }
  }
  return killed;
}

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

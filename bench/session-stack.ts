// Builds what an application would: a SessionManager over a store, with one of the caches the
// library offers, and counts the Redis commands the cache sends.
import { createRedisSessionCache } from '../src/cache/create-redis-session-cache.js';
import { MemorySessionCache } from '../src/cache/memory-session-cache.js';
import { RedisSessionCache } from '../src/cache/redis-session-cache.js';
import type { TieredSessionCache } from '../src/cache/tiered-session-cache.js';
import type { SessionCache } from '../src/core/session-cache.js';
import { SessionManager } from '../src/core/session-manager.js';
import type { SessionStore } from '../src/core/session-store.js';
import { BENCH_SIGNING_KEY, type BenchUser, benchLoadUser, countingRedisClient } from './environment.js';

export type CacheKind = 'none' | 'memory' | 'tiered' | 'redis';

/** A cache with the counter of Redis commands it sent and how to close it. */
export interface BenchCache {
  readonly kind: CacheKind;
  readonly cache: SessionCache | undefined;
  /** The two-tier cache, when `kind` is `tiered`. */
  readonly tiered: TieredSessionCache | undefined;
  /** The in-process cache (alone, or the local tier of the two-tier cache). */
  readonly memory: MemorySessionCache | undefined;
  readonly redisCommands: () => number;
  close(): Promise<void>;
}

const quietLogger = { warn: () => undefined };

/** Opens the cache of `kind`; Redis-backed ones live under `namespace`. */
export async function openBenchCache(kind: CacheKind, namespace: string): Promise<BenchCache> {
  switch (kind) {
    case 'none':
      return { kind, cache: undefined, tiered: undefined, memory: undefined, redisCommands: () => 0, close: async () => undefined };
    case 'memory': {
      const memory = new MemorySessionCache();
      return { kind, cache: memory, tiered: undefined, memory, redisCommands: () => 0, close: () => memory.close() };
    }
    case 'tiered': {
      const { client, counts } = countingRedisClient();
      await client.connect();
      const tiered = await createRedisSessionCache({ client, namespace, logger: quietLogger });
      return {
        kind,
        cache: tiered,
        tiered,
        memory: tiered.local,
        redisCommands: () => counts.commands,
        async close() {
          await tiered.close();
          await client.close();
        },
      };
    }
    case 'redis': {
      const { client, counts } = countingRedisClient();
      await client.connect();
      const redis = new RedisSessionCache({ client, namespace, logger: quietLogger });
      if (!(await redis.ready(2000))) throw new Error('Redis did not answer');
      return {
        kind,
        cache: redis,
        tiered: undefined,
        memory: undefined,
        redisCommands: () => counts.commands,
        async close() {
          await redis.close();
          await client.close();
        },
      };
    }
  }
}

/** The manager every benchmark uses: defaults, plus JWT pairs whose access tokens outlive a full run. */
export function benchManager(
  store: SessionStore,
  cache: SessionCache | undefined,
  options: { clock?: () => number; touchFlushIntervalMs?: number } = {},
): SessionManager<BenchUser> {
  return new SessionManager<BenchUser>({
    store,
    cache,
    loadUser: benchLoadUser,
    jwt: { signingKey: BENCH_SIGNING_KEY, accessTokenTtlSeconds: 3600 },
    logger: quietLogger,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.touchFlushIntervalMs === undefined ? {} : { touchFlushIntervalMs: options.touchFlushIntervalMs }),
  });
}

/** A store that forwards every call to `inner`, except those `overrides` replaces (for counting or timing). */
export function wrapStore(inner: SessionStore, overrides: Partial<SessionStore>): SessionStore {
  return {
    insert: (s) => inner.insert(s),
    findByKeyHash: (h) => inner.findByKeyHash(h),
    findById: (id) => inner.findById(id),
    listActive: (u, at) => inner.listActive(u, at),
    updateLastIp: (id, ip) => inner.updateLastIp(id, ip),
    touch: (entries) => inner.touch(entries),
    deactivate: (ids, detail, options) => inner.deactivate(ids, detail, options),
    deactivateAllForUser: (u, detail, options) => inner.deactivateAllForUser(u, detail, options),
    refsForUser: (u) => inner.refsForUser(u),
    deleteExpired: (options) => inner.deleteExpired(options),
    rotateRefreshJti: (id, presented, next) => inner.rotateRefreshJti(id, presented, next),
    ...overrides,
  };
}

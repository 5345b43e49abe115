/**
 * `nilva-session/redis`: the Redis tier, the two-tier cache and the factory that wires them, on
 * a single Redis server or a Redis Cluster. Needs the optional peer dependency `@redis/client`.
 */

export type { CacheLogger } from './cache-logger.js';
export type {
  CreateRedisSessionCacheOptions,
  NodeRedisClient,
  NodeRedisClusterClient,
  NodeRedisClusterConnection,
  NodeRedisConnection,
  RedisClusterConfig,
} from './create-redis-session-cache.js';
export { createRedisSessionCache } from './create-redis-session-cache.js';
export type { CacheRef, InvalidationMessage } from './invalidation-message.js';
export type {
  RedisClusterCommandClient,
  RedisClusterSubscriberClient,
  RedisCommandClient,
  RedisEventListener,
  RedisNodeCommandClient,
  RedisSubscriberClient,
} from './redis-client.js';
export type { RedisCacheEvent, RedisSessionCacheOptions, RemoteEntry } from './redis-session-cache.js';
export {
  DEFAULT_ID_PREFIX,
  DEFAULT_KEY_PREFIX,
  DEFAULT_NAMESPACE,
  DEFAULT_TOMBSTONE_PREFIX,
  RedisSessionCache,
} from './redis-session-cache.js';
export type { TieredSessionCacheOptions } from './tiered-session-cache.js';
export { TieredSessionCache } from './tiered-session-cache.js';

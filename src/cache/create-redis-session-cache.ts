import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { importPeer } from '../lib/peer-import.js';
import { type CacheLogger, consoleCacheLogger } from './cache-logger.js';
import { MemorySessionCache } from './memory-session-cache.js';
import type { RedisCommandClient, RedisSubscriberClient } from './redis-client.js';
import { RedisSessionCache } from './redis-session-cache.js';
import { TieredSessionCache } from './tiered-session-cache.js';
import { sleep, withTimeout } from './timers.js';

/** A connection the factory can open and close (a node-redis client). */
export interface NodeRedisConnection extends RedisCommandClient, RedisSubscriberClient {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): unknown;
}

/** An application's own node-redis / `@redis/client` client, passed as `client`. */
export interface NodeRedisClient extends RedisCommandClient {
  readonly isOpen: boolean;
  /** Its options: the subscriber copies `socket` (host, port, TLS) and adds a socket timeout. */
  readonly options?: { readonly socket?: object | undefined } | undefined;
  connect(): Promise<unknown>;
  /** Used once, for the subscriber connection. */
  duplicate(overrides?: { pingInterval?: number; disableOfflineQueue?: boolean; socket?: object }): NodeRedisConnection;
}

/** Options of {@link createRedisSessionCache}. */
export interface CreateRedisSessionCacheOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`. Default `redis://127.0.0.1:6379` when no `client` is given. */
  readonly url?: string | undefined;
  /**
   * Your own client instead of `url`: commands run on it (it is connected if it is not, and is
   * not closed by `close()`); the subscriber is a duplicate of it, which `close()` does close.
   * Give it `disableOfflineQueue: true` so that commands never pile up while Redis is down.
   */
  readonly client?: NodeRedisClient | undefined;
  /** Start of every key and of the channel. Default `nilva:`. */
  readonly namespace?: string | undefined;
  /** Default `user_session:`. */
  readonly keyPrefix?: string | undefined;
  /** Default `user_session_by_id:`. */
  readonly idPrefix?: string | undefined;
  /** See {@link TieredSessionCacheOptions.localTtlSeconds}. Default 30. */
  readonly localTtlSeconds?: number | undefined;
  /** Most sessions in this process's tier. Default 100 000. */
  readonly localMax?: number | undefined;
  /** See {@link RedisSessionCacheOptions.tombstoneSeconds}. Default 30. */
  readonly tombstoneSeconds?: number | undefined;
  /** Per command. Default 500. */
  readonly commandTimeoutMs?: number | undefined;
  /** Per connection attempt, and how long the factory waits for Redis before returning anyway. Default 2000. */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * The subscriber pings this often and closes its connection when nothing came back for
   * `pingIntervalMs + max(commandTimeoutMs, 2000)`: a hung server or a silent partition is
   * noticed within about `2 × pingIntervalMs + max(commandTimeoutMs, 2000)` (12 s by default),
   * and the local tier is cleared then. Default 5000.
   */
  readonly pingIntervalMs?: number | undefined;
  /** Default: `console`. One warning per outage. */
  readonly logger?: CacheLogger | undefined;
}

/** Reconnect after 50, 100, 200 … ms, never waiting more than 2 s between attempts. */
function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, 2000);
}

const CREATE_OPTIONS = optionNames<CreateRedisSessionCacheOptions>({
  url: true,
  client: true,
  namespace: true,
  keyPrefix: true,
  idPrefix: true,
  localTtlSeconds: true,
  localMax: true,
  tombstoneSeconds: true,
  commandTimeoutMs: true,
  connectTimeoutMs: true,
  pingIntervalMs: true,
  logger: true,
});

/**
 * The production cache for many app instances: an in-process LRU in front of Redis, with
 * invalidation through Redis pub/sub. Connects two connections (commands and subscriber) with
 * no offline queue, short timeouts and quick reconnects, waits up to `connectTimeoutMs` for
 * them, and returns the cache even when Redis is down (it then behaves as a cache that misses,
 * and recovers by itself). `close()` quits the connections it opened.
 *
 * @throws TypeError on a bad option; never for an unreachable Redis
 * @example
 * const cache = await createRedisSessionCache({ url: process.env.REDIS_URL, namespace: 'myapp:' });
 * const sessions = new SessionManager({ store, cache });
 * // on shutdown
 * await cache.close();
 */
export async function createRedisSessionCache(options: CreateRedisSessionCacheOptions = {}): Promise<TieredSessionCache> {
  if (typeof options !== 'object' || options === null) throw new TypeError('nilva-session: options must be an object');
  assertKnownOptions('createRedisSessionCache', options, CREATE_OPTIONS);
  if (options.url !== undefined && options.client !== undefined) {
    throw new TypeError('nilva-session: give either option "url" or option "client", not both');
  }
  if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
    throw new TypeError('nilva-session: option "url" must be a redis:// or rediss:// URL');
  }
  const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, 2000);
  const commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs, 500);
  const pingIntervalMs = positive('pingIntervalMs', options.pingIntervalMs, 5000);
  const logger = options.logger ?? consoleCacheLogger;
  // node-redis times out only commands not yet written, so an unanswered PING would wait
  // forever: an idle socket timeout is what notices a hung server on the subscriber (whose
  // pings keep it busy otherwise). The command connection has none: it may idle for long, and
  // its commands are timed out by the cache itself.
  const subscriberSocketTimeout = pingIntervalMs + Math.max(commandTimeoutMs, 2000);
  const local = new MemorySessionCache(options.localMax === undefined ? {} : { max: options.localMax });

  let client: NodeRedisClient | NodeRedisConnection;
  let subscriber: NodeRedisConnection;
  const owned: NodeRedisConnection[] = [];
  if (options.client !== undefined) {
    client = options.client;
    subscriber = options.client.duplicate({
      pingInterval: pingIntervalMs,
      disableOfflineQueue: true,
      socket: { ...options.client.options?.socket, socketTimeout: subscriberSocketTimeout },
    });
    owned.push(subscriber);
  } else {
    const config = {
      url: options.url ?? 'redis://127.0.0.1:6379',
      disableOfflineQueue: true,
      commandsQueueMaxLength: 10_000,
      socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnectDelay },
      commandOptions: { timeout: commandTimeoutMs },
    };
    // Loaded here, not at import: an application passing its own `client` needs no second copy.
    const { createClient } = await importPeer(() => import('@redis/client'), '@redis/client', 'createRedisSessionCache');
    const own = createClient(config);
    subscriber = createClient({
      ...config,
      pingInterval: pingIntervalMs,
      socket: { ...config.socket, socketTimeout: subscriberSocketTimeout },
    });
    client = own;
    owned.push(own, subscriber);
  }

  // The cache listens for `error` before anything connects: an EventEmitter error without a
  // listener would crash the process.
  const remote = new RedisSessionCache({
    client,
    subscriber,
    namespace: options.namespace,
    keyPrefix: options.keyPrefix,
    idPrefix: options.idPrefix,
    tombstoneSeconds: options.tombstoneSeconds,
    commandTimeoutMs,
    logger,
    onClose: () => closeAll(owned, commandTimeoutMs),
  });
  const cache = new TieredSessionCache(local, remote, { localTtlSeconds: options.localTtlSeconds });
  for (const connection of client.isOpen ? [subscriber] : [client, subscriber]) {
    // Rejected only when closed while connecting; failures are reported through `error`.
    connection.connect().catch(() => undefined);
  }
  await remote.ready(connectTimeoutMs);
  return cache;
}

function ignore(): void {}

async function closeAll(connections: readonly NodeRedisConnection[], timeoutMs: number): Promise<void> {
  await Promise.all(
    connections.map(async (c) => {
      // The cache stopped listening: a late error of a closing connection must not crash.
      c.on('error', ignore);
      if (!c.isOpen) return;
      try {
        // close() waits for pending replies; a dead server would make it wait forever.
        await withTimeout(c.close(), timeoutMs);
      } catch {
        // fall through to destroy
      }
      if (c.isOpen) c.destroy();
    }),
  );
  // Let the sockets' close events run before the caller (a test, a shutdown hook) goes on.
  await sleep(0);
}

function positive(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`nilva-session: option "${option}" must be a positive number, got ${String(value)}`);
  }
  return value;
}

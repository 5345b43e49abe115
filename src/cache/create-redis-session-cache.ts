import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { importPeer } from '../lib/peer-import.js';
import { type CacheLogger, consoleCacheLogger } from './cache-logger.js';
import { MemorySessionCache } from './memory-session-cache.js';
import {
  isClusterClient,
  type RedisClusterCommandClient,
  type RedisClusterSubscriberClient,
  type RedisCommandClient,
  type RedisSubscriberClient,
} from './redis-client.js';
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

/** A cluster client the factory can open and close (a node-redis `createCluster()` client). */
export interface NodeRedisClusterConnection extends RedisClusterCommandClient, RedisClusterSubscriberClient {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): unknown;
}

/**
 * An application's own node-redis cluster client (`createCluster()`), passed as `client`. The
 * subscriber is its `duplicate()`, with its `defaults` (credentials, TLS) kept.
 */
export interface NodeRedisClusterClient extends RedisClusterCommandClient {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  /** Used once, for the subscriber. */
  duplicate(overrides?: object): NodeRedisClusterConnection;
}

/**
 * node-redis `createCluster()` options, passed on as they are, with this cache's settings added
 * to `defaults` (no offline queue, timeouts, reconnects) unless given there. `defaults` applies
 * to every node the cluster tells of: put credentials and TLS there, not only in `rootNodes`.
 */
export interface RedisClusterConfig {
  /** A few nodes to learn the topology from, e.g. `[{ url: 'rediss://clustercfg.example:6379' }]`. */
  readonly rootNodes: readonly object[];
  /** Options of every node's connection: `username`, `password`, `socket: { tls: true }` … */
  readonly defaults?: { readonly socket?: object | undefined; readonly [option: string]: unknown } | undefined;
  readonly [option: string]: unknown;
}

/** Options of {@link createRedisSessionCache}. */
export interface CreateRedisSessionCacheOptions {
  /**
   * A single server (or a primary with replicas):
   * `redis[s]://[[user][:password]@]host[:port][/db]`. Default `redis://127.0.0.1:6379` when
   * neither `urls`, `cluster` nor `client` is given.
   */
  readonly url?: string | undefined;
  /**
   * A Redis Cluster (Valkey, ElastiCache or MemoryDB in cluster mode): one or more of its
   * nodes, `redis[s]://[[user][:password]@]host[:port]` (ElastiCache: the configuration
   * endpoint). The user, password and TLS of the first URL apply to every node of the cluster.
   */
  readonly urls?: readonly string[] | undefined;
  /** A Redis Cluster, as node-redis `createCluster()` options (for `nodeAddressMap` and the like). */
  readonly cluster?: RedisClusterConfig | undefined;
  /**
   * Your own client instead: a single server's (`createClient()`) or a cluster's
   * (`createCluster()`). Commands run on it (it is connected if it is not, and is not closed by
   * `close()`); the subscriber is a duplicate of it, which `close()` does close. Give it
   * `disableOfflineQueue: true` (a cluster: in `defaults`) so that commands never pile up while
   * Redis is down.
   */
  readonly client?: NodeRedisClient | NodeRedisClusterClient | undefined;
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

/**
 * A cluster node: at most 500 ms between attempts, since node-redis learns a failover's new
 * topology on a reconnect attempt (see CLUSTER_TOPOLOGY_REFRESH_MS) and then stops retrying the
 * dead node.
 */
function clusterReconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, 500);
}

/**
 * node-redis asks another node for the topology this long after a node's connection was lost
 * (its default: 5 s), and again as long as it is lost: a replica that took over is found within
 * about this much of the takeover.
 */
const CLUSTER_TOPOLOGY_REFRESH_MS = 500;

const CREATE_OPTIONS = optionNames<CreateRedisSessionCacheOptions>({
  url: true,
  urls: true,
  cluster: true,
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
  const given = (['url', 'urls', 'cluster', 'client'] as const).filter((name) => options[name] !== undefined);
  if (given.length > 1) {
    throw new TypeError(
      `nilva-session: give one of the options "url", "urls", "cluster" and "client", not ${given.map((n) => `"${n}"`).join(' and ')}`,
    );
  }
  if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
    throw new TypeError('nilva-session: option "url" must be a redis:// or rediss:// URL');
  }
  const clusterConfig = options.urls !== undefined ? clusterFromUrls(options.urls) : options.cluster;
  if (
    clusterConfig !== undefined &&
    (typeof clusterConfig !== 'object' ||
      clusterConfig === null ||
      !Array.isArray(clusterConfig.rootNodes) ||
      clusterConfig.rootNodes.length === 0)
  ) {
    throw new TypeError('nilva-session: option "cluster" must be createCluster() options with at least one of "rootNodes"');
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

  let client: NodeRedisClient | NodeRedisConnection | NodeRedisClusterClient | NodeRedisClusterConnection;
  let subscriber: NodeRedisConnection | NodeRedisClusterConnection;
  const owned: Array<NodeRedisConnection | NodeRedisClusterConnection> = [];
  // The subscriber of a cluster: only the node it listens on is connected, every node's
  // connection pings and times out as a single server's subscriber does, and the topology is
  // asked for again soon after its node is lost.
  const subscriberClusterOptions = (defaults: RedisClusterConfig['defaults']) => ({
    minimizeConnections: true,
    topologyRefreshOnReconnectionAttemptStrategy: CLUSTER_TOPOLOGY_REFRESH_MS,
    defaults: {
      ...defaults,
      pingInterval: pingIntervalMs,
      disableOfflineQueue: true,
      socket: { ...defaults?.socket, socketTimeout: subscriberSocketTimeout },
    },
  });
  if (options.client !== undefined && isClusterClient(options.client)) {
    const own = options.client as NodeRedisClusterClient;
    client = own;
    subscriber = own.duplicate(subscriberClusterOptions(clusterDefaultsOf(own)));
    owned.push(subscriber);
  } else if (options.client !== undefined) {
    const own = options.client as NodeRedisClient;
    client = own;
    subscriber = own.duplicate({
      pingInterval: pingIntervalMs,
      disableOfflineQueue: true,
      socket: { ...own.options?.socket, socketTimeout: subscriberSocketTimeout },
    });
    owned.push(subscriber);
  } else if (clusterConfig !== undefined) {
    const defaults = {
      commandsQueueMaxLength: 10_000,
      ...clusterConfig.defaults,
      disableOfflineQueue: true,
      socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: clusterReconnectDelay, ...clusterConfig.defaults?.socket },
    };
    const config = {
      topologyRefreshOnReconnectionAttemptStrategy: CLUSTER_TOPOLOGY_REFRESH_MS,
      ...clusterConfig,
      rootNodes: [...clusterConfig.rootNodes],
      commandOptions: { timeout: commandTimeoutMs },
      defaults,
    };
    const { createCluster } = await importPeer(() => import('@redis/client'), '@redis/client', 'createRedisSessionCache');
    // The options are node-redis's own (typed loosely here, checked by it at run time).
    type Options = Parameters<typeof createCluster>[0];
    const own = createCluster(config as unknown as Options) as unknown as NodeRedisClusterConnection;
    subscriber = createCluster({
      ...config,
      ...subscriberClusterOptions(defaults),
    } as unknown as Options) as unknown as NodeRedisClusterConnection;
    client = own;
    owned.push(own, subscriber);
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
    onClose: () => {
      closing = true;
      return closeAll(owned, commandTimeoutMs);
    },
  });
  const cache = new TieredSessionCache(local, remote, { localTtlSeconds: options.localTtlSeconds });
  let closing = false;
  for (const connection of client.isOpen ? [subscriber] : [client, subscriber]) {
    if (isClusterClient(connection)) {
      // A cluster client that could not learn the topology gives up (a single server's client
      // retries by itself): keep trying, so that a cache started while the cluster is down
      // recovers once it is up.
      void connectCluster(connection as NodeRedisClusterConnection, () => closing);
    } else {
      // Rejected only when closed while connecting; failures are reported through `error`.
      connection.connect().catch(() => undefined);
    }
  }
  await remote.ready(connectTimeoutMs);
  return cache;
}

function ignore(): void {}

async function connectCluster(connection: NodeRedisClusterConnection, closed: () => boolean): Promise<void> {
  for (let attempt = 0; !closed() && !connection.isOpen; attempt++) {
    try {
      await connection.connect();
      return;
    } catch {
      // Reported through `error`; tried again.
    }
    await sleep(reconnectDelay(attempt));
  }
}

/** `rootNodes` from the URLs; the first one's user, password and TLS for every node. */
function clusterFromUrls(urls: unknown): RedisClusterConfig {
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new TypeError('nilva-session: option "urls" must be a non-empty array of redis:// or rediss:// URLs');
  }
  let first: URL | undefined;
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = typeof url === 'string' && /^rediss?:\/\//.test(url) ? new URL(url) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined)
      throw new TypeError(`nilva-session: option "urls" must hold redis:// or rediss:// URLs, got ${JSON.stringify(url)}`);
    if (parsed.pathname !== '' && parsed.pathname !== '/' && parsed.pathname !== '/0') {
      throw new TypeError('nilva-session: option "urls": a Redis Cluster has database 0 only, so a URL names no other');
    }
    first ??= parsed;
  }
  const defaults: { username?: string; password?: string; socket?: { tls: true } } = {};
  if (first?.username) defaults.username = decodeURIComponent(first.username);
  if (first?.password) defaults.password = decodeURIComponent(first.password);
  if (first?.protocol === 'rediss:') defaults.socket = { tls: true };
  return { rootNodes: urls.map((url: string) => ({ url })), defaults };
}

/** A cluster client's `defaults` (credentials, TLS), so its duplicate keeps them. */
function clusterDefaultsOf(client: object): RedisClusterConfig['defaults'] {
  const options = (client as { _options?: { defaults?: RedisClusterConfig['defaults'] } })._options;
  return options?.defaults;
}

async function closeAll(connections: ReadonlyArray<NodeRedisConnection | NodeRedisClusterConnection>, timeoutMs: number): Promise<void> {
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

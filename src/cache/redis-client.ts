/**
 * The parts of a Redis client that the Redis tier calls, typed structurally (as Kysely types its
 * drivers) so this file imports no client. A node-redis / `@redis/client` v5+ client satisfies
 * the first two interfaces, and a node-redis cluster client (`createCluster()`) the cluster one;
 * so does anything with the same methods.
 *
 * Keys are namespaced by the cache itself: do not give the client a `keyPrefix`.
 */

/** An event listener as `EventEmitter` takes it. */
export type RedisEventListener = (...args: unknown[]) => void;

/**
 * The connection that runs commands. Every command goes through `sendCommand` (GET-like Lua
 * scripts, `EVALSHA`/`EVAL`, `SCAN`, `UNLINK`), with string arguments; replies are RESP2 or RESP3
 * values decoded to strings, numbers, arrays and `null`.
 */
export interface RedisCommandClient {
  /** `true` while connected and ready: commands are not even sent otherwise (fail fast). */
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  /** Events used: `error`, `ready`, `end`. */
  on(event: string, listener: RedisEventListener): unknown;
  off(event: string, listener: RedisEventListener): unknown;
}

/**
 * A second, dedicated connection in subscriber mode. Its client must resubscribe by itself after
 * a reconnect and emit `ready` only once it has (node-redis does both).
 */
export interface RedisSubscriberClient {
  readonly isReady: boolean;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  /** Events used: `error`, `ready`, `end`, `reconnecting`, `ping-interval`. */
  on(event: string, listener: RedisEventListener): unknown;
  off(event: string, listener: RedisEventListener): unknown;
}

/** One node's connection inside a cluster client, as `getNodeClientForKey` gives it. */
export interface RedisNodeCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * A Redis Cluster client (node-redis `createCluster()`, which also serves Valkey and ElastiCache
 * in cluster mode). Commands go through `sendCommand(firstKey, isReadonly, args)`, which routes
 * by the key's hash slot and follows `MOVED`/`ASK` redirections; the cache always names the key
 * and never reads from replicas (`isReadonly` is `false`: a replica may still hold an entry its
 * master deleted). Telling it from a single-server client: it has `getNodeClientForKey`.
 */
export interface RedisClusterCommandClient {
  /** `true` once the cluster's topology is known, until it is closed (not per node). */
  readonly isReady: boolean;
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  /**
   * The master's connection for `key`'s slot: the connection the cache's commands for that slot
   * went through, on which `WAIT` then counts the replicas that have them.
   */
  getNodeClientForKey(key: string, isReadonly?: boolean): Promise<RedisNodeCommandClient>;
  /** Events used: `error`, `connect` (topology known), `disconnect` (closed). */
  on(event: string, listener: RedisEventListener): unknown;
  off(event: string, listener: RedisEventListener): unknown;
}

/**
 * A cluster client used as the subscriber: `subscribe` is Redis's plain pub/sub, which a cluster
 * delivers to subscribers on every node. The cache wraps it (see `ClusterSubscriber`) to know
 * when messages are really heard again after a node failed.
 */
export interface RedisClusterSubscriberClient {
  readonly isReady: boolean;
  subscribe(channels: string | string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  /**
   * Called with the listener given to `subscribe` (typed `never` here only because node-redis
   * types it as a listener of strings or Buffers).
   */
  unsubscribe(channels: string | string[], listener: never): Promise<unknown>;
  /** Events used: `error`, `node-error`, `node-reconnecting`, `node-disconnect`, `node-ready`, `connect`, `disconnect`. */
  on(event: string, listener: RedisEventListener): unknown;
  off(event: string, listener: RedisEventListener): unknown;
}

/** Whether `client` is a cluster client rather than a single server's. */
export function isClusterClient(client: unknown): client is RedisClusterCommandClient {
  return typeof (client as { getNodeClientForKey?: unknown } | null | undefined)?.getNodeClientForKey === 'function';
}

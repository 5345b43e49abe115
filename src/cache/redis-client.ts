/**
 * The parts of a Redis client that the Redis tier calls, typed structurally (as Kysely types its
 * drivers) so this file imports no client. A node-redis / `@redis/client` v5+ client satisfies
 * both interfaces; so does anything with the same methods.
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

import { randomUUID } from 'node:crypto';
import type { CachedSession, SessionCache } from '../core/session-cache.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { type CacheLogger, consoleCacheLogger } from './cache-logger.js';
import { decodeCachedSession, encodeCachedSession } from './cached-session-codec.js';
import { ClusterSubscriber } from './cluster-subscriber.js';
import { type CacheRef, decodeInvalidation, encodeInvalidation, type InvalidationMessage } from './invalidation-message.js';
import {
  isClusterClient,
  type RedisClusterCommandClient,
  type RedisClusterSubscriberClient,
  type RedisCommandClient,
  type RedisNodeCommandClient,
  type RedisSubscriberClient,
} from './redis-client.js';
import {
  FILL_SCRIPT,
  FILL_SIDE_SCRIPT,
  INVALIDATE_SCRIPT,
  INVALIDATE_SIDE_SCRIPT,
  PUBLISH_SCRIPT,
  READ_SCRIPT,
  type RedisScript,
  UPDATE_SCRIPT,
  UPDATE_SIDE_SCRIPT,
} from './redis-scripts.js';
import { sleep, withTimeout } from './timers.js';

/** Default key namespace: every key and the channel start with it. */
export const DEFAULT_NAMESPACE = 'nilva:';
/** Default prefix of the entry keyed by the token's SHA-256 (as the Python original's `user_session:`). */
export const DEFAULT_KEY_PREFIX = 'user_session:';
/** Default prefix of the entry keyed by session id (as the Python original's `user_session_by_id:`). */
export const DEFAULT_ID_PREFIX = 'user_session_by_id:';
/** Default prefix of the short-lived marker left by an invalidation. */
export const DEFAULT_TOMBSTONE_PREFIX = 'user_session_tombstone:';

/** Options of {@link RedisSessionCache}. */
export interface RedisSessionCacheOptions {
  /**
   * The connection for commands: a single server's client, or a cluster client
   * (`createCluster()`), which switches the cache to the cluster key layout (see
   * `src/cache/README.md`). Give it no offline queue and a short connect timeout (a cluster:
   * in its `defaults`).
   */
  readonly client: RedisCommandClient | RedisClusterCommandClient;
  /**
   * A dedicated connection for the invalidation channel (with a cluster `client`, a second
   * cluster client, e.g. its `duplicate()`). Without it this cache still refuses stale fills
   * (tombstones) but cannot tell a two-tier cache about other processes.
   */
  readonly subscriber?: RedisSubscriberClient | RedisClusterSubscriberClient | undefined;
  /** Start of every key and of the channel `<namespace>invalidate`. Default `nilva:`. */
  readonly namespace?: string | undefined;
  /** Default `user_session:` (then the SHA-256 hex of the token). */
  readonly keyPrefix?: string | undefined;
  /** Default `user_session_by_id:` (then the session's UUID). */
  readonly idPrefix?: string | undefined;
  /** Default `user_session_tombstone:` (then the session's UUID). */
  readonly tombstonePrefix?: string | undefined;
  /**
   * How long an invalidation refuses fills of the same session, in seconds. The one fill that
   * can still land after a revoke is one whose store read came before it, whose process did not
   * hear of the revoke, and that reaches Redis more than this later. Default 30.
   */
  readonly tombstoneSeconds?: number | undefined;
  /** A command not answered within this many ms counts as failed (the read is a miss). Default 500. */
  readonly commandTimeoutMs?: number | undefined;
  /**
   * After a failed command, commands are not even tried for this many ms, except invalidations
   * (see {@link RedisSessionCache.invalidate}). Default 1000.
   */
  readonly retryAfterMs?: number | undefined;
  /**
   * Invalidations that could not reach Redis are kept (up to this many sessions) and replayed
   * once it answers again; beyond it, every entry of the namespace is deleted then. Default 10 000.
   */
  readonly maxPendingInvalidations?: number | undefined;
  /** Default: `console`. Outages are reported once each, never per request. */
  readonly logger?: CacheLogger | undefined;
  /** Called last by {@link RedisSessionCache.close}: the factory closes the connections it opened. */
  readonly onClose?: (() => Promise<void>) | undefined;
}

/** What the Redis tier tells the two-tier cache. */
export type RedisCacheEvent =
  | InvalidationMessage
  /** Invalidation messages may be missed from now on (the subscriber lost its connection). */
  | { readonly type: 'down' }
  /** Subscribed again: messages may have been missed since `down`. */
  | { readonly type: 'up' };

/** A shared entry with the milliseconds it has left in Redis. */
export interface RemoteEntry {
  readonly entry: CachedSession;
  readonly ttlMs: number;
}

const HASH_RE = /^[0-9a-f]{64}$/;
/** The fill time a cluster entry starts with. */
const FILLED_AT_RE = /^\{"filledAt":(\d+),/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEY_PART_RE = /^[A-Za-z0-9:._-]{0,100}$/;
/** Server replies that mean "not now" rather than "wrong command". */
const BUSY_REPLY_RE = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|OOM) /;
const CHUNK = 500;

class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable';
}
/** Thrown without allocating while Redis is known to be down. */
const UNAVAILABLE = new RedisUnavailable('nilva-session: Redis is unavailable');

const REDIS_CACHE_OPTIONS = optionNames<RedisSessionCacheOptions>({
  client: true,
  subscriber: true,
  namespace: true,
  keyPrefix: true,
  idPrefix: true,
  tombstonePrefix: true,
  tombstoneSeconds: true,
  commandTimeoutMs: true,
  retryAfterMs: true,
  maxPendingInvalidations: true,
  logger: true,
  onClose: true,
});

/**
 * The shared tier: one JSON record per session in Redis, under `<namespace><keyPrefix><sha256>`
 * and `<namespace><idPrefix><uuid>`, with a TTL that never slides, plus pub/sub invalidation on
 * `<namespace>invalidate`.
 *
 * Faults never escape: while Redis is down or slow, reads are misses (the core then asks the
 * store), fills and touches are dropped, invalidations are kept and replayed, commands are not
 * queued, and one warning is logged per outage.
 *
 * Most applications use {@link createRedisSessionCache}, which puts an in-process tier in front.
 */
export class RedisSessionCache implements SessionCache {
  readonly namespace: string;
  /** `<namespace>invalidate`. */
  readonly channel: string;
  readonly #client: RedisCommandClient | RedisClusterCommandClient;
  /** The client, when it is a cluster's: keys are hash-tagged and every command names its key. */
  readonly #cluster: RedisClusterCommandClient | undefined;
  readonly #subscriber: RedisSubscriberClient | undefined;
  /** The client's events that mean "ready" and "gone" (a cluster names them differently). */
  readonly #readyEvent: string;
  readonly #endEvent: string;
  readonly #keyPrefix: string;
  readonly #idPrefix: string;
  readonly #tombstonePrefix: string;
  readonly #tombstoneMs: string;
  readonly #commandTimeoutMs: number;
  readonly #retryAfterMs: number;
  readonly #maxPending: number;
  readonly #logger: CacheLogger;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #listeners = new Set<(event: RedisCacheEvent) => void>();
  /** id → key hash of invalidations that did not reach Redis. */
  /** Invalidations Redis has not taken yet: session id → token hash. */
  readonly #pending = new Map<string, string>();
  /** The token hashes of `#pending`, so a lookup can tell at once that it must not trust Redis. */
  readonly #pendingHashes = new Set<string>();
  #flushPending = false;
  #replaying: Promise<void> | undefined;
  /** Retries pending invalidations in the background, so they land even if nothing else runs. */
  #retryTimer: NodeJS.Timeout | undefined;
  #epoch = 0;
  #closed = false;
  #blockedUntil = 0;
  #commandDown: boolean;
  #subscriberDown: boolean;
  #subscribedOnce = false;
  /** The subscriber was listening once (so a later `up` follows a gap). */
  #wasUp = false;
  #subscribing = false;
  #inOutage = false;
  #warnedSerialization = false;
  #warnedReplicas = false;
  /** When a command last failed (a cluster's outage ends only after retryAfterMs without one). */
  #lastFailureAt = Number.NEGATIVE_INFINITY;
  /**
   * Cluster: ids and token hashes of invalidations heard lately → until when (performance.now())
   * their entries in Redis are not trusted. Another process's invalidation may have reached only
   * some nodes (one was failing over); its entries elsewhere are stale until it replays.
   */
  readonly #heard = new Map<string, number>();
  /**
   * Cluster: entries filled before this time (Date.now()) are not trusted: this process's
   * subscriber was down meanwhile, so it may have missed invalidations whose deletions did not
   * reach a failed node, and such an entry comes back with the replica that takes over. While
   * the subscriber is down no entry is trusted at all (`#trusted`).
   */
  #trustFilledAfter = Number.NEGATIVE_INFINITY;

  constructor(options: RedisSessionCacheOptions) {
    if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
    assertKnownOptions('RedisSessionCache', options, REDIS_CACHE_OPTIONS);
    if (!isCommandClient(options.client)) fail('client', 'a Redis client (sendCommand, isReady, on)', options.client);
    this.#client = options.client;
    this.#cluster = isClusterClient(options.client) ? options.client : undefined;
    this.#readyEvent = this.#cluster === undefined ? 'ready' : 'connect';
    this.#endEvent = this.#cluster === undefined ? 'end' : 'disconnect';
    this.namespace = keyPart('namespace', options.namespace, DEFAULT_NAMESPACE);
    this.#keyPrefix = keyPart('keyPrefix', options.keyPrefix, DEFAULT_KEY_PREFIX);
    this.#idPrefix = keyPart('idPrefix', options.idPrefix, DEFAULT_ID_PREFIX);
    this.#tombstonePrefix = keyPart('tombstonePrefix', options.tombstonePrefix, DEFAULT_TOMBSTONE_PREFIX);
    const prefixes = new Set([this.#keyPrefix, this.#idPrefix, this.#tombstonePrefix]);
    if (prefixes.size !== 3 || this.#keyPrefix === '' || this.#idPrefix === '' || this.#tombstonePrefix === '') {
      fail('keyPrefix', 'non-empty and distinct from idPrefix and tombstonePrefix', options.keyPrefix);
    }
    this.channel = `${this.namespace}invalidate`;
    this.#tombstoneMs = String(Math.ceil(positive('tombstoneSeconds', options.tombstoneSeconds, 30) * 1000));
    this.#commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs, 500);
    this.#retryAfterMs = positive('retryAfterMs', options.retryAfterMs, 1000);
    this.#maxPending = positive('maxPendingInvalidations', options.maxPendingInvalidations, 10_000);
    this.#logger = options.logger ?? consoleCacheLogger;
    this.#onClose = options.onClose;
    const cluster = this.#cluster;
    // A cluster's subscriber is wrapped: it says it hears messages only once it has heard its own.
    this.#subscriber =
      options.subscriber === undefined || cluster === undefined
        ? (options.subscriber as RedisSubscriberClient | undefined)
        : new ClusterSubscriber(options.subscriber as RedisClusterSubscriberClient, {
            publish: (channel, message) => cluster.sendCommand(undefined, false, ['PUBLISH', channel, message]),
            probeChannel: `${this.channel}:probe:${randomUUID()}`,
            timeoutMs: Math.max(this.#commandTimeoutMs, 2000),
          });
    this.#commandDown = !this.#client.isReady;
    this.#subscriberDown = this.#subscriber !== undefined;
    this.#client.on('error', this.#onClientError);
    this.#client.on(this.#endEvent, this.#onClientError);
    this.#client.on(this.#readyEvent, this.#onClientReady);
    const sub = this.#subscriber;
    if (sub !== undefined) {
      sub.on('error', this.#onSubscriberDown);
      sub.on('end', this.#onSubscriberDown);
      sub.on('reconnecting', this.#onSubscriberDown);
      sub.on('ready', this.#onSubscriberReady);
      sub.on('ping-interval', this.#onSubscriberPing);
      if (sub.isReady) this.#subscribe();
    }
  }

  // ---------------------------------------------------------------------------------------
  // SessionCache

  /** The entry for this token hash, or `undefined` (also when Redis fails). */
  async byKeyHash(keyHash: string): Promise<CachedSession | undefined> {
    return (await this.lookup('keyHash', keyHash))?.entry;
  }

  /** The entry for this session id, or `undefined` (also when Redis fails). */
  async byId(id: string): Promise<CachedSession | undefined> {
    return (await this.lookup('id', id))?.entry;
  }

  /**
   * The entry with its remaining lifetime in Redis. A value that is not a valid record of the
   * session looked up (garbage, another session, no TTL) is a miss.
   */
  async lookup(kind: 'keyHash' | 'id', value: string): Promise<RemoteEntry | undefined> {
    const key = kind === 'keyHash' ? this.#hashKey(value) : this.#idKey(value);
    if (key === undefined) return undefined;
    // This process revoked the session and Redis has not taken the deletion yet: the entry
    // there is stale, so the store decides.
    if (this.#flushPending || (kind === 'keyHash' ? this.#pendingHashes.has(value) : this.#pending.has(value))) return undefined;
    let reply: unknown;
    try {
      reply = await this.#eval(READ_SCRIPT, [key], []);
    } catch {
      return undefined;
    }
    if (!Array.isArray(reply) || reply.length !== 2) return undefined;
    const ttlMs = Number(reply[1]);
    if (!(ttlMs > 0)) return undefined;
    const entry = decodeCachedSession(reply[0], kind === 'keyHash' ? { keyHash: value } : { id: value });
    if (entry === undefined) return undefined;
    if (this.#cluster !== undefined && !this.#trusted(entry, reply[0] as string)) return undefined;
    return { entry, ttlMs };
  }

  /** Moves on every invalidation this process makes or hears of. */
  epoch(): number {
    return this.#epoch;
  }

  /** Stores `entry` for `ttlMs` unless an invalidation happened since `epoch` (or lately anywhere). */
  async set(entry: CachedSession, ttlMs: number, epoch: number): Promise<void> {
    if (epoch !== this.#epoch) return;
    await this.fill(entry, ttlMs);
  }

  /**
   * Stores `entry` for `ttlMs` under both keys unless a tombstone of the session exists.
   * Resolves `true` when stored; `false` when refused, invalid, or Redis failed.
   */
  async fill(entry: CachedSession, ttlMs: number): Promise<boolean> {
    if (this.#cluster !== undefined) return this.#fillSides(entry, ttlMs);
    const keys = this.#keysOf(entry);
    const json = keys === undefined || !(ttlMs > 0) ? undefined : this.#encode(entry);
    if (keys === undefined || json === undefined) return false;
    try {
      return (await this.#eval(FILL_SCRIPT, keys, [json, String(Math.ceil(ttlMs))])) === 1;
    } catch {
      return false;
    }
  }

  /** Replaces the cached entry, keeping its remaining TTL (`SET … XX KEEPTTL`); never creates one. */
  async update(entry: CachedSession): Promise<void> {
    if (this.#cluster !== undefined) return this.#updateSides(entry);
    const keys = this.#keysOf(entry);
    const json = keys === undefined ? undefined : this.#encode(entry);
    if (keys === undefined || json === undefined) return;
    try {
      await this.#eval(UPDATE_SCRIPT, keys, [json]);
    } catch {
      // Dropped: the entry keeps its previous fields until it expires or is refilled.
    }
  }

  /**
   * Deletes these sessions' entries, leaves tombstones, and tells every process on the channel.
   * Tried whenever the connection is up, even while other commands back off after a failure
   * (`retryAfterMs`), so it waits at most `commandTimeoutMs`. When Redis cannot be reached the
   * sessions are remembered and replayed once it can.
   */
  async invalidate(refs: readonly CacheRef[]): Promise<void> {
    if (refs.length === 0 || this.#closed) return;
    this.#epoch++;
    const valid = refs.filter((r) => UUID_RE.test(r.id) && HASH_RE.test(r.keyHash));
    let failed = false;
    for (let i = 0; i < valid.length; i += CHUNK) {
      const chunk = valid.slice(i, i + CHUNK);
      try {
        // After one chunk failed, the rest wait for the replay instead of a timeout each.
        if (failed) throw UNAVAILABLE;
        await this.#invalidateNow(chunk);
      } catch {
        failed = true;
        this.#remember(chunk);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Two-tier support

  /**
   * Hears invalidations made by any process (this one included: re-applying one is harmless)
   * and the subscriber's connection state. Returns the function that stops listening.
   */
  subscribe(listener: (event: RedisCacheEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Whether a subscriber was given (without one, no message from other processes arrives). */
  get hasSubscriber(): boolean {
    return this.#subscriber !== undefined;
  }

  /** `true` while invalidation messages are being received. */
  get listening(): boolean {
    return this.#subscriber !== undefined && !this.#subscriberDown;
  }

  /** `true` while commands run and, with a subscriber, messages are received. */
  get healthy(): boolean {
    return !this.#closed && this.#client.isReady && !this.#commandDown && (this.#subscriber === undefined || !this.#subscriberDown);
  }

  /** Resolves `true` once {@link RedisSessionCache.healthy}, or `false` after `timeoutMs`. */
  async ready(timeoutMs = 5000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.healthy) {
      if (this.#closed || performance.now() >= deadline) return false;
      if (this.#client.isReady && this.#commandDown) await this.#probe();
      await sleep(10);
    }
    return true;
  }

  /** The Redis key of an entry, or `undefined` for a value that is not a SHA-256 hex / UUID. */
  keyOf(kind: 'keyHash' | 'id', value: string): string | undefined {
    return kind === 'keyHash' ? this.#hashKey(value) : this.#idKey(value);
  }

  /** Stops listening, replays pending invalidations if Redis answers, then runs `onClose`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#pending.size > 0 || this.#flushPending) {
      this.#blockedUntil = 0;
      await this.#replay();
    }
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#listeners.clear();
    this.#client.off('error', this.#onClientError);
    this.#client.off(this.#endEvent, this.#onClientError);
    this.#client.off(this.#readyEvent, this.#onClientReady);
    const sub = this.#subscriber;
    if (sub !== undefined) {
      sub.off('error', this.#onSubscriberDown);
      sub.off('end', this.#onSubscriberDown);
      sub.off('reconnecting', this.#onSubscriberDown);
      sub.off('ready', this.#onSubscriberReady);
      sub.off('ping-interval', this.#onSubscriberPing);
      if (sub.isReady) await withTimeout(sub.unsubscribe(this.channel, this.#onMessage), this.#commandTimeoutMs).catch(() => undefined);
    }
    await this.#onClose?.();
  }

  // ---------------------------------------------------------------------------------------
  // Keys

  // A single server: `<ns><keyPrefix><hash>`, `<ns><idPrefix><id>`, `<ns><tombstonePrefix><id>`,
  // the names of the Python original. A cluster: the hash or the id in braces (a hash tag, so a
  // side's entry and tombstone share a slot), and a tombstone on each side.

  /** The hash tag (cluster) or the value itself. */
  #tag(value: string): string {
    return this.#cluster === undefined ? value : `{${value}}`;
  }

  #hashKey(keyHash: string): string | undefined {
    return HASH_RE.test(keyHash) ? `${this.namespace}${this.#keyPrefix}${this.#tag(keyHash)}` : undefined;
  }

  #idKey(id: string): string | undefined {
    return UUID_RE.test(id) ? `${this.namespace}${this.#idPrefix}${this.#tag(id)}` : undefined;
  }

  #tombstoneKey(value: string): string {
    return `${this.namespace}${this.#tombstonePrefix}${this.#tag(value)}`;
  }

  /** Single server: by-hash key, by-id key, tombstone (the scripts' KEYS). */
  #keysOf(ref: CacheRef): string[] | undefined {
    if (!HASH_RE.test(ref.keyHash) || !UUID_RE.test(ref.id)) return undefined;
    const ns = this.namespace;
    return [`${ns}${this.#keyPrefix}${ref.keyHash}`, `${ns}${this.#idPrefix}${ref.id}`, `${ns}${this.#tombstonePrefix}${ref.id}`];
  }

  /** Cluster: `[entry, tombstone]` of the hash side, then of the id side; each pair is one slot. */
  #sidesOf(ref: CacheRef): [[string, string], [string, string]] | undefined {
    const hashKey = this.#hashKey(ref.keyHash);
    const idKey = this.#idKey(ref.id);
    if (hashKey === undefined || idKey === undefined) return undefined;
    return [
      [hashKey, this.#tombstoneKey(ref.keyHash)],
      [idKey, this.#tombstoneKey(ref.id)],
    ];
  }

  #encode(entry: CachedSession): string | undefined {
    try {
      return encodeCachedSession(entry);
    } catch (error) {
      if (!this.#warnedSerialization) {
        this.#warnedSerialization = true;
        this.#logger.warn('nilva-session: a session could not be cached in Redis: its user is not JSON-serialisable', {
          error: String(error),
        });
      }
      return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Commands

  async #eval(s: RedisScript, keys: readonly string[], args: readonly string[], urgent = false): Promise<unknown> {
    const n = String(keys.length);
    try {
      return await this.#command(['EVALSHA', s.sha1, n, ...keys, ...args], urgent, keys[0]);
    } catch (error) {
      // The script cache is empty after a restart or SCRIPT FLUSH (or on a node that never ran
      // it, or a replica just promoted): send the source once.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return this.#command(['EVAL', s.source, n, ...keys, ...args], urgent, keys[0]);
      }
      throw error;
    }
  }

  /**
   * Sends a command, unless the connection is down or, for all but `urgent` ones, a command
   * failed less than `retryAfterMs` ago (reads and fills then skip Redis instead of waiting).
   */
  async #command(args: string[], urgent = false, firstKey?: string): Promise<unknown> {
    if (this.#closed || !this.#client.isReady || (!urgent && performance.now() < this.#blockedUntil)) throw UNAVAILABLE;
    let reply: unknown;
    const started = performance.now();
    try {
      reply = await withTimeout(this.#send(firstKey, args), this.#commandTimeoutMs);
    } catch (error) {
      const isReply = error instanceof Error && /^[A-Z]+ /.test(error.message) && !BUSY_REPLY_RE.test(error.message);
      if (!isReply) this.#commandFailed(error, performance.now() - started);
      throw error;
    }
    if (this.#commandDown && (this.#cluster === undefined || performance.now() - this.#lastFailureAt >= this.#retryAfterMs)) {
      this.#commandDown = false;
      this.#recovered();
    }
    if ((this.#pending.size > 0 || this.#flushPending) && this.#replaying === undefined) void this.#replay();
    return reply;
  }

  /** The one place that knows how each kind of client sends a command. */
  #send(firstKey: string | undefined, args: string[]): Promise<unknown> {
    // Never a replica (`isReadonly` false): after a deletion on the master, a replica may still
    // hold the entry for a moment, and a revoked session must not be read back from it.
    if (this.#cluster !== undefined) return this.#cluster.sendCommand(firstKey, false, args);
    return (this.#client as RedisCommandClient).sendCommand(args);
  }

  #commandFailed(error: unknown, elapsedMs: number): void {
    const now = performance.now();
    this.#lastFailureAt = now;
    // A cluster client fails at once for the slots of a node it cannot reach and serves the
    // others: only a failure that cost a wait (a timeout) makes the next commands skip Redis.
    // On a single server every failure does, as one server serves every key.
    if (this.#cluster === undefined || elapsedMs >= this.#commandTimeoutMs / 2) this.#blockedUntil = now + this.#retryAfterMs;
    this.#commandDown = true;
    this.#outage(error);
  }

  /** One cheap command to learn whether a connected client answers again. */
  async #probe(): Promise<void> {
    if (performance.now() < this.#blockedUntil) return;
    await this.#command(['PING']).catch(() => undefined);
  }

  async #invalidateNow(refs: readonly CacheRef[]): Promise<void> {
    if (this.#cluster !== undefined) return this.#invalidateSides(this.#cluster, refs);
    const keys: string[] = [];
    for (const ref of refs) keys.push(...(this.#keysOf(ref) as string[]));
    // Urgent: sent even while backing off from a failure. One slow command (a read that timed
    // out while the process was starved of CPU) says little about the next, and a skipped
    // invalidation lives only in this process's memory: if the process dies before replaying it,
    // the session is served from Redis until its entry expires, although its revocation was
    // answered. A revocation may wait commandTimeoutMs for it; reads never do.
    await this.#eval(INVALIDATE_SCRIPT, keys, [this.#tombstoneMs, this.channel, encodeInvalidation({ type: 'invalidate', refs })], true);
  }

  // ---------------------------------------------------------------------------------------
  // Cluster: one script per side, each on its own slot

  /** Whether a cluster entry may be used (see {@link RedisSessionCache.#heard}, `#trustFilledAfter`). */
  #trusted(entry: CachedSession, raw: string): boolean {
    if (this.#heard.size > 0) {
      const now = performance.now();
      for (const value of [entry.id, entry.keyHash]) {
        const until = this.#heard.get(value);
        if (until === undefined) continue;
        if (until > now) return false;
        this.#heard.delete(value);
      }
    }
    // The subscriber listened and is down now: invalidations made meanwhile go unheard, and a
    // replica taking over a failed master brings back every entry whose deletion missed it.
    if (this.#subscriberDown && this.#wasUp) return false;
    if (this.#trustFilledAfter === Number.NEGATIVE_INFINITY) return true;
    const filledAt = FILLED_AT_RE.exec(raw);
    return filledAt !== null && Number(filledAt[1]) > this.#trustFilledAfter;
  }

  /** Remembers the sessions of an invalidation heard, for as long as tombstones live. */
  #rememberHeard(message: InvalidationMessage): void {
    if (message.type === 'clear') {
      this.#trustFilledAfter = Date.now();
      return;
    }
    const until = performance.now() + Number(this.#tombstoneMs);
    for (const ref of message.refs) {
      this.#heard.set(ref.id, until);
      this.#heard.set(ref.keyHash, until);
    }
    if (this.#heard.size > 2 * this.#maxPending) {
      // Too many to keep: trust nothing filled before now instead.
      this.#heard.clear();
      this.#trustFilledAfter = Date.now();
      return;
    }
    // Forget expired ones now and then, so the map does not grow with the traffic.
    if (this.#heard.size % 1024 === 0) {
      const now = performance.now();
      for (const [value, at] of this.#heard) if (at <= now) this.#heard.delete(value);
    }
  }

  /** The record as stored on a cluster: its JSON with the fill time first (see `#trusted`). */
  #withFillTime(json: string): string {
    return `{"filledAt":${Date.now()},${json.slice(1)}`;
  }

  async #fillSides(entry: CachedSession, ttlMs: number): Promise<boolean> {
    const sides = this.#sidesOf(entry);
    const json = sides === undefined || !(ttlMs > 0) ? undefined : this.#encode(entry);
    if (sides === undefined || json === undefined) return false;
    const ttl = String(Math.ceil(ttlMs));
    const value = this.#withFillTime(json);
    // Each side refuses on its own tombstone, and an invalidation writes both tombstones before
    // it is published: a fill that read the store before a revoke lands on a side only before
    // that side's deletion (which then removes it), never after. Stored only if both landed.
    const replies = await Promise.allSettled(sides.map((keys) => this.#eval(FILL_SIDE_SCRIPT, keys, [value, ttl])));
    return replies.every((r) => r.status === 'fulfilled' && r.value === 1);
  }

  async #updateSides(entry: CachedSession): Promise<void> {
    const sides = this.#sidesOf(entry);
    const json = sides === undefined ? undefined : this.#encode(entry);
    if (sides === undefined || json === undefined) return;
    // A failure drops the touch on that side only: its entry keeps its previous fields.
    await Promise.allSettled(sides.map((keys) => this.#eval(UPDATE_SIDE_SCRIPT, keys, [json])));
  }

  /**
   * Deletes both sides of every session (all at once: the client pipelines them per node),
   * waits for a replica of each node that has one to hold the deletions, then publishes once.
   * The message goes out even when some side failed (a node down): instances that hear it drop
   * their copies and ask Redis, where that node fails for them too, or the store. Throws when
   * anything failed, so the sessions are kept and replayed (deleting again is harmless).
   */
  async #invalidateSides(cluster: RedisClusterCommandClient, refs: readonly CacheRef[]): Promise<void> {
    const sides = refs.flatMap((ref) => this.#sidesOf(ref) ?? []);
    const replies = await Promise.allSettled(sides.map((keys) => this.#eval(INVALIDATE_SIDE_SCRIPT, keys, [this.#tombstoneMs], true)));
    let failure: unknown;
    const done: string[] = [];
    const replicated: string[] = [];
    replies.forEach((reply, i) => {
      const key = (sides[i] as [string, string])[0];
      if (reply.status === 'rejected') failure ??= reply.reason;
      else {
        done.push(key);
        if (Number(reply.value) > 0) replicated.push(key);
      }
    });
    await this.#waitForReplicas(cluster, replicated);
    const message = encodeInvalidation({ type: 'invalidate', refs });
    // Through a node that just answered when there is one, else (or if that fails) through any:
    // a node picked at random may be the one that is down, so a few are tried, unless one was
    // slow to fail (then the cluster is not answering, and the revocation must not wait more).
    const first = done[0];
    let publishError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const started = performance.now();
      try {
        if (attempt === 0 && first !== undefined) await this.#eval(PUBLISH_SCRIPT, [first], [this.channel, message], true);
        else await this.#command(['PUBLISH', this.channel, message], true);
        publishError = undefined;
        break;
      } catch (error) {
        publishError = error;
        if (performance.now() - started >= this.#commandTimeoutMs / 2) break;
      }
    }
    failure ??= publishError;
    if (failure !== undefined) throw failure;
  }

  /**
   * `WAIT 1` on the connection of each node the deletions went to (the same connection, since
   * WAIT counts that connection's writes), for at most a fifth of commandTimeoutMs: on a healthy
   * link a replica has them within a millisecond. A lagging replica is reported once and does not
   * hold the revocation up; its deletions may be lost if its master fails within that moment.
   */
  async #waitForReplicas(cluster: RedisClusterCommandClient, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const nodes = new Set<RedisNodeCommandClient>();
    await Promise.all(
      keys.map(async (key) => {
        try {
          nodes.add(await cluster.getNodeClientForKey(key, false));
        } catch {
          // The node went away since: nothing to wait for on it.
        }
      }),
    );
    const timeoutMs = Math.max(1, Math.floor(this.#commandTimeoutMs / 5));
    const acks = await Promise.all(
      [...nodes].map((node) =>
        withTimeout(node.sendCommand(['WAIT', '1', String(timeoutMs)]), this.#commandTimeoutMs).then(Number, () => 0),
      ),
    );
    if (acks.some((n) => !(n >= 1)) && !this.#warnedReplicas) {
      this.#warnedReplicas = true;
      this.#logger.warn(
        'nilva-session: a Redis replica did not confirm an invalidation in time; a failover right now could bring back revoked entries',
        {
          timeoutMs,
        },
      );
    }
  }

  #remember(refs: readonly CacheRef[]): void {
    this.#scheduleRetry();
    if (this.#flushPending) return;
    for (const ref of refs) {
      this.#pending.set(ref.id, ref.keyHash);
      this.#pendingHashes.add(ref.keyHash);
    }
    if (this.#pending.size > this.#maxPending) {
      // Too many to replay one by one: delete every entry of the namespace once Redis is back.
      this.#pending.clear();
      this.#pendingHashes.clear();
      this.#flushPending = true;
    }
  }

  /**
   * Replays pending invalidations once Redis may answer again, and keeps trying until they are
   * taken. Without it a revocation made during a stall would wait for this process's next
   * cache command, and an idle process would leave other instances serving the revoked
   * session from Redis until the entry expired.
   */
  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    const delay = Math.max(this.#retryAfterMs, this.#blockedUntil - performance.now());
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#pending.size > 0 || this.#flushPending) void this.#replay();
    }, delay);
    this.#retryTimer.unref();
  }

  #replay(): Promise<void> {
    this.#replaying ??= this.#replayNow().finally(() => {
      this.#replaying = undefined;
    });
    return this.#replaying;
  }

  async #replayNow(): Promise<void> {
    if (this.#flushPending) {
      try {
        await this.#flushNamespace();
        this.#flushPending = false;
      } catch {
        this.#scheduleRetry();
        return;
      }
    }
    while (this.#pending.size > 0) {
      const chunk: CacheRef[] = [];
      for (const [id, keyHash] of this.#pending) {
        chunk.push({ id, keyHash });
        if (chunk.length === CHUNK) break;
      }
      try {
        await this.#invalidateNow(chunk);
      } catch {
        this.#scheduleRetry();
        return;
      }
      // Dropped only once Redis took them, so lookups distrust Redis until then.
      for (const ref of chunk) {
        if (this.#pending.get(ref.id) === ref.keyHash) {
          this.#pending.delete(ref.id);
          this.#pendingHashes.delete(ref.keyHash);
        }
      }
    }
  }

  /** Deletes every entry of this namespace (not tombstones), then tells every process to clear. */
  async #flushNamespace(): Promise<void> {
    for (const prefix of [this.#keyPrefix, this.#idPrefix]) {
      let cursor = '0';
      do {
        const reply = await this.#command(['SCAN', cursor, 'MATCH', `${this.namespace}${prefix}*`, 'COUNT', '1000']);
        if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) throw new Error('unexpected SCAN reply');
        cursor = String(reply[0]);
        const keys = (reply[1] as unknown[]).map(String);
        if (keys.length > 0) await this.#command(['UNLINK', ...keys]);
      } while (cursor !== '0');
    }
    await this.#command(['PUBLISH', this.channel, encodeInvalidation({ type: 'clear' })]);
  }

  // ---------------------------------------------------------------------------------------
  // Connection state

  readonly #onClientError = (error?: unknown): void => {
    if (this.#closed) return;
    this.#lastFailureAt = performance.now();
    this.#commandDown = true;
    this.#outage(error);
  };

  readonly #onClientReady = (): void => {
    if (this.#closed) return;
    this.#blockedUntil = 0;
    if (this.#commandDown) {
      this.#commandDown = false;
      this.#recovered();
    }
    if (this.#pending.size > 0 || this.#flushPending) void this.#replay();
  };

  #subscribe(): void {
    const sub = this.#subscriber;
    if (sub === undefined || this.#subscribing || this.#closed) return;
    this.#subscribing = true;
    sub.subscribe(this.channel, this.#onMessage).then(
      () => {
        this.#subscribing = false;
        this.#subscribedOnce = true;
        this.#subscriberUp();
      },
      (error: unknown) => {
        this.#subscribing = false;
        this.#onSubscriberDown(error);
      },
    );
  }

  readonly #onSubscriberReady = (): void => {
    if (this.#closed) return;
    // The client resubscribes by itself before `ready`; only the first subscription is ours.
    if (this.#subscribedOnce) this.#subscriberUp();
    else this.#subscribe();
  };

  /** A successful keep-alive PING: a subscriber that timed out answers again. */
  readonly #onSubscriberPing = (): void => {
    if (!this.#closed && this.#subscribedOnce && this.#subscriber?.isReady === true) this.#subscriberUp();
  };

  readonly #onSubscriberDown = (error?: unknown): void => {
    if (this.#closed) return;
    if (!this.#subscriberDown) {
      this.#subscriberDown = true;
      this.#epoch++;
      this.#emit({ type: 'down' });
    }
    this.#outage(error);
  };

  #subscriberUp(): void {
    if (!this.#subscriberDown) return;
    this.#subscriberDown = false;
    // Messages were missed (not on the first subscription): see `#trustFilledAfter`. A second
    // of margin for the clocks of the processes that filled.
    if (this.#cluster !== undefined && this.#wasUp) this.#trustFilledAfter = Date.now() + 1000;
    this.#wasUp = true;
    this.#epoch++;
    this.#emit({ type: 'up' });
    this.#recovered();
  }

  readonly #onMessage = (raw: string): void => {
    if (this.#closed) return;
    const message = decodeInvalidation(raw);
    if (message === undefined) return;
    this.#epoch++;
    if (this.#cluster !== undefined) this.#rememberHeard(message);
    this.#emit(message);
  };

  #emit(event: RedisCacheEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.warn('nilva-session: a Redis cache listener threw', { error: String(error) });
      }
    }
  }

  #outage(error: unknown): void {
    if (this.#inOutage) return;
    this.#inOutage = true;
    this.#logger.warn('nilva-session: Redis is unavailable; cache reads are misses and writes are dropped until it is back', {
      error: error === undefined ? 'connection ended' : String(error),
    });
  }

  #recovered(): void {
    if (!this.#inOutage || this.#commandDown || this.#subscriberDown) return;
    this.#inOutage = false;
    this.#logger.info?.('nilva-session: Redis is reachable again', {});
  }
}

function isCommandClient(value: unknown): value is RedisCommandClient {
  const c = value as Partial<RedisCommandClient> | null | undefined;
  return typeof c === 'object' && c !== null && typeof c.sendCommand === 'function' && typeof c.on === 'function';
}

function keyPart(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !KEY_PART_RE.test(value)) fail(option, 'up to 100 characters of [A-Za-z0-9:._-]', value);
  return value;
}

function positive(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(option, 'a positive number', value);
  return value;
}

function fail(option: string, expected: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : typeof value;
  throw new TypeError(`nilva-session: option "${option}" must be ${expected}, got ${shown}`);
}

import type { CachedSession, CacheRead, SessionCache } from '../core/session-cache.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import type { CacheRef } from './invalidation-message.js';
import type { MemorySessionCache } from './memory-session-cache.js';
import type { RedisCacheEvent, RedisSessionCache } from './redis-session-cache.js';

/** Options of {@link TieredSessionCache}. */
export interface TieredSessionCacheOptions {
  /**
   * The longest an entry stays in this process's tier, in seconds (it also never outlives the
   * shared entry). It bounds how long an entry can be served here after a revoke elsewhere
   * whose message this process could not hear (a silently broken connection not yet noticed).
   * A local miss costs one Redis round trip (≈ 0.1 ms), once per session per this period, so a
   * short value is cheap. Default 30.
   */
  readonly localTtlSeconds?: number | undefined;
}

/**
 * An in-process tier in front of Redis, for any number of app instances.
 *
 * - Reads try this process first and answer synchronously on a hit (no promise, no allocation);
 *   otherwise Redis, and the entry is promoted here with its remaining Redis TTL (capped by
 *   `localTtlSeconds`), unless an invalidation happened during the round trip.
 * - Fills go to Redis (refused there while a tombstone says the session was just invalidated)
 *   and, once accepted, here.
 * - Invalidations clear both tiers and are published; messages from every process (this one's
 *   included) drop local entries and move the local epoch.
 * - While the subscriber is disconnected nothing is kept here (the tier is cleared when the
 *   connection is lost and again when it is back), so a missed message cannot leave a revoked
 *   session served from memory; reads then go to Redis or, when it is down too, to the store.
 */
export class TieredSessionCache implements SessionCache {
  readonly #local: MemorySessionCache;
  readonly #remote: RedisSessionCache;
  readonly #localTtlMs: number;
  readonly #unsubscribe: () => void;
  /** Whether invalidation messages are heard, so local entries may be kept. */
  #trusted: boolean;

  constructor(local: MemorySessionCache, remote: RedisSessionCache, options: TieredSessionCacheOptions = {}) {
    if (!remote.hasSubscriber) {
      throw new TypeError('nilva-session: option "remote" must be a RedisSessionCache with a subscriber connection');
    }
    assertKnownOptions('TieredSessionCache', options, optionNames<TieredSessionCacheOptions>({ localTtlSeconds: true }));
    const seconds = options.localTtlSeconds ?? 30;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
      throw new TypeError(`nilva-session: option "localTtlSeconds" must be a positive number, got ${String(seconds)}`);
    }
    this.#local = local;
    this.#remote = remote;
    this.#localTtlMs = seconds * 1000;
    this.#trusted = remote.listening;
    this.#local.clear();
    this.#unsubscribe = remote.subscribe(this.#onRemote);
  }

  /** This process's tier. */
  get local(): MemorySessionCache {
    return this.#local;
  }

  /** The shared tier. */
  get remote(): RedisSessionCache {
    return this.#remote;
  }

  byKeyHash(keyHash: string): CacheRead {
    const hit = this.#local.byKeyHash(keyHash);
    return hit !== undefined ? hit : this.#fromRemote('keyHash', keyHash);
  }

  byId(id: string): CacheRead {
    const hit = this.#local.byId(id);
    return hit !== undefined ? hit : this.#fromRemote('id', id);
  }

  /** The local epoch: it moves on every invalidation made here or heard from elsewhere. */
  epoch(): number {
    return this.#local.epoch();
  }

  async set(entry: CachedSession, ttlMs: number, epoch: number): Promise<void> {
    if (epoch !== this.#local.epoch()) return;
    const started = performance.now();
    if (!(await this.#remote.fill(entry, ttlMs)) || !this.#trusted) return;
    // local.set re-checks the epoch: a message heard during the round trip drops the fill.
    this.#local.set(entry, Math.min(ttlMs - (performance.now() - started), this.#localTtlMs), epoch);
  }

  async update(entry: CachedSession): Promise<void> {
    this.#local.update(entry);
    await this.#remote.update(entry);
  }

  async invalidate(refs: readonly CacheRef[]): Promise<void> {
    if (refs.length === 0) return;
    this.#local.invalidate(refs);
    await this.#remote.invalidate(refs);
  }

  /** Stops listening, empties this process's tier and closes the Redis tier (and what it owns). */
  async close(): Promise<void> {
    this.#unsubscribe();
    this.#trusted = false;
    this.#local.clear();
    await this.#remote.close();
  }

  async #fromRemote(kind: 'keyHash' | 'id', value: string): Promise<CachedSession | undefined> {
    const epoch = this.#local.epoch();
    const found = await this.#remote.lookup(kind, value);
    if (found === undefined) return undefined;
    if (this.#trusted) this.#local.set(found.entry, Math.min(found.ttlMs, this.#localTtlMs), epoch);
    return found.entry;
  }

  readonly #onRemote = (event: RedisCacheEvent): void => {
    switch (event.type) {
      case 'invalidate':
        this.#local.invalidate(event.refs);
        return;
      case 'clear':
        this.#local.clear();
        return;
      case 'down':
        this.#trusted = false;
        this.#local.clear();
        return;
      case 'up':
        // Messages sent while disconnected are lost: forget everything cached before.
        this.#local.clear();
        this.#trusted = true;
        return;
    }
  };
}

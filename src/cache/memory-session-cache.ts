import { LRUCache } from 'lru-cache';
import type { CachedSession, SessionCache } from '../core/session-cache.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import type { CacheRef } from './invalidation-message.js';

/** Options of {@link MemorySessionCache}. */
export interface MemorySessionCacheOptions {
  /**
   * The most sessions kept; the least recently used one is dropped beyond it.
   * Default 100 000 (a few tens of MB with small `user` objects).
   */
  readonly max?: number | undefined;
  /**
   * Milliseconds of a monotonic clock for TTLs. Default `performance.now`. Tests pass a fake
   * clock; entries then expire exactly when it says.
   */
  readonly clock?: (() => number) | undefined;
}

/**
 * The in-process cache: a bounded LRU keyed by the token's SHA-256, with a second index from
 * session id to key hash, both kept consistent on every set, eviction, expiry and invalidation.
 *
 * Reads answer synchronously and allocate nothing, so a warm request never waits on a promise.
 * Entries expire after the `ttlMs` given to {@link MemorySessionCache.set}; {@link MemorySessionCache.update}
 * never extends that lifetime. Alone, it suits a single process; behind several app instances use
 * the two-tier cache of `nilva-session/redis`, which clears it on invalidations from elsewhere.
 *
 * @example
 * const sessions = new SessionManager({ store, cache: new MemorySessionCache({ max: 50_000 }) });
 */
export class MemorySessionCache implements SessionCache {
  readonly #byHash: LRUCache<string, CachedSession>;
  /** session id → key hash. Holds exactly the ids of the entries in `#byHash` (see `dispose`). */
  readonly #hashById = new Map<string, string>();
  #epoch = 0;

  constructor(options: MemorySessionCacheOptions = {}) {
    assertKnownOptions('MemorySessionCache', options, optionNames<MemorySessionCacheOptions>({ max: true, clock: true }));
    const max = options.max ?? 100_000;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
      throw new TypeError(`nilva-session: option "max" must be a positive integer, got ${String(max)}`);
    }
    const clock = options.clock;
    if (clock !== undefined && typeof clock !== 'function') {
      throw new TypeError(`nilva-session: option "clock" must be a function, got ${typeof clock}`);
    }
    this.#byHash = new LRUCache<string, CachedSession>({
      max,
      ...(clock === undefined ? {} : { perf: { now: clock }, ttlResolution: 0 }),
      // No default ttl: every entry carries the one given to set().
      ttlAutopurge: false,
      allowStale: false,
      updateAgeOnGet: false,
      noDisposeOnSet: true,
      // Eviction, expiry (noticed lazily on read) and deletion all pass here, so the id index
      // never outlives its entry and stays bounded by `max`.
      dispose: (value, keyHash) => {
        if (this.#hashById.get(value.id) === keyHash) this.#hashById.delete(value.id);
      },
    });
  }

  /** The entry for this token hash, if cached and unexpired. Synchronous. */
  byKeyHash(keyHash: string): CachedSession | undefined {
    return this.#byHash.get(keyHash);
  }

  /** The entry for this session id, if cached and unexpired. Synchronous. */
  byId(id: string): CachedSession | undefined {
    const keyHash = this.#hashById.get(id);
    return keyHash === undefined ? undefined : this.#byHash.get(keyHash);
  }

  /** Moves on every invalidation and {@link MemorySessionCache.clear}. */
  epoch(): number {
    return this.#epoch;
  }

  /**
   * Caches `entry` for `ttlMs` milliseconds, unless an invalidation happened since `epoch` was
   * read (the fill may carry a session that was revoked meanwhile) or `ttlMs` is not positive.
   */
  set(entry: CachedSession, ttlMs: number, epoch: number): void {
    if (epoch !== this.#epoch || !(ttlMs > 0)) return;
    const previous = this.#hashById.get(entry.id);
    if (previous !== undefined && previous !== entry.keyHash) this.#byHash.delete(previous);
    this.#byHash.set(entry.keyHash, entry, { ttl: Math.ceil(ttlMs) });
    this.#hashById.set(entry.id, entry.keyHash);
  }

  /** Replaces a cached entry, keeping its remaining lifetime. Does nothing when it is not cached. */
  update(entry: CachedSession): void {
    const current = this.#byHash.get(entry.keyHash);
    if (current === undefined || current.id !== entry.id) return;
    this.#byHash.set(entry.keyHash, entry, { noUpdateTTL: true });
  }

  /** Drops these sessions (by key hash and by id) and moves the epoch. */
  invalidate(refs: readonly CacheRef[]): void {
    this.#epoch++;
    for (const ref of refs) {
      this.#byHash.delete(ref.keyHash);
      const keyHash = this.#hashById.get(ref.id);
      if (keyHash !== undefined) this.#byHash.delete(keyHash);
    }
  }

  /** Drops every entry and moves the epoch. */
  clear(): void {
    this.#epoch++;
    this.#byHash.clear();
    this.#hashById.clear();
  }

  /** Milliseconds this key hash stays cached; 0 when it is not cached. */
  remainingTtlMs(keyHash: string): number {
    if (!this.#byHash.has(keyHash)) return 0;
    return Math.max(0, this.#byHash.getRemainingTTL(keyHash));
  }

  /** How many entries are held (expired ones count until they are noticed). */
  get size(): number {
    return this.#byHash.size;
  }

  /** Nothing to release; present so every cache can be closed the same way. */
  async close(): Promise<void> {
    this.clear();
  }
}

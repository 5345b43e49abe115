import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { CachedSession, SessionCache } from '../core/session-cache.js';

/** A cache under test, as the factory of {@link defineSessionCacheConformance} returns it. */
export interface SessionCacheHarness {
  readonly cache: SessionCache;
  /** Every key of the cache's namespace in its backing store, with its raw value. */
  dump?(): Promise<ReadonlyMap<string, string>>;
  /** Writes `raw` where the entry for this key hash or session id lives (to test corrupted data). */
  writeRaw?(kind: 'keyHash' | 'id', value: string, raw: string): Promise<void>;
  /** Closes the cache and deletes what it stored. */
  cleanup(): Promise<void>;
}

/** Creates a cache for one test, under `namespace` (ignored by caches that have none). */
export type SessionCacheFactory = (options: { readonly namespace: string }) => Promise<SessionCacheHarness>;

/** What the cache under test can do beyond the interface; each adds the tests that need it. */
export interface SessionCacheCapabilities {
  /**
   * Two caches made with the same namespace share their entries (Redis): adds the checks of
   * invalidation and fill races across instances.
   */
  readonly shared?: boolean | undefined;
  /** The harness has `dump`: adds the check that no key or value holds a token. */
  readonly dump?: boolean | undefined;
  /** The harness has `writeRaw`: adds the check that corrupted data is a miss. */
  readonly writeRaw?: boolean | undefined;
}

/**
 * The test functions of your runner: vitest's and jest's `describe`/`test`, or `node:test`'s
 * `describe`/`it`. Each test creates its caches through the factory and cleans them up itself,
 * so no hooks are needed.
 */
export interface CacheConformanceTestApi {
  describe(name: string, body: () => void): void;
  test(name: string, body: () => Promise<void>): void;
}

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
/** A key ends with the hash or the id, bare or as a Redis Cluster hash tag (`{…}`). */
const HASH_OR_UUID_RE =
  /(?:[0-9a-f]{64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{(?:[0-9a-f]{64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\})$/;
const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const DAY_MS = 86_400_000;

/** A 50-character opaque token, as the core makes them. */
function token(): string {
  return Array.from(randomBytes(50), (b) => TOKEN_ALPHABET[b % 36]).join('');
}

/** A cached session with realistic values, and the token whose SHA-256 is its key. */
function makeEntry(fields: Partial<CachedSession> = {}): { entry: CachedSession; token: string } {
  const raw = token();
  const now = Date.now();
  const entry: CachedSession = {
    id: randomUUID(),
    userId: 'user-1',
    keyHash: createHash('sha256').update(raw).digest('hex'),
    expireAt: now + DAY_MS,
    lastOnline: now,
    lastIp: '203.0.113.7',
    userAgent: FIREFOX,
    createdAt: now,
    authenticatedAt: now,
    user: { id: 'user-1', username: 'ada', isActive: true, roles: ['staff'] },
    ...fields,
  };
  return { entry, token: raw };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until it gives `undefined`, for at most `ms` (pub/sub is asynchronous). */
async function eventuallyMiss(read: () => Promise<CachedSession | undefined>, ms = 2000): Promise<CachedSession | undefined> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (value !== undefined && Date.now() < deadline) {
    await sleep(10);
    value = await read();
  }
  return value;
}

/** Wraps a test body: `open` makes caches from the factory, all cleaned up afterwards. */
type WithCaches = (
  body: (open: (namespace?: string) => Promise<SessionCacheHarness>, namespace: string) => Promise<void>,
) => () => Promise<void>;

/**
 * Defines the behaviour every {@link SessionCache} must have, against real backing services:
 * reads by key hash and by id, TTL expiry that `update` never extends, invalidation, the epoch
 * that refuses fills which raced an invalidation, namespace isolation, keys without any token,
 * and corrupted data read as a miss. Times are real (short TTLs): fake clocks do not reach Redis.
 *
 * @example
 * import { describe, test } from 'vitest';
 * defineSessionCacheConformance('memory', async () => {
 *   const cache = new MemorySessionCache();
 *   return { cache, cleanup: () => cache.close() };
 * }, { describe, test });
 */
export function defineSessionCacheConformance(
  name: string,
  factory: SessionCacheFactory,
  api: CacheConformanceTestApi,
  capabilities: SessionCacheCapabilities = {},
): void {
  const { describe, test } = api;

  /** Runs `body` with caches from the factory, all cleaned up afterwards, whatever happens. */
  const withCaches: WithCaches = (body) => {
    return async (): Promise<void> => {
      const namespace = `nilva-conformance:${randomUUID().slice(0, 8)}:`;
      const opened: SessionCacheHarness[] = [];
      const open = async (ns = namespace): Promise<SessionCacheHarness> => {
        const harness = await factory({ namespace: ns });
        opened.push(harness);
        return harness;
      };
      try {
        await body(open, namespace);
      } finally {
        for (const harness of opened.reverse()) await harness.cleanup();
      }
    };
  };

  describe(`SessionCache conformance: ${name}`, () => {
    test(
      'set: the entry is found by key hash and by session id',
      withCaches(async (open) => {
        const { cache } = await open();
        const { entry } = makeEntry();
        await cache.set(entry, 10_000, cache.epoch());
        assert.deepEqual(await cache.byKeyHash(entry.keyHash), entry);
        assert.deepEqual(await cache.byId(entry.id), entry);
      }),
    );

    test(
      'byKeyHash / byId: an unknown key hash or id is a miss',
      withCaches(async (open) => {
        const { cache } = await open();
        const { entry } = makeEntry();
        await cache.set(entry, 10_000, cache.epoch());
        const other = makeEntry().entry;
        assert.equal(await cache.byKeyHash(other.keyHash), undefined);
        assert.equal(await cache.byId(other.id), undefined);
      }),
    );

    test(
      'set: two sessions of one user are kept apart',
      withCaches(async (open) => {
        const { cache } = await open();
        const a = makeEntry().entry;
        const b = makeEntry({ lastIp: '198.51.100.2' }).entry;
        await cache.set(a, 10_000, cache.epoch());
        await cache.set(b, 10_000, cache.epoch());
        assert.equal((await cache.byId(a.id))?.keyHash, a.keyHash);
        assert.equal((await cache.byKeyHash(b.keyHash))?.lastIp, '198.51.100.2');
      }),
    );

    test(
      'set: a ttl of zero or less stores nothing',
      withCaches(async (open) => {
        const { cache } = await open();
        const { entry } = makeEntry();
        await cache.set(entry, 0, cache.epoch());
        await cache.set(entry, -5, cache.epoch());
        assert.equal(await cache.byKeyHash(entry.keyHash), undefined);
        assert.equal(await cache.byId(entry.id), undefined);
      }),
    );

    test(
      'ttl: an entry is gone once its ttl has passed, by hash and by id',
      withCaches(async (open) => {
        const { cache } = await open();
        const { entry } = makeEntry();
        await cache.set(entry, 150, cache.epoch());
        assert.ok(await cache.byKeyHash(entry.keyHash));
        await sleep(260);
        assert.equal(await cache.byKeyHash(entry.keyHash), undefined);
        assert.equal(await cache.byId(entry.id), undefined);
      }),
    );

    test(
      'update: replaces the fields and keeps the remaining ttl (it does not slide)',
      withCaches(async (open) => {
        const { cache } = await open();
        assert.ok(cache.update, 'a cache must implement update');
        const { entry } = makeEntry();
        await cache.set(entry, 800, cache.epoch());
        await sleep(400);
        const touched: CachedSession = { ...entry, lastOnline: entry.lastOnline + 400, lastIp: '198.51.100.9' };
        await cache.update(touched);
        assert.deepEqual(await cache.byKeyHash(entry.keyHash), touched);
        assert.deepEqual(await cache.byId(entry.id), touched);
        await sleep(520);
        assert.equal(await cache.byKeyHash(entry.keyHash), undefined, 'update extended the lifetime');
        assert.equal(await cache.byId(entry.id), undefined, 'update extended the lifetime');
      }),
    );

    test(
      'update: an entry that is not cached is not created',
      withCaches(async (open) => {
        const { cache } = await open();
        assert.ok(cache.update, 'a cache must implement update');
        const { entry } = makeEntry();
        await cache.update(entry);
        assert.equal(await cache.byKeyHash(entry.keyHash), undefined);
        assert.equal(await cache.byId(entry.id), undefined);
      }),
    );

    test(
      'invalidate: drops the given sessions by hash and by id, and only them',
      withCaches(async (open) => {
        const { cache } = await open();
        const gone = makeEntry().entry;
        const kept = makeEntry().entry;
        await cache.set(gone, 10_000, cache.epoch());
        await cache.set(kept, 10_000, cache.epoch());
        await cache.invalidate([{ id: gone.id, keyHash: gone.keyHash, userId: gone.userId }]);
        assert.equal(await cache.byKeyHash(gone.keyHash), undefined);
        assert.equal(await cache.byId(gone.id), undefined);
        assert.deepEqual(await cache.byKeyHash(kept.keyHash), kept);
        assert.deepEqual(await cache.byId(kept.id), kept);
      }),
    );

    test(
      'invalidate: an update after it does not bring the session back',
      withCaches(async (open) => {
        const { cache } = await open();
        const { entry } = makeEntry();
        await cache.set(entry, 10_000, cache.epoch());
        await cache.invalidate([{ id: entry.id, keyHash: entry.keyHash, userId: entry.userId }]);
        await cache.update?.({ ...entry, lastIp: '198.51.100.9' });
        assert.equal(await cache.byKeyHash(entry.keyHash), undefined);
        assert.equal(await cache.byId(entry.id), undefined);
      }),
    );

    test(
      'epoch: moves on every invalidation',
      withCaches(async (open) => {
        const { cache } = await open();
        const { entry } = makeEntry();
        const before = cache.epoch();
        await cache.invalidate([{ id: entry.id, keyHash: entry.keyHash, userId: entry.userId }]);
        const middle = cache.epoch();
        assert.notEqual(middle, before);
        await cache.invalidate([{ id: entry.id, keyHash: entry.keyHash, userId: entry.userId }]);
        assert.notEqual(cache.epoch(), middle);
      }),
    );

    test(
      'epoch: a fill carrying an epoch read before an invalidation is refused',
      withCaches(async (open) => {
        const { cache } = await open();
        const { entry } = makeEntry();
        const epoch = cache.epoch();
        // The revoke of another session happened while this fill was reading the store.
        const other = makeEntry().entry;
        await cache.invalidate([{ id: other.id, keyHash: other.keyHash, userId: other.userId }]);
        await cache.set(entry, 10_000, epoch);
        assert.equal(await cache.byKeyHash(entry.keyHash), undefined);
        assert.equal(await cache.byId(entry.id), undefined);
        // A fill that started afterwards lands.
        await cache.set(entry, 10_000, cache.epoch());
        assert.deepEqual(await cache.byKeyHash(entry.keyHash), entry);
      }),
    );

    test(
      'namespaces: two caches in different namespaces share nothing',
      withCaches(async (open, namespace) => {
        const a = await open(`${namespace}a:`);
        const b = await open(`${namespace}b:`);
        const { entry } = makeEntry();
        await a.cache.set(entry, 10_000, a.cache.epoch());
        assert.equal(await b.cache.byKeyHash(entry.keyHash), undefined);
        assert.equal(await b.cache.byId(entry.id), undefined);
        await b.cache.invalidate([{ id: entry.id, keyHash: entry.keyHash, userId: entry.userId }]);
        await sleep(50);
        assert.deepEqual(await a.cache.byKeyHash(entry.keyHash), entry);
        assert.deepEqual(await a.cache.byId(entry.id), entry);
      }),
    );

    if (capabilities.shared === true) defineSharedTests(test, withCaches);
    if (capabilities.dump === true) defineDumpTest(test, withCaches);
    if (capabilities.writeRaw === true) defineCorruptionTest(test, withCaches);
  });
}

function defineSharedTests(test: CacheConformanceTestApi['test'], withCaches: WithCaches): void {
  test(
    'shared: an invalidation in one instance reaches the other instances',
    withCaches(async (open) => {
      const a = await open();
      const b = await open();
      const { entry } = makeEntry();
      await a.cache.set(entry, 10_000, a.cache.epoch());
      assert.deepEqual(await b.cache.byKeyHash(entry.keyHash), entry);
      assert.deepEqual(await b.cache.byId(entry.id), entry);
      await a.cache.invalidate([{ id: entry.id, keyHash: entry.keyHash, userId: entry.userId }]);
      assert.equal(await eventuallyMiss(async () => b.cache.byKeyHash(entry.keyHash)), undefined);
      assert.equal(await eventuallyMiss(async () => b.cache.byId(entry.id)), undefined);
    }),
  );

  test(
    'shared: a fill that raced an invalidation in another instance does not land',
    withCaches(async (open) => {
      const a = await open();
      const b = await open();
      const { entry } = makeEntry();
      // a read the (still active) row, b revoked it, then a's fill arrives.
      const epoch = a.cache.epoch();
      await b.cache.invalidate([{ id: entry.id, keyHash: entry.keyHash, userId: entry.userId }]);
      await a.cache.set(entry, 10_000, epoch);
      assert.equal(await a.cache.byKeyHash(entry.keyHash), undefined);
      assert.equal(await b.cache.byKeyHash(entry.keyHash), undefined);
      assert.equal(await b.cache.byId(entry.id), undefined);
    }),
  );
}

function defineDumpTest(test: CacheConformanceTestApi['test'], withCaches: WithCaches): void {
  test(
    'keys: only the namespace, a prefix and a SHA-256 hex or a UUID (bare or a hash tag); the token is nowhere',
    withCaches(async (open, namespace) => {
      const harness = await open();
      assert.ok(harness.dump, 'the harness declared dump but has none');
      const { cache } = harness;
      const made = [makeEntry(), makeEntry()];
      for (const { entry } of made) await cache.set(entry, 10_000, cache.epoch());
      const first = made[0]?.entry as CachedSession;
      await cache.invalidate([{ id: first.id, keyHash: first.keyHash, userId: first.userId }]);
      const dump = await harness.dump();
      assert.ok(dump.size >= 2, 'the cache stored nothing to look at');
      for (const [key, value] of dump) {
        assert.ok(key.startsWith(namespace), `${key} is outside the namespace`);
        assert.match(key, HASH_OR_UUID_RE);
        for (const { token } of made) {
          assert.ok(!key.includes(token), 'a raw token is part of a key');
          assert.ok(!value.includes(token), 'a raw token is part of a value');
          assert.ok(!key.includes(token.slice(0, 20)), 'part of a raw token is in a key');
        }
      }
    }),
  );
}

function defineCorruptionTest(test: CacheConformanceTestApi['test'], withCaches: WithCaches): void {
  test(
    'corruption: garbage, a foreign record or another session under a key is a miss',
    withCaches(async (open) => {
      const harness = await open();
      const { writeRaw, cache } = harness;
      assert.ok(writeRaw, 'the harness declared writeRaw but has none');
      const { entry } = makeEntry();
      const someoneElse = makeEntry().entry;
      for (const raw of ['not json {', '{"id":1}', 'null', '[]', JSON.stringify(someoneElse)]) {
        await writeRaw('keyHash', entry.keyHash, raw);
        await writeRaw('id', entry.id, raw);
        assert.equal(await cache.byKeyHash(entry.keyHash), undefined, raw);
        assert.equal(await cache.byId(entry.id), undefined, raw);
      }
      // A fill replaces the garbage.
      await cache.set(entry, 10_000, cache.epoch());
      assert.deepEqual(await cache.byKeyHash(entry.keyHash), entry);
    }),
  );
}

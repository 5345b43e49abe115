// Writes are rare: on a warm cache an authenticated request sends nothing to the database but
// the throttled last_online touch, which is batched (write-behind) and written by flush().
// Every statement is counted on the real databases (test/helpers/query-counter.ts).
import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createRedisSessionCache, type NodeRedisClient } from '../../src/cache/create-redis-session-cache.js';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import type { SessionManagerOptions } from '../../src/core/config.js';
import type { SessionCache } from '../../src/core/session-cache.js';
import { type RequestFacts, SessionManager } from '../../src/core/session-manager.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ObservedStore } from '../helpers/observed-store.js';
import { countQueries, type QueryCounter } from '../helpers/query-counter.js';
import { deleteNamespace, REDIS_URL, uniqueNamespace } from '../helpers/redis.js';

const SIGNING_KEY = 'query-count-signing-key-of-32-bytes!!!';
const facts: RequestFacts = { ip: '10.0.0.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0' };
const TOUCH_INTERVAL_S = 60;

const cleanups: Array<() => Promise<void>> = [];
const warnings: string[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(warnings.splice(0)).toEqual([]);
});

interface Harness {
  readonly manager: SessionManager<unknown>;
  readonly queries: QueryCounter;
  readonly store: ObservedStore;
  readonly clock: FakeClock;
}

function harness(database: TestDatabase, cache: SessionCache, options: Partial<SessionManagerOptions<unknown>> = {}): Harness {
  const queries = countQueries(database);
  const store = new ObservedStore(queries.store);
  const clock = new FakeClock();
  const manager = new SessionManager<unknown>({
    store,
    cache,
    clock: clock.now,
    jwt: { signingKey: SIGNING_KEY },
    touchIntervalSeconds: TOUCH_INTERVAL_S,
    // The write-behind timer would flush on its own schedule; tests flush when they say.
    touchFlushIntervalMs: 3_600_000,
    logger: { warn: (message) => void warnings.push(message) },
    ...options,
  });
  cleanups.push(() => manager.close());
  return { manager, queries, store, clock };
}

/** A session with an opaque token and an access JWT bound to it. */
async function newSession(h: Harness, userId: string) {
  const { token, session } = await h.manager.createSession({ userId, ...facts });
  const jwt = h.manager.jwt;
  if (jwt === undefined) throw new Error('jwt is configured');
  const access = await jwt.issueAccess({ userId, sessionId: session.id });
  return { id: session.id, token: `Token ${token}`, bearer: `Bearer ${access}` };
}

describe.each(DIALECTS)('statements per request on %s', (dialect) => {
  let database: TestDatabase;
  let userSeq = 0;
  beforeAll(async () => {
    database = await openTestDatabase(dialect);
  });
  afterAll(async () => {
    await database?.close();
  });

  test('revoking 1,000 ids that name no active session costs a bounded number of statements', async () => {
    const h = harness(database, new MemorySessionCache());
    await h.manager.ready();
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    h.queries.reset();
    expect(await h.manager.revokeSessions(`u${userSeq++}`, ids)).toBe(0);
    // The deactivation in two chunks of 500, then at most 100 lookups to repair lost invalidations.
    expect(h.queries.count).toBeLessThanOrEqual(2 + 100 + 2);
  });

  test('a cold request reads one row; a warm one sends nothing, for the token and for the JWT', async () => {
    const h = harness(database, new MemorySessionCache());
    const s = await newSession(h, `u${userSeq++}`);
    h.queries.reset();
    expect(await h.manager.authenticate(s.token, facts)).toMatchObject({ ok: true });
    expect(h.queries.count).toBe(1);
    expect(h.queries.statements[0]).toMatch(/^select .*key_hash/i);
    h.queries.reset();
    for (let i = 0; i < 100; i++) {
      for (const header of [s.token, s.bearer]) expect(await h.manager.authenticate(header, facts)).toMatchObject({ ok: true });
    }
    await h.manager.flush();
    expect(h.queries.statements).toEqual([]);
  });

  test('past the touch interval: nothing is written until flush(), then one batched UPDATE for every touched session', async () => {
    const h = harness(database, new MemorySessionCache());
    const sessions = [];
    for (let i = 0; i < 10; i++) sessions.push(await newSession(h, `u${userSeq++}`));
    for (const s of sessions) await h.manager.authenticate(s.token, facts);
    h.queries.reset();

    h.clock.advance(TOUCH_INTERVAL_S * 1000);
    for (const s of sessions) {
      for (let i = 0; i < 5; i++) expect(await h.manager.authenticate(i % 2 === 0 ? s.token : s.bearer, facts)).toMatchObject({ ok: true });
    }
    expect(h.queries.statements).toEqual([]);
    await h.manager.flush();
    expect(h.queries.count).toBe(1);
    expect(h.queries.writes).toHaveLength(1);
    expect(h.store.touched.map((t) => t.id).sort()).toEqual(sessions.map((s) => s.id).sort());

    const rows = await sql<{ last_online: unknown }>`select last_online from ${sql.table(database.tableName)} where id in (${sql.join(
      sessions.map((s) => s.id),
    )})`.execute(database.db);
    for (const row of rows.rows) expect(new Date(row.last_online as string).getTime()).toBe(h.clock.now());
    await h.manager.flush();
    expect(h.queries.count).toBe(1);
  });

  test('close() writes the touches still buffered: nothing is lost on shutdown', async () => {
    const h = harness(database, new MemorySessionCache());
    const s = await newSession(h, `u${userSeq++}`);
    await h.manager.authenticate(s.token, facts);
    h.clock.advance(TOUCH_INTERVAL_S * 1000);
    expect(await h.manager.authenticate(s.token, facts)).toMatchObject({ ok: true });
    h.queries.reset();
    await h.manager.close();
    expect(h.queries.count).toBe(1);
    expect(h.queries.writes).toHaveLength(1);
    expect((await database.store.findById(s.id))?.lastOnline.getTime()).toBe(h.clock.now());
  });

  test('1,000 warm requests from 10 sessions over 5 touch intervals: no read, at most one write per session per interval', async () => {
    const h = harness(database, new MemorySessionCache());
    const sessions = [];
    for (let i = 0; i < 10; i++) sessions.push(await newSession(h, `u${userSeq++}`));
    for (const s of sessions) await h.manager.authenticate(s.token, facts);
    h.queries.reset();

    // 0.3 s of fake time per request: 300 s in all, five 60-second intervals; each session is
    // asked every 3 s. The write-behind buffer is flushed every 100 requests (30 s), as its timer would.
    for (let i = 0; i < 1000; i++) {
      h.clock.advance(300);
      const s = sessions[i % sessions.length] as (typeof sessions)[number];
      expect(await h.manager.authenticate(i % 3 === 0 ? s.bearer : s.token, facts)).toMatchObject({ ok: true });
      if (i % 100 === 99) await h.manager.flush();
    }
    await h.manager.flush();

    const intervals = 300 / TOUCH_INTERVAL_S;
    const perSession = new Map<string, number>();
    for (const t of h.store.touched) perSession.set(t.id, (perSession.get(t.id) ?? 0) + 1);
    for (const s of sessions) {
      expect(perSession.get(s.id)).toBeLessThanOrEqual(intervals);
      // Consecutive writes of one session are at least a touch interval apart.
      const times = h.store.touched.filter((t) => t.id === s.id).map((t) => t.lastOnline.getTime());
      for (let i = 1; i < times.length; i++) {
        expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(TOUCH_INTERVAL_S * 1000);
      }
    }
    expect(h.queries.statements.filter((q) => /^select/i.test(q))).toEqual([]);
    expect(h.queries.writes).toEqual(h.queries.statements);
    expect(h.queries.count).toBe(h.store.touchBatches);
    expect(h.queries.count).toBeLessThanOrEqual(10);
    console.log(
      `${dialect}: 1000 warm requests from 10 sessions over ${intervals} touch intervals → ${h.queries.count} UPDATE statements ` +
        `(${h.store.touched.length} session rows touched, max ${Math.max(...perSession.values())} per session), 0 reads`,
    );
  });
});

describe('the two-tier cache after its in-process tier expired', () => {
  const namespace = uniqueNamespace('query-count');
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase('postgres');
  });
  afterAll(async () => {
    await database?.close();
    await deleteNamespace(namespace);
  });

  test('zero statements and one Redis round trip, then synchronous again', async () => {
    // The application's own client, wrapped to count the commands the cache sends on it.
    const own = createClient({ url: REDIS_URL, disableOfflineQueue: true });
    own.on('error', () => undefined);
    const commands: string[][] = [];
    const client: NodeRedisClient = {
      get isOpen() {
        return own.isOpen;
      },
      get isReady() {
        return own.isReady;
      },
      options: own.options,
      connect: () => own.connect(),
      duplicate: (overrides) => own.duplicate(overrides),
      sendCommand: (args) => {
        commands.push(args);
        return own.sendCommand(args);
      },
      on: (event, listener) => own.on(event, listener),
      off: (event, listener) => own.off(event, listener),
    };
    cleanups.push(async () => {
      if (own.isOpen) await own.close();
    });
    const cache = await createRedisSessionCache({ client, namespace, localTtlSeconds: 0.2, logger: { warn: () => undefined } });
    cleanups.push(() => cache.close());
    const h = harness(database, cache);
    const s = await newSession(h, 'tiered');

    h.queries.reset();
    commands.length = 0;
    expect(await h.manager.authenticate(s.token, facts)).toMatchObject({ ok: true });
    expect(h.queries.count).toBe(1);
    expect(commands).toHaveLength(2); // the Redis miss, then the fill
    expect(h.manager.authenticate(s.token, facts)).toMatchObject({ ok: true });

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cache.local.byId(s.id)).toBeUndefined();
    h.queries.reset();
    commands.length = 0;
    const fromRedis = h.manager.authenticate(s.token, facts);
    expect(fromRedis).toBeInstanceOf(Promise);
    expect(await fromRedis).toMatchObject({ ok: true });
    expect(h.queries.statements).toEqual([]);
    expect(commands).toHaveLength(1);
    expect(commands[0]?.[0]).toBe('EVALSHA');

    commands.length = 0;
    const warm = h.manager.authenticate(s.token, facts);
    expect(warm).not.toBeInstanceOf(Promise);
    expect(warm).toMatchObject({ ok: true });
    expect(h.queries.statements).toEqual([]);
    expect(commands).toEqual([]);
  });
});

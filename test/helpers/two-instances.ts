// Two app instances as production runs them: one PostgreSQL table, one Redis, and per instance
// its own SessionManager, its own two-tier cache (its own in-process tier, its own Redis
// connections) and, optionally, its own HTTP server.
//
//   const cluster = await startCluster({ label: 'multi-instance' });
//   const user = cluster.newUser();
//   const s = await cluster.newSession(user);          // an opaque token and a JWT pair, one session
//   await cluster.a.get(s.token);                       // over HTTP, through instance A
//   …
//   await cluster.close();
//
// Every statement each instance sends to the database is counted (`instance.queries`), and
// everything each logs is recorded, so tests can say "B answered without the database" and
// "one warning per outage".

import { JwtCodec } from 'nilva-session/jwt';
import type { CacheLogger } from '../../src/cache/cache-logger.js';
import { type CreateRedisSessionCacheOptions, createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import type { TieredSessionCache } from '../../src/cache/tiered-session-cache.js';
import type { SessionManagerOptions } from '../../src/core/config.js';
import { type RequestFacts, SessionManager } from '../../src/core/session-manager.js';
import { SessionApi, type SessionApiOptions } from '../../src/http/session-api.js';
import { openTestDatabase, type TestDatabase } from './databases.js';
import { FakeClock } from './fake-clock.js';
import { type Framework, type RunningApp, startApp } from './http-apps.js';
import { send, type TestResponse } from './http-client.js';
import { ObservedStore } from './observed-store.js';
import { countQueries, type QueryCounter } from './query-counter.js';
import { deleteNamespace, REDIS_URL, type RedisTarget, standaloneTarget, uniqueNamespace } from './redis.js';
import { type TestUser, userCallbacks } from './users.js';

export const SIGNING_KEY = 'multi-instance-signing-key-of-32-bytes+';
export const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
export const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
/** What a request over HTTP from the test looks like to the engine (loopback, Firefox). */
/**
 * How soon another instance must refuse a session revoked elsewhere: the time its invalidation
 * message takes to arrive (a few ms at p99 on loopback), with a margin for 2 busy cores.
 */
export const PROPAGATION_BOUND_MS = 100;

export const FACTS: RequestFacts = { ip: '127.0.0.1', userAgent: FIREFOX };

/** The application's user as `loadUser` returns it and the caches hold it. */
export interface AppUser {
  readonly id: number;
  readonly username: string;
  readonly isActive: boolean;
}

/** Collects what a logger is told. */
export class RecordingLogger implements CacheLogger {
  readonly warnings: string[] = [];
  readonly infos: string[] = [];
  warn(message: string): void {
    this.warnings.push(message);
  }
  info(message: string): void {
    this.infos.push(message);
  }
}

/** One app instance. */
export interface Instance {
  readonly name: string;
  readonly manager: SessionManager<AppUser>;
  readonly cache: TieredSessionCache;
  /** The statements this instance sent to the database. */
  readonly queries: QueryCounter;
  /** The instance's store: the counted store, observed (touches recorded, reads can be held). */
  readonly store: ObservedStore;
  /** The manager's warnings. */
  readonly log: RecordingLogger;
  /** The Redis cache's warnings and infos. */
  readonly cacheLog: RecordingLogger;
  /** The HTTP server, when the cluster serves HTTP. */
  readonly app: RunningApp | undefined;
  /** `GET /api/me` on this instance with `authorization` (and a Firefox User-Agent unless told). */
  get(authorization: string, userAgent?: string): Promise<TestResponse>;
  /** Any request on this instance. */
  request(method: string, path: string, options?: { authorization?: string; body?: unknown; userAgent?: string }): Promise<TestResponse>;
}

/** A session with both kinds of credential bound to it. */
export interface Credentials {
  readonly userId: number;
  readonly sessionId: string;
  readonly token: string;
  readonly access: string;
  readonly refresh: string;
  /** `Token <token>`. */
  readonly tokenHeader: string;
  /** `Bearer <access>`. */
  readonly bearerHeader: string;
}

export interface Cluster {
  readonly database: TestDatabase;
  readonly clock: FakeClock;
  readonly namespace: string;
  /** The single server's URL (with `redis`: the cluster's first URL). */
  readonly redisUrl: string;
  /** The Redis both instances use: a single server or a cluster. */
  readonly redis: RedisTarget;
  /** The application's user registry, shared by both instances (as a users table would be). */
  readonly users: Map<string, TestUser>;
  readonly a: Instance;
  readonly b: Instance;
  /** A fresh, active user. */
  newUser(): TestUser;
  /**
   * A session of `user` created through A, with an opaque token and a JWT pair bound to it (the
   * refresh token's jti recorded on the row, as `POST token` does).
   */
  newSession(user: TestUser, options?: { expireAt?: Date | null }): Promise<Credentials>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** Names the Redis namespace (unique per run). */
  readonly label: string;
  /** Default: the shared Redis. */
  readonly redisUrl?: string;
  /** A single server or a cluster (test/helpers/redis.ts `REDIS_TARGETS`), instead of `redisUrl`. */
  readonly redis?: RedisTarget;
  /**
   * Where A and B each connect, when not both to `redisUrl` (which still names the server for
   * the cleanup): B through a proxy the test can partition, say.
   */
  readonly instanceRedisUrls?: readonly [string, string];
  /** Frameworks of A and B; `null` for no HTTP. Default Express for A, Fastify for B. */
  readonly frameworks?: readonly [Framework, Framework] | null;
  /** Extra SessionManager options, for both instances. */
  readonly manager?: Partial<SessionManagerOptions<AppUser>>;
  /** Extra cache options, for both instances. */
  readonly cache?: Partial<CreateRedisSessionCacheOptions>;
  /** Extra SessionApi options, for both instances (`throttle: false` for storms of sign-ins). */
  readonly api?: Partial<Omit<SessionApiOptions<AppUser>, 'manager' | 'verifyCredentials'>>;
}

/** Starts A and B on a fresh PostgreSQL table and a fresh Redis namespace. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const redis = options.redis ?? standaloneTarget(options.redisUrl ?? REDIS_URL);
  const redisUrl = 'url' in redis.connection ? redis.connection.url : (redis.connection.urls[0] as string);
  const namespace = uniqueNamespace(options.label);
  const database = await openTestDatabase('postgres', { userIdType: 'integer' });
  const clock = new FakeClock();
  const users = new Map<string, TestUser>();
  const callbacks = userCallbacks(users);
  const instances: Instance[] = [];
  const closers: Array<() => Promise<void>> = [];
  const frameworks = options.frameworks === undefined ? (['express', 'fastify'] as const) : options.frameworks;

  try {
    for (const name of ['A', 'B'] as const) {
      const cacheLog = new RecordingLogger();
      const log = new RecordingLogger();
      const url = options.instanceRedisUrls?.[name === 'A' ? 0 : 1];
      const connection = url === undefined ? redis.connection : { url };
      const cache = await createRedisSessionCache({ ...connection, namespace, logger: cacheLog, ...options.cache });
      closers.push(() => cache.close());
      const queries = countQueries(database);
      const store = new ObservedStore(queries.store);
      const manager = new SessionManager<AppUser>({
        store,
        cache,
        loadUser: callbacks.loadUser,
        jwt: { signingKey: SIGNING_KEY },
        clock: clock.now,
        logger: log,
        // Touches are written when a test calls flush() (or on close), never by a timer mid-test.
        touchFlushIntervalMs: 3_600_000,
        ...options.manager,
      });
      closers.push(() => manager.close());
      // As an application does before listening: it also reads the table's schema once, so
      // counted statements are the requests' own.
      await manager.ready();
      const api = new SessionApi({ manager, verifyCredentials: callbacks.verifyCredentials, logger: log, ...options.api });
      const app = frameworks === null ? undefined : await startApp(name === 'A' ? frameworks[0] : frameworks[1], api);
      if (app !== undefined) closers.push(() => app.close());
      const request: Instance['request'] = (method, path, opts = {}) => {
        if (app === undefined) throw new Error(`instance ${name} serves no HTTP`);
        const headers: Record<string, string> = { 'user-agent': opts.userAgent ?? FIREFOX };
        if (opts.authorization !== undefined) headers.authorization = opts.authorization;
        let body: string | undefined;
        if (opts.body !== undefined) {
          body = JSON.stringify(opts.body);
          headers['content-type'] = 'application/json';
        }
        return send(app.url, { method, path, headers, ...(body === undefined ? {} : { body }) });
      };
      instances.push({
        name,
        manager,
        cache,
        queries,
        store,
        log,
        cacheLog,
        app,
        request,
        get: (authorization, userAgent) => request('GET', '/api/me', { authorization, ...(userAgent === undefined ? {} : { userAgent }) }),
      });
    }
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await database.close();
    throw error;
  }

  const [a, b] = instances as [Instance, Instance];
  let nextUserId = 1;
  return {
    database,
    clock,
    namespace,
    redisUrl,
    redis,
    users,
    a,
    b,
    newUser() {
      const id = nextUserId++;
      const user = { id, username: `user${id}`, password: `pw-${id}`, isActive: true };
      users.set(user.username, user);
      return user;
    },
    async newSession(user, sessionOptions = {}) {
      const jwt = a.manager.jwt;
      if (jwt === undefined) throw new Error('the cluster is configured with JWT pairs');
      const refreshJti = JwtCodec.newJti(clock.now());
      const { token, session } = await a.manager.createSession({
        userId: user.id,
        ip: FACTS.ip,
        userAgent: FACTS.userAgent,
        refreshJti,
        ...(sessionOptions.expireAt === undefined ? {} : { expireAt: sessionOptions.expireAt }),
      });
      const pair = await jwt.issuePair({
        userId: user.id,
        sessionId: session.id,
        expireAt: session.expireAt === null ? null : session.expireAt.getTime(),
        refreshJti,
      });
      return {
        userId: user.id,
        sessionId: session.id,
        token,
        access: pair.access,
        refresh: pair.refresh,
        tokenHeader: `Token ${token}`,
        bearerHeader: `Bearer ${pair.access}`,
      };
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      if ('url' in redis.connection) await deleteNamespace(namespace, redisUrl).catch(() => undefined);
      else {
        const inspector = await redis.inspect().catch(() => undefined);
        await inspector?.deleteNamespace(namespace).catch(() => undefined);
        await inspector?.close().catch(() => undefined);
      }
      await database.close();
    },
  };
}

/** Waits (polling every few ms) until `condition()` holds; false after `ms`. */
export async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** Lets pending I/O callbacks run once (a pub/sub message, a socket close) without a timer. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

/**
 * Milliseconds until `instance`'s in-process tier no longer holds the session, polled in a tight
 * loop that yields only to pending I/O (the pub/sub message). Call it right after a revocation
 * elsewhere returned. Once the copy is gone the instance cannot accept the session: Redis lost
 * its entries before the message was published, and the database says it is ended.
 */
export async function propagation(instance: Instance, sessionId: string): Promise<number> {
  const started = performance.now();
  while (instance.cache.local.byId(sessionId) !== undefined) {
    if (performance.now() - started > 5000) throw new Error(`instance ${instance.name} kept its copy for 5 s`);
    await turn();
  }
  return performance.now() - started;
}

// The demo server: a small real application built on nilva-session.
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { MemorySessionCache, type SessionCache, SessionManager } from 'nilva-session';
import { pageSecurityHeaders, SessionPages } from 'nilva-session/admin';
import { nilvaFastifyPages } from 'nilva-session/admin/fastify';
import { nilvaFastify, nilvaFastifyRoutes } from 'nilva-session/fastify';
import { SessionApi } from 'nilva-session/http';
import { connectDatabase, KyselySessionAdminStore, KyselySessionStore, migrateSessionStore } from 'nilva-session/kysely';
import { openApiDocument } from 'nilva-session/openapi';
import { type DemoDatabase, type DemoUser, DemoUsers } from './demo-users.js';
import { renderHome } from './home-page.js';

export interface DemoOptions {
  /** `sqlite:PATH`, `postgres://…` or `mysql://…`. */
  readonly databaseUrl: string;
  /** `redis://…`: turns on the two-tier cache (in-process in front of Redis). */
  readonly redisUrl?: string | undefined;
  /** Signs JWT pairs; at least 32 bytes. */
  readonly signingKey: string;
  readonly host: string;
  readonly port: number;
}

export interface RunningDemo {
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The URL a client on this machine uses to reach the server: the address and port actually
 * bound. A wildcard address (HOST=0.0.0.0 or ::) is not one to connect to, so it becomes
 * the loopback of its family.
 */
function listeningUrl(address: AddressInfo | string | null, options: Pick<DemoOptions, 'host' | 'port'>): string {
  if (address === null || typeof address === 'string') return `http://${options.host}:${options.port}`;
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** Connects, migrates, seeds and starts listening. */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  if (options.databaseUrl.startsWith('sqlite:') && !options.databaseUrl.includes(':memory:')) {
    mkdirSync(dirname(options.databaseUrl.slice('sqlite:'.length)), { recursive: true });
  }
  const database = await connectDatabase(options.databaseUrl);
  await migrateSessionStore(database.db, { dialect: database.dialect, userIdType: 'integer' });
  // The demo's users live beside the sessions, in the same database.
  const users = new DemoUsers(database.db as unknown as Kysely<DemoDatabase>, database.dialect);
  await users.setUp();

  // The Redis client is an optional peer: load it only when REDIS_URL asks for it. One client
  // runs the cache's commands and the sign-in throttle's counters.
  const redis =
    options.redisUrl === undefined
      ? undefined
      : (await import('@redis/client')).createClient({
          url: options.redisUrl,
          disableOfflineQueue: true,
          socket: { connectTimeout: 2000 },
          commandOptions: { timeout: 500 },
        });
  // Outages are reported by the cache and the throttle, once each.
  redis?.on('error', () => undefined);
  const cache: SessionCache =
    redis === undefined ? new MemorySessionCache() : await (await import('nilva-session/redis')).createRedisSessionCache({ client: redis });
  const cacheKind = options.redisUrl === undefined ? 'memory' : 'redis';
  const store = new KyselySessionStore({ db: database.db, dialect: database.dialect, userIdType: 'integer' });
  const manager = new SessionManager({ store, cache, loadUser: users.loadUser, jwt: { signingKey: options.signingKey } });
  // Brute-force protection is on by default; through Redis, every instance counts the same failures.
  const api = new SessionApi({ manager, verifyCredentials: users.verifyCredentials, throttle: redis === undefined ? true : { redis } });

  // The web pages: sign-in, /devices for everyone, /admin for staff (demo_user.is_staff).
  const pages = new SessionPages({
    api,
    adminStore: new KyselySessionAdminStore({ db: database.db, dialect: database.dialect, userIdType: 'integer' }),
    cache,
    isStaff: (user) => (user as DemoUser | null)?.isStaff === true,
    title: 'nilva-session demo',
    onAudit: (event) => console.log(`admin: ${JSON.stringify(event)}`),
  });

  const app = Fastify({ logger: false });
  await app.register(nilvaFastify, { api });
  await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
  await app.register(nilvaFastifyPages, { pages });
  app.get('/api/me', { preHandler: app.nilvaRequireAuth }, async (request) => ({ user: request.nilva?.user }));
  // The contract of the routes above as OpenAPI 3.1, for Swagger UI, client generators, …
  const openapi = JSON.stringify(openApiDocument(api, { mountPath: '/api', title: 'nilva-session demo' }));
  app.get('/api/openapi.json', async (_request, reply) => reply.type('application/json').send(openapi));
  app.get('/healthz', async (_request, reply) => {
    const ok = await users.ping();
    return reply
      .code(ok ? 200 : 503)
      .send(
        ok
          ? { status: 'ok', database: database.dialect, cache: cacheKind }
          : { status: 'unavailable', detail: 'The database is unreachable.' },
      );
  });
  // Known once the server listens: PORT=0 binds a port of the system's choosing.
  let url = '';
  // The pages' own security headers (strict CSP, no framing, …), not a copy of them.
  app.get('/', async (_request, reply) => reply.headers(pageSecurityHeaders()).type('text/html; charset=utf-8').send(renderHome({ url })));

  // Expired sessions are deleted hourly, in batches.
  const purge = setInterval(() => {
    manager.purgeExpired().catch(() => undefined);
  }, 3_600_000);
  purge.unref();

  await app.listen({ host: options.host, port: options.port });
  url = listeningUrl(app.server.address(), options);
  return {
    url,
    app,
    async close() {
      clearInterval(purge);
      await app.close();
      await manager.close();
      await cache.close?.();
      // The cache does not close a client it was given.
      if (redis?.isOpen) redis.destroy();
      await database.close();
    },
  };
}

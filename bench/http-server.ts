// One benchmarked server: a child process the load driver starts, so that the server has a core
// of its own and the load generator (autocannon, in the parent) the other.
//
//   node --import tsx bench/http-server.ts '<ServerSpec JSON>'
//
// It serves `GET /me` on 127.0.0.1 (a random port), answers `{ user }` when authenticated, and
// reports over IPC how many database statements and Redis commands it sent, and its CPU time.
import { createHash, webcrypto } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express, { type RequestHandler } from 'express';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type preHandlerHookHandler } from 'fastify';
import { Hono, type MiddlewareHandler } from 'hono';
import { jwtVerify } from 'jose';
import { nilvaExpress } from 'nilva-session/express';
import { nilvaFastify } from 'nilva-session/fastify';
import { nilvaHono } from 'nilva-session/hono';
import { SessionApi } from 'nilva-session/http';
import { BENCH_SIGNING_KEY, benchLoadUser, openBenchDatabase } from './environment.js';
import { HTTP_CONFIG_INFO, type ParentMessage, type ServerMessage, type ServerSpec } from './http-configs.js';
import { benchManager, openBenchCache } from './session-stack.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as ServerSpec;
const info = HTTP_CONFIG_INFO[spec.config];
const STATIC_USER = benchLoadUser(1);

function tell(message: ServerMessage): void {
  // The parent may be gone (interrupted run): the message is dropped, and 'disconnect' below ends this process.
  process.send?.(message, undefined, {}, () => undefined);
}

process.on('disconnect', () => process.exit(0));

/** The stateless comparison: verify an HS256 JWT with jose on every request, key imported once. */
const joseKey = await webcrypto.subtle.importKey(
  'raw',
  new TextEncoder().encode(BENCH_SIGNING_KEY),
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['verify'],
);

async function joseVerify(header: string | undefined): Promise<{ id: number; username: string; isActive: boolean } | undefined> {
  if (header === undefined || !header.startsWith('Bearer ')) return undefined;
  try {
    const { payload } = await jwtVerify(header.slice(7), joseKey, { algorithms: ['HS256'] });
    return payload.token_type === 'access' ? benchLoadUser(payload.user_id as number) : undefined;
  } catch {
    return undefined;
  }
}

const UNAUTHORIZED = JSON.stringify({ detail: 'Authentication credentials were not provided.' });

/** The minimal hook's sessions: SHA-256 hex of the token → user, read from the session table once. */
const minimalSessions = new Map<string, ReturnType<typeof benchLoadUser>>();
if (spec.config === 'minimal-hook') {
  const db = await openBenchDatabase('postgres', { tableName: spec.tableName });
  const rows = await db.db.selectFrom(spec.tableName).select(['key_hash', 'user_id']).execute();
  for (const row of rows) minimalSessions.set(row.key_hash, benchLoadUser(Number(row.user_id)));
  await db.close();
}

/** The least an opaque-token check can do, written by hand: hash the token, look it up. */
async function minimalCheck(header: string | undefined): Promise<ReturnType<typeof benchLoadUser> | undefined> {
  if (header === undefined || !header.startsWith('Token ')) return undefined;
  return minimalSessions.get(createHash('sha256').update(header.slice(6)).digest('hex'));
}

const usesNilva = info.cache !== 'n/a';
const database = usesNilva ? await openBenchDatabase('postgres', { tableName: spec.tableName }) : undefined;
const cache = await openBenchCache(info.cache === 'n/a' ? 'none' : info.cache, spec.namespace);
const manager = database === undefined ? undefined : benchManager(database.store, cache.cache);
const api =
  manager === undefined
    ? undefined
    : new SessionApi({ manager, verifyCredentials: () => null, logger: { warn: (m: string) => console.error(m) } });

async function startExpress(): Promise<{ port: number; close: () => Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  if (api !== undefined) {
    app.get('/me', nilvaExpress(api).requireAuth, (req, res) => {
      res.json({ user: req.nilva?.user });
    });
  } else if (spec.config === 'jose-jwt' || spec.config === 'minimal-hook') {
    const check = spec.config === 'jose-jwt' ? joseVerify : minimalCheck;
    const guard: RequestHandler = (req, res, next) => {
      check(req.headers.authorization).then((user) => {
        if (user === undefined) res.status(401).type('application/json').send(UNAUTHORIZED);
        else {
          res.locals.user = user;
          next();
        }
      }, next);
    };
    app.get('/me', guard, (_req, res) => {
      res.json({ user: res.locals.user });
    });
  } else if (spec.config === 'noop-hook') {
    const guard: RequestHandler = (_req, _res, next) => next();
    app.get('/me', guard, (_req, res) => {
      res.json({ user: STATIC_USER });
    });
  } else {
    app.get('/me', (_req, res) => {
      res.json({ user: STATIC_USER });
    });
  }
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}

/** Closes a node:http server, dropping idle keep-alive connections. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function startFastify(): Promise<{ port: number; close: () => Promise<void> }> {
  const app: FastifyInstance = Fastify({ logger: false });
  if (api !== undefined) {
    await app.register(nilvaFastify, { api });
    app.get('/me', { preHandler: app.nilvaRequireAuth }, async (request) => ({ user: request.nilva?.user }));
  } else if (spec.config === 'jose-jwt') {
    const preHandler: preHandlerHookHandler = (request, reply, done) => {
      joseVerify(request.headers.authorization).then((user) => {
        if (user === undefined) void reply.code(401).type('application/json').send(UNAUTHORIZED);
        else {
          (request as unknown as { user: unknown }).user = user;
          done();
        }
      }, done);
    };
    app.get('/me', { preHandler }, async (request) => ({ user: (request as unknown as { user: unknown }).user }));
  } else if (spec.config === 'minimal-hook') {
    // As the issue describes it: an async hook, sha256 + Map lookup.
    const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
      const user = await minimalCheck(request.headers.authorization);
      if (user === undefined) return reply.code(401).type('application/json').send(UNAUTHORIZED);
      (request as unknown as { user: unknown }).user = user;
      return undefined;
    };
    app.get('/me', { preHandler }, async (request) => ({ user: (request as unknown as { user: unknown }).user }));
  } else if (spec.config === 'noop-hook') {
    const preHandler: preHandlerHookHandler = (_request, _reply, done) => done();
    app.get('/me', { preHandler }, async () => ({ user: STATIC_USER }));
  } else {
    app.get('/me', async () => ({ user: STATIC_USER }));
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

async function startHono(): Promise<{ port: number; close: () => Promise<void> }> {
  type Env = { Variables: { user: unknown } };
  const app = new Hono<Env>();
  if (api !== undefined) {
    app.get('/me', nilvaHono(api).requireAuth, (c) => c.json({ user: c.get('nilva').user }));
  } else if (spec.config === 'jose-jwt' || spec.config === 'minimal-hook') {
    const check = spec.config === 'jose-jwt' ? joseVerify : minimalCheck;
    const guard: MiddlewareHandler<Env> = async (c, next) => {
      const user = await check(c.req.header('authorization'));
      if (user === undefined) return c.body(UNAUTHORIZED, 401, { 'content-type': 'application/json' });
      c.set('user', user);
      await next();
      return undefined;
    };
    app.get('/me', guard, (c) => c.json({ user: c.get('user') }));
  } else if (spec.config === 'noop-hook') {
    const guard: MiddlewareHandler<Env> = async (_c, next) => {
      await next();
    };
    app.get('/me', guard, (c) => c.json({ user: STATIC_USER }));
  } else {
    app.get('/me', (c) => c.json({ user: STATIC_USER }));
  }
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}

const starters = { express: startExpress, fastify: startFastify, hono: startHono };

try {
  const server = await starters[spec.framework]();
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'counters') {
      const cpu = process.cpuUsage();
      tell({
        type: 'counters',
        counters: {
          dbQueries: database?.counter.queries ?? 0,
          dbWrites: database?.counter.writes ?? 0,
          redisCommands: cache.redisCommands(),
          cpuMicros: cpu.user + cpu.system,
        },
      });
    } else if (message.type === 'close') {
      void (async () => {
        await server.close();
        await manager?.close();
        await cache.close();
        await database?.close();
        process.exit(0);
      })();
    }
  });
  tell({ type: 'ready', port: server.port });
} catch (error) {
  tell({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}

// How the integrations are mounted: Fastify's plugin conventions (its own `prefix`, composed
// with enclosing contexts; decorators that are not encapsulated; body parsers that are), and
// the errors every integration gives for a wrong argument or a misspelled option.
import Fastify, { type FastifyInstance } from 'fastify';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { SessionPages } from 'nilva-session/admin';
import { nilvaFastifyPages } from 'nilva-session/admin/fastify';
import { nilvaHonoPages } from 'nilva-session/admin/hono';
import { nilvaExpress } from 'nilva-session/express';
import { nilvaFastify, nilvaFastifyRoutes } from 'nilva-session/fastify';
import { nilvaHono } from 'nilva-session/hono';
import { SessionApi } from 'nilva-session/http';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';

let database: TestDatabase;
let manager: SessionManager<unknown>;
let api: SessionApi<unknown>;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  database = await openTestDatabase('sqlite', { userIdType: 'integer' });
  const callbacks = userCallbacks(makeUsers());
  manager = new SessionManager({ store: database.store, cache: new MemorySessionCache(), loadUser: callbacks.loadUser });
  api = new SessionApi({ manager, verifyCredentials: callbacks.verifyCredentials });
});

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

afterAll(async () => {
  await manager.close();
  await database.close();
});

function fastify(): FastifyInstance {
  const app = Fastify();
  apps.push(app);
  return app;
}

async function login(app: FastifyInstance, path: string): Promise<{ status: number; token: string | undefined }> {
  const res = await app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/json', 'user-agent': FIREFOX },
    payload: JSON.stringify({ username: 'alice', password: 'alice-password' }),
  });
  const body = res.statusCode === 200 ? (res.json() as { token: string }) : undefined;
  return { status: res.statusCode, token: body?.token };
}

describe('nilvaFastifyRoutes honours Fastify’s prefix', () => {
  test('registered with prefix /api, the contract is under /api and nowhere else', async () => {
    const app = fastify();
    await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
    const { status, token } = await login(app, '/api/login');
    expect(status).toBe(200);
    const active = await app.inject({
      method: 'GET',
      url: '/api/active',
      headers: { authorization: `Token ${token}`, 'user-agent': FIREFOX },
    });
    expect(active.statusCode).toBe(200);
    expect(active.json()).toHaveLength(1);
    expect((await login(app, '/login')).status).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/nothing-here' })).statusCode).toBe(404);
  });

  test('inside an outer prefixed context the prefixes compose: /v1 + /api serves /v1/api/login', async () => {
    const app = fastify();
    await app.register(
      async (v1) => {
        await v1.register(nilvaFastifyRoutes, { api, prefix: '/api' });
      },
      { prefix: '/v1' },
    );
    const { status, token } = await login(app, '/v1/api/login');
    expect(status).toBe(200);
    expect((await login(app, '/api/login')).status).toBe(404);
    const headers = { authorization: `Token ${token}`, 'user-agent': FIREFOX };
    const active = await app.inject({ method: 'GET', url: '/v1/api/active?unused=1', headers });
    expect(active.statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/api/logout', headers })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/v1/api/active', headers })).statusCode).toBe(401);
  });

  test('a prefix with a trailing slash, and a route path with one, work as without', async () => {
    const app = fastify();
    await app.register(nilvaFastifyRoutes, { api, prefix: '/auth/' });
    expect((await login(app, '/auth/login')).status).toBe(200);
    expect((await login(app, '/auth/login/')).status).toBe(200);
  });

  test('without a prefix the routes are at the root of the registering context', async () => {
    const app = fastify();
    await app.register(nilvaFastifyRoutes, { api });
    expect((await login(app, '/login')).status).toBe(200);
  });

  test('two APIs can be mounted at two prefixes', async () => {
    const app = fastify();
    await app.register(nilvaFastifyRoutes, { api, prefix: '/a' });
    await app.register(nilvaFastifyRoutes, { api, prefix: '/b' });
    expect((await login(app, '/a/login')).status).toBe(200);
    expect((await login(app, '/b/login')).status).toBe(200);
  });

  test('its raw-body parser stays inside it: the app’s own routes still get parsed JSON', async () => {
    const app = fastify();
    await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
    app.post('/echo', async (request) => ({ parsed: request.body }));
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' });
    expect(res.json()).toEqual({ parsed: { a: 1 } });
  });
});

describe('nilvaFastify is not encapsulated', () => {
  test('its decorators reach routes of the registering context and of contexts below it', async () => {
    const app = fastify();
    await app.register(nilvaFastify, { api });
    await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
    app.get('/me', { preHandler: app.nilvaRequireAuth }, async (request) => ({ user: request.nilva?.user }));
    await app.register(
      async (child) => {
        child.get('/open', { preHandler: child.nilvaAuthenticate }, async (request) => ({ user: request.nilva?.user ?? null }));
      },
      { prefix: '/child' },
    );
    const { token } = await login(app, '/api/login');
    const headers = { authorization: `Token ${token}`, 'user-agent': FIREFOX };
    const me = await app.inject({ method: 'GET', url: '/me', headers });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ user: { id: 1, username: 'alice', isActive: true } });
    expect((await app.inject({ method: 'GET', url: '/me' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/child/open', headers })).json()).toEqual({
      user: { id: 1, username: 'alice', isActive: true },
    });
    expect((await app.inject({ method: 'GET', url: '/child/open' })).json()).toEqual({ user: null });
  });

  test('Fastify knows the plugins by name', async () => {
    const app = fastify();
    await app.register(nilvaFastify, { api });
    await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
    expect(app.hasPlugin('nilva-session')).toBe(true);
    expect(app.printPlugins()).toContain('nilva-session-routes');
  });
});

describe('wrong arguments are refused with what to do', () => {
  test('Fastify: a misspelled option names the nearest one; Fastify’s own register options pass', async () => {
    await expect(fastify().register(nilvaFastifyRoutes, { api, prefx: '/api' } as never)).rejects.toThrow(
      'nilva-session: unknown option "prefx" for nilvaFastifyRoutes; did you mean "prefix"?',
    );
    await expect(fastify().register(nilvaFastify, { api, colour: 'blue' } as never)).rejects.toThrow(
      'nilva-session: unknown option "colour" for nilvaFastify',
    );
    const app = fastify();
    await app.register(nilvaFastifyRoutes, { api, prefix: '/api', logLevel: 'warn' });
    expect((await login(app, '/api/login')).status).toBe(200);
  });

  test('Fastify: a prefix given to nilvaFastify points to nilvaFastifyRoutes', async () => {
    await expect(fastify().register(nilvaFastify, { api, prefix: '/api' })).rejects.toThrow(
      'nilva-session: nilvaFastify takes no "prefix"; it adds request.nilva and the preHandlers and serves no routes; mount the routes with app.register(nilvaFastifyRoutes, { api, prefix: \'/api\' })',
    );
  });

  test('Fastify: a missing or wrong api is named', async () => {
    await expect(fastify().register(nilvaFastify, {} as never)).rejects.toThrow(
      'nilva-session: nilvaFastify (option "api") needs a SessionApi',
    );
    await expect(fastify().register(nilvaFastifyRoutes, { api: manager } as never)).rejects.toThrow(
      "needs a SessionApi (new SessionApi({ manager, verifyCredentials }) from 'nilva-session/http'); it was given a SessionManager",
    );
  });

  test('Fastify pages: a prefix is refused (the pages have their own paths), a misspelling is named', async () => {
    const pages = new SessionPages({ api });
    await expect(fastify().register(nilvaFastifyPages, { pages, prefix: '/x' })).rejects.toThrow('nilvaFastifyPages takes no "prefix"');
    await expect(fastify().register(nilvaFastifyPages, { page: pages } as never)).rejects.toThrow(
      'unknown option "page" for nilvaFastifyPages; did you mean "pages"?',
    );
  });

  test('Express and Hono: the SessionManager instead of the SessionApi, and misspelled options', () => {
    expect(() => nilvaExpress(manager as never)).toThrow(
      "nilva-session: nilvaExpress(api) needs a SessionApi (new SessionApi({ manager, verifyCredentials }) from 'nilva-session/http'); it was given a SessionManager",
    );
    expect(() => nilvaHono(undefined as never)).toThrow('nilvaHono(api) needs a SessionApi');
    expect(() => nilvaHono(api, { remoteAdress: () => '' } as never)).toThrow(
      'unknown option "remoteAdress" for nilvaHono; did you mean "remoteAddress"?',
    );
    expect(() => nilvaHonoPages(new SessionPages({ api }), { encypted: () => true } as never)).toThrow(
      'unknown option "encypted" for nilvaHonoPages; did you mean "encrypted"?',
    );
  });
});

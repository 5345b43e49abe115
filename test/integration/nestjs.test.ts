// What is NestJS's own in nilva-session/nestjs, over real HTTP on both of Nest's adapters (the
// contract itself runs through them in the scenario tables, test/helpers/http-apps.ts): the
// module built by forRootAsync from an injected provider, below Nest's global prefix; the guard
// global and per route, @Public, @RequireFreshAuth, the parameter decorators, getNilvaContext;
// a route that reads the user without a guard; exception filters; CORS and Nest's own body
// parsing beside the contract's routes; the manager closed only when the module built it.
import type { AddressInfo } from 'node:net';
import {
  type ArgumentsHost,
  Body,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  Get,
  HttpCode,
  type INestApplication,
  Inject,
  Injectable,
  Module,
  Post,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { sql } from 'kysely';
import { type CachedSession, MemorySessionCache, SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import {
  CurrentSession,
  CurrentUser,
  getNilvaContext,
  NILVA_SESSION_API,
  NILVA_SESSION_MANAGER,
  NilvaAuthException,
  NilvaAuthGuard,
  NilvaSessionModule,
  type NilvaUser,
  Public,
  RequireFreshAuth,
} from 'nilva-session/nestjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { send } from '../helpers/http-client.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const ADAPTERS = ['express', 'fastify'] as const;
type Adapter = (typeof ADAPTERS)[number];
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const SPA = 'http://spa.example';

interface TestUserView {
  readonly id: number;
  readonly username: string;
}

/** What the settings module hands out: set by the suite that starts the application. */
let currentSettings: { database: TestDatabase; clock: FakeClock } | undefined;

/** Settings an application would read from its environment, injected into the module's factory. */
@Injectable()
class SettingsService {
  constructor(readonly settings: { readonly database: TestDatabase; readonly clock: FakeClock }) {}
}

/** Lets only alice through: another guard reading what NilvaAuthGuard found. */
@Injectable()
class AliceOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return (getNilvaContext(context)?.user as TestUserView | undefined)?.username === 'alice';
  }
}

/** An application's own shape for refusals. */
@Catch(NilvaAuthException)
class ReshapingFilter implements ExceptionFilter {
  catch(exception: NilvaAuthException, host: ArgumentsHost): void {
    const reply = host
      .switchToHttp()
      .getResponse<{ status?: (n: number) => { json(b: unknown): void }; code?: (n: number) => { send(b: unknown): void } }>();
    const body = {
      error: (exception.getResponse() as { detail: string }).detail,
      challenge: exception.headers['www-authenticate'] ?? null,
    };
    if (typeof reply.code === 'function') reply.code(exception.getStatus()).send(body);
    else reply.status?.(exception.getStatus()).json(body);
  }
}

/** Behind the global guard. */
@Controller()
class GuardedController {
  constructor(
    @Inject(SessionManager) readonly sessions: SessionManager,
    @Inject(NILVA_SESSION_API) readonly api: SessionApi,
  ) {}

  @Get('me')
  me(@CurrentUser() user: NilvaUser, @CurrentSession() session: CachedSession) {
    return { user, session_id: session.id, same_api: this.api.manager === this.sessions };
  }

  @Public()
  @Get('open')
  open(@CurrentUser() user: NilvaUser | undefined) {
    return { user: user ?? null };
  }

  @Post('sensitive')
  @HttpCode(200)
  @RequireFreshAuth(60)
  sensitive(@CurrentSession() session: CachedSession) {
    return { session_id: session.id };
  }

  @Get('alice')
  @UseGuards(AliceOnlyGuard)
  alice() {
    return { ok: true };
  }

  @Get('reshaped')
  @UseFilters(ReshapingFilter)
  reshaped() {
    return { ok: true };
  }

  // Nest's own body parsing still serves the application's routes.
  @Public()
  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: unknown) {
    return { body };
  }
}

@Module({
  providers: [
    {
      provide: SettingsService,
      useFactory: () => new SettingsService(currentSettings as { database: TestDatabase; clock: FakeClock }),
    },
  ],
  exports: [SettingsService],
})
class SettingsModule {}

/** The module built from the manager's options by forRootAsync, the guard global. */
@Module({
  imports: [
    NilvaSessionModule.forRootAsync({
      imports: [SettingsModule],
      inject: [SettingsService],
      useFactory: (settings: SettingsService) => {
        const users = userCallbacks(makeUsers());
        return {
          manager: {
            store: settings.settings.database.store,
            cache: new MemorySessionCache(),
            loadUser: (id) => {
              const user = users.loadUser(id);
              return user === null ? null : { id: user.id, username: user.username };
            },
            clock: settings.settings.clock.now,
            // Long, so that only closing the manager writes a touch.
            touchFlushIntervalMs: 600_000,
            logger: { warn: () => undefined },
          },
          verifyCredentials: users.verifyCredentials,
          routesPath: 'auth',
        };
      },
    }),
  ],
  controllers: [GuardedController],
  providers: [{ provide: APP_GUARD, useClass: NilvaAuthGuard }],
})
class GlobalGuardModule {}

async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
}

function newAdapter(adapter: Adapter) {
  return adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter();
}

describe.each(ADAPTERS)('NestJS on %s', (adapter) => {
  describe('forRootAsync, the global guard, below the global prefix', () => {
    let database: TestDatabase;
    const clock = new FakeClock();
    let app: INestApplication;
    let closed = false;
    let url: string;

    const request = (method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      send(url, {
        method,
        path,
        headers: {
          'user-agent': UA,
          ...(options.token === undefined ? {} : { authorization: `Token ${options.token}` }),
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
        ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
      });
    const login = async (username: string) => {
      const res = await request('POST', '/v1/auth/login', { body: { username, password: `${username}-password` } });
      expect(res.status).toBe(200);
      return res.json as { token: string; session_id: string };
    };

    beforeAll(async () => {
      database = await openTestDatabase('sqlite', { userIdType: 'integer' });
      currentSettings = { database, clock };
      const moduleRef = await Test.createTestingModule({ imports: [GlobalGuardModule] }).compile();
      app = moduleRef.createNestApplication(newAdapter(adapter), { logger: false });
      app.setGlobalPrefix('v1');
      app.enableCors({ origin: SPA });
      url = await listen(app);
    });
    afterAll(async () => {
      if (!closed) await app?.close();
      await database?.close();
    });

    test('the contract is served below the global prefix and routesPath, with its own answers', async () => {
      const { token, session_id } = await login('alice');
      expect(token).toMatch(/^[a-z0-9]{50}$/);
      const wrong = await request('POST', '/v1/auth/login', { body: { username: 'alice', password: 'nope' } });
      expect(wrong.status).toBe(401);
      expect(wrong.json).toEqual({ detail: 'No active account found with the given credentials' });
      const broken = await request('POST', '/v1/auth/login', { body: '{"username": ' });
      expect(broken.status).toBe(400);
      expect((broken.json as { detail: string }).detail).toMatch(/^JSON parse error - /);
      const form = await request('POST', '/v1/auth/login', {
        body: 'username=bob&password=bob-password&username=mallory',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(200);
      const active = await request('GET', '/v1/auth/active', { token });
      expect((active.json as Array<{ session_id: string }>).map((s) => s.session_id)).toEqual([session_id]);
      // Not one of the contract's paths: Nest's own 404.
      const other = await request('GET', '/v1/auth/nothing');
      expect(other.status).toBe(404);
      expect(other.json).toEqual({ message: 'Cannot GET /v1/auth/nothing', error: 'Not Found', statusCode: 404 });
      // Without the global prefix there is nothing.
      expect((await request('POST', '/auth/login', { body: { username: 'alice', password: 'alice-password' } })).status).toBe(404);
    });

    test('CORS enabled on the application applies to the contract routes', async () => {
      const preflight = await request('OPTIONS', '/v1/auth/login', {
        headers: { origin: SPA, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(SPA);
      const res = await request('POST', '/v1/auth/login', {
        body: { username: 'carol', password: 'carol-password' },
        headers: { origin: SPA },
      });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(SPA);
    });

    test('the global guard: 401 with the contract body and challenge, the user and session in the decorators', async () => {
      const anonymous = await request('GET', '/v1/me');
      expect(anonymous.status).toBe(401);
      expect(anonymous.json).toEqual({ detail: 'Authentication credentials were not provided.' });
      expect(anonymous.headers['www-authenticate']).toBe('Token');
      // Sent by Nest's exception layer, as it sends any JSON, the same on both adapters.
      expect(anonymous.headers['content-type']).toBe('application/json; charset=utf-8');
      const bad = await request('GET', '/v1/me', { headers: { authorization: 'Token a b' } });
      expect(bad.status).toBe(401);
      expect(bad.json).toEqual({ detail: 'Invalid token header. Token string should not contain spaces.' });
      const { token, session_id } = await login('alice');
      const me = await request('GET', '/v1/me', { token });
      expect(me.status).toBe(200);
      // The SessionManager and SessionApi providers are the module's (by class and by token).
      expect(me.json).toEqual({ user: { id: 1, username: 'alice' }, session_id, same_api: true });
    });

    test('@Public(): anonymous passes with no user, valid credentials give the user, bad ones are refused', async () => {
      expect((await request('GET', '/v1/open')).json).toEqual({ user: null });
      expect((await request('GET', '/v1/open', { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).json).toEqual({ user: null });
      const { token } = await login('bob');
      expect((await request('GET', '/v1/open', { token })).json).toEqual({ user: { id: 2, username: 'bob' } });
      await request('POST', '/v1/auth/logout', { token });
      const revoked = await request('GET', '/v1/open', { token });
      expect(revoked.status).toBe(401);
      expect(revoked.json).toEqual({ detail: 'User session is suspended.' });
    });

    test('@RequireFreshAuth(60): 403 reauthentication_required once the sign-in is older, until reauthenticate', async () => {
      const { token } = await login('alice');
      expect((await request('POST', '/v1/sensitive', { token })).status).toBe(200);
      clock.advance(61_000);
      const stale = await request('POST', '/v1/sensitive', { token });
      expect(stale.status).toBe(403);
      expect(stale.json).toEqual({
        detail: 'This action needs a recent sign-in: sign in again and retry.',
        code: 'reauthentication_required',
      });
      expect(stale.headers['www-authenticate']).toBeUndefined();
      const renewed = await request('POST', '/v1/auth/reauthenticate', { token, body: { username: 'alice', password: 'alice-password' } });
      expect(renewed.status).toBe(200);
      const fresh = (renewed.json as { token: string }).token;
      expect((await request('POST', '/v1/sensitive', { token: fresh })).status).toBe(200);
    });

    test('another guard reads what the guard found with getNilvaContext', async () => {
      expect((await request('GET', '/v1/alice', { token: (await login('alice')).token })).status).toBe(200);
      const bob = await request('GET', '/v1/alice', { token: (await login('bob')).token });
      expect(bob.status).toBe(403);
      expect(bob.json).toEqual({ message: 'Forbidden resource', error: 'Forbidden', statusCode: 403 });
    });

    test('the refusal is an HttpException an exception filter can reshape, its headers at hand', async () => {
      const res = await request('GET', '/v1/reshaped');
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: 'Authentication credentials were not provided.', challenge: 'Token' });
    });

    test("Nest's body parsing still serves the application's own routes", async () => {
      const res = await request('POST', '/v1/echo', { body: { hello: 'world' } });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ body: { hello: 'world' } });
    });

    test('the module closes the manager it built: a buffered touch is written on app.close()', async () => {
      const { token, session_id } = await login('carol');
      const lastOnline = async () => {
        const rows = await sql<{ id: string; last_online: unknown }>`select id, last_online from ${sql.table(database.tableName)}`.execute(
          database.db,
        );
        return new Date(rows.rows.find((r) => String(r.id).toLowerCase() === session_id)?.last_online as string).getTime();
      };
      const before = await lastOnline();
      clock.advance(120_000);
      expect((await request('GET', '/v1/me', { token })).status).toBe(200);
      expect(await lastOnline()).toBe(before);
      await app.close();
      closed = true;
      expect(await lastOnline()).toBe(clock.now());
    });
  });

  describe('a ready SessionApi, the guard per route, a route reading the user without any guard', () => {
    let database: TestDatabase;
    let manager: SessionManager;
    let app: INestApplication;
    let closed = false;
    let url: string;

    @Controller('items')
    class ItemsController {
      @Get('guarded')
      @UseGuards(NilvaAuthGuard)
      guarded() {
        return { guarded: true };
      }

      @Get('plain')
      plain() {
        return { plain: true };
      }

      // No @UseGuards and no APP_GUARD: @CurrentUser binds the guard itself.
      @Get('mine')
      mine(@CurrentUser() user: NilvaUser) {
        return { user };
      }
    }

    beforeAll(async () => {
      database = await openTestDatabase('sqlite', { userIdType: 'integer' });
      const users = userCallbacks(makeUsers());
      manager = new SessionManager({ store: database.store, loadUser: users.loadUser, touchFlushIntervalMs: 600_000 });
      const api = new SessionApi({ manager, verifyCredentials: users.verifyCredentials });
      @Module({ imports: [NilvaSessionModule.forRoot({ api, routesPath: '/api/', isGlobal: true })], controllers: [ItemsController] })
      class PerRouteModule {}
      const moduleRef = await Test.createTestingModule({ imports: [PerRouteModule] }).compile();
      expect(moduleRef.get(NILVA_SESSION_MANAGER)).toBe(manager);
      expect(moduleRef.get(SessionApi)).toBe(api);
      app = moduleRef.createNestApplication(newAdapter(adapter), { logger: false });
      url = await listen(app);
    });
    afterAll(async () => {
      if (!closed) await app?.close();
      await manager?.close();
      await database?.close();
    });

    const get = (path: string, token?: string) =>
      send(url, { path, headers: { 'user-agent': UA, ...(token === undefined ? {} : { authorization: `Token ${token}` }) } });
    const login = async () => {
      const res = await send(url, {
        method: 'POST',
        path: '/api/login',
        headers: { 'user-agent': UA, 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      });
      return (res.json as { token: string }).token;
    };

    test('@UseGuards(NilvaAuthGuard) guards its route only', async () => {
      const anonymous = await get('/items/guarded');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBe('Token');
      expect((await get('/items/guarded', await login())).json).toEqual({ guarded: true });
      expect((await get('/items/plain')).json).toEqual({ plain: true });
    });

    test('a route that reads @CurrentUser() without a guard is authenticated all the same: 401, never a 500 or a missing user', async () => {
      const anonymous = await get('/items/mine');
      expect(anonymous.status).toBe(401);
      expect(anonymous.json).toEqual({ detail: 'Authentication credentials were not provided.' });
      expect(anonymous.headers['www-authenticate']).toBe('Token');
      const invalid = await get('/items/mine', 'a'.repeat(50));
      expect(invalid.status).toBe(401);
      expect(invalid.json).toEqual({ detail: 'Invalid token.' });
      expect((await get('/items/mine', await login())).json).toEqual({ user: { id: 1, username: 'alice', isActive: true } });
    });

    test('the module leaves a manager it was given open on app.close()', async () => {
      const token = await login();
      await app.close();
      closed = true;
      const outcome = await manager.authenticate(`Token ${token}`, { ip: '127.0.0.1', userAgent: UA });
      expect(outcome?.ok).toBe(true);
    });
  });
});

describe('NilvaSessionModule options', () => {
  let database: TestDatabase;
  let api: SessionApi;
  beforeAll(async () => {
    database = await openTestDatabase('sqlite');
    api = new SessionApi({ manager: new SessionManager({ store: database.store }), verifyCredentials: () => null });
  });
  afterAll(async () => {
    await database?.close();
  });

  test.each([
    ['routesPath with a query', () => ({ api, routesPath: 'api?x' }), /option "routesPath" must be a path/],
    ['routesPath with a parameter', () => ({ api, routesPath: ':id' }), /option "routesPath" must be a path/],
    ['no routesPath', () => ({ api }), /option "routesPath" must be a path .* got undefined/],
    ['an unknown option', () => ({ api, routesPath: 'api', prefix: 'x' }), /unknown option "prefix" for NilvaSessionModule/],
    ['the manager as the api', () => ({ api: api.manager, routesPath: 'api' }), /needs a SessionApi .* given a SessionManager/],
    [
      'a manager without verifyCredentials',
      () => ({ manager: api.manager, routesPath: 'api' }),
      /option "verifyCredentials" must be a function/,
    ],
    ['neither api nor manager', () => ({ routesPath: 'api' }), /needs "api" \(a SessionApi\), or "manager"/],
  ])('%s is refused at startup, saying what is wrong', async (_name, options, message) => {
    @Module({ imports: [NilvaSessionModule.forRoot(options() as never)] })
    class BadModule {}
    await expect(Test.createTestingModule({ imports: [BadModule] }).compile()).rejects.toThrow(message);
  });

  test('forRoot and forRootAsync refuse what cannot be options, and @RequireFreshAuth a bad age, when declared', () => {
    expect(() => NilvaSessionModule.forRoot(undefined as never)).toThrow(/needs an options object/);
    expect(() => NilvaSessionModule.forRoot({ api, routesPath: 'api', isGlobal: 'yes' as never })).toThrow(/"isGlobal" must be a boolean/);
    expect(() => NilvaSessionModule.forRootAsync({ useFactory: undefined as never })).toThrow(/needs a useFactory function/);
    expect(() => NilvaSessionModule.forRootAsync({ useFactory: () => ({ api, routesPath: 'api' }), injects: [] } as never)).toThrow(
      /unknown option "injects" for NilvaSessionModule.forRootAsync; did you mean "inject"\?/,
    );
    expect(() => RequireFreshAuth(0)).toThrow(TypeError);
  });
});

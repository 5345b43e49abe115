// An application that declares its user type once, in nilva-session's `Register`: the global
// `req.nilva` (Express) and `request.nilva` (Fastify) then carry it, with no cast, and an API
// serving another user type is refused.

import type { ExecutionContext } from '@nestjs/common';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { NilvaContext, RegisteredUser, SessionStore, UserId } from 'nilva-session';
import { SessionManager } from 'nilva-session';
import { nilvaExpress } from 'nilva-session/express';
import { nilvaFastify, nilvaFastifyRoutes } from 'nilva-session/fastify';
import { type NilvaVariables, nilvaHono } from 'nilva-session/hono';
import { SessionApi } from 'nilva-session/http';
import { getNilvaContext, NilvaSessionModule, type NilvaUser } from 'nilva-session/nestjs';
import { describe, expectTypeOf, test } from 'vitest';

interface AppUser {
  readonly id: number;
  readonly username: string;
  readonly isStaff: boolean;
}

declare module 'nilva-session' {
  interface Register {
    user: AppUser;
  }
}

declare const store: SessionStore;
declare function loadUser(id: UserId): Promise<AppUser | null>;

const sessions = new SessionManager({ store, loadUser });
const api = new SessionApi({ manager: sessions, verifyCredentials: () => null });

test('Register sets the registered user and the default of NilvaContext', () => {
  expectTypeOf<RegisteredUser>().toEqualTypeOf<AppUser>();
  expectTypeOf<NilvaContext['user']>().toEqualTypeOf<AppUser>();
});

describe('Express', () => {
  const nilva = nilvaExpress(api);

  test('req.nilva.user is the registered user', () => {
    const app = express();
    app.get('/me', nilva.requireAuth, (req, res) => {
      expectTypeOf(req.nilva).toEqualTypeOf<NilvaContext<AppUser> | undefined>();
      expectTypeOf(req.nilva?.user.username).toEqualTypeOf<string | undefined>();
      expectTypeOf(nilva.context(req)).toEqualTypeOf<NilvaContext<AppUser> | undefined>();
      res.json(req.nilva?.user);
    });
  });

  test('an API of another user type is refused', () => {
    const other = new SessionApi({
      manager: new SessionManager({ store, loadUser: () => ({ name: 'x' }) }),
      verifyCredentials: () => null,
    });
    // @ts-expect-error: `{ name: string }` is not the registered AppUser.
    nilvaExpress(other);
    // @ts-expect-error: without loadUser the user is unknown, not the registered AppUser.
    nilvaExpress(new SessionApi({ manager: new SessionManager({ store }), verifyCredentials: () => null }));
  });
});

describe('Fastify', () => {
  test('request.nilva.user is the registered user', async () => {
    const app = Fastify();
    await app.register(nilvaFastify, { api });
    await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
    app.get('/me', { preHandler: app.nilvaRequireAuth }, async (request) => {
      expectTypeOf(request.nilva).toEqualTypeOf<NilvaContext<AppUser> | null>();
      expectTypeOf(request.nilva?.user.isStaff).toEqualTypeOf<boolean | undefined>();
      return { user: request.nilva?.user };
    });
  });

  test('an API of another user type is refused by nilvaFastify (the routes take any)', async () => {
    const app = Fastify();
    const other = new SessionApi({
      manager: new SessionManager({ store, loadUser: () => ({ name: 'x' }) }),
      verifyCredentials: () => null,
    });
    // @ts-expect-error: `{ name: string }` is not the registered AppUser.
    await app.register(nilvaFastify, { api: other });
    await app.register(nilvaFastifyRoutes, { api: other, prefix: '/other' });
  });
});

describe('Hono', () => {
  test('the generic still decides, and NilvaVariables defaults to the registered user', () => {
    const nilva = nilvaHono(api);
    const app = new Hono<{ Variables: NilvaVariables }>();
    app.get('/me', nilva.requireAuth, (c) => {
      expectTypeOf(c.get('nilva').user).toEqualTypeOf<AppUser>();
      return c.json(c.get('nilva').user);
    });
    expectTypeOf<NilvaVariables['nilva']>().toEqualTypeOf<NilvaContext<AppUser> | undefined>();
  });
});

describe('NestJS', () => {
  test('@CurrentUser() is annotated with NilvaUser, the registered user; getNilvaContext carries it', () => {
    expectTypeOf<NilvaUser>().toEqualTypeOf<AppUser>();
    const context = {} as ExecutionContext;
    expectTypeOf(getNilvaContext(context)).toEqualTypeOf<NilvaContext<AppUser> | undefined>();
    expectTypeOf(getNilvaContext(context)?.user.isStaff).toEqualTypeOf<boolean | undefined>();
  });

  test('the module takes an API, or a manager, of the registered user only', () => {
    NilvaSessionModule.forRoot({ api, routesPath: 'api' });
    NilvaSessionModule.forRoot({ manager: sessions, verifyCredentials: () => null, routesPath: 'api' });
    NilvaSessionModule.forRootAsync({ useFactory: async () => ({ api, routesPath: 'api' as const }) });
    const other = new SessionApi({
      manager: new SessionManager({ store, loadUser: () => ({ name: 'x' }) }),
      verifyCredentials: () => null,
    });
    // @ts-expect-error: `{ name: string }` is not the registered AppUser.
    NilvaSessionModule.forRoot({ api: other, routesPath: 'api' });
    // @ts-expect-error: a factory making an API of another user type.
    NilvaSessionModule.forRootAsync({ useFactory: () => ({ api: other, routesPath: 'api' }) });
    // @ts-expect-error: the manager's options are checked too.
    NilvaSessionModule.forRoot({ manager: { store, loadUser: () => ({ name: 'x' }) }, verifyCredentials: () => null, routesPath: 'api' });
  });
});

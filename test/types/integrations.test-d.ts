// How the user type reaches the handlers of an application that does NOT declare `Register`:
// Hono through the SessionApi's generic, Express through `nilva.context(req)`, and the global
// `req.nilva` / `request.nilva` as `unknown`. The application that declares `Register` is in
// ./registered (its own compilation: the declaration is global to the program it is in).

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

interface Member {
  readonly id: number;
  readonly email: string;
}

declare const store: SessionStore;
declare function findMember(id: UserId): Promise<Member | undefined>;

// The type is inferred from `loadUser`, never written: what an application does.
const sessions = new SessionManager({ store, loadUser: findMember });
const api = new SessionApi({ manager: sessions, verifyCredentials: () => null });

test('the user type is inferred from loadUser into SessionManager and SessionApi', () => {
  expectTypeOf(sessions).toEqualTypeOf<SessionManager<Member>>();
  expectTypeOf(api).toEqualTypeOf<SessionApi<Member>>();
});

test('without Register, the registered user is unknown', () => {
  expectTypeOf<RegisteredUser>().toBeUnknown();
  expectTypeOf<NilvaContext['user']>().toBeUnknown();
  expectTypeOf<NilvaContext<Member>['user']>().toEqualTypeOf<Member>();
});

describe('Hono: from the generic', () => {
  const nilva = nilvaHono(api);

  test('after requireAuth, c.get("nilva") is set and its user is the API’s', () => {
    const app = new Hono();
    app.get('/me', nilva.requireAuth, (c) => {
      expectTypeOf(c.get('nilva')).toEqualTypeOf<NilvaContext<Member>>();
      expectTypeOf(c.get('nilva').user).toEqualTypeOf<Member>();
      expectTypeOf(c.var.nilva.user.email).toEqualTypeOf<string>();
      return c.json(c.get('nilva').user);
    });
  });

  test('after authenticate, c.get("nilva") may be undefined', () => {
    const app = new Hono();
    app.get('/open', nilva.authenticate, (c) => {
      expectTypeOf(c.get('nilva')).toEqualTypeOf<NilvaContext<Member> | undefined>();
      return c.json(c.get('nilva')?.user ?? null);
    });
  });

  test('an app that declares NilvaVariables up front keeps the user type', () => {
    const app = new Hono<{ Variables: NilvaVariables<Member> & { requestId: string } }>();
    app.get('/me', nilva.requireAuth, (c) => {
      expectTypeOf(c.get('nilva').user).toEqualTypeOf<Member>();
      expectTypeOf(c.get('requestId')).toEqualTypeOf<string>();
      return c.json(c.get('nilva').user);
    });
    app.get('/open', (c) => {
      expectTypeOf(c.get('nilva')).toEqualTypeOf<NilvaContext<Member> | undefined>();
      return c.body(null);
    });
  });

  test('NilvaVariables without an argument is the registered user (unknown here)', () => {
    expectTypeOf<NilvaVariables['nilva']>().toEqualTypeOf<NilvaContext<unknown> | undefined>();
  });
});

describe('Express', () => {
  const nilva = nilvaExpress(api);

  test('nilva.context(req) is typed from the API', () => {
    const app = express();
    app.get('/me', nilva.requireAuth, (req, res) => {
      expectTypeOf(nilva.context(req)).toEqualTypeOf<NilvaContext<Member> | undefined>();
      expectTypeOf(nilva.context(req)?.user.email).toEqualTypeOf<string | undefined>();
      res.json(nilva.context(req)?.user);
    });
  });

  test('req.nilva is the registered user: unknown without Register', () => {
    const app = express();
    app.get('/me', nilva.requireAuth, (req, res) => {
      expectTypeOf(req.nilva).toEqualTypeOf<NilvaContext<unknown> | undefined>();
      res.json(req.nilva?.user);
    });
  });

  test('any SessionApi is accepted without Register', () => {
    expectTypeOf(nilvaExpress).toBeCallableWith(new SessionApi({ manager: new SessionManager({ store }), verifyCredentials: () => 'x' }));
  });
});

describe('Fastify', () => {
  test('request.nilva is the registered user: unknown without Register', async () => {
    const app = Fastify();
    await app.register(nilvaFastify, { api });
    await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
    app.get('/me', { preHandler: app.nilvaRequireAuth }, async (request) => {
      expectTypeOf(request.nilva).toEqualTypeOf<NilvaContext<unknown> | null>();
      return { user: request.nilva?.user };
    });
  });

  test('the plugins take Fastify’s register options and refuse unknown ones', async () => {
    const app = Fastify();
    await app.register(nilvaFastifyRoutes, { api, prefix: '/api', logLevel: 'warn' });
    // @ts-expect-error: `api` is required.
    await app.register(nilvaFastify, {});
  });
});

describe('NestJS without Register', () => {
  test('NilvaUser and getNilvaContext are unknown; the module takes an API of any user', () => {
    expectTypeOf<NilvaUser>().toEqualTypeOf<unknown>();
    expectTypeOf(getNilvaContext({} as ExecutionContext)).toEqualTypeOf<NilvaContext<unknown> | undefined>();
    NilvaSessionModule.forRoot({ api, routesPath: 'api', isGlobal: true });
    NilvaSessionModule.forRoot({ manager: { store, loadUser: findMember }, verifyCredentials: () => null, routesPath: false });
    // @ts-expect-error: routesPath is required (a path, or false for none).
    NilvaSessionModule.forRoot({ api });
  });
});

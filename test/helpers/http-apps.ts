import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Controller, Get, HttpCode, type INestApplication, Module, Post } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { CachedSession } from 'nilva-session';
import { nilvaExpress } from 'nilva-session/express';
import { nilvaFastify, nilvaFastifyRoutes } from 'nilva-session/fastify';
import { type NilvaVariables, nilvaHono } from 'nilva-session/hono';
import type { SessionApi } from 'nilva-session/http';
import { CurrentSession, CurrentUser, NilvaAuthGuard, NilvaSessionModule, Public, RequireFreshAuth } from 'nilva-session/nestjs';

/** The integrations that also serve the web pages (nilva-session/admin/express, …). */
export const PAGE_FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
export type PageFramework = (typeof PAGE_FRAMEWORKS)[number];

export function isPageFramework(framework: string): framework is PageFramework {
  return (PAGE_FRAMEWORKS as readonly string[]).includes(framework);
}

/** Every HTTP integration: the page ones and NestJS on both of its adapters. */
export const FRAMEWORKS = [...PAGE_FRAMEWORKS, 'nest-express', 'nest-fastify'] as const;

/** How recent a sign-in `POST /api/sensitive` wants. */
export const SENSITIVE_MAX_AGE_SECONDS = 60;
export type Framework = (typeof FRAMEWORKS)[number];

/**
 * A running app: the contract at `/api/`, plus `GET /api/me` (required auth), `GET /open` (optional
 * auth) and `POST /api/sensitive` (a sign-in at most `SENSITIVE_MAX_AGE_SECONDS` old).
 */
export interface RunningApp {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts a real HTTP server on 127.0.0.1 with the integration of `framework`. */
export async function startApp(framework: Framework, api: SessionApi<unknown>): Promise<RunningApp> {
  switch (framework) {
    case 'express': {
      const app = express();
      const nilva = nilvaExpress(api);
      app.use('/api', nilva.routes);
      app.get('/api/me', nilva.requireAuth, (req, res) => {
        res.json({ user: req.nilva?.user, session_id: req.nilva?.session.id });
      });
      app.get('/open', nilva.authenticate, (req, res) => {
        res.json({ user: req.nilva?.user ?? null });
      });
      app.post('/api/sensitive', nilva.requireFreshAuth(SENSITIVE_MAX_AGE_SECONDS), (req, res) => {
        res.json({ session_id: req.nilva?.session.id });
      });
      const server = app.listen(0, '0.0.0.0');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }
    case 'fastify': {
      const app = Fastify();
      await app.register(nilvaFastify, { api });
      await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
      app.get('/api/me', { preHandler: app.nilvaRequireAuth }, async (request) => ({
        user: request.nilva?.user,
        session_id: request.nilva?.session.id,
      }));
      app.get('/open', { preHandler: app.nilvaAuthenticate }, async (request) => ({ user: request.nilva?.user ?? null }));
      app.post('/api/sensitive', { preHandler: app.nilvaRequireFreshAuth(SENSITIVE_MAX_AGE_SECONDS) }, async (request) => ({
        session_id: request.nilva?.session.id,
      }));
      await app.listen({ port: 0, host: '0.0.0.0' });
      return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    }
    case 'hono': {
      const app = new Hono<{ Variables: NilvaVariables }>();
      const nilva = nilvaHono(api);
      app.route('/api', nilva.routes);
      app.get('/api/me', nilva.requireAuth, (c) => c.json({ user: c.get('nilva').user, session_id: c.get('nilva').session.id }));
      app.get('/open', nilva.authenticate, (c) => c.json({ user: c.get('nilva')?.user ?? null }));
      app.post('/api/sensitive', nilva.requireFreshAuth(SENSITIVE_MAX_AGE_SECONDS), (c) =>
        c.json({ session_id: c.get('nilva').session.id }),
      );
      const server = serve({ fetch: app.fetch, port: 0, hostname: '0.0.0.0' });
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }
    case 'nest-express':
    case 'nest-fastify': {
      // The common Nest set-up: the guard on every route (APP_GUARD), @Public() for the optional one.
      @Module({
        imports: [NilvaSessionModule.forRoot({ api, routesPath: 'api' })],
        controllers: [NestTestController],
        providers: [{ provide: APP_GUARD, useClass: NilvaAuthGuard }],
      })
      class AppModule {}
      const adapter = framework === 'nest-express' ? new ExpressAdapter() : new FastifyAdapter();
      const app: INestApplication = await NestFactory.create(AppModule, adapter, { logger: false });
      await app.listen(0, '0.0.0.0');
      return { url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`, close: () => app.close() };
    }
  }
}

@Controller()
class NestTestController {
  @Get('api/me')
  me(@CurrentUser() user: unknown, @CurrentSession() session: CachedSession) {
    return { user, session_id: session.id };
  }

  @Public()
  @Get('open')
  open(@CurrentUser() user: unknown) {
    return { user: user ?? null };
  }

  @Post('api/sensitive')
  @HttpCode(200)
  @RequireFreshAuth(SENSITIVE_MAX_AGE_SECONDS)
  sensitive(@CurrentSession() session: CachedSession) {
    return { session_id: session.id };
  }
}

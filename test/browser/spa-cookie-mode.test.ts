// A single-page app on another origin, signed in to the API in cookie mode, in a real Chromium:
// the API on http://127.0.0.1:P1 (with the CORS settings the README gives for each framework),
// the SPA on http://127.0.0.1:P2 (a trusted origin), and an attacker's page on
// http://127.0.0.1:P3. P3 is the same site as P1 (cookies ignore ports), so the browser does
// send the SameSite=Lax cookie with its requests: only the CSRF check stands in the way.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastifyCors from '@fastify/cors';
import { serve } from '@hono/node-server';
import cors from 'cors';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { cors as honoCors } from 'hono/cors';
import { nilvaExpress } from 'nilva-session/express';
import { nilvaFastify, nilvaFastifyRoutes } from 'nilva-session/fastify';
import { nilvaHono } from 'nilva-session/hono';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SessionApi } from '../../src/http/session-api.js';
import { DESKTOP_CHROME, launchChromium } from '../helpers/browser.js';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import type { Framework } from '../helpers/http-apps.js';
import { Client } from '../helpers/http-client.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

interface Running {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** What the servers of this test support: the frameworks whose CORS setup the README gives. */
const CORS_FRAMEWORKS = ['express', 'fastify', 'hono'] as const satisfies readonly Framework[];

/** A server of one empty HTML page, standing for a site the browser visits. */
async function startPageServer(title: string): Promise<Running> {
  const server = createServer((req, res) => {
    if (req.url !== '/') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`);
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// The README's CORS settings for a SPA on another origin, per framework.
const ALLOWED_HEADERS = ['Content-Type', 'X-CSRF-Token'];
const METHODS = ['GET', 'POST', 'DELETE'];

/** The API at `/api` of a server on 127.0.0.1, with CORS for `spaOrigin`. */
async function startApi(framework: (typeof CORS_FRAMEWORKS)[number], api: SessionApi<unknown>, spaOrigin: string): Promise<Running> {
  switch (framework) {
    case 'express': {
      const app = express();
      app.use(cors({ origin: spaOrigin, credentials: true, allowedHeaders: ALLOWED_HEADERS, methods: METHODS, exposedHeaders: ['Link'] }));
      app.use('/api', nilvaExpress(api).routes);
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        server,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }
    case 'fastify': {
      const app = Fastify();
      await app.register(fastifyCors, {
        origin: spaOrigin,
        credentials: true,
        allowedHeaders: ALLOWED_HEADERS,
        methods: METHODS,
        exposedHeaders: ['Link'],
      });
      await app.register(nilvaFastify, { api });
      await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, server: app.server, close: () => app.close() };
    }
    case 'hono': {
      const app = new Hono();
      app.use(
        '/api/*',
        honoCors({ origin: spaOrigin, credentials: true, allowHeaders: ALLOWED_HEADERS, allowMethods: METHODS, exposeHeaders: ['Link'] }),
      );
      app.route('/api', nilvaHono(api).routes);
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        server,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }
  }
}

/** What a page's `fetch` saw. */
interface Seen {
  readonly status: number;
  readonly text: string;
}

describe.each(CORS_FRAMEWORKS)('a SPA on another origin with the API in cookie mode, in Chromium, through %s', (framework) => {
  let browser: Browser;
  let context: BrowserContext;
  let database: TestDatabase;
  let manager: SessionManager<unknown>;
  let api: Running;
  let spa: Running;
  let evil: Running;
  /** The `Cookie` header of every request the API received, by method and path. */
  const arrived: Array<{ method: string; url: string; cookie: string | undefined }> = [];
  /** Every response of the API the pages received, with its body as the browser got it. */
  const bodies: Array<{ url: string; text: Promise<string> }> = [];
  const users = makeUsers();

  beforeAll(async () => {
    spa = await startPageServer('The SPA');
    evil = await startPageServer('Free prizes');
    database = await openTestDatabase('sqlite', { userIdType: 'integer' });
    const callbacks = userCallbacks(users);
    manager = new SessionManager({ store: database.store, cache: new MemorySessionCache(), loadUser: callbacks.loadUser });
    const sessionApi = new SessionApi({
      manager,
      verifyCredentials: callbacks.verifyCredentials,
      cookie: { trustedOrigins: [spa.url] },
    });
    api = await startApi(framework, sessionApi, spa.url);
    api.server.prependListener('request', (req: IncomingMessage) => {
      arrived.push({ method: req.method ?? '', url: req.url ?? '', cookie: req.headers.cookie });
    });
    browser = await launchChromium();
    context = await browser.newContext({ userAgent: DESKTOP_CHROME });
    context.on('response', (response: Response) => {
      if (!response.url().startsWith(api.url)) return;
      // A preflight's or a redirect's answer has no body to read.
      bodies.push({ url: response.url(), text: response.text().catch(() => '') });
    });
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await api?.close();
    await spa?.close();
    await evil?.close();
    await manager?.close();
    await database?.close();
  });

  async function open(site: Running): Promise<Page> {
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      throw new Error(`a dialog opened: ${dialog.message()}`);
    });
    await page.goto(`${site.url}/`);
    return page;
  }

  /** `fetch(API + path, init)` run by the page itself, in its origin. */
  function pageFetch(page: Page, path: string, init: Record<string, unknown>): Promise<Seen> {
    return page.evaluate(
      async ([url, options]) => {
        const res = await fetch(url, options as RequestInit);
        return { status: res.status, text: await res.text() };
      },
      [`${api.url}${path}`, init] as const,
    );
  }

  /** The `Cookie` header of the last request the API received for `method` and `path`. */
  function arrivedWith(method: string, path: string): string {
    const last = arrived.filter((r) => r.method === method && r.url === path).at(-1);
    return last?.cookie ?? '(no Cookie header)';
  }

  /** The session token as the browser stores it (the test's view, not the page's). */
  async function sessionCookie(): Promise<string | undefined> {
    return (await context.cookies(api.url)).find((cookie) => cookie.name === 'nilva_session')?.value;
  }

  test('the SPA signs in, lists its sessions and signs out with credentials: include; its scripts never see the token', async () => {
    const page = await open(spa);
    const login = await pageFetch(page, '/api/login', {
      method: 'POST',
      credentials: 'include',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    });
    expect(login.status).toBe(200);
    const body = JSON.parse(login.text) as { session_id: string; expire_at: string; csrf_token: string };
    expect(Object.keys(body)).toEqual(['session_id', 'expire_at', 'csrf_token']);

    const token = await sessionCookie();
    expect(token).toMatch(/^[a-z0-9]{50}$/);
    const stored = (await context.cookies(api.url)).find((cookie) => cookie.name === 'nilva_session');
    expect(stored).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
    // The SPA's scripts see the CSRF cookie (cookies ignore ports), never the session's.
    const visible = await page.evaluate<string>('document.cookie');
    expect(visible).not.toContain(token as string);
    expect(visible).not.toContain('nilva_session');

    const listed = await pageFetch(page, '/api/active', { credentials: 'include' });
    expect(listed.status).toBe(200);
    const sessions = JSON.parse(listed.text) as Array<{ session_id: string; is_current: boolean }>;
    expect(sessions).toEqual([expect.objectContaining({ session_id: body.session_id, is_current: true })]);

    // A state-changing request from the trusted origin: the CSRF token from the login body.
    const logout = await pageFetch(page, '/api/logout', {
      method: 'POST',
      credentials: 'include',
      headers: { 'X-CSRF-Token': body.csrf_token },
    });
    expect(logout.status).toBe(204);
    expect(await sessionCookie()).toBeUndefined();
    expect((await pageFetch(page, '/api/active', { credentials: 'include' })).status).toBe(401);
    expect(await manager.listSessions(1)).toEqual([]);

    // Nothing the pages received carried the token.
    const texts = await Promise.all(bodies.map(async (seen) => `${seen.url}: ${await seen.text}`));
    expect(texts.some((text) => text.includes('csrf_token'))).toBe(true);
    expect(texts.some((text) => text.includes('is_current'))).toBe(true);
    for (const text of texts) expect(text).not.toContain(token as string);
    await page.close();
  });

  test('a page of an untrusted origin on the same site cannot change state with the cookie the browser sends along', async () => {
    const page = await open(spa);
    const login = await pageFetch(page, '/api/login', {
      method: 'POST',
      credentials: 'include',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
    });
    expect(login.status).toBe(200);
    const { session_id } = JSON.parse(login.text) as { session_id: string };
    const token = (await sessionCookie()) as string;
    await page.close();

    const attacker = await open(evil);
    const start = arrived.length;
    // A no-cors POST: the browser sends it, cookie included, and hides the answer from the page.
    const [noCors] = await Promise.all([
      attacker.waitForResponse((r) => r.url() === `${api.url}/api/logout`),
      attacker.evaluate(
        (url) => fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include' }).then(() => undefined),
        `${api.url}/api/logout`,
      ),
    ]);
    expect(arrivedWith('POST', '/api/logout')).toContain(`nilva_session=${token}`);
    expect(noCors.status()).toBe(403);

    // DELETE needs a preflight, which CORS refuses for this origin: it is never sent.
    const deleted = await attacker.evaluate(
      (url) =>
        fetch(url, { method: 'DELETE', credentials: 'include' }).then(
          (r) => `status ${r.status}`,
          (error: Error) => error.name,
        ),
      `${api.url}/api/active`,
    );
    expect(deleted).toBe('TypeError');
    expect(arrived.slice(start).filter((r) => r.method === 'DELETE')).toEqual([]);

    // A form POST: a top-level navigation, cookie included.
    const [form] = await Promise.all([
      attacker.waitForResponse((r) => r.url() === `${api.url}/api/logout`),
      // A string: the test is compiled without the DOM's types.
      attacker.evaluate(
        `(() => { const f = document.createElement('form'); f.method = 'POST'; f.action = ${JSON.stringify(`${api.url}/api/logout`)}; document.body.append(f); f.submit(); })()`,
      ),
    ]);
    expect(arrived.slice(start).filter((r) => r.method === 'POST' && r.url === '/api/logout')).toHaveLength(2);
    expect(arrivedWith('POST', '/api/logout')).toContain(`nilva_session=${token}`);
    expect(form.status()).toBe(403);
    // The page the browser shows instead of the attacker's.
    await attacker.waitForURL(`${api.url}/api/logout`);
    expect(JSON.parse((await attacker.textContent('body')) ?? '')).toEqual({
      detail: `CSRF Failed: Origin checking failed - ${evil.url} does not match any trusted origins.`,
      code: 'csrf_failed',
    });

    // Login CSRF: signing the browser in as the attacker, with a form-like no-cors POST.
    await attacker.goto(`${evil.url}/`);
    const before = await manager.listSessions(3);
    const [signIn] = await Promise.all([
      attacker.waitForResponse((r) => r.url() === `${api.url}/api/login`),
      attacker.evaluate(
        (url) =>
          fetch(url, {
            method: 'POST',
            mode: 'no-cors',
            credentials: 'include',
            headers: { 'Content-Type': 'text/plain' },
            body: JSON.stringify({ username: 'carol', password: 'carol-password' }),
          }).then(() => undefined),
        `${api.url}/api/login`,
      ),
    ]);
    expect(signIn.status()).toBe(403);
    expect(await manager.listSessions(3)).toEqual(before);
    expect(await sessionCookie()).toBe(token);

    // From the server's side, the victim's session still works.
    expect((await manager.listSessions(2)).map((s) => s.id)).toEqual([session_id]);
    const check = await new Client(api.url, DESKTOP_CHROME).request('GET', '/api/active', {
      headers: { cookie: `nilva_session=${token}` },
    });
    expect(check.status).toBe(200);
    expect((check.json as Array<{ session_id: string }>).map((s) => s.session_id)).toEqual([session_id]);
    await attacker.close();
  });
});

// The web pages mounted next to the API in a real HTTP server, through each framework, plus a
// form-posting client that keeps the session cookie like a browser would.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { SessionPages } from 'nilva-session/admin';
import { nilvaExpressPages } from 'nilva-session/admin/express';
import { nilvaFastifyPages } from 'nilva-session/admin/fastify';
import { nilvaHonoPages } from 'nilva-session/admin/hono';
import { nilvaExpress } from 'nilva-session/express';
import { nilvaFastifyRoutes } from 'nilva-session/fastify';
import { nilvaHono } from 'nilva-session/hono';
import type { SessionApi } from 'nilva-session/http';
import type { PageFramework, RunningApp } from './http-apps.js';
import { send, type TestResponse } from './http-client.js';

/** Starts a server with the API at `/api/` and the pages at their own paths. */
export async function startPagesApp(framework: PageFramework, api: SessionApi<unknown>, pages: SessionPages<unknown>): Promise<RunningApp> {
  switch (framework) {
    case 'express': {
      const app = express();
      app.use('/api', nilvaExpress(api).routes);
      app.use(nilvaExpressPages(pages));
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }
    case 'fastify': {
      const app = Fastify();
      await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
      await app.register(nilvaFastifyPages, { pages });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    }
    case 'hono': {
      const app = new Hono();
      app.route('/api', nilvaHono(api).routes);
      app.use('*', nilvaHonoPages(pages));
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }
  }
}

/** The attributes of one `Set-Cookie` header, names lowercased. */
export function parseSetCookie(header: string): { name: string; value: string; attributes: Map<string, string> } {
  const [pair = '', ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const [k = '', v = ''] = part.trim().split('=');
    attributes.set(k.toLowerCase(), v);
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/** A browser-like client: form posts with a same-origin `Origin`, the session cookie kept. */
export class PageClient {
  cookie: string | undefined;

  constructor(
    readonly baseUrl: string,
    readonly userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  ) {}

  /** The origin a browser would send for this site. */
  get origin(): string {
    return new URL(this.baseUrl).origin;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<TestResponse> {
    return this.#send('GET', path, undefined, headers);
  }

  /** Posts a form; by default as the same origin. */
  async post(
    path: string,
    fields: Record<string, string | string[]>,
    headers: Record<string, string> = { origin: this.origin },
  ): Promise<TestResponse> {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const item of Array.isArray(v) ? v : [v]) form.append(k, item);
    return this.#send('POST', path, form.toString(), { 'content-type': 'application/x-www-form-urlencoded', ...headers });
  }

  async signIn(username: string, password: string): Promise<TestResponse> {
    const res = await this.post('/login', { username, password });
    if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
    return res;
  }

  async #send(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<TestResponse> {
    const res = await send(this.baseUrl, {
      method,
      path,
      headers: { 'user-agent': this.userAgent, ...(this.cookie === undefined ? {} : { cookie: this.cookie }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const setCookie = res.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]) {
      const { name, value, attributes } = parseSetCookie(line);
      this.cookie = attributes.get('max-age') === '0' ? undefined : `${name}=${value}`;
    }
    return res;
  }
}

/** The text of every `href` whose element carries `rel="next"`, HTML entities decoded. */
export function relLink(document: string, rel: 'next' | 'prev'): string | undefined {
  const match = new RegExp(`<a href="([^"]*)" rel="${rel}"`).exec(document);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

export function unescapeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&#96;', '`')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

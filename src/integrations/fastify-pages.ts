import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_PAGE_BODY_BYTES, type PageRequest, type PageResponse } from '../admin/page-request.js';
import type { SessionPages } from '../admin/session-pages.js';
import { assertKnownPluginOptions, fastifyPlugin } from './fastify-plugin-meta.js';

/** Options of the Fastify pages plugin. */
export interface NilvaFastifyPagesOptions<TUser> {
  readonly pages: SessionPages<TUser>;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function send(reply: FastifyReply, response: PageResponse): FastifyReply {
  reply.code(response.status).headers(response.headers);
  return response.body === '' || response.body === undefined ? reply.send() : reply.send(response.body);
}

const plugin: FastifyPluginAsync<NilvaFastifyPagesOptions<unknown>> = async (fastify, options) => {
  assertKnownPluginOptions(
    'nilvaFastifyPages',
    options,
    ['pages'],
    'the pages are served at their own paths (SessionPages option "paths", e.g. { admin: \'/staff/sessions\' })',
  );
  const pages = options.pages;
  if (typeof pages?.handle !== 'function') throw new TypeError('nilva-session: nilvaFastifyPages needs option "pages" (a SessionPages)');
  // Own encapsulated context: the form-body parser stays here.
  await fastify.register(async (routes: FastifyInstance) => {
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_PAGE_BODY_BYTES }, (_req, body, done) => done(null, body));
    routes.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
      const status = error.statusCode === 413 ? 413 : 400;
      void reply
        .code(status)
        .type('text/plain; charset=utf-8')
        .send(status === 413 ? 'Request body too large.' : 'Could not read the request body.');
    });
    const handler = (request: FastifyRequest, reply: FastifyReply) => {
      const url = new URL(request.raw.url ?? '/', 'http://localhost');
      const pageRequest: PageRequest = {
        method: request.method,
        path: url.pathname,
        query: url.searchParams,
        authorization: header(request, 'authorization'),
        cookie: header(request, 'cookie'),
        userAgent: header(request, 'user-agent'),
        origin: header(request, 'origin'),
        secFetchSite: header(request, 'sec-fetch-site'),
        host: header(request, 'host'),
        forwardedProto: header(request, 'x-forwarded-proto'),
        forwardedFor: request.headers['x-forwarded-for'],
        remoteAddress: request.raw.socket.remoteAddress,
        encrypted: (request.raw.socket as Partial<TLSSocket>).encrypted === true,
        contentType: header(request, 'content-type'),
        body: typeof request.body === 'string' ? request.body : undefined,
      };
      const response = pages.handle(pageRequest);
      if (response === undefined) return reply.callNotFound();
      return response.then((r) => send(reply, r));
    };
    for (const root of Object.values(pages.paths)) {
      if (root === undefined) continue;
      routes.all(root, handler);
      routes.all(`${root}/*`, handler);
    }
  });
};

/**
 * Fastify 5 plugin serving the pages (sign-in, your devices, admin) of {@link SessionPages}
 * at the paths the pages were given.
 *
 * @example
 * await app.register(nilvaFastifyPages, { pages: new SessionPages({ api, adminStore, isStaff }) });
 */
export const nilvaFastifyPages = fastifyPlugin(plugin, 'nilva-session-pages', { encapsulate: false });

import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { AuthOutcome } from '../core/session-manager.js';
import type { ApiRequest, ApiResponse } from '../http/api-types.js';
import { MAX_BODY_BYTES, type SessionApi } from '../http/session-api.js';
import type { NilvaContext } from './nilva-context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by nilva-session when the request is authenticated; `null` otherwise. */
    nilva: NilvaContext | null;
  }
  interface FastifyInstance {
    /** preHandler: authenticates when credentials are present; anonymous passes through. */
    nilvaAuthenticate: preHandlerHookHandler;
    /** preHandler: like `nilvaAuthenticate`, but anonymous requests get 401. */
    nilvaRequireAuth: preHandlerHookHandler;
  }
}

/** Options of the Fastify plugin. */
export interface NilvaFastifyOptions<TUser> {
  readonly api: SessionApi<TUser>;
  /** Where the HTTP contract is mounted, e.g. `/api/`. Default `/api/`. */
  readonly prefix?: string;
}

function facts(request: FastifyRequest): Pick<ApiRequest, 'authorization' | 'userAgent' | 'remoteAddress' | 'forwardedFor'> {
  const headers = request.headers;
  return {
    authorization: headers.authorization,
    userAgent: headers['user-agent'],
    remoteAddress: request.raw.socket.remoteAddress,
    forwardedFor: headers['x-forwarded-for'],
  };
}

function send(reply: FastifyReply, response: ApiResponse): FastifyReply {
  reply.code(response.status).headers(response.headers);
  return response.body === undefined ? reply.send() : reply.send(response.body);
}

const plugin: FastifyPluginAsync<NilvaFastifyOptions<unknown>> = async (fastify, options) => {
  const api = options.api;
  if (api === undefined || typeof api.handle !== 'function') throw new TypeError('nilva-session: the Fastify plugin needs option "api"');
  const prefix = options.prefix ?? '/api/';
  if (!prefix.startsWith('/')) throw new TypeError('nilva-session: option "prefix" must start with "/"');

  fastify.decorateRequest('nilva', null);

  const guard = (required: boolean): preHandlerHookHandler => {
    const finish = (
      request: FastifyRequest,
      reply: FastifyReply,
      done: (err?: Error) => void,
      outcome: AuthOutcome<unknown> | undefined,
    ) => {
      if (outcome === undefined) {
        if (required) send(reply, api.unauthenticated());
        else done();
      } else if (!outcome.ok) {
        send(reply, api.error(outcome.error));
      } else {
        request.nilva = outcome;
        done();
      }
    };
    return function nilvaPreHandler(request, reply, done) {
      const outcome = api.authenticate(facts(request));
      if (outcome instanceof Promise) outcome.then((o) => finish(request, reply, done, o), done);
      else finish(request, reply, done, outcome);
    };
  };
  fastify.decorate('nilvaAuthenticate', guard(false));
  fastify.decorate('nilvaRequireAuth', guard(true));

  // The routes live in their own encapsulated context: the raw-body parsers stay there.
  await fastify.register(async (routes: FastifyInstance) => {
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));
    routes.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
      const status = error.statusCode === 413 ? 413 : 400;
      void reply
        .code(status)
        .type('application/json')
        .send(JSON.stringify({ detail: status === 413 ? 'Request body too large.' : 'Could not read the request body.' }));
    });
    const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
    routes.all(`${base}*`, (request, reply) => {
      const url = request.raw.url ?? '/';
      const q = url.indexOf('?');
      const pathname = q === -1 ? url : url.slice(0, q);
      const apiRequest: ApiRequest = {
        ...facts(request),
        method: request.method,
        path: pathname.slice(base.length),
        query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
        contentType: request.headers['content-type'],
        body: typeof request.body === 'string' ? request.body : undefined,
      };
      const response = api.handle(apiRequest);
      if (response === undefined) return reply.callNotFound();
      if (response instanceof Promise) return response.then((r) => send(reply, r));
      return send(reply, response);
    });
  });
};

/**
 * Fastify 5 plugin: mounts the HTTP contract at `prefix` and declares `request.nilva`,
 * `fastify.nilvaAuthenticate` and `fastify.nilvaRequireAuth`.
 *
 * @example
 * await app.register(nilvaFastify, { api, prefix: '/api/' });
 * app.get('/me', { preHandler: app.nilvaRequireAuth }, (req) => req.nilva?.user);
 */
export const nilvaFastify = fp(plugin, { fastify: '5.x', name: 'nilva-session' });

import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { AuthOutcome } from '../core/session-manager.js';
import type { ApiRequest, ApiResponse } from '../http/api-types.js';
import { assertMaxAge, MAX_BODY_BYTES, type SessionApi } from '../http/session-api.js';
import type { RegisteredUser } from '../index.js';
import { assertKnownPluginOptions, fastifyPlugin } from './fastify-plugin-meta.js';
import type { NilvaContext } from './nilva-context.js';
import { nodeRequestFacts, type RequestCredentialFacts } from './node-request.js';
import { assertSessionApi } from './session-api-check.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Set by `nilvaAuthenticate` and `nilvaRequireAuth` when the request is authenticated;
     * `null` otherwise. Its `user` has the type declared in nilva-session's `Register`
     * (`unknown` without one).
     */
    nilva: NilvaContext<RegisteredUser> | null;
  }
  interface FastifyInstance {
    /** preHandler: authenticates when credentials are present (bad ones get 401); anonymous passes through. */
    nilvaAuthenticate: preHandlerHookHandler;
    /** preHandler: like `nilvaAuthenticate`, but anonymous requests get 401. */
    nilvaRequireAuth: preHandlerHookHandler;
    /**
     * A preHandler for sensitive routes: like `nilvaRequireAuth`, and the session's last
     * authentication must be at most `maxAgeSeconds` old, else 403 `reauthentication_required`
     * (the client calls `POST P+reauthenticate` and retries).
     */
    nilvaRequireFreshAuth(maxAgeSeconds: number): preHandlerHookHandler;
  }
}

/**
 * Options of {@link nilvaFastify}. With `Register` declared, `api` must serve that user type (so
 * `request.nilva.user` tells the truth).
 */
export interface NilvaFastifyOptions {
  readonly api: SessionApi<RegisteredUser>;
}

/**
 * Options of {@link nilvaFastifyRoutes}. Mount the routes with Fastify's own `prefix`
 * register option: `app.register(nilvaFastifyRoutes, { api, prefix: '/api' })`.
 */
export interface NilvaFastifyRoutesOptions {
  readonly api: SessionApi<unknown>;
}

function facts(request: FastifyRequest): RequestCredentialFacts {
  return nodeRequestFacts(request.raw);
}

function send(reply: FastifyReply, response: ApiResponse): FastifyReply {
  reply.code(response.status).headers(response.headers);
  if (response.setCookies !== undefined) reply.header('set-cookie', [...response.setCookies]);
  return response.body === undefined ? reply.send() : reply.send(response.body);
}

const decorators: FastifyPluginAsync<NilvaFastifyOptions> = async (fastify, options) => {
  assertKnownPluginOptions(
    'nilvaFastify',
    options,
    ['api'],
    "it adds request.nilva and the preHandlers and serves no routes; mount the routes with app.register(nilvaFastifyRoutes, { api, prefix: '/api' })",
  );
  const api = options.api;
  assertSessionApi('nilvaFastify (option "api")', api);

  fastify.decorateRequest('nilva', null);

  const guard = (required: boolean, maxAgeSeconds?: number): preHandlerHookHandler => {
    const finish = (
      request: FastifyRequest,
      reply: FastifyReply,
      done: (err?: Error) => void,
      outcome: AuthOutcome<RegisteredUser> | undefined,
    ) => {
      if (outcome === undefined) {
        if (required) send(reply, api.unauthenticated());
        else done();
      } else if (!outcome.ok) {
        send(reply, api.error(outcome.error));
      } else {
        const stale = maxAgeSeconds === undefined ? undefined : api.requireFreshAuth(outcome, maxAgeSeconds);
        if (stale !== undefined) {
          send(reply, stale);
          return;
        }
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
  fastify.decorate('nilvaRequireFreshAuth', (maxAgeSeconds: number) => {
    assertMaxAge(maxAgeSeconds);
    return guard(true, maxAgeSeconds);
  });
};

const routes: FastifyPluginAsync<NilvaFastifyRoutesOptions> = async (fastify, options) => {
  assertKnownPluginOptions('nilvaFastifyRoutes', options, ['api']);
  const api = options.api;
  assertSessionApi('nilvaFastifyRoutes (option "api")', api);

  // This plugin is encapsulated: the raw-body parsers and the error handler stay in it.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));
  // The full prefix of this context (outer prefixes included, `/v1/api`); the contract's paths
  // are what follows it.
  const mount = fastify.prefix.endsWith('/') ? fastify.prefix.slice(0, -1) : fastify.prefix;
  const below = (url: string): string => {
    const q = url.indexOf('?');
    return (q === -1 ? url : url.slice(0, q)).slice(mount.length);
  };
  fastify.setErrorHandler((error: { statusCode?: number }, request, reply) => {
    // The body is read before the route knows its path: below the prefix but not one of the
    // API's paths, it is the framework's 404 whatever the body (as Express and Hono, which
    // read no body there, answer), never a 413 of ours.
    if (!api.owns(below(request.raw.url ?? '/'))) return reply.callNotFound();
    const status = error.statusCode === 413 ? 413 : 400;
    return reply
      .code(status)
      .type('application/json')
      .send(JSON.stringify({ detail: status === 413 ? 'Request body too large.' : 'Could not read the request body.' }));
  });
  fastify.all('/*', (request, reply) => {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const apiRequest: ApiRequest = {
      ...facts(request),
      method: request.method,
      path: below(url),
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
      contentType: request.headers['content-type'],
      body: typeof request.body === 'string' ? request.body : undefined,
    };
    const response = api.handle(apiRequest);
    if (response === undefined) return reply.callNotFound();
    if (response instanceof Promise) return response.then((r) => send(reply, r));
    return send(reply, response);
  });
};

/**
 * Fastify 5 plugin: declares `request.nilva` and the preHandlers `app.nilvaAuthenticate` and
 * `app.nilvaRequireAuth`. Not encapsulated (like a plugin wrapped in `fastify-plugin`): they
 * are there for every route of the context that registers it. Serves no routes; see
 * {@link nilvaFastifyRoutes}.
 *
 * @example
 * await app.register(nilvaFastify, { api });
 * app.get('/me', { preHandler: app.nilvaRequireAuth }, (request) => request.nilva?.user);
 */
export const nilvaFastify = fastifyPlugin(decorators, 'nilva-session', { encapsulate: false });

/**
 * Fastify 5 plugin serving the HTTP contract (`login`, `logout`, `active`, and the `token`
 * routes when JWTs are on) below Fastify's own `prefix` register option, which composes with
 * the prefixes of enclosing contexts as any Fastify route does. Encapsulated: its body parser
 * and error handler apply to its routes only. Without a prefix the routes are at the root of
 * the registering context.
 *
 * @example
 * await app.register(nilvaFastifyRoutes, { api, prefix: '/api' }); // POST /api/login, …
 */
export const nilvaFastifyRoutes = fastifyPlugin(routes, 'nilva-session-routes', { encapsulate: true });

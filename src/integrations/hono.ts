import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import type { AuthOutcome } from '../core/session-manager.js';
import type { ApiRequest, ApiResponse } from '../http/api-types.js';
import { json } from '../http/error-responses.js';
import { MAX_BODY_BYTES, type SessionApi } from '../http/session-api.js';
import type { NilvaContext } from './nilva-context.js';

/** Hono context variables set by nilva-session. */
export interface NilvaVariables {
  nilva: NilvaContext | undefined;
}

/** Options of the Hono integration. */
export interface NilvaHonoOptions {
  /**
   * The socket's peer address. Default: read from `@hono/node-server`'s `c.env.incoming`;
   * give your runtime's equivalent elsewhere.
   */
  readonly remoteAddress?: (c: Context) => string | undefined;
}

/** The pieces to mount in a Hono app. */
export interface NilvaHono {
  /** The HTTP contract; mount it with `app.route('/api', nilva.routes)`. */
  readonly routes: Hono<{ Variables: NilvaVariables }>;
  /** Authenticates when credentials are present (bad ones get 401); anonymous passes through. */
  readonly authenticate: MiddlewareHandler<{ Variables: NilvaVariables }>;
  /** Like `authenticate`, but anonymous requests get 401. */
  readonly requireAuth: MiddlewareHandler<{ Variables: NilvaVariables }>;
}

function nodeRemoteAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

function toResponse(response: ApiResponse): Response {
  return new Response(response.body ?? null, { status: response.status, headers: response.headers });
}

/**
 * Hono integration: thin shells around {@link SessionApi}.
 *
 * @example
 * const nilva = nilvaHono(api);
 * app.route('/api', nilva.routes);
 * app.get('/me', nilva.requireAuth, (c) => c.json(c.get('nilva')?.user));
 */
export function nilvaHono<TUser>(api: SessionApi<TUser>, options: NilvaHonoOptions = {}): NilvaHono {
  const remoteAddress = options.remoteAddress ?? nodeRemoteAddress;
  const facts = (c: Context): Pick<ApiRequest, 'authorization' | 'userAgent' | 'remoteAddress' | 'forwardedFor'> => ({
    authorization: c.req.header('authorization'),
    userAgent: c.req.header('user-agent'),
    remoteAddress: remoteAddress(c),
    forwardedFor: c.req.header('x-forwarded-for'),
  });

  const auth = (required: boolean): MiddlewareHandler<{ Variables: NilvaVariables }> => {
    const finish = (c: Context<{ Variables: NilvaVariables }>, next: () => Promise<void>, outcome: AuthOutcome<TUser> | undefined) => {
      if (outcome === undefined) return required ? toResponse(api.unauthenticated()) : next();
      if (!outcome.ok) return toResponse(api.error(outcome.error));
      c.set('nilva', outcome);
      return next();
    };
    return async (c, next) => {
      const outcome = api.authenticate(facts(c));
      const result = finish(c, next, outcome instanceof Promise ? await outcome : outcome);
      if (result instanceof Response) return result;
      await result;
      return undefined;
    };
  };

  const routes = new Hono<{ Variables: NilvaVariables }>();
  routes.all('/*', async (c, next) => {
    const url = new URL(c.req.url);
    const mount = c.req.routePath.endsWith('/*') ? c.req.routePath.slice(0, -2) : '';
    const path = url.pathname.startsWith(mount) ? url.pathname.slice(mount.length) : url.pathname;
    if (!api.owns(path)) return next();
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > MAX_BODY_BYTES) return toResponse(json(413, { detail: 'Request body too large.' }));
    let body: string | undefined;
    try {
      body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : await c.req.text();
    } catch {
      return toResponse(json(400, { detail: 'Could not read the request body.' }));
    }
    if (body !== undefined && Buffer.byteLength(body) > MAX_BODY_BYTES) return toResponse(json(413, { detail: 'Request body too large.' }));
    const response = api.handle({
      ...facts(c),
      method: c.req.method,
      path,
      query: url.searchParams,
      contentType: c.req.header('content-type'),
      body: body === '' ? undefined : body,
    });
    if (response === undefined) return next();
    return toResponse(response instanceof Promise ? await response : response);
  });

  return { routes, authenticate: auth(false), requireAuth: auth(true) };
}

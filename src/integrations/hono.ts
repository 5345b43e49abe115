import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import type { AuthSuccess } from '../core/session-manager.js';
import type { ApiCredentialFacts, ApiResponse } from '../http/api-types.js';
import { json } from '../http/error-responses.js';
import { assertMaxAge, MAX_BODY_BYTES, type SessionApi } from '../http/session-api.js';
import type { RegisteredUser } from '../index.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { nodeEncrypted, nodeIncoming, nodeRemoteAddress } from './hono-node.js';
import type { NilvaContext } from './nilva-context.js';
import { nodeRequestFacts } from './node-request.js';
import { assertSessionApi } from './session-api-check.js';

/**
 * Hono context variables set by nilva-session, for an app that declares them up front:
 * `new Hono<{ Variables: NilvaVariables<AppUser> }>()`. `nilva` is `undefined` until
 * `authenticate` or `requireAuth` ran on an authenticated request. `TUser` defaults to the user
 * type declared in `Register` (`unknown` without one).
 */
export interface NilvaVariables<TUser = RegisteredUser> {
  nilva: NilvaContext<TUser> | undefined;
}

/** The environment after {@link NilvaHono.authenticate}: `c.get('nilva')` may be `undefined`. */
export interface NilvaAuthenticatedEnv<TUser> {
  Variables: { nilva: NilvaContext<TUser> | undefined };
}

/** The environment after {@link NilvaHono.requireAuth}: `c.get('nilva')` is always set. */
export interface NilvaRequiredEnv<TUser> {
  Variables: { nilva: NilvaContext<TUser> };
}

/** Options of the Hono integration. */
export interface NilvaHonoOptions {
  /**
   * The socket's peer address. Default: read from `@hono/node-server`'s `c.env.incoming`;
   * give your runtime's equivalent elsewhere.
   */
  readonly remoteAddress?: ((c: Context) => string | undefined) | undefined;
  /**
   * Whether the connection is TLS (for `requireSecureTransport`). Default: the Node socket's
   * `encrypted` under `@hono/node-server`, else the URL's scheme.
   */
  readonly encrypted?: ((c: Context) => boolean) | undefined;
}

const HONO_OPTIONS = optionNames<NilvaHonoOptions>({ remoteAddress: true, encrypted: true });

/**
 * The pieces to mount in a Hono app. The user type comes from the `SessionApi`: after
 * `requireAuth`, `c.get('nilva').user` is a `TUser`.
 */
export interface NilvaHono<TUser> {
  /** The HTTP contract; mount it with `app.route('/api', nilva.routes)`. */
  readonly routes: Hono;
  /** Authenticates when credentials are present (bad ones get 401); anonymous passes through. */
  readonly authenticate: MiddlewareHandler<NilvaAuthenticatedEnv<TUser>>;
  /** Like `authenticate`, but anonymous requests get 401. */
  readonly requireAuth: MiddlewareHandler<NilvaRequiredEnv<TUser>>;
  /**
   * For sensitive routes: like `requireAuth`, and the session's last authentication must be at
   * most `maxAgeSeconds` old, else 403 `reauthentication_required` (the client calls
   * `POST P+reauthenticate` and retries).
   */
  requireFreshAuth(maxAgeSeconds: number): MiddlewareHandler<NilvaRequiredEnv<TUser>>;
}

function toResponse(response: ApiResponse): Response {
  const cookies = response.setCookies;
  if (cookies === undefined) return new Response(response.body ?? null, { status: response.status, headers: response.headers });
  const headers = new Headers(response.headers);
  for (const cookie of cookies) headers.append('set-cookie', cookie);
  return new Response(response.body ?? null, { status: response.status, headers });
}

/**
 * Hono integration: thin shells around {@link SessionApi}.
 *
 * @example
 * const nilva = nilvaHono(api);
 * app.route('/api', nilva.routes);
 * app.get('/me', nilva.requireAuth, (c) => c.json(c.get('nilva').user));
 */
export function nilvaHono<TUser>(api: SessionApi<TUser>, options: NilvaHonoOptions = {}): NilvaHono<TUser> {
  assertSessionApi('nilvaHono(api)', api);
  assertKnownOptions('nilvaHono', options, HONO_OPTIONS);
  const remoteAddress = options.remoteAddress ?? nodeRemoteAddress;
  const encrypted = options.encrypted ?? nodeEncrypted;
  const headerFacts = (c: Context): ApiCredentialFacts & { readonly method: string } => ({
    method: c.req.method,
    authorization: c.req.header('authorization'),
    userAgent: c.req.header('user-agent'),
    remoteAddress: remoteAddress(c),
    forwardedFor: c.req.header('x-forwarded-for'),
    encrypted: encrypted(c),
    forwardedProto: c.req.header('x-forwarded-proto'),
  });
  // Header mode reads no more headers than it needs (each lookup costs on the Fetch API's Headers).
  const webFacts =
    api.cookie === undefined
      ? headerFacts
      : (c: Context): ApiCredentialFacts & { readonly method: string } => ({
          ...headerFacts(c),
          cookie: c.req.header('cookie'),
          origin: c.req.header('origin'),
          secFetchSite: c.req.header('sec-fetch-site'),
          host: c.req.header('host'),
          csrfToken: c.req.header('x-csrf-token'),
        });
  // Under @hono/node-server, Node has parsed the headers into a plain object already; the first
  // c.req.header() would build a Fetch API Headers of them all, validating every value (measured:
  // 1.9 µs a request with a token, 2.8 µs with a JWT's 300 characters), which the app's own
  // handlers may never need.
  const nodeFacts = options.remoteAddress === undefined && options.encrypted === undefined;
  const facts = (c: Context): ApiCredentialFacts & { readonly method: string } => {
    const incoming = nodeFacts ? nodeIncoming(c) : undefined;
    return incoming === undefined ? webFacts(c) : nodeRequestFacts(incoming);
  };

  /** The session of the request, `undefined` for anonymous, or the refusal to answer with. */
  const check = async (c: Context): Promise<AuthSuccess<TUser> | undefined | Response> => {
    const pending = api.authenticate(facts(c));
    const outcome = pending instanceof Promise ? await pending : pending;
    if (outcome === undefined || outcome.ok) return outcome;
    return toResponse(api.error(outcome.error));
  };

  const authenticate: MiddlewareHandler<NilvaAuthenticatedEnv<TUser>> = async (c, next) => {
    const outcome = await check(c);
    if (outcome instanceof Response) return outcome;
    if (outcome !== undefined) c.set('nilva', outcome);
    await next();
    return undefined;
  };

  const requireAuth: MiddlewareHandler<NilvaRequiredEnv<TUser>> = async (c, next) => {
    const outcome = await check(c);
    if (outcome instanceof Response) return outcome;
    if (outcome === undefined) return toResponse(api.unauthenticated());
    c.set('nilva', outcome);
    await next();
    return undefined;
  };

  const requireFreshAuth = (maxAgeSeconds: number): MiddlewareHandler<NilvaRequiredEnv<TUser>> => {
    assertMaxAge(maxAgeSeconds);
    return async (c, next) => {
      const outcome = await check(c);
      if (outcome instanceof Response) return outcome;
      if (outcome === undefined) return toResponse(api.unauthenticated());
      const stale = api.requireFreshAuth(outcome, maxAgeSeconds);
      if (stale !== undefined) return toResponse(stale);
      c.set('nilva', outcome);
      await next();
      return undefined;
    };
  };

  const routes = new Hono();
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

  return { routes, authenticate, requireAuth, requireFreshAuth };
}

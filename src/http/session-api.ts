import { messages, SessionError } from '../core/errors.js';
import type { SessionLogger } from '../core/events.js';
import type { UserId } from '../core/session.js';
import type { AuthOutcome, AuthSuccess, MaybePromise, RequestFacts, SessionManager } from '../core/session-manager.js';
import { clientIp, compileTrustProxy, type ProxyTrust } from '../lib/ip.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { isSecureTransport } from '../lib/transport.js';
import type { ApiRequest, ApiResponse } from './api-types.js';
import { badRequest, errorResponse, json } from './error-responses.js';
import { charFields, readBody } from './request-body.js';
import { InsecureTransportError, insecureTransportResponse } from './secure-transport.js';
import { serializeSession } from './session-serializer.js';
import { storedUserAgent, userAgentProblem } from './user-agent-header.js';

/** Options of {@link SessionApi}. */
export interface SessionApiOptions<TUser> {
  /** The session engine. */
  readonly manager: SessionManager<TUser>;
  /**
   * Checks a username and password. Returns the user's id (a string, or a number when the
   * session table's `user_id` is an integer) when they match, and `null` (or `undefined`) when
   * they do not, or the user may not sign in. A rejection is logged and answered 503.
   *
   * @example
   * verifyCredentials: async (username, password) => {
   *   const user = await users.findByUsername(username);
   *   return user !== undefined && (await verifyPassword(password, user.passwordHash)) ? user.id : null;
   * }
   */
  readonly verifyCredentials: (
    username: string,
    password: string,
    facts: RequestFacts,
  ) => UserId | null | undefined | Promise<UserId | null | undefined>;
  /** Most `token_id` values one DELETE may carry. Default 1000. */
  readonly maxTokenIds?: number | undefined;
  /**
   * Refuse credentials (an `Authorization` header, the body of `login` and the `token` routes)
   * that arrive over plain HTTP, with 403 `{"detail":"Credentials must be sent over HTTPS.",
   * "code":"insecure_transport"}`, before the token is looked up or the password checked. A
   * request counts as secure on a TLS socket, when a trusted proxy (`trustProxy`) says
   * `X-Forwarded-Proto: https`, or when it comes straight from this machine (a loopback peer,
   * not relayed). Default `false`: the library cannot know where TLS ends, and a wrong guess
   * refuses every request; turn it on in production together with a correct `trustProxy`.
   */
  readonly requireSecureTransport?: boolean | undefined;
  /** Where unexpected errors are reported. Default `console.error` (message only). */
  readonly logger?: SessionLogger | undefined;
}

/** The largest body the API reads, in bytes. Integrations answer 413 beyond it. */
export const MAX_BODY_BYTES = 64 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const NO_CONTENT: ApiResponse = Object.freeze({ status: 204, headers: Object.freeze({}), body: undefined });

// Handlers read only the session of the caller, so they are typed for any user.
type Handler = (req: ApiRequest, auth: AuthSuccess<unknown> | undefined) => MaybePromise<ApiResponse>;

interface Route {
  readonly authenticated: boolean;
  readonly methods: Readonly<Record<string, Handler>>;
}

/**
 * The HTTP contract (docs/contract.md), free of any framework: `login`, `logout`, `GET` and
 * `DELETE active`. Integrations translate requests into {@link ApiRequest} and back.
 */
export class SessionApi<TUser = unknown> {
  readonly manager: SessionManager<TUser>;
  /** The `WWW-Authenticate` value of 401 responses: the first configured scheme. */
  readonly challenge: string;
  readonly #verifyCredentials: SessionApiOptions<TUser>['verifyCredentials'];
  readonly #maxTokenIds: number;
  readonly #requireSecure: boolean;
  readonly #trust: ProxyTrust;
  readonly #logger: SessionLogger;
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #unauthenticated: ApiResponse;
  readonly #bearerChallenge: string;

  constructor(options: SessionApiOptions<TUser>) {
    if (typeof options !== 'object' || options === null) throw new TypeError('nilva-session: SessionApi needs an options object');
    assertKnownOptions(
      'SessionApi',
      options,
      optionNames<SessionApiOptions<TUser>>({
        manager: true,
        verifyCredentials: true,
        maxTokenIds: true,
        requireSecureTransport: true,
        logger: true,
      }),
    );
    if (typeof options.manager?.authenticate !== 'function')
      throw new TypeError('nilva-session: option "manager" must be a SessionManager');
    if (typeof options.verifyCredentials !== 'function') {
      throw new TypeError('nilva-session: option "verifyCredentials" must be a function');
    }
    const max = options.maxTokenIds ?? 1000;
    if (!Number.isInteger(max) || max < 1) throw new TypeError('nilva-session: option "maxTokenIds" must be a positive integer');
    const requireSecure: unknown = options.requireSecureTransport === undefined ? false : options.requireSecureTransport;
    if (typeof requireSecure !== 'boolean') {
      throw new TypeError(`nilva-session: option "requireSecureTransport" must be a boolean, got ${JSON.stringify(requireSecure)}`);
    }
    this.#requireSecure = requireSecure;
    this.manager = options.manager;
    const config = options.manager.config;
    this.challenge = config.schemes[0] === 'bearer' ? `${config.bearerKeyword} realm="api"` : config.tokenKeyword;
    this.#bearerChallenge = `${config.bearerKeyword} realm="api"`;
    this.#verifyCredentials = options.verifyCredentials;
    this.#maxTokenIds = max;
    this.#trust = compileTrustProxy(options.manager.config.trustProxy);
    this.#logger = options.logger ?? { warn: (message) => console.warn(message), error: (message) => console.error(message) };
    this.#unauthenticated = this.error(new SessionError('ERR_NOT_AUTHENTICATED', messages.notAuthenticated));
    const jwtRoutes: Array<[string, Route]> =
      options.manager.jwt === undefined
        ? []
        : [
            ['token', { authenticated: false, methods: { POST: (req) => this.#obtainPair(req) } }],
            ['token/refresh', { authenticated: false, methods: { POST: (req) => this.#refresh(req) } }],
            ['token/blacklist', { authenticated: false, methods: { POST: (req) => this.#blacklist(req) } }],
          ];
    this.#routes = new Map<string, Route>([
      ...jwtRoutes,
      ['login', { authenticated: false, methods: { POST: (req) => this.#login(req) } }],
      ['logout', { authenticated: true, methods: { POST: (_req, auth) => this.#logout(auth as AuthSuccess<unknown>) } }],
      [
        'active',
        {
          authenticated: true,
          methods: {
            GET: (_req, auth) => this.#list(auth as AuthSuccess<unknown>),
            DELETE: (req, auth) => this.#revoke(req, auth as AuthSuccess<unknown>),
          },
        },
      ],
    ]);
  }

  /**
   * The client IP and User-Agent of a request, honouring `trustProxy`. The User-Agent is cut to
   * `MAX_USER_AGENT_LENGTH` (at a code-point boundary), here for sign-in and every later
   * check alike.
   */
  facts(req: Pick<ApiRequest, 'remoteAddress' | 'forwardedFor' | 'userAgent'>): RequestFacts {
    return { ip: clientIp(req.remoteAddress, req.forwardedFor, this.#trust), userAgent: storedUserAgent(req.userAgent) };
  }

  /**
   * Authenticates a request: `undefined` for anonymous, else the outcome. Synchronous when the
   * in-process cache answers, so middleware can call `next()` without a promise. With
   * `requireSecureTransport`, an `Authorization` header over plain HTTP fails with an
   * `InsecureTransportError` before the token is looked at.
   */
  authenticate(
    req: Pick<ApiRequest, 'authorization' | 'remoteAddress' | 'forwardedFor' | 'userAgent' | 'encrypted' | 'forwardedProto'>,
  ): MaybePromise<AuthOutcome<TUser> | undefined> {
    if (req.authorization !== undefined && req.authorization !== '' && this.transportRefusal(req) !== undefined) {
      return { ok: false, error: new InsecureTransportError() };
    }
    return this.manager.authenticate(req.authorization, this.facts(req));
  }

  /**
   * The 403 to answer when `requireSecureTransport` is on and the request came over plain HTTP
   * from elsewhere than this machine (see the option), else `undefined`. For code of its own
   * that takes credentials (the web pages' cookie and sign-in form use it).
   */
  transportRefusal(req: Pick<ApiRequest, 'remoteAddress' | 'forwardedFor' | 'encrypted' | 'forwardedProto'>): ApiResponse | undefined {
    if (!this.#requireSecure || isSecureTransport(req, this.#trust)) return undefined;
    return insecureTransportResponse();
  }

  /** The response for a refused authentication (401, 403 over plain HTTP, or 503 when the store is down). */
  error(error: SessionError): ApiResponse {
    if (error instanceof InsecureTransportError) return insecureTransportResponse();
    return errorResponse(error, this.challenge, this.manager.config.genericErrors);
  }

  /** 401 `Authentication credentials were not provided.` */
  unauthenticated(): ApiResponse {
    return this.#unauthenticated;
  }

  /** Whether `path` (below the mount prefix) is one of this API's routes. */
  owns(path: string): boolean {
    return this.#routes.has(trimSlash(path));
  }

  /**
   * Answers a request below the mount prefix, or returns `undefined` when the path is not one
   * of the API's routes (the integration then lets the framework answer 404).
   */
  handle(req: ApiRequest): MaybePromise<ApiResponse> | undefined {
    const route = this.#routes.get(trimSlash(req.path));
    if (route === undefined) return undefined;
    const badHeader = userAgentProblem(req.userAgent);
    if (badHeader !== undefined) return badHeader;
    const handler = route.methods[req.method];
    // Credentials in the header, or in the body of a sign-in or token route: refused over plain
    // HTTP before anything reads them (no throttle count, no lookup, no password check).
    const credentials = (req.authorization !== undefined && req.authorization !== '') || (!route.authenticated && req.method === 'POST');
    if (credentials) {
      const refusal = this.transportRefusal(req);
      if (refusal !== undefined) return refusal;
    }
    if (!route.authenticated)
      return handler === undefined ? this.#notAllowed(req.method, route) : this.#guard(() => handler(req, undefined));
    const outcome = this.#guardAuth(() => this.authenticate(req));
    const next = (result: AuthOutcome<TUser> | undefined | ApiResponse): MaybePromise<ApiResponse> => {
      if (result === undefined) return this.#unauthenticated;
      if ('status' in result) return result;
      if (!result.ok) return this.error(result.error);
      return handler === undefined ? this.#notAllowed(req.method, route) : this.#guard(() => handler(req, result));
    };
    return outcome instanceof Promise ? outcome.then(next) : next(outcome);
  }

  #notAllowed(method: string, route: Route): ApiResponse {
    const allow = Object.keys(route.methods).join(', ');
    return json(405, { detail: `Method "${method.slice(0, 20)}" not allowed.` }, { allow });
  }

  #guardAuth(run: () => MaybePromise<AuthOutcome<TUser> | undefined>): MaybePromise<AuthOutcome<TUser> | undefined | ApiResponse> {
    try {
      const r = run();
      return r instanceof Promise ? r.catch((error: unknown) => this.#unexpected(error)) : r;
    } catch (error) {
      return this.#unexpected(error);
    }
  }

  #guard(run: () => MaybePromise<ApiResponse>): MaybePromise<ApiResponse> {
    try {
      const r = run();
      return r instanceof Promise ? r.catch((error: unknown) => this.#unexpected(error)) : r;
    } catch (error) {
      return this.#unexpected(error);
    }
  }

  #unexpected(error: unknown): ApiResponse {
    if (error instanceof SessionError) return this.error(error);
    this.#logger.warn(`nilva-session: unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    return json(500, { detail: 'A server error occurred.' });
  }

  /** Reads `{username, password}` and checks them: the user id and request facts, or the response to send. */
  async #credentials(req: ApiRequest): Promise<{ userId: UserId; facts: RequestFacts } | ApiResponse> {
    const body = readBody(req.contentType, req.body);
    if (!body.ok) return body.response;
    const checked = charFields(body.fields, [
      { name: 'username', maxLength: 1024, trim: true },
      { name: 'password', maxLength: 4096, trim: false },
    ]);
    if (!checked.ok) return checked.response;
    const facts = this.facts(req);
    let userId: UserId | null | undefined;
    try {
      userId = await this.#verifyCredentials(checked.values.username as string, checked.values.password as string, facts);
    } catch (error) {
      if (error instanceof SessionError) throw error;
      // The application's check failed (its user table is down, most often): the client gets a
      // 503, and the operator the cause.
      const log = this.#logger.error ?? this.#logger.warn;
      log.call(
        this.#logger,
        `nilva-session: verifyCredentials threw; login answers 503: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw new SessionError('ERR_STORE_UNAVAILABLE', messages.storeUnavailable, { cause: error });
    }
    if (userId === null || userId === undefined) {
      return json(401, { detail: 'No active account found with the given credentials' }, { 'www-authenticate': this.challenge });
    }
    return { userId, facts };
  }

  async #login(req: ApiRequest): Promise<ApiResponse> {
    const who = await this.#credentials(req);
    if ('status' in who) return who;
    const { userId, facts } = who;
    const { token, session } = await this.manager.createSession({ userId, ip: facts.ip, userAgent: facts.userAgent });
    return json(
      200,
      { token, session_id: session.id, expire_at: session.expireAt === null ? null : session.expireAt.toISOString() },
      { 'cache-control': 'no-store' },
    );
  }

  async #obtainPair(req: ApiRequest): Promise<ApiResponse> {
    const who = await this.#credentials(req);
    if ('status' in who) return who;
    const { userId, facts } = who;
    const { refresh, access } = await this.manager.createSessionWithTokens({ userId, ip: facts.ip, userAgent: facts.userAgent });
    return json(200, { refresh, access }, { 'cache-control': 'no-store' });
  }

  /** Reads `{refresh}` with DRF's field rules. */
  #refreshField(req: ApiRequest): string | ApiResponse {
    const body = readBody(req.contentType, req.body);
    if (!body.ok) return body.response;
    const checked = charFields(body.fields, [{ name: 'refresh', maxLength: 8192, trim: true }]);
    return checked.ok ? (checked.values.refresh as string) : checked.response;
  }

  async #refresh(req: ApiRequest): Promise<ApiResponse> {
    const token = this.#refreshField(req);
    if (typeof token !== 'string') return token;
    const result = await this.manager.refresh(token);
    if (!result.ok) return errorResponse(result.error, this.#bearerChallenge, false);
    const body = result.refresh === undefined ? { access: result.access } : { access: result.access, refresh: result.refresh };
    return json(200, body, { 'cache-control': 'no-store' });
  }

  async #blacklist(req: ApiRequest): Promise<ApiResponse> {
    const token = this.#refreshField(req);
    if (typeof token !== 'string') return token;
    const result = await this.manager.blacklist(token);
    if (!result.ok) return errorResponse(result.error, this.#bearerChallenge, false);
    return json(200, {});
  }

  async #logout(auth: AuthSuccess<unknown>): Promise<ApiResponse> {
    await this.manager.revokeSession(auth.session.id, 'logout');
    return NO_CONTENT;
  }

  async #list(auth: AuthSuccess<unknown>): Promise<ApiResponse> {
    const sessions = await this.manager.listSessions(auth.session.userId);
    return json(
      200,
      sessions.map((s) => serializeSession(s, auth.session.id)),
      { 'cache-control': 'no-store' },
    );
  }

  async #revoke(req: ApiRequest, auth: AuthSuccess<unknown>): Promise<ApiResponse> {
    const ids = this.#tokenIds(req.query);
    if ('status' in ids) return ids;
    const userId = auth.session.userId;
    if (ids.scope === 'others') await this.manager.revokeAllForUser(userId, { exceptId: auth.session.id });
    else if (ids.ids.length === 0) await this.manager.revokeAllForUser(userId);
    else await this.manager.revokeSessions(userId, ids.ids, 'revoked_by_user');
    return NO_CONTENT;
  }

  /** Reads `token_id` (repeated) and `scope`; 400 naming the bad value. */
  #tokenIds(query: URLSearchParams): { ids: string[]; scope: 'listed' | 'others' } | ApiResponse {
    const raw = query.getAll('token_id');
    const scope = query.get('scope');
    if (scope !== null && scope !== 'others' && scope !== 'all') {
      return badRequest(`Invalid scope ${JSON.stringify(scope.slice(0, 40))}: use "others" or "all".`);
    }
    if (scope !== null && raw.length > 0) return badRequest('Give either token_id or scope, not both.');
    if (raw.length > this.#maxTokenIds) return badRequest(`Too many token_id values: at most ${this.#maxTokenIds}.`);
    const ids = new Set<string>();
    for (const value of raw) {
      const id = value.trim().toLowerCase();
      if (!UUID.test(id)) {
        const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
        return badRequest(value.length === 0 ? 'Invalid token_id: it is empty.' : `Invalid token_id ${JSON.stringify(shown)}: not a UUID.`);
      }
      ids.add(id);
    }
    return { ids: [...ids], scope: scope === 'others' ? 'others' : 'listed' };
  }
}

function trimSlash(path: string): string {
  let p = path;
  if (p.startsWith('/')) p = p.slice(1);
  if (p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

import { parseAuthorization } from '../core/authorization-header.js';
import { messages, SessionError } from '../core/errors.js';
import type { SessionLogger } from '../core/events.js';
import type { UserId } from '../core/session.js';
import type { AuthOutcome, AuthSuccess, MaybePromise, RenewedSession, RequestFacts, SessionManager } from '../core/session-manager.js';
import { clientIp, compileTrustProxy, type ProxyTrust } from '../lib/ip.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { hostOrigin } from '../lib/origin.js';
import { isSecureTransport, requestScheme } from '../lib/transport.js';
import { activePageQuery, nextPageLink } from './active-page-query.js';
import type { ApiCredentialFacts, ApiRequest, ApiResponse } from './api-types.js';
import { CookieMode, csrfTokenFor, type SessionApiCookie, type SessionApiCookieOptions, type SessionCookieRead } from './cookie-mode.js';
import { badRequest, errorResponse, json } from './error-responses.js';
import { LoginThrottle, type LoginThrottleOptions, throttledResponse } from './login-throttle.js';
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
   * they do not, or the user may not sign in (both count as a failed attempt for `throttle`).
   * A throw is the application's failure, not a wrong password: it is logged (`error`, else
   * `warn`; the message, never the password) and answered as `onVerifyCredentialsError`
   * decides, by default 500 `A server error occurred.`; a thrown `SessionError` keeps its own
   * answer (a 503 for `ERR_STORE_UNAVAILABLE`). It is not called for a throttled attempt.
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
  /**
   * The answer when `verifyCredentials` throws something other than a `SessionError`:
   * `{ status, detail }` (answered as JSON `{"detail": …}`), a whole {@link ApiResponse}, or
   * `undefined` for the default 500 `{"detail":"A server error occurred."}`.
   *
   * @example
   * onVerifyCredentialsError: (error) => (error instanceof UsersDbDown ? { status: 503, detail: 'Try again shortly.' } : undefined)
   */
  readonly onVerifyCredentialsError?:
    | ((error: unknown, facts: RequestFacts) => MaybePromise<VerifyCredentialsErrorAnswer | undefined>)
    | undefined;
  /**
   * Brute-force protection of `login`, `token`, `token/refresh` and `token/blacklist`: failed
   * attempts are counted per address and account, per account and per address, and past a
   * limit the route answers 429 (DRF's throttled answer) before checking the password. Default
   * on, counted in this process; `{ redis: client }` shares the counts between instances;
   * `false` turns it off. See {@link LoginThrottleOptions}.
   */
  readonly throttle?: LoginThrottleOptions | boolean | undefined;
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
  /**
   * Cookie mode, for single-page apps (`true` for the defaults): `POST login` sets an
   * `HttpOnly` cookie with the token (`__Host-nilva_session` over HTTPS, `nilva_session` over
   * plain HTTP) and a script-readable CSRF cookie, answers `{session_id, expire_at,
   * csrf_token}` without the token, and every route and middleware authenticates by the cookie
   * too; a state-changing request it authenticates (and every sign-in) must pass the CSRF
   * check: its `X-CSRF-Token`, or `Sec-Fetch-Site`/`Origin` naming this origin or one of
   * `trustedOrigins`. An `Authorization` header still works; with a cookie of another token it
   * is a 400. Default off: the `Authorization` header only. See {@link SessionApiCookieOptions}
   * and docs/contract.md.
   */
  readonly cookie?: SessionApiCookieOptions | boolean | undefined;
}

/** How a request of cookie mode was authenticated, for the routes that set or clear cookies. */
interface CookieUse {
  /** The request came over HTTPS (the cookies' `__Host-` names and `Secure`). */
  readonly secure: boolean;
  /** It carried the session cookie (of the token it authenticated with). */
  readonly cookie: boolean;
  /** The cookie authenticated it (no `Authorization` header of the same token). */
  readonly viaCookie: boolean;
}

const NO_COOKIE: CookieUse = Object.freeze({ secure: false, cookie: false, viaCookie: false });

/** What `onVerifyCredentialsError` answers: a status with a `detail`, or a whole response. */
export type VerifyCredentialsErrorAnswer = { readonly status: number; readonly detail: string } | ApiResponse;

/** The largest body the API reads, in bytes. Integrations answer 413 beyond it. */
export const MAX_BODY_BYTES = 64 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const SERVER_ERROR_DETAIL = 'A server error occurred.';

const NO_CONTENT: ApiResponse = Object.freeze({ status: 204, headers: Object.freeze({}), body: undefined });

// Handlers read only the session of the caller, so they are typed for any user.
type Handler = (req: ApiRequest, auth: AuthSuccess<unknown> | undefined, use: CookieUse) => MaybePromise<ApiResponse>;

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
  /**
   * The options that decide which answers the routes can give, for `nilva-session/openapi`'s
   * document: whether sign-in routes are throttled (429), whether credentials over plain HTTP
   * are refused (403), the most `token_id` values one DELETE takes, and whether
   * `onVerifyCredentialsError` may choose the status of a failed credential check.
   */
  get contractOptions(): {
    readonly throttle: boolean;
    readonly requireSecureTransport: boolean;
    readonly maxTokenIds: number;
    readonly onVerifyCredentialsError: boolean;
  } {
    return {
      throttle: this.#throttle !== undefined,
      requireSecureTransport: this.#requireSecure,
      maxTokenIds: this.#maxTokenIds,
      onVerifyCredentialsError: this.#onVerifyError !== undefined,
    };
  }
  readonly #verifyCredentials: SessionApiOptions<TUser>['verifyCredentials'];
  readonly #onVerifyError: SessionApiOptions<TUser>['onVerifyCredentialsError'];
  readonly #throttle: LoginThrottle | undefined;
  readonly #maxTokenIds: number;
  readonly #requireSecure: boolean;
  readonly #trust: ProxyTrust;
  readonly #logger: SessionLogger;
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #unauthenticated: ApiResponse;
  readonly #bearerChallenge: string;
  /**
   * Cookie mode's settings (`SessionApiOptions.cookie`, defaults applied), or `undefined` in
   * header mode: the cookies' names, `SameSite`, the trusted origins, whether bodies carry the
   * token, and the CSRF header's and cookie's names.
   */
  readonly cookie: SessionApiCookie | undefined;
  readonly #cookieMode: CookieMode | undefined;
  /** Failures of a cookie's authentication, with whether the request was HTTPS: their 401 clears the cookies. */
  readonly #cookieFailures = new WeakMap<SessionError, boolean>();
  readonly #tokenKeyword: string | null;
  readonly #bearerKeyword: string | null;

  constructor(options: SessionApiOptions<TUser>) {
    if (typeof options !== 'object' || options === null) throw new TypeError('nilva-session: SessionApi needs an options object');
    assertKnownOptions(
      'SessionApi',
      options,
      optionNames<SessionApiOptions<TUser>>({
        manager: true,
        verifyCredentials: true,
        onVerifyCredentialsError: true,
        throttle: true,
        maxTokenIds: true,
        requireSecureTransport: true,
        logger: true,
        cookie: true,
      }),
    );
    if (typeof options.manager?.authenticate !== 'function')
      throw new TypeError('nilva-session: option "manager" must be a SessionManager');
    if (typeof options.verifyCredentials !== 'function') {
      throw new TypeError('nilva-session: option "verifyCredentials" must be a function');
    }
    if (options.onVerifyCredentialsError !== undefined && typeof options.onVerifyCredentialsError !== 'function') {
      throw new TypeError('nilva-session: option "onVerifyCredentialsError" must be a function');
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
    this.#onVerifyError = options.onVerifyCredentialsError;
    const throttle = options.throttle ?? true;
    if (typeof throttle === 'boolean') this.#throttle = throttle ? new LoginThrottle({}, this.#logger) : undefined;
    else this.#throttle = new LoginThrottle(throttle, this.#logger);
    this.#unauthenticated = this.error(new SessionError('ERR_NOT_AUTHENTICATED', messages.notAuthenticated));
    const cookie: unknown = options.cookie ?? false;
    if (cookie !== false && cookie !== true && (typeof cookie !== 'object' || cookie === null)) {
      throw new TypeError(`nilva-session: option "cookie" must be a boolean or an object, got ${JSON.stringify(cookie)}`);
    }
    this.#cookieMode = cookie === false ? undefined : new CookieMode(cookie as SessionApiCookieOptions | true);
    this.cookie = this.#cookieMode?.settings;
    this.#tokenKeyword = config.schemes.includes('token') ? config.tokenKeyword : null;
    this.#bearerKeyword = config.schemes.includes('bearer') ? config.bearerKeyword : null;
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
      ['logout', { authenticated: true, methods: { POST: (_req, auth, use) => this.#logout(auth as AuthSuccess<unknown>, use) } }],
      [
        'reauthenticate',
        { authenticated: true, methods: { POST: (req, auth, use) => this.#reauthenticate(req, auth as AuthSuccess<unknown>, use) } },
      ],
      [
        'active',
        {
          authenticated: true,
          methods: {
            GET: (req, auth) => this.#list(req, auth as AuthSuccess<unknown>),
            DELETE: (req, auth, use) => this.#revoke(req, auth as AuthSuccess<unknown>, use),
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
  authenticate(req: ApiCredentialFacts): MaybePromise<AuthOutcome<TUser> | undefined> {
    if (this.#cookieMode !== undefined) return this.#cookieAuthenticate(req, this.#cookieMode).outcome;
    return this.#headerAuthenticate(req);
  }

  #headerAuthenticate(req: ApiCredentialFacts): MaybePromise<AuthOutcome<TUser> | undefined> {
    if (req.authorization !== undefined && req.authorization !== '' && this.transportRefusal(req) !== undefined) {
      return { ok: false, error: new InsecureTransportError() };
    }
    return this.manager.authenticate(req.authorization, this.facts(req));
  }

  /**
   * Cookie mode's authentication (docs/contract.md, "Cookie mode"): without the session cookie,
   * the header's; a malformed cookie is an invalid token; two different credentials (two
   * cookies, or the cookie and an `Authorization` header of another token) are a 400, since
   * guessing could act as the wrong user; the header of the same token authenticates as a
   * header (a cross-site page cannot send one without a CORS preflight); else the cookie, after
   * the CSRF check of a state-changing request, which runs before the lookup so that a forged
   * request does not even touch the session.
   */
  #cookieAuthenticate(
    req: ApiCredentialFacts,
    mode: CookieMode,
  ): { use: CookieUse; outcome: MaybePromise<AuthOutcome<TUser> | undefined> } {
    const secure = requestScheme(req, this.#trust) === 'https';
    const read = mode.read(req.cookie, secure);
    if (read.kind === 'none') return { use: NO_COOKIE, outcome: this.#headerAuthenticate(req) };
    if (read.kind === 'malformed') {
      return { use: NO_COOKIE, outcome: this.#cookieFailure(new SessionError('ERR_SESSION_INVALID', messages.invalidToken), secure) };
    }
    const conflict = () =>
      ({
        use: NO_COOKIE,
        outcome: { ok: false, error: new SessionError('ERR_CONFLICTING_CREDENTIALS', messages.conflictingCredentials) },
      }) as const;
    if (read.kind === 'conflict') return conflict();
    const header = req.authorization;
    if (header !== undefined && header !== '') {
      const parsed = parseAuthorization(header, this.#tokenKeyword, this.#bearerKeyword);
      // A malformed header is refused as such; a scheme of someone else's (Basic) is no credential of ours.
      if (parsed.scheme === 'invalid') return { use: NO_COOKIE, outcome: this.#headerAuthenticate(req) };
      if (parsed.scheme !== 'none') {
        if (parsed.scheme !== 'token' || parsed.credentials !== read.token) return conflict();
        return { use: { secure, cookie: true, viaCookie: false }, outcome: this.#headerAuthenticate(req) };
      }
    }
    const use: CookieUse = { secure, cookie: true, viaCookie: true };
    // The cookie is a credential: over plain HTTP (with requireSecureTransport) it is not looked up.
    if (this.transportRefusal(req) !== undefined) return { use, outcome: { ok: false, error: new InsecureTransportError() } };
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') {
      const refusal = mode.csrfRefusal(req, read.token, hostOrigin(req.host, secure ? 'https' : 'http'));
      if (refusal !== undefined) return { use, outcome: { ok: false, error: refusal } };
    }
    const outcome = this.manager.authenticateToken(read.token, this.facts(req));
    const marked = (o: AuthOutcome<TUser>): AuthOutcome<TUser> => (o.ok ? o : this.#cookieFailure(o.error, secure));
    return { use, outcome: outcome instanceof Promise ? outcome.then(marked) : marked(outcome) };
  }

  /** A refusal of the cookie's token: its 401 (not a 403 or 503) also deletes the cookies. */
  #cookieFailure(error: SessionError, secure: boolean): AuthOutcome<TUser> {
    if (error instanceof InsecureTransportError) return { ok: false, error };
    const own = new SessionError(error.code, error.message, { cause: error });
    this.#cookieFailures.set(own, secure);
    return { ok: false, error: own };
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
    const response = errorResponse(error, this.challenge, this.manager.config.genericErrors);
    const secure = this.#cookieFailures.get(error);
    if (secure === undefined || response.status !== 401 || this.#cookieMode === undefined) return response;
    // The browser holds a cookie that will never work again (ended, expired, forged): forget it.
    return { ...response, setCookies: this.#cookieMode.cleared(secure) };
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
    const path = trimSlash(req.path);
    const route = this.#routes.get(path);
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
    if (!route.authenticated) {
      if (handler === undefined) return this.#notAllowed(req.method, route);
      // Login CSRF: a page of another site must not sign the browser in (as the attacker).
      const mode = this.#cookieMode;
      if (mode !== undefined && path === 'login') {
        const secure = requestScheme(req, this.#trust) === 'https';
        const refusal = mode.csrfRefusal(req, undefined, hostOrigin(req.host, secure ? 'https' : 'http'));
        if (refusal !== undefined) return this.error(refusal);
      }
      return this.#guard(() => handler(req, undefined, NO_COOKIE));
    }
    let use = NO_COOKIE;
    const outcome = this.#guardAuth(() => {
      if (this.#cookieMode === undefined) return this.authenticate(req);
      const cookieAuth = this.#cookieAuthenticate(req, this.#cookieMode);
      use = cookieAuth.use;
      return cookieAuth.outcome;
    });
    const next = (result: AuthOutcome<TUser> | undefined | ApiResponse): MaybePromise<ApiResponse> => {
      if (result === undefined) return this.#unauthenticated;
      if ('status' in result) return result;
      if (!result.ok) return this.error(result.error);
      return handler === undefined ? this.#notAllowed(req.method, route) : this.#guard(() => handler(req, result, use));
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
    return json(500, { detail: SERVER_ERROR_DETAIL });
  }

  /**
   * Reads `{username, password}`, asks the throttle, and checks them: the user id and request
   * facts, or the response to send.
   */
  async #credentials(req: ApiRequest, route: string): Promise<{ userId: UserId; facts: RequestFacts } | ApiResponse> {
    const body = readBody(req.contentType, req.body);
    if (!body.ok) return body.response;
    const checked = charFields(body.fields, [
      { name: 'username', maxLength: 1024, trim: true },
      { name: 'password', maxLength: 4096, trim: false },
    ]);
    if (!checked.ok) return checked.response;
    const username = checked.values.username as string;
    const facts = this.facts(req);
    // Refused before the password is hashed: a blocked guesser costs no work.
    const attempt = this.#throttle === undefined ? undefined : await this.#throttle.beginLogin(facts.ip, username);
    if (attempt !== undefined && 'retryAfterSeconds' in attempt) return throttledResponse(attempt.retryAfterSeconds);
    let userId: UserId | null | undefined;
    try {
      userId = await this.#verifyCredentials(username, checked.values.password as string, facts);
    } catch (error) {
      await attempt?.cancelled();
      if (error instanceof SessionError) throw error;
      return this.#verifyCredentialsFailed(error, facts, route);
    }
    if (userId === null || userId === undefined) {
      await attempt?.failed();
      return json(401, { detail: 'No active account found with the given credentials' }, { 'www-authenticate': this.challenge });
    }
    await attempt?.succeeded();
    return { userId, facts };
  }

  /**
   * The application's check threw: its own failure (a bug, its user table down), which is
   * neither a wrong password nor the session store's outage. Logged once, with the message.
   */
  async #verifyCredentialsFailed(error: unknown, facts: RequestFacts, route: string): Promise<ApiResponse> {
    let response: ApiResponse | undefined;
    let mappingProblem = '';
    if (this.#onVerifyError !== undefined) {
      try {
        const answer = await this.#onVerifyError(error, facts);
        response = answer === undefined ? undefined : verifyErrorResponse(answer);
        if (answer !== undefined && response === undefined)
          mappingProblem = '; onVerifyCredentialsError returned neither { status, detail } nor a response';
      } catch (mappingError) {
        mappingProblem = `; onVerifyCredentialsError threw: ${mappingError instanceof Error ? mappingError.message : String(mappingError)}`;
      }
    }
    response ??= json(500, { detail: SERVER_ERROR_DETAIL });
    const log = this.#logger.error ?? this.#logger.warn;
    log.call(
      this.#logger,
      `nilva-session: verifyCredentials threw; ${route} answers ${response.status}: ${error instanceof Error ? error.message : String(error)}${mappingProblem}`,
    );
    return response;
  }

  /**
   * `POST P+reauthenticate` (step-up): the signed-in user proves who they are again with
   * `{username, password}` (throttled like `login`); the session is renewed as re-authenticated,
   * so `requireFreshAuth` routes accept it, and the old credential stops working at once. The
   * answer has the shape of the session's login: `{token, session_id, expire_at}`, or
   * `{refresh, access}` for a JWT session. The pages call it for a session their cookie
   * authenticated.
   */
  reauthenticate(req: ApiRequest, auth: AuthSuccess<unknown>): Promise<ApiResponse> {
    return this.#reauthenticate(req, auth, NO_COOKIE);
  }

  /** `reauthenticate`; in cookie mode, a request that carried the cookie gets the renewed token's cookies. */
  async #reauthenticate(req: ApiRequest, auth: AuthSuccess<unknown>, use: CookieUse): Promise<ApiResponse> {
    const who = await this.#credentials(req, 'reauthenticate');
    if ('status' in who) return who;
    const { userId, facts } = who;
    // Someone else's password proves nothing about this session.
    if (String(userId) !== String(auth.session.userId)) {
      return json(401, { detail: 'No active account found with the given credentials' }, { 'www-authenticate': this.challenge });
    }
    let renewed: RenewedSession;
    try {
      renewed = await this.manager.renewSession(auth.session.id, {
        reauthenticated: true,
        userId,
        ip: facts.ip,
        userAgent: facts.userAgent,
      });
    } catch (error) {
      // Ended meanwhile (401), or the store failed (503).
      if (error instanceof SessionError) return this.error(error);
      throw error;
    }
    if (renewed.kind === 'jwt') return json(200, { refresh: renewed.refresh, access: renewed.access }, { 'cache-control': 'no-store' });
    const { token, session } = renewed;
    // A client that authenticated with its header must learn the new token to go on.
    if (use.cookie) return this.#signedIn(token, session, use.secure, !use.viaCookie);
    return json(
      200,
      { token, session_id: session.id, expire_at: session.expireAt === null ? null : session.expireAt.toISOString() },
      { 'cache-control': 'no-store' },
    );
  }

  /**
   * Cookie mode's answer to a sign-in or renewal: the session and CSRF cookies, and the body
   * `{session_id, expire_at, csrf_token}` (with `token` first when `tokenInBody` or `withToken`).
   */
  #signedIn(
    token: string,
    session: { readonly id: string; readonly expireAt: Date | null },
    secure: boolean,
    withToken: boolean,
  ): ApiResponse {
    const mode = this.#cookieMode as CookieMode;
    const setCookies = mode.issue(token, session.expireAt, this.manager.now(), secure);
    const expire_at = session.expireAt === null ? null : session.expireAt.toISOString();
    const csrf_token = csrfTokenFor(token);
    const body =
      withToken || mode.settings.tokenInBody
        ? { token, session_id: session.id, expire_at, csrf_token }
        : { session_id: session.id, expire_at, csrf_token };
    return { ...json(200, body, { 'cache-control': 'no-store' }), setCookies };
  }

  /**
   * The 403 for a sensitive route when the session's last authentication is older than
   * `maxAgeSeconds` (`{"detail": …, "code": "reauthentication_required"}`; the client calls
   * `POST P+reauthenticate` and retries), or `undefined` when it is fresh enough. The
   * integrations' `requireFreshAuth(maxAgeSeconds)` middleware is built on it.
   *
   * @throws TypeError when `maxAgeSeconds` is not a positive integer
   */
  requireFreshAuth(auth: AuthSuccess<unknown>, maxAgeSeconds: number): ApiResponse | undefined {
    assertMaxAge(maxAgeSeconds);
    if (this.manager.isFreshAuth(auth.session, maxAgeSeconds)) return undefined;
    return this.error(new SessionError('ERR_REAUTHENTICATION_REQUIRED', messages.reauthenticationRequired));
  }

  async #login(req: ApiRequest): Promise<ApiResponse> {
    const who = await this.#credentials(req, 'login');
    if ('status' in who) return who;
    const { userId, facts } = who;
    const mode = this.#cookieMode;
    const secure = mode !== undefined && requestScheme(req, this.#trust) === 'https';
    if (mode !== undefined) await this.#endReplacedCookieSession(mode.read(req.cookie, secure), facts);
    const { token, session } = await this.manager.createSession({ userId, ip: facts.ip, userAgent: facts.userAgent });
    if (mode !== undefined) return this.#signedIn(token, session, secure, false);
    return json(
      200,
      { token, session_id: session.id, expire_at: session.expireAt === null ? null : session.expireAt.toISOString() },
      { 'cache-control': 'no-store' },
    );
  }

  /**
   * A sign-in replaces the browser's session cookie, so the session it named ends, as Django's
   * `login()` ends the session it replaces: otherwise it would live on until it expires, listed
   * among the user's devices, with nobody holding its token. Ended before the new session is
   * created, so that it does not count against `maxSessionsPerUser`. Two different cookies of
   * that name (one may have been planted) end nothing.
   */
  async #endReplacedCookieSession(cookie: SessionCookieRead, facts: RequestFacts): Promise<void> {
    if (cookie.kind !== 'token') return;
    const outcome = await this.manager.authenticateToken(cookie.token, facts);
    if (outcome.ok) await this.manager.revokeSession(outcome.session.id, 'logout');
  }

  async #obtainPair(req: ApiRequest): Promise<ApiResponse> {
    const who = await this.#credentials(req, 'token');
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
    return this.#throttledRefresh(req, async () => {
      const result = await this.manager.refresh(token);
      if (!result.ok) return errorResponse(result.error, this.#bearerChallenge, false);
      const body = result.refresh === undefined ? { access: result.access } : { access: result.access, refresh: result.refresh };
      return json(200, body, { 'cache-control': 'no-store' });
    });
  }

  async #blacklist(req: ApiRequest): Promise<ApiResponse> {
    const token = this.#refreshField(req);
    if (typeof token !== 'string') return token;
    return this.#throttledRefresh(req, async () => {
      const result = await this.manager.blacklist(token);
      if (!result.ok) return errorResponse(result.error, this.#bearerChallenge, false);
      return json(200, {});
    });
  }

  /** Runs a refresh-token route under the refresh limit: only a refused token (401) is counted. */
  async #throttledRefresh(req: ApiRequest, run: () => Promise<ApiResponse>): Promise<ApiResponse> {
    if (this.#throttle === undefined) return run();
    const attempt = await this.#throttle.beginRefresh(this.facts(req).ip);
    if ('retryAfterSeconds' in attempt) return throttledResponse(attempt.retryAfterSeconds);
    let response: ApiResponse;
    try {
      response = await run();
    } catch (error) {
      await attempt.cancelled();
      throw error;
    }
    await (response.status === 401 ? attempt.failed() : response.status < 300 ? attempt.succeeded() : attempt.cancelled());
    return response;
  }

  async #logout(auth: AuthSuccess<unknown>, use: CookieUse): Promise<ApiResponse> {
    await this.manager.revokeSession(auth.session.id, 'logout');
    if (!use.cookie || this.#cookieMode === undefined) return NO_CONTENT;
    return { ...NO_CONTENT, setCookies: this.#cookieMode.cleared(use.secure) };
  }

  async #list(req: ApiRequest, auth: AuthSuccess<unknown>): Promise<ApiResponse> {
    const page = activePageQuery(req.query);
    if (page !== undefined && 'status' in page) return page;
    const current = auth.session.id;
    if (page === undefined) {
      const sessions = await this.manager.listSessions(auth.session.userId);
      return json(
        200,
        sessions.map((s) => serializeSession(s, current)),
        { 'cache-control': 'no-store' },
      );
    }
    // Paged on request only: without ?limit/cursor the answer stays the contract's whole list.
    const { sessions, next } = await this.manager.listSessionsPage(auth.session.userId, page);
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (next !== undefined) headers.link = nextPageLink(page.limit, next);
    return json(
      200,
      sessions.map((s) => serializeSession(s, current)),
      headers,
    );
  }

  async #revoke(req: ApiRequest, auth: AuthSuccess<unknown>, use: CookieUse): Promise<ApiResponse> {
    const ids = this.#tokenIds(req.query);
    if ('status' in ids) return ids;
    const userId = auth.session.userId;
    const current = auth.session.id;
    if (ids.scope === 'others') await this.manager.revokeAllForUser(userId, { exceptId: current });
    else if (ids.ids.length === 0) await this.manager.revokeAllForUser(userId);
    else await this.manager.revokeSessions(userId, ids.ids, 'revoked_by_user');
    const endedOwn = ids.scope !== 'others' && (ids.ids.length === 0 || ids.ids.includes(current));
    // The browser's cookie names a session that just ended: forget it now, as logout does.
    if (!endedOwn || !use.cookie || this.#cookieMode === undefined) return NO_CONTENT;
    return { ...NO_CONTENT, setCookies: this.#cookieMode.cleared(use.secure) };
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

/** The response an `onVerifyCredentialsError` answer stands for, or `undefined` when it is neither shape. */
function verifyErrorResponse(answer: VerifyCredentialsErrorAnswer): ApiResponse | undefined {
  if (typeof answer !== 'object' || answer === null || !Number.isInteger(answer.status)) return undefined;
  if (answer.status < 400 || answer.status > 599) return undefined;
  if ('headers' in answer && 'body' in answer) return answer;
  return 'detail' in answer && typeof answer.detail === 'string' ? json(answer.status, { detail: answer.detail }) : undefined;
}

/** @throws TypeError unless `maxAgeSeconds` is a positive integer (checked when a route is declared) */
export function assertMaxAge(maxAgeSeconds: unknown): void {
  if (typeof maxAgeSeconds !== 'number' || !Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 1) {
    throw new TypeError(`nilva-session: requireFreshAuth(maxAgeSeconds) needs a positive integer, got ${String(maxAgeSeconds)}`);
  }
}

function trimSlash(path: string): string {
  let p = path;
  if (p.startsWith('/')) p = p.slice(1);
  if (p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

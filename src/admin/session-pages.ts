import { messages, SessionError } from '../core/errors.js';
import type { SessionLogger } from '../core/events.js';
import type { UserId } from '../core/session.js';
import type { SessionAdminStore } from '../core/session-admin-store.js';
import type { SessionCache } from '../core/session-cache.js';
import type { AuthSuccess, RequestFacts, SessionManager } from '../core/session-manager.js';
import type { ApiResponse } from '../http/api-types.js';
import { InsecureTransportError } from '../http/secure-transport.js';
import type { SessionApi } from '../http/session-api.js';
import { compileTrustProxy, type ProxyTrust } from '../lib/ip.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { AdminPages } from './admin-pages.js';
import { type AdminAuditEvent, AdminService } from './admin-service.js';
import { clearedSessionCookie, hasCookie, readCookie, sessionCookie, validateCookieName } from './cookies.js';
import { renderDevices } from './devices-view.js';
import { apiErrorMessage, paramsProblem } from './page-input.js';
import type { LayoutContext, PagePaths, Viewer } from './page-layout.js';
import type { PageRequest, PageResponse } from './page-request.js';
import { htmlPage, readForm, redirect, sessionIdParam } from './page-responses.js';
import { isSameOriginRequest, requestOrigin, requestScheme } from './same-origin.js';
import { renderConfirmIdentity, renderLogin, renderLogoutConfirm, renderMessage } from './simple-views.js';

/** Options of {@link SessionPages}. */
export interface SessionPagesOptions<TUser> {
  /** The API of the same manager: sign-in goes through its `login` (same `verifyCredentials`). */
  readonly api: SessionApi<TUser>;
  /** Turns the admin pages on. */
  readonly adminStore?: SessionAdminStore | undefined;
  /** Who may use the admin pages. Required with `adminStore`; others get 403. */
  readonly isStaff?: ((user: TUser) => boolean | Promise<boolean>) | undefined;
  /** The cache given to the manager; admin writes also clear it directly (see `AdminService`). */
  readonly cache?: SessionCache | undefined;
  /** Receives every admin change, with the administrator's id. */
  readonly onAudit?: ((event: AdminAuditEvent) => void) | undefined;
  /**
   * Where the pages live, each a path without a trailing slash. Defaults: `/login`, `/logout`,
   * `/devices`, `/admin`.
   */
  readonly paths?: Partial<PagePaths> | undefined;
  /**
   * The cookie carrying the opaque token. Default `nilva_session` (without the `__Host-` prefix,
   * which browsers accept only over HTTPS; the cookie is `Secure` whenever the request is).
   */
  readonly cookieName?: string | undefined;
  /** The name in the pages' header. Default `nilva-session`. */
  readonly title?: string | undefined;
  /** Rows per admin list page, 1 to 500. Default 50. */
  readonly pageSize?: number | undefined;
  /** How the header names the signed-in user. Default: `username`, `name` or `email`, else `user <id>`. */
  readonly displayName?: ((user: TUser, userId: UserId) => string) | undefined;
  /** Where unexpected errors are reported. Default `console.error` (message only). */
  readonly logger?: SessionLogger | undefined;
  /**
   * How recent a sign-in "Sign out all other devices" needs, in seconds: past it the page asks
   * for the password again first (step-up), so someone at an unlocked, long-signed-in browser
   * cannot lock the owner out of every other device. Default 600; `null` never asks.
   */
  readonly freshAuthSeconds?: number | null | undefined;
}

/** Who sent the request. */
type Identity =
  | { readonly kind: 'user'; readonly auth: AuthSuccess<unknown>; readonly via: 'header' | 'cookie' }
  | { readonly kind: 'anonymous'; readonly staleCookie: boolean }
  | { readonly kind: 'refused'; readonly error: SessionError };

const PATH = /^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;

const DEVICE_FLASH: Readonly<Record<string, string>> = {
  revoked: 'The device was signed out.',
  'revoked-others': 'All other devices were signed out.',
};

const PAGES_OPTIONS = optionNames<SessionPagesOptions<unknown>>({
  api: true,
  adminStore: true,
  isStaff: true,
  cache: true,
  onAudit: true,
  paths: true,
  cookieName: true,
  title: true,
  pageSize: true,
  displayName: true,
  logger: true,
  freshAuthSeconds: true,
});

/**
 * The web pages, server-rendered and framework-free: a sign-in form that sets an HttpOnly,
 * SameSite=Lax cookie carrying the opaque token; "your devices" for every signed-in user; the
 * admin pages (list, detail, edit, delete, bulk deactivation, dashboard) for staff.
 *
 * Pages accept the cookie or an `Authorization` header. A state-changing request authenticated
 * by the cookie (and every sign-in) must come from the same origin (`Sec-Fetch-Site`, else
 * `Origin`), or it gets 403. Every page is sent with a Content-Security-Policy that allows no
 * script at all, and every value in it is HTML-escaped.
 *
 * Mount it with `nilva-session/admin/express`, `/fastify` or `/hono`, or call
 * {@link SessionPages.handle} from any server.
 *
 * @example
 * const pages = new SessionPages({ api, adminStore, isStaff: (user) => user.isStaff });
 */
export class SessionPages<TUser = unknown> {
  /** The validated paths. */
  readonly paths: PagePaths;
  readonly #api: SessionApi<TUser>;
  readonly #manager: SessionManager<TUser>;
  readonly #admin: AdminPages | undefined;
  // Callbacks held as `unknown` so a SessionPages<User> is usable where a SessionPages<unknown> is expected.
  readonly #isStaff: ((user: unknown) => boolean | Promise<boolean>) | undefined;
  readonly #cookieName: string;
  readonly #title: string;
  readonly #displayName: (user: unknown, userId: UserId) => string;
  readonly #trust: ProxyTrust;
  readonly #logger: SessionLogger;
  readonly #roots: readonly string[];
  readonly #freshAuthSeconds: number | null;

  /** @throws TypeError naming the option when an option is invalid */
  constructor(options: SessionPagesOptions<TUser>) {
    if (typeof options?.api?.handle !== 'function') throw new TypeError('nilva-session: option "api" must be a SessionApi');
    assertKnownOptions('SessionPages', options, PAGES_OPTIONS);
    const paths = options.paths ?? {};
    assertKnownOptions('the "paths" option of SessionPages', paths, ['login', 'logout', 'devices', 'admin']);
    this.#api = options.api;
    this.#manager = options.api.manager;
    this.paths = Object.freeze({
      login: checkPath('login', paths.login ?? '/login'),
      logout: checkPath('logout', paths.logout ?? '/logout'),
      devices: checkPath('devices', paths.devices ?? '/devices'),
      admin: options.adminStore === undefined ? undefined : checkPath('admin', paths.admin ?? '/admin'),
    });
    this.#roots = [this.paths.login, this.paths.logout, this.paths.devices, this.paths.admin].filter((p): p is string => p !== undefined);
    for (const a of this.#roots) {
      for (const b of this.#roots) {
        if (a !== b && b.startsWith(`${a}/`)) throw new TypeError(`nilva-session: option "paths": ${b} lies below ${a}`);
      }
    }
    if (new Set(this.#roots).size !== this.#roots.length)
      throw new TypeError('nilva-session: option "paths" must name four different paths');
    this.#cookieName = validateCookieName(options.cookieName ?? 'nilva_session');
    this.#title = options.title ?? 'nilva-session';
    if (typeof this.#title !== 'string' || this.#title.length === 0)
      throw new TypeError('nilva-session: option "title" must be a non-empty string');
    this.#displayName = (options.displayName as ((user: unknown, userId: UserId) => string) | undefined) ?? defaultDisplayName;
    this.#trust = compileTrustProxy(this.#manager.config.trustProxy);
    this.#logger = options.logger ?? { warn: (message) => console.error(message) };
    const fresh = options.freshAuthSeconds === undefined ? 600 : options.freshAuthSeconds;
    if (fresh !== null && (typeof fresh !== 'number' || !Number.isSafeInteger(fresh) || fresh < 1)) {
      throw new TypeError('nilva-session: option "freshAuthSeconds" must be a positive integer or null');
    }
    this.#freshAuthSeconds = fresh;
    if (options.adminStore !== undefined) {
      if (typeof options.isStaff !== 'function')
        throw new TypeError('nilva-session: option "isStaff" must be a function when "adminStore" is given');
      const pageSize = options.pageSize ?? 50;
      if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 500) {
        throw new TypeError('nilva-session: option "pageSize" must be an integer from 1 to 500');
      }
      const service = new AdminService({
        manager: this.#manager as SessionManager<unknown>,
        adminStore: options.adminStore,
        cache: options.cache,
        onAudit: options.onAudit,
      });
      this.#admin = new AdminPages({ root: this.paths.admin as string, adminStore: options.adminStore, service, pageSize });
      this.#isStaff = options.isStaff as (user: unknown) => boolean | Promise<boolean>;
    }
  }

  /** Whether `path` (from the root) belongs to the pages. */
  owns(path: string): boolean {
    return this.#roots.some((root) => path === root || path.startsWith(`${root}/`));
  }

  /** Answers a request for one of the pages, or returns `undefined` for any other path. */
  handle(req: PageRequest): Promise<PageResponse> | undefined {
    if (!this.owns(req.path)) return undefined;
    return this.#route(req).catch((error: unknown) => this.#failure(error));
  }

  async #route(req: PageRequest): Promise<PageResponse> {
    const who = await this.#identify(req);
    const secure = requestScheme(req, this.#trust) === 'https';
    const staleCookie = who.kind === 'anonymous' && who.staleCookie ? { 'set-cookie': clearedSessionCookie(this.#cookieName, secure) } : {};
    if (who.kind === 'refused') return this.#refused(who.error);
    const viewer = who.kind === 'user' ? await this.#viewer(who.auth) : undefined;
    const context: LayoutContext = { appTitle: this.#title, paths: this.paths, viewer };
    const { path, method } = req;
    const post = method === 'POST';
    const get = method === 'GET' || method === 'HEAD';

    // Sign-in and every state change a cookie authenticates must come from this origin.
    const needsSameOrigin = post && (path === this.paths.login || (who.kind === 'user' && who.via === 'cookie'));
    if (needsSameOrigin && !isSameOriginRequest(req, requestOrigin(req, this.#trust))) {
      return htmlPage(403, renderMessage(context, 'Forbidden', 'This form was sent from another site, so it was refused.'));
    }
    // No value a database cannot store, or longer than its column, goes past this point (the
    // sign-in form checks its own fields, in #login).
    const problem = paramsProblem(req.query) ?? (post && path !== this.paths.login ? paramsProblem(readForm(req)) : undefined);
    if (problem !== undefined) return htmlPage(400, renderMessage(context, 'Bad request', problem));

    if (path === this.paths.login) {
      if (get) {
        const next = this.#safeNext(req.query.get('next'));
        if (who.kind === 'user') return redirect(next);
        const flash = req.query.get('done') === 'signed-out' ? 'You are signed out.' : undefined;
        return htmlPage(200, renderLogin(context, { next, flash }), staleCookie);
      }
      if (post) {
        // A password over plain HTTP (with requireSecureTransport) is refused unread.
        if (this.#api.transportRefusal(req) !== undefined) return this.#refused(new InsecureTransportError());
        return this.#login(req, context, who, secure);
      }
      return notAllowed(context, method);
    }
    if (path === this.paths.logout) {
      if (get) return htmlPage(200, renderLogoutConfirm(context), staleCookie);
      if (!post) return notAllowed(context, method);
      if (who.kind === 'user') await this.#manager.revokeSession(who.auth.session.id, 'logout');
      return redirect(`${this.paths.login}?done=signed-out`, { 'set-cookie': clearedSessionCookie(this.#cookieName, secure) });
    }

    if (who.kind !== 'user') {
      // Anonymous: to the sign-in form, and back here afterwards. Only a GET can be resumed;
      // after a POST, back to the section's first page.
      const inAdmin = this.paths.admin !== undefined && (path === this.paths.admin || path.startsWith(`${this.paths.admin}/`));
      const back = get
        ? `${path}${req.query.size > 0 ? `?${req.query.toString()}` : ''}`
        : inAdmin
          ? (this.paths.admin as string)
          : this.paths.devices;
      return redirect(`${this.paths.login}?next=${encodeURIComponent(this.#safeNext(back))}`, staleCookie);
    }
    const auth = who.auth;
    const now = new Date(this.#manager.now());

    if (
      this.paths.admin !== undefined &&
      this.#admin !== undefined &&
      (path === this.paths.admin || path.startsWith(`${this.paths.admin}/`))
    ) {
      if (viewer?.staff !== true)
        return htmlPage(403, renderMessage(context, 'Forbidden', 'You do not have permission to view this page.'));
      return this.#admin.handle(req, { layout: context, actor: auth.session.userId, now });
    }

    // The devices pages: the devices path and below only (`/login/x` or `/logout/…` is no page,
    // whatever its length).
    const devices = this.paths.devices;
    const rest = path === devices || path.startsWith(`${devices}/`) ? path.slice(devices.length) : undefined;
    if (rest === '' || rest === '/') {
      if (!get) return notAllowed(context, method);
      const sessions = await this.#manager.listSessions(auth.session.userId);
      const done = req.query.get('done');
      return htmlPage(
        200,
        renderDevices(context, { sessions, currentId: auth.session.id, now, flash: done === null ? undefined : DEVICE_FLASH[done] }),
      );
    }
    if (rest === '/revoke' || rest === '/revoke-others') {
      if (!post) return notAllowed(context, method);
      if (rest === '/revoke-others') return this.#revokeOthers(req, context, auth, who.kind === 'user' ? who.via : 'header', secure);
      const id = sessionIdParam(readForm(req)?.get('session_id'));
      if (id === undefined) return htmlPage(400, renderMessage(context, 'Bad request', 'Choose a device to sign out.'));
      await this.#manager.revokeSessions(auth.session.userId, [id], 'revoked_by_user');
      if (id === auth.session.id) {
        return redirect(`${this.paths.login}?done=signed-out`, { 'set-cookie': clearedSessionCookie(this.#cookieName, secure) });
      }
      return redirect(`${this.paths.devices}?done=revoked`);
    }
    return htmlPage(404, renderMessage(context, 'Not found', 'There is no such page.'));
  }

  /** The cookie or the `Authorization` header, checked like any API request. */
  async #identify(req: PageRequest): Promise<Identity> {
    const facts: RequestFacts = this.#api.facts(req);
    if (req.authorization !== undefined) {
      const outcome = await this.#api.authenticate(req);
      if (outcome !== undefined)
        return outcome.ok ? { kind: 'user', auth: outcome, via: 'header' } : { kind: 'refused', error: outcome.error };
    }
    const token = readCookie(req.cookie, this.#cookieName);
    if (token === undefined) return { kind: 'anonymous', staleCookie: hasCookie(req.cookie, this.#cookieName) };
    // The cookie is a credential: over plain HTTP (with requireSecureTransport) it is not looked up.
    if (this.#api.transportRefusal(req) !== undefined) return { kind: 'refused', error: new InsecureTransportError() };
    const outcome = await this.#manager.authenticateToken(token, facts);
    if (outcome.ok) return { kind: 'user', auth: outcome, via: 'cookie' };
    if (outcome.error.code === 'ERR_STORE_UNAVAILABLE') return { kind: 'refused', error: outcome.error };
    // Revoked, expired, suspended: the browser is signed out; forget its cookie.
    return { kind: 'anonymous', staleCookie: true };
  }

  async #viewer(auth: AuthSuccess<unknown>): Promise<Viewer> {
    const user = auth.user;
    const staff = this.#isStaff === undefined ? false : (await this.#isStaff(user)) === true;
    return { name: this.#displayName(user, auth.session.userId), staff };
  }

  async #login(req: PageRequest, context: LayoutContext, who: Identity, secure: boolean): Promise<PageResponse> {
    const form = readForm(req);
    const next = this.#safeNext(form?.get('next') ?? null);
    const username = form?.get('username') ?? '';
    const again = (status: number, error: string, extra: Readonly<Record<string, string>> = {}) =>
      htmlPage(status, renderLogin(context, { next, username, error }), extra);
    if (form === undefined) return again(400, 'Send the form as application/x-www-form-urlencoded.');
    // The username and password are the API's to check (its messages are shown below).
    const problem = paramsProblem(form, ['username', 'password']);
    if (problem !== undefined) return again(400, problem);
    // The API's own login: the same verifyCredentials, field rules, errors and session creation.
    const pending = this.#api.handle({
      method: 'POST',
      path: 'login',
      query: new URLSearchParams(),
      authorization: undefined,
      userAgent: req.userAgent,
      remoteAddress: req.remoteAddress,
      forwardedFor: req.forwardedFor,
      encrypted: req.encrypted,
      forwardedProto: req.forwardedProto,
      contentType: 'application/json',
      body: JSON.stringify({ username, password: form.get('password') ?? '' }),
    });
    const response = pending === undefined ? undefined : await pending;
    if (response === undefined || response.status === 503) {
      return htmlPage(503, renderMessage(context, 'Service unavailable', messages.storeUnavailable));
    }
    // The application's own failure (verifyCredentials threw) is not an outage of the service.
    if (response.status >= 500) return htmlPage(response.status, renderMessage(context, 'Server error', 'A server error occurred.'));
    if (response.status === 429) {
      // The throttle's wait, as the API gives it to any client.
      const wait = response.headers['retry-after'] ?? '1';
      const unit = wait === '1' ? 'second' : 'seconds';
      return again(429, `Too many failed sign-in attempts. Try again in ${wait} ${unit}.`, { 'retry-after': wait });
    }
    if (response.status === 400) return again(400, apiErrorMessage(response.body) ?? 'Enter your username and password.');
    if (response.status !== 200) return again(401, 'No active account found with the given credentials.');
    const body = JSON.parse(response.body ?? '{}') as { token: string; expire_at: string | null };
    const now = this.#manager.now();
    const maxAgeSeconds = body.expire_at === null ? undefined : Math.max(0, Math.floor((Date.parse(body.expire_at) - now) / 1000));
    // Signing in again replaces this browser's previous session rather than orphaning it.
    if (who.kind === 'user' && who.via === 'cookie') await this.#manager.revokeSession(who.auth.session.id, 'logout');
    return redirect(next, { 'set-cookie': sessionCookie(this.#cookieName, body.token, { maxAgeSeconds, secure }) });
  }

  /**
   * "Sign out all other devices", behind a step-up: with a sign-in older than
   * `freshAuthSeconds`, the form asks for the password; the right one renews this browser's
   * session as re-authenticated (new cookie, the old token dead at once), then the others end.
   */
  async #revokeOthers(
    req: PageRequest,
    context: LayoutContext,
    auth: AuthSuccess<unknown>,
    via: 'header' | 'cookie',
    secure: boolean,
  ): Promise<PageResponse> {
    const action = `${this.paths.devices}/revoke-others`;
    const what = 'sign out all other devices';
    let keep = auth.session.id;
    let cookie: Record<string, string> = {};
    if (this.#freshAuthSeconds !== null && !this.#manager.isFreshAuth(auth.session, this.#freshAuthSeconds)) {
      // A client sending its own Authorization header re-authenticates through the API.
      if (via === 'header') return htmlPage(403, renderMessage(context, 'Forbidden', messages.reauthenticationRequired));
      const form = readForm(req);
      if (form === undefined || !form.has('password')) return htmlPage(200, renderConfirmIdentity(context, { action, what }));
      const response = await this.#api.reauthenticate(
        {
          method: 'POST',
          path: 'reauthenticate',
          query: new URLSearchParams(),
          authorization: undefined,
          userAgent: req.userAgent,
          remoteAddress: req.remoteAddress,
          forwardedFor: req.forwardedFor,
          contentType: 'application/json',
          body: JSON.stringify({ username: form.get('username') ?? '', password: form.get('password') ?? '' }),
        },
        auth,
      );
      if (response.status !== 200) {
        const refused = this.#credentialsRefused(context, response);
        if (refused.status >= 500) return refused.page;
        return htmlPage(refused.status, renderConfirmIdentity(context, { action, what, error: refused.message }), refused.headers);
      }
      const body = JSON.parse(response.body ?? '{}') as { token: string; session_id: string; expire_at: string | null };
      keep = body.session_id;
      cookie = { 'set-cookie': sessionCookie(this.#cookieName, body.token, { maxAgeSeconds: this.#maxAge(body.expire_at), secure }) };
    }
    await this.#manager.revokeAllForUser(auth.session.userId, { exceptId: keep });
    return redirect(`${this.paths.devices}?done=revoked-others`, cookie);
  }

  /** Seconds until `expireAt` (an ISO time, or `null` for a session cookie). */
  #maxAge(expireAt: string | null): number | undefined {
    return expireAt === null ? undefined : Math.max(0, Math.floor((Date.parse(expireAt) - this.#manager.now()) / 1000));
  }

  /**
   * What a form shows when the API refused credentials: its status, the sentence for the form
   * (each field named, the throttle's wait), the headers to keep (`Retry-After`), and for a
   * failure of the service itself the whole page.
   */
  #credentialsRefused(
    context: LayoutContext,
    response: ApiResponse,
  ): { status: number; message: string; headers: Record<string, string>; page: PageResponse } {
    const at = (status: number, message: string, headers: Record<string, string> = {}) => ({
      status,
      message,
      headers,
      page: htmlPage(status, renderMessage(context, status === 503 ? 'Service unavailable' : 'Server error', message), headers),
    });
    if (response.status === 503) return at(503, messages.storeUnavailable);
    // The application's own failure (verifyCredentials threw) is not an outage of the service.
    if (response.status >= 500) return at(response.status, 'A server error occurred.');
    if (response.status === 429) {
      const wait = response.headers['retry-after'] ?? '1';
      return at(429, `Too many failed sign-in attempts. Try again in ${wait} ${wait === '1' ? 'second' : 'seconds'}.`, {
        'retry-after': wait,
      });
    }
    if (response.status === 400) return at(400, apiErrorMessage(response.body) ?? 'Enter your username and password.');
    return at(401, 'No active account found with the given credentials.');
  }

  /** `next` when it is one of the pages (an open redirect is never possible), else the devices page. */
  #safeNext(value: string | null): string {
    // Printable ASCII only: it becomes a Location header, which takes nothing else.
    if (value === null || value.length > 2000 || /[^\x21-\x7e]|[\\#]/.test(value)) return this.paths.devices;
    const path = value.split('?', 1)[0] as string;
    if (!value.startsWith('/') || value.startsWith('//')) return this.paths.devices;
    const ok = [this.paths.devices, this.paths.admin].some((root) => root !== undefined && (path === root || path.startsWith(`${root}/`)));
    return ok ? value : this.paths.devices;
  }

  #refused(error: SessionError): PageResponse {
    const api = this.#api.error(error);
    let detail: string = error.message;
    try {
      detail = (JSON.parse(api.body ?? '{}') as { detail?: string }).detail ?? detail;
    } catch {
      // keep the error's own message
    }
    const context: LayoutContext = { appTitle: this.#title, paths: this.paths, viewer: undefined };
    const title = api.status === 503 ? 'Service unavailable' : error instanceof InsecureTransportError ? 'HTTPS required' : 'Not signed in';
    const extra: Record<string, string> = {};
    const challenge = api.headers['www-authenticate'];
    if (challenge !== undefined) extra['www-authenticate'] = challenge;
    return htmlPage(api.status, renderMessage(context, title, detail), extra);
  }

  #failure(error: unknown): PageResponse {
    const context: LayoutContext = { appTitle: this.#title, paths: this.paths, viewer: undefined };
    if (error instanceof SessionError && error.code === 'ERR_STORE_UNAVAILABLE') {
      return htmlPage(503, renderMessage(context, 'Service unavailable', messages.storeUnavailable));
    }
    this.#logger.warn(`nilva-session: unexpected error in the pages: ${error instanceof Error ? error.message : String(error)}`);
    return htmlPage(500, renderMessage(context, 'Server error', 'A server error occurred.'));
  }
}

function notAllowed(context: LayoutContext, method: string): PageResponse {
  return htmlPage(405, renderMessage(context, 'Method not allowed', `${method.slice(0, 10)} is not allowed here.`));
}

function checkPath(name: string, value: unknown): string {
  if (typeof value !== 'string' || !PATH.test(value) || value.length > 200) {
    throw new TypeError(
      `nilva-session: option "paths.${name}" must be a path like "/${name}" without a trailing slash, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function defaultDisplayName(user: unknown, userId: UserId): string {
  if (typeof user === 'object' && user !== null) {
    const u = user as { username?: unknown; name?: unknown; email?: unknown };
    for (const value of [u.username, u.name, u.email]) if (typeof value === 'string' && value.length > 0) return value;
  }
  return `user ${String(userId)}`;
}

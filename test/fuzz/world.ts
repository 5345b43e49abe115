// The fuzz world: a real app (the API, or the pages and the API) on a real database, four
// users each holding live sessions, and the glue that turns a generated RequestSpec into bytes,
// sends them over real HTTP and checks the answer against the properties.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SessionManager } from 'nilva-session';
import { SessionPages } from 'nilva-session/admin';
import { SessionApi } from 'nilva-session/http';
import { KyselySessionAdminStore } from 'nilva-session/kysely';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { openTestDatabase, type TestDatabase, type TestDialect } from '../helpers/databases.js';
import { type Framework, isPageFramework, type RunningApp, startApp } from '../helpers/http-apps.js';
import { startPagesApp } from '../helpers/page-apps.js';
import type { BodySpec, CredRef, Field, ForgedJwt, IdItem, JsonValue, RequestSpec, Secret } from './arbitraries.js';
import { apiRequest, MATCHING_SCHEME, pageRequest, SLOTS, USER_COUNT, utf8AsHeader, withoutControlBytes } from './arbitraries.js';
import {
  API_ROUTES,
  allowedStatuses,
  apiExpectation,
  apiRouteOf,
  belowApiMount,
  type EnabledConditions,
  pageExpectation,
  type StatusCondition,
} from './contract-statuses.js';
import type { RawRequest, RawResponse } from './raw-http.js';
import { rawSend } from './raw-http.js';
import { apiBodyProblems, CredentialIndex, isolationProblems, leakProblems, statusProblems } from './response-checks.js';

export const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const SIGNING_KEY = 'nilva-session-fuzz-signing-key-0123456789';
const OTHER_KEY = 'another-signing-key-that-the-app-never-saw';
/** Longest query string and header value sent, so that a whole head fits Node's 16 KiB. */
const MAX_QUERY = 4000;
const MAX_HEADER = 5200;

/** The users; the last one is staff (the admin pages show it everyone's sessions). */
export const FUZZ_USERS = Array.from({ length: USER_COUNT }, (_, i) => ({
  id: i + 1,
  username: ['alice', 'bob', 'carol', 'dave'][i] as string,
  password: `${['alice', 'bob', 'carol', 'dave'][i]}-password`,
  isStaff: i === USER_COUNT - 1,
}));
const STAFF_ID = USER_COUNT;

type Slot =
  | { readonly kind: 'opaque'; readonly id: string; readonly token: string }
  | { readonly kind: 'jwt'; readonly id: string; readonly access: string; readonly refresh: string };

export interface FuzzWorldOptions {
  readonly dialect: TestDialect;
  readonly framework: Framework;
  /** `api`: the contract at /api/ (test/helpers/http-apps.ts); `pages`: the web pages beside it. */
  readonly kind: 'api' | 'pages';
  /** The sign-in throttle (SessionApi's default is on). */
  readonly throttle: boolean;
  /**
   * `default`: the library's defaults. `strict`: the other side of the options that change
   * answers: string user ids, refresh-token rotation, generic errors, the strict User-Agent
   * policy, an idle timeout, and at most 5 sessions per user with `sessionLimitAction:
   * 'refuse'` (so login and token may answer 403 session_limit).
   */
  readonly variant?: 'default' | 'strict' | undefined;
}

/** A request that broke a property, with everything needed to see why. */
export class FuzzFailure extends Error {
  constructor(
    readonly problems: readonly string[],
    readonly request: RawRequest,
    readonly response: RawResponse,
  ) {
    super(
      `${problems.join('; ')}\n  request: ${describeRequest(request)}\n  response: ${response.status} ${JSON.stringify(response.headers)} ${JSON.stringify(response.text.slice(0, 600))}`,
    );
    this.name = 'FuzzFailure';
  }
}

export function describeRequest(req: RawRequest): string {
  const headers = req.headers.map(([k, v]) => `${k}: ${JSON.stringify(v.toString('latin1').slice(0, 300))}`).join(', ');
  const body = req.body === undefined ? 'no body' : `${req.body.length} bytes ${JSON.stringify(req.body.toString('latin1').slice(0, 300))}`;
  return `${req.method} ${req.target.slice(0, 400)} [${headers}] ${body}`;
}

export class FuzzWorld {
  /** Requests sent so far by this world. */
  requests = 0;
  /** How often each status came back. */
  readonly statuses = new Map<number, number>();
  /** How often each status came back, per route and method (`POST login`). */
  readonly byRoute = new Map<string, Map<number, number>>();
  readonly #credentials = new CredentialIndex();
  readonly #pool: Slot[][] = [];
  /** Sessions created by generated sign-ins, per user: ended now and then so lists stay short. */
  readonly #extra = new Map<number, string[]>();
  readonly #enabled: EnabledConditions;

  private constructor(
    readonly options: FuzzWorldOptions,
    readonly database: TestDatabase,
    readonly manager: SessionManager<unknown>,
    readonly app: RunningApp,
  ) {
    const enabled = new Set<StatusCondition>(['always']);
    if (options.throttle) enabled.add('throttle');
    if (options.variant === 'strict') enabled.add('sessionLimitRefuse');
    this.#enabled = enabled;
  }

  static async start(options: FuzzWorldOptions): Promise<FuzzWorld> {
    const strict = options.variant === 'strict';
    const userIdType = strict ? 'string' : 'integer';
    const database = await openTestDatabase(options.dialect, { userIdType });
    const cache = new MemorySessionCache();
    const manager = new SessionManager<unknown>({
      store: database.store,
      cache,
      jwt: { signingKey: SIGNING_KEY, rotateRefreshTokens: strict },
      ...(strict
        ? {
            genericErrors: true,
            userAgentPolicy: 'strict' as const,
            idleTimeoutSeconds: 3600,
            maxSessionsPerUser: 5,
            sessionLimitAction: 'refuse' as const,
          }
        : {}),
      loadUser: (id) => {
        const user = FUZZ_USERS.find((u) => u.id === Number(id));
        return user === undefined ? null : { id: user.id, username: user.username, isStaff: user.isStaff };
      },
      sessionTtlSeconds: 86_400,
      logger: { warn: () => undefined },
    });
    const api = new SessionApi({
      manager,
      verifyCredentials: (username, password) => {
        const user = FUZZ_USERS.find((u) => u.username === username);
        return user !== undefined && user.password === password ? (strict ? String(user.id) : user.id) : null;
      },
      // The API world sends many wrong passwords from one address: with the throttle on, every
      // later sign-in would be a 429 and the routes behind it would go unfuzzed. The throttle
      // has its own tests (login-throttle*.test.ts); the pages world keeps it on, and allows 429.
      throttle: options.throttle,
      // Small, so "too many token_id values" is reached by a URL that fits Node's header limit.
      maxTokenIds: 20,
      logger: { warn: () => undefined, error: () => undefined },
    });
    let app: RunningApp;
    if (options.kind === 'api') app = await startApp(options.framework, api);
    else {
      const adminStore = new KyselySessionAdminStore({
        db: database.db,
        dialect: options.dialect,
        tableName: database.tableName,
        userIdType,
      });
      const pages = new SessionPages({
        api,
        adminStore,
        cache,
        isStaff: (user) => (user as { isStaff?: boolean }).isStaff === true,
        logger: { warn: () => undefined },
      });
      if (!isPageFramework(options.framework))
        throw new Error(`the pages fuzz world needs a framework with pages, not ${options.framework}`);
      app = await startPagesApp(options.framework, api, pages);
    }
    const world = new FuzzWorld(options, database, manager, app);
    for (let user = 0; user < USER_COUNT; user++) {
      world.#pool.push([]);
      for (let slot = 0; slot < SLOTS; slot++) world.#pool[user]?.push(await world.#newSlot(user, slot));
    }
    return world;
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.manager.close();
    await this.database.close();
  }

  /** A user id as the table stores it (a string under the strict variant). */
  #stored(userId: number): number | string {
    return this.options.variant === 'strict' ? String(userId) : userId;
  }

  async #newSlot(user: number, slot: number): Promise<Slot> {
    const userId = (FUZZ_USERS[user] as { id: number }).id;
    const input = { userId: this.#stored(userId), ip: '127.0.0.1', userAgent: FIREFOX };
    let created: Slot;
    if (slot === SLOTS - 1) {
      const { session, access, refresh } = await this.manager.createSessionWithTokens(input);
      created = { kind: 'jwt', id: session.id, access, refresh };
      this.#credentials.add({ userId, kind: 'access', value: access });
      this.#credentials.add({ userId, kind: 'refresh', value: refresh });
    } else {
      const { session, token } = await this.manager.createSession(input);
      created = { kind: 'opaque', id: session.id, token };
      this.#credentials.add({ userId, kind: 'token', value: token });
    }
    this.#credentials.add({ userId, kind: 'session_id', value: created.id });
    return created;
  }

  /** Replaces every pool session a generated request ended, suspended or expired. */
  async #replenish(): Promise<void> {
    const facts = { ip: '127.0.0.1', userAgent: FIREFOX };
    for (let user = 0; user < USER_COUNT; user++) {
      const slots = this.#pool[user] as Slot[];
      for (let slot = 0; slot < SLOTS; slot++) {
        const current = slots[slot] as Slot;
        const outcome =
          current.kind === 'opaque'
            ? await this.manager.authenticateToken(current.token, facts)
            : await this.manager.authenticateAccessToken(current.access, facts);
        if (!outcome.ok) slots[slot] = await this.#newSlot(user, slot);
      }
    }
  }

  #slot(ref: CredRef, kind: 'opaque' | 'jwt'): Slot {
    const slots = this.#pool[ref.user % USER_COUNT] as Slot[];
    if (kind === 'jwt') return slots[SLOTS - 1] as Slot;
    return slots[ref.slot % (SLOTS - 1)] as Slot;
  }

  #secret(secret: Secret): string {
    switch (secret.t) {
      case 'token':
        return (this.#slot(secret.ref, 'opaque') as { token: string }).token;
      case 'access':
        return (this.#slot(secret.ref, 'jwt') as { access: string }).access;
      case 'refresh':
        return (this.#slot(secret.ref, 'jwt') as { refresh: string }).refresh;
      case 'text':
        return secret.text;
      case 'forged':
        return this.#forge(secret.jwt);
      case 'mutated': {
        const base = this.#secret(secret.of);
        const how = secret.how;
        const at = (n: number) => (base.length === 0 ? 0 : n % base.length);
        switch (how.t) {
          case 'replace':
            return base.slice(0, at(how.at)) + how.char + base.slice(at(how.at) + 1);
          case 'truncate':
            return base.slice(0, at(how.at));
          case 'append':
            return base + how.text;
          case 'upper':
            return base.toUpperCase();
          case 'splice': {
            const parts = base.split('.');
            const donor = (this.#slot(how.from, 'jwt') as { access: string }).access.split('.');
            if (parts.length !== 3) return `${base}.${donor[how.part]}`;
            parts[how.part] = donor[how.part] as string;
            return parts.join('.');
          }
        }
      }
    }
  }

  #sessionIdOf(ref: CredRef): string {
    return this.#slot(ref, ref.slot === SLOTS - 1 ? 'jwt' : 'opaque').id;
  }

  /** A JWT made by hand: the app's key or another, any claims. */
  #forge(spec: ForgedJwt): string {
    const now = Math.floor(Date.now() / 1000);
    const header: Record<string, JsonValue> = { alg: spec.key === 'none' ? 'none' : 'HS256', typ: 'JWT' };
    if (spec.kid !== undefined) header.kid = spec.kid;
    const payload: Record<string, JsonValue> = { ...spec.extra, iat: now };
    if (spec.tokenType.t === 'access' || spec.tokenType.t === 'refresh') payload.token_type = spec.tokenType.t;
    else if (spec.tokenType.t === 'value') payload.token_type = spec.tokenType.value;
    if (spec.userId.t === 'of') payload.user_id = (FUZZ_USERS[spec.userId.user] as { id: number }).id;
    else if (spec.userId.t === 'value') payload.user_id = spec.userId.value;
    if (spec.sessionId.t === 'of') {
      const id = this.#sessionIdOf(spec.sessionId.ref);
      payload.session_id = spec.sessionId.upper ? id.toUpperCase() : id;
    } else if (spec.sessionId.t === 'uuid') payload.session_id = spec.sessionId.uuid;
    else if (spec.sessionId.t === 'value') payload.session_id = spec.sessionId.value;
    if (spec.exp === 'future') payload.exp = now + 300;
    else if (spec.exp === 'past') payload.exp = now - 1000;
    else if (spec.exp !== 'missing') payload.exp = spec.exp.value;
    if (spec.jti === 'fresh') payload.jti = randomBytes(16).toString('hex');
    else if (spec.jti !== 'missing') payload.jti = spec.jti.value;
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    if (spec.key === 'none') return `${signingInput}.`;
    const signature = createHmac('sha256', spec.key === 'right' ? SIGNING_KEY : OTHER_KEY)
      .update(signingInput)
      .digest('base64url');
    const token = `${signingInput}.${signature}`;
    // Signed with the app's key, it is a real credential of the user it names (whoever holds the
    // key can mint one): the answer may show that user's sessions, and no one else's.
    const named = FUZZ_USERS.find(
      (u) => (typeof payload.user_id === 'string' || typeof payload.user_id === 'number') && String(u.id) === String(payload.user_id),
    );
    if (spec.key === 'right' && named !== undefined) this.#credentials.add({ userId: named.id, kind: 'access', value: token });
    return token;
  }

  #id(item: IdItem): string {
    switch (item.t) {
      case 'session': {
        const id = this.#sessionIdOf(item.ref);
        return `${item.pad}${item.upper ? id.toUpperCase() : id}${item.pad}`;
      }
      case 'uuid':
        return item.uuid;
      case 'text':
        return item.text;
    }
  }

  #field(field: Field): JsonValue {
    switch (field.t) {
      case 'username':
        return `${(FUZZ_USERS[field.user] as { username: string }).username}${field.pad}`;
      case 'password': {
        const password = (FUZZ_USERS[field.user] as { password: string }).password;
        return field.right ? password : `${password}x`;
      }
      case 'secret':
        return this.#secret(field.secret);
      case 'id':
        return this.#id(field.item);
      case 'json':
        return field.value;
      case 'text':
        return field.text;
      case 'long':
        return field.char.repeat(field.length);
    }
  }

  #body(spec: BodySpec): { body: Buffer | undefined; type: string | undefined } {
    switch (spec.t) {
      case 'none':
        return { body: undefined, type: undefined };
      case 'fields': {
        if (spec.encoding === 'form') {
          const form = new URLSearchParams();
          for (const [name, field] of spec.fields) {
            const value = this.#field(field);
            form.append(name, typeof value === 'string' ? value : JSON.stringify(value));
          }
          return { body: Buffer.from(form.toString()), type: 'application/x-www-form-urlencoded' };
        }
        // Written by hand: a repeated key stays repeated (JSON.parse keeps the last).
        const members = spec.fields.map(([name, field]) => `${JSON.stringify(name)}:${JSON.stringify(this.#field(field))}`);
        return { body: Buffer.from(`{${members.join(',')}}`), type: 'application/json' };
      }
      case 'json':
        return { body: Buffer.from(JSON.stringify(spec.value)), type: 'application/json' };
      case 'text':
        return { body: Buffer.from(spec.text), type: 'application/json' };
      case 'bytes':
        return { body: Buffer.from(spec.bytes), type: 'application/json' };
      case 'huge':
        if (spec.fill === 'json') return { body: Buffer.from(`{"username":"${'a'.repeat(spec.size)}"}`), type: 'application/json' };
        if (spec.fill === 'form')
          return { body: Buffer.from(`username=${'a'.repeat(spec.size)}`), type: 'application/x-www-form-urlencoded' };
        return { body: Buffer.alloc(spec.size, 0xff), type: 'application/octet-stream' };
    }
  }

  #method(spec: RequestSpec, path: string): string {
    if (spec.method.t === 'other') return spec.method.method;
    const alt = spec.method.alt;
    if (this.options.kind === 'pages' && !path.startsWith('/api/')) {
      if (path === '/devices/revoke' || path === '/devices/revoke-others' || path.startsWith('/admin/actions')) return 'POST';
      if (path === '/login' || path === '/logout' || path.startsWith('/admin/sessions/')) return alt ? 'POST' : 'GET';
      return 'GET';
    }
    const below = belowApiMount(path, this.options.framework);
    const route = below === undefined ? undefined : apiRouteOf(below);
    if (route !== undefined) {
      const methods = Object.keys((API_ROUTES[route] as { methods: Record<string, unknown> }).methods);
      return (alt ? methods.at(-1) : methods[0]) as string;
    }
    if (path === '/api/sensitive') return 'POST';
    return alt ? 'POST' : 'GET';
  }

  /** The bytes of a generated request, against the sessions alive now. */
  resolve(spec: RequestSpec): RawRequest {
    const path = spec.path.t === 'raw' ? spec.path.path : `/admin/sessions/${encodeTarget(this.#id(spec.path.item))}${spec.path.tail}`;
    let query = '';
    if (spec.query.t === 'params') {
      const params = new URLSearchParams();
      for (const [name, field] of spec.query.params) {
        const value = this.#field(field);
        params.append(name, typeof value === 'string' ? value : JSON.stringify(value));
        // The head stays under Node's 16 KiB limit (past it Node answers 431 before any app):
        // a parameter that would not fit is left out.
        if (params.toString().length > MAX_QUERY) params.delete(name, typeof value === 'string' ? value : JSON.stringify(value));
      }
      query = params.toString();
    } else if (spec.query.t === 'raw') query = encodeTarget(spec.query.text).slice(0, MAX_QUERY);
    const headers: Array<readonly [string, Buffer]> = [];
    const header = (name: string, value: string) => headers.push([name, Buffer.from(headerSafe(value).slice(0, MAX_HEADER), 'latin1')]);
    if (spec.auth.t === 'header') {
      const value = this.#secret(spec.auth.secret);
      const scheme = spec.auth.scheme === MATCHING_SCHEME ? (value.includes('.') ? 'Bearer' : 'Token') : spec.auth.scheme;
      header('Authorization', `${scheme}${spec.auth.sep}${value}${spec.auth.trailer}`);
    } else if (spec.auth.t === 'raw') header('Authorization', spec.auth.text);
    const ua = spec.userAgent;
    if (ua.t === 'session') header('User-Agent', FIREFOX);
    else if (ua.t === 'other') header('User-Agent', CHROME);
    else if (ua.t === 'text') header('User-Agent', ua.text);
    else if (ua.t === 'long') header('User-Agent', `Mozilla/5.0 ${'x'.repeat(ua.length)}`);
    if (spec.cookie.t === 'session')
      header('Cookie', `${spec.cookie.before}${spec.cookie.name}=${this.#secret(spec.cookie.secret)}${spec.cookie.after}`);
    else if (spec.cookie.t === 'raw') header('Cookie', spec.cookie.text);
    const origin = spec.origin;
    if (origin.t === 'same') header('Origin', new URL(this.app.url).origin);
    else if (origin.t === 'other') header('Origin', 'https://evil.example');
    else if (origin.t === 'text') header('Origin', origin.text);
    if (spec.secFetchSite !== undefined) header('Sec-Fetch-Site', spec.secFetchSite);
    const duplicate = spec.duplicate;
    if (duplicate.t === 'header') {
      const value = this.#secret(duplicate.secret);
      if (duplicate.name === 'Authorization') header('Authorization', `${value.includes('.') ? 'Bearer' : 'Token'} ${value}`);
      else if (duplicate.name === 'Cookie') header('Cookie', `nilva_session=${value}`);
      else header(duplicate.name, value);
    }
    const { body, type } = this.#body(spec.body);
    if (spec.contentType.t === 'match' && type !== undefined) header('Content-Type', type);
    else if (spec.contentType.t === 'value') header('Content-Type', spec.contentType.value);
    return { method: this.#method(spec, path), target: query === '' ? path : `${path}?${query}`, headers, body };
  }

  /** Sends one generated request and checks every property; throws a FuzzFailure on a problem. */
  async run(spec: RequestSpec): Promise<void> {
    const request = this.resolve(spec);
    const response = await rawSend(this.app.url, request, { localAddress: `127.0.0.${spec.sourceHost}` });
    this.requests++;
    this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
    const problems = this.check(request, response);
    await this.#learn(request, response);
    await this.#replenish();
    if (problems.length > 0) throw new FuzzFailure(problems, request, response);
  }

  /** The problems of one exchange (empty: every property holds). */
  check(request: RawRequest, response: RawResponse): string[] {
    const raw = request.target.split('?', 1)[0] as string;
    // A path with dot segments (`/api/./login`, `%2e%2e`) is taken as written by some
    // integrations (Express's API routes, Fastify) and resolved as a URL by others (Hono, the
    // pages): the answers of either reading are allowed.
    const resolved = new URL(raw, 'http://fuzz.invalid').pathname;
    const paths = resolved === raw ? [raw] : [raw, resolved];
    const { framework } = this.options;
    const expectations = paths.map((path) =>
      this.options.kind === 'api' ? apiExpectation(path, request.method, framework) : pageExpectation(path, request.method, framework),
    );
    const allowed = allowedStatuses(
      expectations.flatMap((e) => e.tables),
      this.#enabled,
    );
    const routeKey = `${request.method} ${[...new Set(expectations.map((e) => e.route))].join(' | ')}`;
    const counts = this.byRoute.get(routeKey) ?? new Map<number, number>();
    counts.set(response.status, (counts.get(response.status) ?? 0) + 1);
    this.byRoute.set(routeKey, counts);
    const problems = [...statusProblems(response, allowed, routeKey), ...leakProblems(request, response)];
    // The library's JSON answers: its routes, and its middleware's refusals on the app's routes
    // (a 404 is the framework's, under the other reading of a dot-segment path).
    const apiRoute = paths
      .map((path) => belowApiMount(path, framework))
      .map((below) => (below === undefined ? undefined : apiRouteOf(below)))
      .find((route) => route !== undefined);
    const appRoute = paths.some((path) => path === '/api/me' || path === '/api/sensitive' || path === '/open');
    const library = expectations.some((e) => e.library) && response.status !== 404;
    if (library && (apiRoute !== undefined || (appRoute && (response.status === 401 || response.status === 403)))) {
      const fields = apiRoute === undefined ? [] : (API_ROUTES[apiRoute] as { fields: readonly string[] }).fields;
      problems.push(...apiBodyProblems(request.method, response, fields, apiRoute === undefined));
    }
    // The staff's admin pages list everyone's sessions: that is their job.
    const adminPage = this.options.kind === 'pages' && paths.some((path) => path === '/admin' || path.startsWith('/admin/'));
    problems.push(...isolationProblems(request, response, this.#credentials, (carried) => adminPage && carried.has(STAFF_ID)));
    return problems;
  }

  /** Records the sessions a generated sign-in created, so later answers are checked against them too. */
  async #learn(request: RawRequest, response: RawResponse): Promise<void> {
    // The strict variant's session limit was reached (and answered): make room again.
    if (response.status === 403 && response.text.includes('"session_limit"')) {
      for (const [userId, extra] of this.#extra)
        await this.manager.revokeSessions(this.#stored(userId), extra.splice(0, extra.length), 'logout');
    }
    const found: Array<{ id?: string; token?: string; jwt?: string[] }> = [];
    if (response.status === 200 && (response.headers['content-type'] ?? '').startsWith('application/json')) {
      try {
        const body = JSON.parse(response.text) as Record<string, unknown>;
        if (typeof body.session_id === 'string' && typeof body.token === 'string') found.push({ id: body.session_id, token: body.token });
        const jwts = [body.access, body.refresh].filter((v): v is string => typeof v === 'string');
        if (jwts.length > 0) found.push({ jwt: jwts });
      } catch {
        // not JSON
      }
    }
    const cookie = /nilva_session=([a-z0-9]+)/.exec(response.headers['set-cookie'] ?? '');
    if (cookie?.[1] !== undefined) found.push({ token: cookie[1] });
    for (const item of found) {
      let userId: number | undefined;
      let id = item.id;
      if (item.jwt !== undefined) {
        const claims = JSON.parse(Buffer.from(item.jwt[0]?.split('.')[1] ?? '', 'base64url').toString()) as {
          user_id: number;
          session_id: string;
        };
        userId = Number(claims.user_id);
        id = claims.session_id;
        const kinds = ['access', 'refresh'] as const;
        for (const jwt of item.jwt) {
          const type = (JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { token_type: string }).token_type;
          this.#credentials.add({ userId, kind: kinds.find((k) => k === type) ?? 'access', value: jwt });
        }
      } else {
        const row =
          item.id !== undefined
            ? await this.database.store.findById(item.id)
            : await this.database.store.findByKeyHash(
                createHash('sha256')
                  .update(item.token as string)
                  .digest('hex'),
              );
        if (row === undefined) continue;
        userId = Number(row.userId);
        id = row.id;
        this.#credentials.add({ userId, kind: 'token', value: item.token as string });
      }
      if (id === undefined || userId === undefined) continue;
      this.#credentials.add({ userId, kind: 'session_id', value: id });
      const extra = this.#extra.get(userId) ?? [];
      extra.push(id);
      this.#extra.set(userId, extra);
      // Keep each user's list of sessions short (GET active, the devices page): end the oldest.
      // The strict variant's limit of 5 is reached now and then (the pool holds 3 sessions).
      if (extra.length > (this.options.variant === 'strict' ? 2 : 12)) {
        await this.manager.revokeSessions(this.#stored(userId), extra.splice(0, extra.length), 'logout');
      }
    }
    void request;
  }

  /** How many credentials the isolation check knows. */
  get knownCredentials(): number {
    return this.#credentials.size;
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** Header values carry no control bytes but HTAB (Node's parser answers 400 to them, before any app). */
function headerSafe(value: string): string {
  let out = '';
  for (const char of withoutControlBytes(value)) out += (char.codePointAt(0) as number) > 0xff ? utf8AsHeader(char) : char;
  return out;
}

/** Text for a request target: what may not appear raw there is percent-encoded as UTF-8. */
function encodeTarget(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (code > 0x20 && code < 0x7f && char !== '#') out += char;
    else out += [...Buffer.from(char, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/** The property a world checks: every generated request of its kind keeps every property. */
export function requestProperty(world: FuzzWorld): fc.IAsyncPropertyWithHooks<[RequestSpec]> {
  return fc.asyncProperty(world.options.kind === 'api' ? apiRequest : pageRequest, (spec) => world.run(spec));
}

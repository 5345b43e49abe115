import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../http/active-page-query.js';
import type { SessionApiCookie } from '../http/cookie-mode.js';
import { MAX_BODY_BYTES, type SessionApi } from '../http/session-api.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { componentSchemas, type Json, ref } from './schemas.js';

/** A JSON value: what the document is made of. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** An entry of the document's `servers`. */
export interface OpenApiServer {
  /** The server's URL, to which the paths (which include the mount path) are appended: `https://api.example.com`. */
  readonly url: string;
  readonly description?: string | undefined;
}

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /**
   * Where the application mounts the routes (`app.use('/api', nilva.routes)`, Fastify's
   * `prefix`, Hono's `app.route`). Default `'/api'`; `'/'` for the root.
   */
  readonly mountPath?: string | undefined;
  /** `info.title`. Default `'nilva-session API'`. */
  readonly title?: string | undefined;
  /** `info.version`: the version of your API, not of nilva-session. Default `'1.0.0'`. */
  readonly version?: string | undefined;
  /** `info.description`. Default: a summary of the contract's general rules. */
  readonly description?: string | undefined;
  /** `servers`. Default: none (tools then take the document's own origin). */
  readonly servers?: readonly OpenApiServer[] | undefined;
}

/** An OpenAPI 3.1.0 document: plain JSON, ready for `JSON.stringify`. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers?: readonly OpenApiServer[];
  readonly tags: readonly JsonObject[];
  /** By path, mount path included: `/api/login`, … */
  readonly paths: { readonly [path: string]: JsonObject };
  /** `schemas`, `responses`, `headers`, `parameters`, `securitySchemes`. */
  readonly components: JsonObject;
}

/** Everything about the app that changes the document. */
interface Features {
  readonly mount: string;
  readonly schemes: readonly ('token' | 'bearer')[];
  readonly tokenKeyword: string;
  readonly bearerKeyword: string;
  readonly jwt: boolean;
  readonly rotate: boolean;
  readonly challenge: string;
  readonly refreshChallenge: string;
  readonly throttle: boolean;
  readonly secure: boolean;
  readonly sessionLimit: boolean;
  readonly maxTokenIds: number;
  readonly verifyErrors: boolean;
  readonly tokenNotValidShape: boolean;
  readonly tokenSize: number;
  readonly cookie: SessionApiCookie | undefined;
}

const KNOWN_OPTIONS = optionNames<OpenApiOptions>({ mountPath: true, title: true, version: true, description: true, servers: true });

// What may stand in a path segment, minus the braces OpenAPI reads as a template.
const MOUNT_PATH = /^[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/;

/**
 * The OpenAPI 3.1 document of a {@link SessionApi}: every route the app serves at `mountPath`
 * (the JWT routes when the manager has `jwt`), each request body, parameter and status the
 * route can answer with its body schema and headers, and the security schemes the manager
 * accepts (`Token`, `Bearer`, and the session cookie in cookie mode). Built from the API's own
 * configuration, so it says what this app answers: a 429 only when sign-ins are throttled, a
 * 403 only when something can refuse, the token's length, whether a refresh rotates.
 *
 * A method a path does not list is answered 405 with an `Allow` header
 * (`components.responses.MethodNotAllowed`; on a protected path after the credentials are
 * checked); OpenAPI has no place for "every other method", so that rule is stated there and in
 * `info.description`.
 *
 * @throws TypeError when an option is unknown or malformed (a `mountPath` with `{`, `?`, `#` or a space)
 *
 * @example
 * app.get('/api/openapi.json', (_req, res) => res.json(openApiDocument(api)));
 */
export function openApiDocument<TUser>(api: SessionApi<TUser>, options: OpenApiOptions = {}): OpenApiDocument {
  if (typeof options !== 'object' || options === null) throw new TypeError('nilva-session: openApiDocument options must be an object');
  assertKnownOptions('openApiDocument', options, KNOWN_OPTIONS);
  const f = features(api, mountPathOf(options.mountPath));
  const title = text('title', options.title, 'nilva-session API');
  const version = text('version', options.version, '1.0.0');
  const description = text('description', options.description, defaultDescription(f));
  const servers = serversOf(options.servers);
  const tags: Json[] = [{ name: 'sessions', description: 'Sign in with a password, list and end sessions.' }];
  if (f.jwt) tags.push({ name: 'jwt', description: 'Access/refresh JWT pairs bound to sessions (simplejwt-compatible).' });
  const document: Json = {
    openapi: '3.1.0',
    info: { title, version, description },
    ...(servers === undefined ? {} : { servers }),
    tags,
    paths: paths(f),
    components: {
      schemas: componentSchemas({
        tokenSize: f.tokenSize,
        jwt: f.jwt,
        rotateRefreshTokens: f.rotate,
        tokenNotValidShape: f.tokenNotValidShape,
        cookie: f.cookie,
      }),
      responses: componentResponses(f),
      headers: componentHeaders(f),
      securitySchemes: securitySchemes(f),
    },
  };
  return document as unknown as OpenApiDocument;
}

function features<TUser>(api: SessionApi<TUser>, mount: string): Features {
  if (typeof api?.handle !== 'function' || typeof api.manager?.authenticate !== 'function') {
    throw new TypeError('nilva-session: openApiDocument needs a SessionApi');
  }
  const config = api.manager.config;
  const jwt = api.manager.jwt;
  const contract = api.contractOptions;
  return {
    mount,
    schemes: config.schemes,
    tokenKeyword: config.tokenKeyword,
    bearerKeyword: config.bearerKeyword,
    jwt: jwt !== undefined,
    rotate: jwt?.config.rotateRefreshTokens ?? false,
    challenge: api.challenge,
    refreshChallenge: `${config.bearerKeyword} realm="api"`,
    throttle: contract.throttle,
    secure: contract.requireSecureTransport,
    sessionLimit: config.maxSessionsPerUser !== null && config.sessionLimitAction === 'refuse',
    maxTokenIds: contract.maxTokenIds,
    verifyErrors: contract.onVerifyCredentialsError,
    tokenNotValidShape: config.schemes.includes('bearer') && !config.genericErrors,
    tokenSize: config.tokenSize,
    cookie: api.cookie,
  };
}

function mountPathOf(raw: unknown): string {
  if (raw === undefined) return '/api';
  if (typeof raw !== 'string' || !MOUNT_PATH.test(raw)) {
    throw new TypeError(`nilva-session: option "mountPath" must be a URL path such as "/api", got ${JSON.stringify(raw)}`);
  }
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

function text(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new TypeError(`nilva-session: option "${option}" must be a non-empty string`);
  return value;
}

function serversOf(value: unknown): Json[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new TypeError('nilva-session: option "servers" must be an array of { url, description? }');
  return value.map((server: unknown, i) => {
    const s = server as Partial<OpenApiServer> | null;
    if (typeof s !== 'object' || s === null || typeof s.url !== 'string' || s.url === '') {
      throw new TypeError(`nilva-session: option "servers[${i}]" must be { url, description? } with a non-empty url`);
    }
    if (s.description !== undefined && typeof s.description !== 'string') {
      throw new TypeError(`nilva-session: option "servers[${i}].description" must be a string`);
    }
    return s.description === undefined ? { url: s.url } : { url: s.url, description: s.description };
  });
}

function defaultDescription(f: Features): string {
  const schemes = f.schemes.map((s) =>
    s === 'token' ? `\`Authorization: ${f.tokenKeyword} <token>\`` : `\`Authorization: ${f.bearerKeyword} <access>\``,
  );
  if (f.cookie !== undefined) schemes.push('the session cookie set by sign-in (cookie mode)');
  return [
    `The session API of nilva-session, mounted at \`${f.mount === '' ? '/' : f.mount}\`.`,
    '',
    `- Protected routes take ${schemes.join(', or ')}. A request without credentials, or with a scheme not listed, is anonymous.`,
    '- A trailing slash is accepted (`login/` is `login`). A method a path does not list is answered 405 with an `Allow` header naming the ones it does; on a protected path the credentials are checked first, so without valid ones the answer is that of the failed authentication (401, 503).',
    '- Bodies are JSON (`application/json`, any `+json` type, or no `Content-Type`) or an HTML form (`application/x-www-form-urlencoded`), at most 64 KiB. Responses are JSON, except the 204s, which have no body.',
    '- Errors keep Django REST framework\'s and simplejwt\'s shapes: `{"detail": …}`, with a stable `code` where one is given; branch on the status and `code`, never on `detail`.',
    '- Every 401 carries `WWW-Authenticate`. A 503 means the session store is unreachable (retry after `Retry-After` seconds); bad input is never a 500.',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Paths

/** What an operation reads and who may call it: its errors follow from this. */
interface OperationKind {
  /** Authenticated by a session (else a sign-in or token route). */
  readonly authenticated: boolean;
  /** The body it reads, if any. */
  readonly body: 'credentials' | 'refresh' | undefined;
  /** POST or DELETE. */
  readonly unsafe: boolean;
  /** Creates a session (`login`, `token`): the session limit may refuse it. */
  readonly createsSession: boolean;
  /** Cookie mode checks it for CSRF: `login`, and the state-changing routes a cookie may authenticate. */
  readonly csrfChecked: boolean;
}

function paths(f: Features): Json {
  const p = (route: string) => `${f.mount}/${route}`;
  const result: Json = {
    [p('login')]: { post: login(f) },
    [p('logout')]: { post: logout(f) },
    [p('reauthenticate')]: { post: reauthenticate(f) },
    [p('active')]: { get: listActive(f), delete: revokeActive(f) },
  };
  if (f.jwt) {
    result[p('token')] = { post: obtainPair(f) };
    result[p('token/refresh')] = { post: refresh(f) };
    result[p('token/blacklist')] = { post: blacklist(f) };
  }
  return result;
}

const json = (schema: Json): Json => ({ 'application/json': { schema } });

const noStore: Json = { 'Cache-Control': ref('headers', 'NoStore') };

function credentialsBody(): Json {
  const schema = ref('schemas', 'Credentials');
  return { required: true, content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } } };
}

function refreshBody(): Json {
  const schema = ref('schemas', 'RefreshRequest');
  return { required: true, content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } } };
}

/**
 * The session cookies a response sets or clears (cookie mode): `when` says when, for a header
 * that only some of the answers carry.
 */
function cookieHeaders(f: Features, what: 'set' | 'clear', when?: string): Json {
  if (f.cookie === undefined) return {};
  const cookies =
    what === 'set'
      ? `Two cookies: the session token (\`${f.cookie.name}\`, \`HttpOnly\`; \`${f.cookie.secureName}\` and \`Secure\` over HTTPS) and the CSRF token (\`${f.cookie.csrfCookieName}\`, readable by scripts; \`${f.cookie.csrfCookieSecureName}\` over HTTPS), \`Path=/\`, \`Max-Age\` the session's remaining lifetime.`
      : 'Both cookies deleted (empty values, `Max-Age=0`).';
  return {
    'Set-Cookie': {
      description: `${when === undefined ? '' : `${when}: `}${cookies} Sent as two \`Set-Cookie\` headers.`,
      required: when === undefined,
      schema: { type: 'string' },
    },
  };
}

function login(f: Features): Json {
  return {
    operationId: 'login',
    tags: ['sessions'],
    summary: 'Sign in: a new session and its token',
    description:
      "The application's `verifyCredentials` checks the username and password. On success a session is created with the client's IP and `User-Agent`." +
      (f.throttle ? ' Wrong credentials are counted: past a limit the attempt is answered 429 before the password is checked.' : ''),
    security: [],
    requestBody: credentialsBody(),
    responses: {
      '200': {
        description: f.cookie === undefined ? 'Signed in.' : 'Signed in: the session cookie and the CSRF cookie are set.',
        headers: { ...noStore, ...cookieHeaders(f, 'set') },
        content: json(ref('schemas', f.cookie === undefined ? 'TokenLogin' : 'CookieSignIn')),
      },
      ...errorResponses(f, { authenticated: false, body: 'credentials', unsafe: true, createsSession: true, csrfChecked: true }),
    },
  };
}

function logout(f: Features): Json {
  return {
    operationId: 'logout',
    tags: ['sessions'],
    summary: 'End the session the request is authenticated with',
    description: 'The same credential is refused from the next request on, in every process.',
    security: security(f),
    ...csrfParameter(f, true),
    responses: {
      '204': {
        description: 'Signed out. No body.',
        ...(f.cookie === undefined ? {} : { headers: cookieHeaders(f, 'clear', 'When the request carried the session cookie') }),
      },
      ...errorResponses(f, { authenticated: true, body: undefined, unsafe: true, createsSession: false, csrfChecked: true }),
    },
  };
}

function reauthenticate(f: Features): Json {
  const shapes = [ref('schemas', 'TokenLogin')];
  if (f.cookie !== undefined) shapes.push(ref('schemas', 'CookieSignIn'));
  if (f.cookie !== undefined && !f.cookie.tokenInBody) shapes.push(ref('schemas', 'CookieSignInWithToken'));
  if (f.jwt) shapes.push(ref('schemas', 'TokenPair'));
  const body = shapes.length === 1 ? shapes[0] : { oneOf: shapes };
  return {
    operationId: 'reauthenticate',
    tags: ['sessions'],
    summary: 'Step-up: prove who you are again, for a re-authenticated session',
    description:
      "The credentials must be those of the session's own user. The session is replaced by a new one (new id and credential, same user, device and expiry) whose sign-in is now; the old credential is refused from the next request on. The answer has the shape of the session's sign-in: `TokenLogin` for an opaque-token session" +
      (f.jwt ? ', `TokenPair` for a JWT session.' : '.') +
      (f.cookie === undefined
        ? ''
        : ' Cookie mode: a request that carried the session cookie gets new cookies and `CookieSignIn` (`CookieSignInWithToken` when it authenticated with the `Authorization` header, which must learn the new token).'),
    security: security(f),
    ...csrfParameter(f, true),
    requestBody: credentialsBody(),
    responses: {
      '200': {
        description: 'Re-authenticated.',
        headers: { ...noStore, ...cookieHeaders(f, 'set', 'When the request carried the session cookie') },
        content: json(body as Json),
      },
      ...errorResponses(f, { authenticated: true, body: 'credentials', unsafe: true, createsSession: false, csrfChecked: true }),
    },
  };
}

function listActive(f: Features): Json {
  return {
    operationId: 'listSessions',
    tags: ['sessions'],
    summary: "The caller's active sessions, most recently used first",
    description:
      'Active and unexpired sessions of the caller only, ordered by `last_online` descending (ties by id). Without `limit` and `cursor` the whole list; with either, one page, and a `Link` header to the next page when there is one.',
    security: security(f),
    parameters: [
      {
        name: 'limit',
        in: 'query',
        required: false,
        description: `Most sessions in the page. With a \`cursor\` and no \`limit\`: ${DEFAULT_PAGE_LIMIT}.`,
        schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_LIMIT },
      },
      {
        name: 'cursor',
        in: 'query',
        required: false,
        description: "Opaque: the one in the previous page's `Link` header.",
        schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' },
      },
    ],
    responses: {
      '200': {
        description: 'The sessions (a JSON array, also when paged).',
        headers: { ...noStore, Link: ref('headers', 'NextPage') },
        content: json({ type: 'array', items: ref('schemas', 'Session') }),
      },
      ...errorResponses(f, { authenticated: true, body: undefined, unsafe: false, createsSession: false, csrfChecked: false }),
    },
  };
}

function revokeActive(f: Features): Json {
  return {
    operationId: 'revokeSessions',
    tags: ['sessions'],
    summary: "End some or all of the caller's sessions",
    description:
      "`token_id` (repeated) ends those of the caller's sessions, the current one included if listed; no query or `scope=all` ends every session of the caller; `scope=others` every one but the current. Give either `token_id` or `scope`, not both (400). Unknown ids, other users' ids and ended sessions are ignored: the answer never tells whether an id exists. Ids are compared case-insensitively; duplicates count once.",
    security: security(f),
    parameters: [
      {
        name: 'token_id',
        in: 'query',
        required: false,
        style: 'form',
        explode: true,
        description: `Session ids to end, at most ${f.maxTokenIds}.`,
        schema: { type: 'array', items: { type: 'string', format: 'uuid' }, maxItems: f.maxTokenIds },
      },
      {
        name: 'scope',
        in: 'query',
        required: false,
        description: '`all` (the same as no query) or `others`.',
        schema: { type: 'string', enum: ['all', 'others'] },
      },
      ...csrfHeader(f),
    ],
    responses: {
      '204': { description: 'Done, whatever was ended. No body.' },
      ...errorResponses(f, { authenticated: true, body: undefined, unsafe: true, createsSession: false, csrfChecked: true }),
    },
  };
}

function obtainPair(f: Features): Json {
  return {
    operationId: 'obtainTokenPair',
    tags: ['jwt'],
    summary: 'Sign in: a new session and a JWT pair bound to it',
    description: `The same check as \`login\`${f.throttle ? ', sharing its throttle counts' : ''}. The client then sends \`Authorization: ${f.bearerKeyword} <access>\`.`,
    security: [],
    requestBody: credentialsBody(),
    responses: {
      '200': { description: 'Signed in.', headers: noStore, content: json(ref('schemas', 'TokenPair')) },
      ...errorResponses(f, { authenticated: false, body: 'credentials', unsafe: true, createsSession: true, csrfChecked: false }),
    },
  };
}

function refresh(f: Features): Json {
  return {
    operationId: 'refreshToken',
    tags: ['jwt'],
    summary: f.rotate ? 'A new access token and a new refresh token' : 'A new access token',
    description:
      'The session behind the refresh token must still be active and unexpired, and its user active.' +
      (f.rotate
        ? ' The old refresh token stops working; of concurrent refreshes with one token exactly one succeeds, and a rotated-out token presented after the grace period ends the session.'
        : ''),
    security: [],
    requestBody: refreshBody(),
    responses: {
      '200': { description: 'Refreshed.', headers: noStore, content: json(ref('schemas', 'RefreshedAccess')) },
      ...errorResponses(f, { authenticated: false, body: 'refresh', unsafe: true, createsSession: false, csrfChecked: false }),
    },
  };
}

function blacklist(f: Features): Json {
  return {
    operationId: 'blacklistToken',
    tags: ['jwt'],
    summary: 'JWT sign-out: end the session behind a refresh token',
    description: 'Its access tokens are refused from the next request on, as after `logout`.',
    security: [],
    requestBody: refreshBody(),
    responses: {
      '200': { description: 'Signed out.', content: json(ref('schemas', 'Blacklisted')) },
      ...errorResponses(f, { authenticated: false, body: 'refresh', unsafe: true, createsSession: false, csrfChecked: false }),
    },
  };
}

/** The security requirements of a protected route: any one of the accepted schemes. */
function security(f: Features): Json[] {
  const alternatives: Json[] = f.schemes.map((s) => (s === 'token' ? { tokenAuth: [] } : { bearerAuth: [] }));
  if (f.cookie !== undefined) alternatives.push({ sessionCookie: [] }, { secureSessionCookie: [] });
  return alternatives;
}

/** The CSRF header of a state-changing protected route in cookie mode, as `parameters`. */
function csrfParameter(f: Features, unsafe: boolean): Json {
  const header = unsafe ? csrfHeader(f) : [];
  return header.length === 0 ? {} : { parameters: header };
}

function csrfHeader(f: Features): Json[] {
  if (f.cookie === undefined) return [];
  return [
    {
      name: f.cookie.csrfHeaderName,
      in: 'header',
      required: false,
      description: `Cookie mode: the CSRF token (the sign-in body's \`csrf_token\`, or the \`${f.cookie.csrfCookieName}\` cookie). When sent, it must match the session; without it, a request authenticated by the cookie passes only when the browser says it is same-origin (\`Sec-Fetch-Site\`, \`Origin\`) or comes from a trusted origin. Not needed with an \`Authorization\` header.`,
      schema: { type: 'string' },
    },
  ];
}

/** Every error a route of this kind can answer, with this configuration. */
function errorResponses(f: Features, kind: OperationKind): Json {
  const responses: Json = {};
  const fieldErrors = kind.body === 'credentials' ? 'CredentialFieldErrors' : kind.body === 'refresh' ? 'RefreshFieldErrors' : undefined;
  responses['400'] =
    fieldErrors === undefined
      ? ref('responses', 'BadRequest')
      : {
          description:
            "The body is not JSON, not an object, or a field breaks DRF's `CharField` rules (missing, `null`, not a string, blank, too long, a NUL character).",
          content: json({ oneOf: [ref('schemas', 'Error'), ref('schemas', fieldErrors), ref('schemas', 'NonFieldErrors')] }),
        };
  if (kind.authenticated) responses['401'] = ref('responses', 'Unauthenticated');
  else if (kind.body === 'refresh') responses['401'] = ref('responses', 'RefreshRefused');
  else responses['401'] = ref('responses', 'WrongCredentials');
  const codes = forbiddenCodes(f, kind);
  if (codes.length > 0) {
    responses['403'] = {
      description: forbiddenDescription(codes),
      content: json({
        type: 'object',
        required: ['detail', 'code'],
        properties: { detail: { type: 'string' }, code: { enum: codes } },
        additionalProperties: false,
      }),
    };
  }
  responses['413'] = ref('responses', 'PayloadTooLarge');
  if (kind.body !== undefined) responses['415'] = ref('responses', 'UnsupportedMediaType');
  if (f.throttle && kind.body !== undefined) responses['429'] = ref('responses', 'TooManyRequests');
  responses['500'] = ref('responses', 'ServerError');
  responses['503'] = ref('responses', 'ServiceUnavailable');
  if (f.verifyErrors && kind.body === 'credentials') {
    responses.default = {
      description: "What the application's `onVerifyCredentialsError` answers when its `verifyCredentials` throws.",
      content: json(ref('schemas', 'Error')),
    };
  }
  return responses;
}

function forbiddenCodes(f: Features, kind: OperationKind): string[] {
  const codes: string[] = [];
  // Credentials in a header, or in the body of a sign-in or token route, over plain HTTP.
  if (f.secure) codes.push('insecure_transport');
  if (f.sessionLimit && kind.createsSession) codes.push('session_limit');
  if (f.cookie !== undefined && kind.csrfChecked) codes.push('csrf_failed');
  return codes;
}

function forbiddenDescription(codes: readonly string[]): string {
  const why: Record<string, string> = {
    insecure_transport: '`insecure_transport`: credentials sent over plain HTTP (`requireSecureTransport`)',
    session_limit: '`session_limit`: the user is at `maxSessionsPerUser` (`sessionLimitAction: "refuse"`)',
    csrf_failed: '`csrf_failed`: cookie mode refused a cross-site request (the CSRF token missing or wrong, or an untrusted `Origin`)',
  };
  return `Refused: ${codes.map((c) => why[c]).join('; ')}. No \`WWW-Authenticate\`: the credentials are not the problem.`;
}

// ---------------------------------------------------------------------------------------------
// Components

function componentResponses(f: Features): Json {
  const error = json(ref('schemas', 'Error'));
  const unauthenticatedBody = f.tokenNotValidShape
    ? { oneOf: [ref('schemas', 'Error'), ref('schemas', 'TokenNotValid')] }
    : ref('schemas', 'Error');
  const responses: Json = {
    BadRequest: {
      description:
        'A malformed request: a query value, a header, or a body the server could not read' +
        (f.cookie === undefined
          ? '.'
          : '; in cookie mode, credentials that disagree (`code: conflicting_credentials`: two session cookies, or the cookie and an `Authorization` header of another token).'),
      content: error,
    },
    Unauthenticated: {
      description:
        'No credentials, or credentials that are refused (unknown, ended, suspended or expired session, inactive user, a changed `User-Agent`, a malformed header), or for `reauthenticate` a wrong password.',
      headers: {
        'WWW-Authenticate': ref('headers', 'Challenge'),
        ...cookieHeaders(f, 'clear', 'When the session cookie was refused (ended, expired, malformed)'),
      },
      content: json(unauthenticatedBody),
    },
    WrongCredentials: {
      description: 'Wrong username or password (`No active account found with the given credentials`).',
      headers: { 'WWW-Authenticate': ref('headers', 'Challenge') },
      content: error,
    },
    PayloadTooLarge: { description: `A body over ${MAX_BODY_BYTES / 1024} KiB.`, content: error },
    UnsupportedMediaType: { description: 'A body of a media type other than JSON or an HTML form.', content: error },
    ServerError: { description: 'An unexpected failure (`A server error occurred.`).', content: error },
    ServiceUnavailable: {
      description: 'The session store cannot be reached, or is not set up. The cause is logged, never sent.',
      headers: { 'Retry-After': ref('headers', 'StoreRetryAfter') },
      content: error,
    },
    MethodNotAllowed: {
      description:
        'Answered to a method a path does not list (`Method "PUT" not allowed.`), `HEAD` included. On a protected path the credentials are checked first: without valid ones the answer is the failed authentication’s (401, 503).',
      headers: { Allow: ref('headers', 'Allow') },
      content: error,
    },
    ReauthenticationRequired: {
      description:
        "Not a route of this API: what an application route guarded by `requireFreshAuth(maxAgeSeconds)` answers when the session's sign-in is older (`code: reauthentication_required`); the client calls `reauthenticate` and retries.",
      content: json({
        type: 'object',
        required: ['detail', 'code'],
        properties: { detail: { type: 'string' }, code: { const: 'reauthentication_required' } },
        additionalProperties: false,
      }),
    },
  };
  if (f.throttle) {
    responses.TooManyRequests = {
      description:
        "Too many failed attempts from this client (DRF's throttled answer). Every attempt is refused until `Retry-After` seconds have passed, the right credentials included.",
      headers: { 'Retry-After': ref('headers', 'RetryAfter') },
      content: error,
    };
  }
  if (f.jwt) {
    responses.RefreshRefused = {
      description:
        'The refresh token is refused (`code: token_not_valid`: invalid, expired, blacklisted, rotated out, or an access token), or its user is inactive (`code: no_active_account`).',
      headers: { 'WWW-Authenticate': ref('headers', 'RefreshChallenge') },
      content: json({
        type: 'object',
        required: ['detail', 'code'],
        properties: { detail: { type: 'string' }, code: { enum: ['token_not_valid', 'no_active_account'] } },
        additionalProperties: false,
      }),
    };
  }
  return responses;
}

function componentHeaders(f: Features): Json {
  const headers: Json = {
    Challenge: {
      description: 'The first configured scheme.',
      required: true,
      schema: { type: 'string', const: f.challenge },
    },
    NoStore: {
      description: 'The response carries a credential or a session list.',
      required: true,
      schema: { type: 'string', const: 'no-store' },
    },
    StoreRetryAfter: { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'integer', const: 5 } },
    Allow: { description: 'The methods the path takes.', required: true, schema: { type: 'string' } },
    NextPage: {
      description:
        'Present when there is a next page: a relative reference (resolved against the request URL), `<?limit=N&cursor=C>; rel="next"`.',
      required: false,
      schema: { type: 'string', pattern: '^<\\?limit=[0-9]{1,4}&cursor=[A-Za-z0-9_-]{1,100}>; rel="next"$' },
    },
  };
  if (f.throttle) {
    headers.RetryAfter = {
      description: 'Seconds until the block ends, rounded up (the body says the same).',
      required: true,
      schema: { type: 'integer', minimum: 1 },
    };
  }
  if (f.jwt) {
    headers.RefreshChallenge = {
      description: 'Always the Bearer scheme.',
      required: true,
      schema: { type: 'string', const: f.refreshChallenge },
    };
  }
  return headers;
}

function securitySchemes(f: Features): Json {
  const schemes: Json = {};
  if (f.schemes.includes('token')) {
    schemes.tokenAuth = {
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      description: `\`Authorization: ${f.tokenKeyword} <token>\`, the token of a sign-in (${f.tokenSize} characters of \`[a-z0-9]\`). The scheme word is compared case-insensitively.`,
    };
  }
  if (f.schemes.includes('bearer')) {
    schemes.bearerAuth =
      f.bearerKeyword === 'Bearer'
        ? {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              '`Authorization: Bearer <access>`, the access token of a pair. The scheme word is compared case-sensitively, as simplejwt does.',
          }
        : {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: `\`Authorization: ${f.bearerKeyword} <access>\`, the access JWT of a pair. The scheme word is compared case-sensitively.`,
          };
  }
  if (f.cookie !== undefined) {
    const common = `Cookie mode: the \`HttpOnly\` session cookie that sign-in sets (\`SameSite=${f.cookie.sameSite}\`). A state-changing request it authenticates passes the CSRF check (see \`${f.cookie.csrfHeaderName}\`).`;
    schemes.sessionCookie = { type: 'apiKey', in: 'cookie', name: f.cookie.name, description: `${common} Its name over plain HTTP.` };
    schemes.secureSessionCookie = {
      type: 'apiKey',
      in: 'cookie',
      name: f.cookie.secureName,
      description: `${common} Its name over HTTPS.`,
    };
  }
  return schemes;
}

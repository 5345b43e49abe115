// The statuses docs/contract.md allows for each route, as the fuzzers check them: a response
// with a status outside its route's set is a failure, whatever the body says.
//
// Some statuses exist only with an option, or only when something outside the request fails;
// each is tagged with what enables it, and `allowedStatuses` keeps those the running app can
// produce (the fuzz apps run with the database up, so a 503 is never allowed).

/** What makes a status possible beyond a request of the route. */
export type StatusCondition =
  /** Any request can get it. */
  | 'always'
  /** `SessionApi` option `throttle` on (the default): 429 on the sign-in and refresh routes. */
  | 'throttle'
  /** `requireSecureTransport`: 403 `insecure_transport` for credentials over plain HTTP. */
  | 'secureTransport'
  /** `maxSessionsPerUser` with `sessionLimitAction: 'refuse'`: 403 `session_limit`. */
  | 'sessionLimitRefuse'
  /** The application's `verifyCredentials` threw: 500 (contract, "503 and 500"). */
  | 'appError'
  /** The database or `loadUser` failed: 503. */
  | 'outage';

export type StatusTable = Readonly<Record<number, StatusCondition>>;

/** What the running app has on; `always` is implied. */
export type EnabledConditions = ReadonlySet<StatusCondition>;

/** Every response of the routes, whatever the method: the body is read before routing. */
const ANY: StatusTable = {
  // The User-Agent header holds a NUL or lone surrogate; or the body could not be read.
  400: 'always',
  413: 'always',
  503: 'outage',
};

/** `Authorization` was refused, or was needed: the protected routes and middleware. */
const AUTHENTICATION: StatusTable = {
  401: 'always',
  403: 'secureTransport',
  503: 'outage',
};

/** `POST login` and `POST token`: same body, same check, same throttle (contract, "POST P+token"). */
const SIGN_IN: StatusTable = {
  200: 'always',
  // Field errors, JSON parse errors, a body that is not an object.
  400: 'always',
  // Wrong username or password.
  401: 'always',
  403: 'secureTransport',
  415: 'always',
  429: 'throttle',
  500: 'appError',
};

/** `POST token/refresh` and `POST token/blacklist`. */
const REFRESH: StatusTable = {
  200: 'always',
  400: 'always',
  401: 'always',
  403: 'secureTransport',
  415: 'always',
  429: 'throttle',
};

/** One route: who may call it, and the documented answers of each method it serves. */
export interface RouteContract {
  readonly authenticated: boolean;
  readonly methods: Readonly<Record<string, StatusTable>>;
  /** The body fields a DRF per-field 400 may name. */
  readonly fields: readonly string[];
}

/**
 * The library's routes below the mount prefix (docs/contract.md, "Routes"). A trailing slash
 * names the same route. Another method gets 405 with `Allow`; on a protected route the
 * credentials are checked first (as DRF checks permissions before dispatching), so there it may
 * also be a 401.
 */
export const API_ROUTES: Readonly<Record<string, RouteContract>> = {
  login: { authenticated: false, fields: ['username', 'password'], methods: { POST: { ...SIGN_IN, 403: 'sessionLimitRefuse' } } },
  token: { authenticated: false, fields: ['username', 'password'], methods: { POST: { ...SIGN_IN, 403: 'sessionLimitRefuse' } } },
  'token/refresh': { authenticated: false, fields: ['refresh'], methods: { POST: REFRESH } },
  'token/blacklist': { authenticated: false, fields: ['refresh'], methods: { POST: REFRESH } },
  logout: { authenticated: true, fields: [], methods: { POST: { 204: 'always' } } },
  active: {
    authenticated: true,
    fields: [],
    methods: {
      GET: { 200: 'always' },
      // 400: a token_id that is not a UUID or empty, a bad scope, both, too many.
      DELETE: { 204: 'always', 400: 'always' },
    },
  },
  reauthenticate: {
    authenticated: true,
    fields: ['username', 'password'],
    // The fields and errors of login, and its throttle; 401 also for another user's password.
    methods: { POST: { ...SIGN_IN } },
  },
};

/**
 * The test app's own routes (test/helpers/http-apps.ts), guarded by the integrations'
 * middleware: `requireAuth`, `authenticate` (optional) and `requireFreshAuth(60)`. Express,
 * Fastify and Hono answer a HEAD as the GET. Any other method is the framework's 404.
 */
export const APP_ROUTES: Readonly<Record<string, { readonly methods: Readonly<Record<string, StatusTable>> }>> = {
  '/api/me': { methods: { GET: { 200: 'always', ...AUTHENTICATION }, HEAD: { 200: 'always', ...AUTHENTICATION } } },
  '/open': { methods: { GET: { 200: 'always', ...AUTHENTICATION }, HEAD: { 200: 'always', ...AUTHENTICATION } } },
  // 403 reauthentication_required: the session's sign-in is older than 60 s.
  '/api/sensitive': { methods: { POST: { 200: 'always', ...AUTHENTICATION, 403: 'always' } } },
};

/**
 * Fastify parses the body of the app's own routes (registered on the app, not in the library's
 * plugin) with its default parsers before any preHandler: a media type it has no parser for is
 * its 415, JSON it cannot parse its 400, past its 1 MiB limit its 413. The app's framework
 * answers, not the library.
 */
const FASTIFY_APP_BODY: StatusTable = { 400: 'always', 413: 'always', 415: 'always' };

/** A path that is neither: the framework's 404 (contract: "Any other path below P is not the library's"). */
export const NOT_OURS: StatusTable = { 404: 'always' };

/**
 * The web pages (README "Web pages", contract "What nilva-session adds for browsers"): every
 * answer is an HTML page or a 303. Shared by every page: 400 for a value no database can store
 * (or past its column) in the query or the form, 401 for a refused `Authorization` header,
 * 413 past 64 KiB.
 */
const PAGE_ANY: StatusTable = { 400: 'always', 401: 'always', 403: 'secureTransport', 413: 'always', 503: 'outage' };

/**
 * A page that needs a signed-in user: anonymous requests are sent to the sign-in form (303).
 * A POST the cookie authenticates from another origin (`Sec-Fetch-Site`, else `Origin`) is a 403.
 */
const SIGNED_IN_PAGE: StatusTable = { ...PAGE_ANY, 303: 'always', 403: 'always', 405: 'always' };

export interface PageContract {
  readonly methods: Readonly<Record<string, StatusTable>>;
  /** Any other method. */
  readonly otherMethods: StatusTable;
}

/** The pages at their default paths; `classifyPage` maps a request path onto one of them. */
export const PAGES: Readonly<Record<string, PageContract>> = {
  '/login': {
    methods: {
      // The form, or 303 to `next` when already signed in.
      GET: { ...PAGE_ANY, 200: 'always', 303: 'always' },
      HEAD: { ...PAGE_ANY, 200: 'always', 303: 'always' },
      // 303 signed in; 400/401 the form again with the API's message; 403 another origin;
      // 429 the throttle's page; 500 only when verifyCredentials threw.
      POST: { ...PAGE_ANY, 303: 'always', 403: 'always', 429: 'throttle', 500: 'appError' },
    },
    otherMethods: { ...PAGE_ANY, 405: 'always' },
  },
  '/logout': {
    methods: {
      GET: { ...PAGE_ANY, 200: 'always' },
      HEAD: { ...PAGE_ANY, 200: 'always' },
      // 403: a cookie-authenticated post from another origin.
      POST: { ...PAGE_ANY, 303: 'always', 403: 'always' },
    },
    otherMethods: { ...PAGE_ANY, 405: 'always' },
  },
  '/devices': {
    methods: { GET: { ...SIGNED_IN_PAGE, 200: 'always' }, HEAD: { ...SIGNED_IN_PAGE, 200: 'always' } },
    otherMethods: SIGNED_IN_PAGE,
  },
  '/devices/revoke': {
    // 400: no session_id chosen; 403: another origin.
    methods: { POST: { ...SIGNED_IN_PAGE, 403: 'always' } },
    otherMethods: SIGNED_IN_PAGE,
  },
  '/devices/revoke-others': {
    // 200: the step-up form (sign-in too old); 403 another origin, or an old sign-in through
    // an Authorization header; 429 the step-up's throttle; the step-up's 401 shows the form again.
    methods: { POST: { ...SIGNED_IN_PAGE, 200: 'always', 403: 'always', 429: 'throttle', 500: 'appError' } },
    otherMethods: SIGNED_IN_PAGE,
  },
  '/devices/*': { methods: {}, otherMethods: { ...SIGNED_IN_PAGE, 404: 'always' } },
  // Staff only (403 for other users); 404 for no such session or page.
  '/admin/*': {
    methods: {},
    otherMethods: { ...SIGNED_IN_PAGE, 200: 'always', 403: 'always', 404: 'always' },
  },
};

/** The statuses of `table` the running app can produce. */
export function allowedStatuses(tables: readonly StatusTable[], enabled: EnabledConditions): Set<number> {
  const out = new Set<number>();
  for (const table of tables) {
    for (const [status, condition] of Object.entries(table)) {
      if (condition === 'always' || enabled.has(condition)) out.add(Number(status));
    }
  }
  return out;
}

/** Which library route a path below `/api/` names (a trailing slash is the same), if any. */
export function apiRouteOf(below: string): string | undefined {
  const name = below.endsWith('/') ? below.slice(0, -1) : below;
  return Object.hasOwn(API_ROUTES, name) ? name : undefined;
}

/**
 * The path below the `/api` mount, as the framework routes it, or `undefined` when the path is
 * not below it. Express's router matches a mount path case-insensitively (`/API/login` is
 * below `app.use('/api', …)`); Fastify's and Hono's compare it exactly.
 */
export function belowApiMount(path: string, framework: string): string | undefined {
  const prefix = path.slice(0, '/api/'.length);
  if (prefix === '/api/' || (underlying(framework) === 'express' && prefix.toLowerCase() === '/api/')) return path.slice('/api/'.length);
  return undefined;
}

/**
 * The server under the framework: NestJS's adapters are Express and Fastify, and the NestJS
 * integration serves the contract on them with the Express and Fastify integrations' code.
 */
function underlying(framework: string): string {
  return framework.startsWith('nest-') ? framework.slice('nest-'.length) : framework;
}

/**
 * NestJS parses JSON and form bodies (Express's body-parser, Fastify's parsers) before it
 * routes, for every path but the contract's: a body it cannot parse is its 400 (415 for a
 * charset body-parser does not know or a media type Fastify has no parser for), past its
 * limit its 413, whichever route (or none) the path names.
 */
const NEST_BODY: StatusTable = { 400: 'always', 413: 'always', 415: 'always' };

function isPercentDecodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fastify's router decodes the path before it picks a route, and answers a path that is not
 * valid percent-encoding (`/api/%`) itself: 400 `FST_ERR_BAD_URL`. No route of the library or
 * the app is reached, whatever the path would have named.
 */
const FASTIFY_BAD_URL = { tables: [{ 400: 'always' } as StatusTable], library: false, route: '(a path Fastify cannot decode)' };

/** The documented answers of a request to the API app: the tables to merge, and who answers. */
export function apiExpectation(
  path: string,
  method: string,
  framework: string,
): { tables: StatusTable[]; library: boolean; route: string } {
  if (underlying(framework) === 'fastify' && !isPercentDecodable(path)) return FASTIFY_BAD_URL;
  const below = belowApiMount(path, framework);
  if (below !== undefined) {
    const route = apiRouteOf(below);
    if (route !== undefined) {
      const contract = API_ROUTES[route] as RouteContract;
      const own = contract.methods[method];
      if (own !== undefined) return { tables: [ANY, own, contract.authenticated ? AUTHENTICATION : {}], library: true, route };
      // Another method: 405, after the credentials on a protected route.
      return { tables: [ANY, { 405: 'always' }, contract.authenticated ? AUTHENTICATION : {}], library: true, route };
    }
  }
  const app = APP_ROUTES[path];
  // Express answers OPTIONS for every route of the app itself (200, the methods in the body).
  if (app !== undefined && method === 'OPTIONS' && underlying(framework) === 'express') {
    return {
      tables: framework === 'express' ? [{ 200: 'always' }] : [{ 200: 'always' }, NEST_BODY],
      library: false,
      route: `${path} (Express's own OPTIONS)`,
    };
  }
  const nest = framework !== underlying(framework);
  const table = app?.methods[method];
  if (table !== undefined) {
    return {
      tables: framework === 'fastify' ? [table, FASTIFY_APP_BODY] : nest ? [table, NEST_BODY] : [table],
      library: true,
      route: path,
    };
  }
  // Outside the library's plugin, Fastify's own 404 route parses the body first, as above.
  const fastifyOwn = framework === 'fastify' && below === undefined;
  return {
    tables: fastifyOwn ? [NOT_OURS, FASTIFY_APP_BODY] : nest ? [NOT_OURS, NEST_BODY] : [NOT_OURS],
    library: false,
    route: '(not ours)',
  };
}

/** The page a path belongs to, `undefined` when none. */
export function pageOf(path: string): string | undefined {
  if (path === '/login' || path === '/logout' || path === '/devices' || path === '/devices/revoke' || path === '/devices/revoke-others')
    return path;
  if (path === '/devices/') return '/devices';
  // Below any page root that has no page of its own: a 303 to sign in, else 404.
  if (path.startsWith('/devices/') || path.startsWith('/login/') || path.startsWith('/logout/')) return '/devices/*';
  if (path === '/admin' || path.startsWith('/admin/')) return '/admin/*';
  return undefined;
}

/** The documented answers of a request to a page (any other path is the API's or not ours). */
export function pageExpectation(
  path: string,
  method: string,
  framework: string,
): { tables: StatusTable[]; library: boolean; route: string } {
  if (framework === 'fastify' && !isPercentDecodable(path)) return FASTIFY_BAD_URL;
  const page = pageOf(path);
  if (page === undefined) return apiExpectation(path, method, framework);
  const contract = PAGES[page] as PageContract;
  return { tables: [contract.methods[method] ?? contract.otherMethods], library: true, route: page };
}

// Cookie mode (`new SessionApi({ …, cookie })`) over HTTP, through Express, Fastify and Hono on
// SQLite, and once more on PostgreSQL and MariaDB: the cookies login sets, authentication by
// them, the CSRF check of state-changing requests, conflicting credentials, refused cookies, and
// header mode left as it was. The browser's side is test/browser/spa-cookie-mode.test.ts.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SessionApi } from '../../src/http/session-api.js';
import { openApiDocument } from '../../src/openapi/document.js';
import { openTestDatabase, type TestDatabase, type TestDialect } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FRAMEWORKS, type Framework, type RunningApp, startApp } from '../helpers/http-apps.js';
import { Client, type TestResponse } from '../helpers/http-client.js';
import { recordContract } from '../helpers/openapi-responses.js';
import { type TestUser, userCallbacks } from '../helpers/users.js';

const TRUSTED = 'http://app.example.test:5173';
const UNTRUSTED = 'http://evil.example.test';
/** The address the tests' trusted proxy connects from (`trustProxy`). */
const PROXY = '127.0.0.2';
const VIA_PROXY_HTTPS = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' };
const DAY = 86_400;
const FOUR_HUNDRED_DAYS = 400 * DAY;

const RUNS: ReadonlyArray<readonly [TestDialect, Framework]> = [
  ...FRAMEWORKS.map((framework) => ['sqlite', framework] as const),
  ['postgres', 'express'],
  ['mysql', 'hono'],
];

/** One `Set-Cookie` line: name, value and attributes (names lower-cased). */
interface SetCookie {
  readonly name: string;
  readonly value: string;
  readonly attributes: ReadonlyMap<string, string>;
}

function setCookies(res: TestResponse): SetCookie[] {
  const raw = res.headers['set-cookie'];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return lines.map((line) => {
    const [pair = '', ...rest] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const attributes = new Map<string, string>();
    for (const attribute of rest) {
      const at = attribute.indexOf('=');
      attributes.set((at === -1 ? attribute : attribute.slice(0, at)).toLowerCase(), at === -1 ? '' : attribute.slice(at + 1));
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
  });
}

function cookieNamed(res: TestResponse, name: string): SetCookie {
  const found = setCookies(res).find((cookie) => cookie.name === name);
  if (found === undefined) throw new Error(`no Set-Cookie ${name} in ${JSON.stringify(res.headers['set-cookie'])}`);
  return found;
}

/** Both cookies deleted: empty values, `Max-Age=0`. */
function expectCleared(res: TestResponse, secure = false): void {
  const cookies = setCookies(res);
  expect(cookies.map((c) => c.name).sort()).toEqual(
    secure ? ['__Host-nilva_csrf', '__Host-nilva_session'] : ['nilva_csrf', 'nilva_session'],
  );
  for (const cookie of cookies) {
    expect(cookie.value).toBe('');
    expect(cookie.attributes.get('max-age')).toBe('0');
    expect(cookie.attributes.get('path')).toBe('/');
  }
}

const csrfOf = (token: string) => createHash('sha256').update(`nilva-csrf:${token}`).digest('base64url');

describe.each(RUNS)('cookie mode on %s through %s', (dialect, framework) => {
  let database: TestDatabase;
  let manager: SessionManager<unknown>;
  let foreverManager: SessionManager<unknown>;
  let app: RunningApp;
  let headerApp: RunningApp;
  let foreverApp: RunningApp;
  let client: Client;
  const clock = new FakeClock();
  const users = new Map<string, TestUser>();
  let nextUserId = 5000;
  const contracts: Array<ReturnType<typeof recordContract>> = [];

  function newUser(): TestUser {
    const id = nextUserId++;
    const user = { id, username: `cookie${id}`, password: `pw-${id}`, isActive: true };
    users.set(user.username, user);
    return user;
  }

  /** `POST /api/login` with extra headers (the browser's `Origin`, `Sec-Fetch-Site`, …). */
  function loginRequest(user: TestUser, headers: Record<string, string> = {}, options: { localAddress?: string; base?: Client } = {}) {
    return (options.base ?? client).request('POST', '/api/login', {
      body: { username: user.username, password: user.password },
      headers,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
  }

  /** Signs in (as a non-browser client: no Origin) and returns the session cookie's token and the body. */
  async function signIn(user = newUser()): Promise<{ token: string; session_id: string; csrf_token: string; cookie: string }> {
    const res = await loginRequest(user);
    expect(res.status).toBe(200);
    const token = cookieNamed(res, 'nilva_session').value;
    const body = res.json as { session_id: string; csrf_token: string };
    return { token, session_id: body.session_id, csrf_token: body.csrf_token, cookie: `nilva_session=${token}` };
  }

  const withCookie = (cookie: string, headers: Record<string, string> = {}) => ({ headers: { cookie, ...headers } });
  const own = () => app.url;

  /** Whether the session behind `cookie` still authenticates (GET is exempt from the CSRF check). */
  async function stillWorks(cookie: string): Promise<boolean> {
    const res = await client.request('GET', '/api/active', withCookie(cookie));
    return res.status === 200;
  }

  beforeAll(async () => {
    database = await openTestDatabase(dialect, { userIdType: 'integer' });
    const callbacks = userCallbacks(users);
    const common = {
      store: database.store,
      loadUser: callbacks.loadUser,
      clock: clock.now,
      touchFlushIntervalMs: 20,
      trustProxy: [PROXY],
      logger: { warn: () => undefined },
    };
    manager = new SessionManager({ ...common, cache: new MemorySessionCache() });
    foreverManager = new SessionManager({ ...common, sessionTtlSeconds: null });
    const verifyCredentials = callbacks.verifyCredentials;
    const started = async (api: SessionApi<unknown>) => {
      const running = await startApp(framework, api);
      contracts.push(recordContract(running.url, openApiDocument(api)));
      return running;
    };
    app = await started(new SessionApi({ manager, verifyCredentials, cookie: { trustedOrigins: [TRUSTED] } }));
    headerApp = await started(new SessionApi({ manager, verifyCredentials }));
    foreverApp = await started(
      new SessionApi({ manager: foreverManager, verifyCredentials, cookie: { sameSite: 'none', tokenInBody: true } }),
    );
    client = new Client(app.url);
  });

  afterAll(async () => {
    for (const contract of contracts) contract.stop();
    await app?.close();
    await headerApp?.close();
    await foreverApp?.close();
    await manager?.close();
    await foreverManager?.close();
    await database?.close();
  });

  test('login sets an HttpOnly SameSite=Lax session cookie and a readable CSRF cookie, and the body has no token', async () => {
    const res = await loginRequest(newUser(), { origin: own(), 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json as { session_id: string; expire_at: string; csrf_token: string };
    expect(Object.keys(body)).toEqual(['session_id', 'expire_at', 'csrf_token']);
    expect(res.text).not.toContain('"token"');

    expect(setCookies(res).map((c) => c.name)).toEqual(['nilva_session', 'nilva_csrf']);
    const session = cookieNamed(res, 'nilva_session');
    expect(session.value).toMatch(/^[a-z0-9]{50}$/);
    expect(res.text).not.toContain(session.value);
    expect([...session.attributes.keys()].sort()).toEqual(['httponly', 'max-age', 'path', 'samesite']);
    expect(session.attributes.get('path')).toBe('/');
    expect(session.attributes.get('samesite')).toBe('Lax');
    expect(Number(session.attributes.get('max-age'))).toBe(Math.floor((Date.parse(body.expire_at) - clock.now()) / 1000));
    expect(Number(session.attributes.get('max-age'))).toBe(DAY);

    const csrf = cookieNamed(res, 'nilva_csrf');
    expect(csrf.value).toBe(body.csrf_token);
    expect(csrf.value).toBe(csrfOf(session.value));
    expect(csrf.value).not.toContain(session.value.slice(0, 8));
    expect([...csrf.attributes.keys()].sort()).toEqual(['max-age', 'path', 'samesite']);
    expect(csrf.attributes.get('max-age')).toBe(session.attributes.get('max-age'));

    // The row is the one the body names.
    const listed = await client.request('GET', '/api/active', withCookie(`nilva_session=${session.value}`));
    expect(listed.status).toBe(200);
    expect((listed.json as Array<{ session_id: string; is_current: boolean }>)[0]).toMatchObject({
      session_id: body.session_id,
      is_current: true,
    });
  });

  test('over HTTPS from a trusted proxy the cookies are __Host- and Secure; an untrusted one gets the plain names', async () => {
    const proxied = await loginRequest(newUser(), VIA_PROXY_HTTPS, { localAddress: PROXY });
    expect(proxied.status).toBe(200);
    expect(setCookies(proxied).map((c) => c.name)).toEqual(['__Host-nilva_session', '__Host-nilva_csrf']);
    for (const cookie of setCookies(proxied)) {
      expect(cookie.attributes.has('secure')).toBe(true);
      expect(cookie.attributes.get('path')).toBe('/');
      expect(cookie.attributes.has('domain')).toBe(false);
    }
    const token = cookieNamed(proxied, '__Host-nilva_session').value;
    const https = { ...VIA_PROXY_HTTPS, cookie: `__Host-nilva_session=${token}` };
    expect((await client.request('GET', '/api/active', { headers: https, localAddress: PROXY })).status).toBe(200);
    // Over HTTPS only the __Host- name counts (a subdomain could have set the plain one).
    const plain = await client.request('GET', '/api/active', {
      headers: { ...VIA_PROXY_HTTPS, cookie: `nilva_session=${token}` },
      localAddress: PROXY,
    });
    expect(plain.status).toBe(401);
    expect(plain.json).toEqual({ detail: 'Authentication credentials were not provided.' });
    // Logging out over HTTPS deletes the __Host- cookies, Secure.
    const logout = await client.request('POST', '/api/logout', {
      headers: { ...https, 'sec-fetch-site': 'same-origin' },
      localAddress: PROXY,
    });
    expect(logout.status).toBe(204);
    expectCleared(logout, true);
    for (const cookie of setCookies(logout)) expect(cookie.attributes.has('secure')).toBe(true);

    // The same header from a peer that is not a trusted proxy, or the loopback shortcut: plain HTTP.
    const direct = await loginRequest(newUser(), VIA_PROXY_HTTPS);
    expect(setCookies(direct).map((c) => c.name)).toEqual(['nilva_session', 'nilva_csrf']);
    for (const cookie of setCookies(direct)) expect(cookie.attributes.has('secure')).toBe(false);
  });

  test('the cookie authenticates GET active, the app routes of requireAuth and requireFreshAuth, and no cookie is anonymous', async () => {
    const { cookie, session_id } = await signIn();
    const me = await client.request('GET', '/api/me', withCookie(cookie));
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ session_id });
    const open = await client.request('GET', '/open', withCookie(cookie));
    expect((open.json as { user: unknown }).user).not.toBeNull();
    expect((await client.request('POST', '/api/sensitive', withCookie(cookie, { 'sec-fetch-site': 'same-origin' }))).status).toBe(200);
    // The app's own state-changing route is CSRF-checked by the middleware too.
    const forged = await client.request(
      'POST',
      '/api/sensitive',
      withCookie(cookie, { 'sec-fetch-site': 'cross-site', origin: UNTRUSTED }),
    );
    expect(forged.status).toBe(403);
    expect(forged.json).toEqual({
      detail: `CSRF Failed: Origin checking failed - ${UNTRUSTED} does not match any trusted origins.`,
      code: 'csrf_failed',
    });
    expect(setCookies(forged)).toEqual([]);
    expect((await client.request('GET', '/api/me')).status).toBe(401);
    expect(((await client.request('GET', '/open')).json as { user: unknown }).user).toBeNull();
  });

  test('logout by the cookie ends the session and clears both cookies', async () => {
    const { cookie } = await signIn();
    const res = await client.request('POST', '/api/logout', withCookie(cookie, { origin: own() }));
    expect(res.status).toBe(204);
    expectCleared(res);
    for (const c of setCookies(res)) expect(c.attributes.get('samesite')).toBe('Lax');
    expect(
      setCookies(res)
        .find((c) => c.name === 'nilva_session')
        ?.attributes.has('httponly'),
    ).toBe(true);
    expect(await stillWorks(cookie)).toBe(false);
  });

  test('a sign-in from a browser that holds a session cookie ends that session, whoever it was of; other sessions stay', async () => {
    const user = newUser();
    const first = await signIn(user);
    const elsewhere = await signIn(user);
    // The same browser signs in again: its cookie is replaced, and the session it named ends.
    const again = await loginRequest(user, { cookie: first.cookie, origin: own() });
    expect(again.status).toBe(200);
    const second = `nilva_session=${cookieNamed(again, 'nilva_session').value}`;
    expect(await stillWorks(first.cookie)).toBe(false);
    expect(await stillWorks(second)).toBe(true);
    expect(await stillWorks(elsewhere.cookie)).toBe(true);
    const active = await client.request('GET', '/api/active', withCookie(second));
    expect((active.json as Array<{ session_id: string }>).map((s) => s.session_id).sort()).toEqual(
      [(again.json as { session_id: string }).session_id, elsewhere.session_id].sort(),
    );
    // Another account signs in on that browser: the first account's session ends there too.
    const other = newUser();
    const switched = await loginRequest(other, { cookie: second, origin: own() });
    expect(switched.status).toBe(200);
    expect(await stillWorks(second)).toBe(false);
    expect(await stillWorks(elsewhere.cookie)).toBe(true);
    // A failed sign-in ends nothing; nor does one carrying two different cookies of that name.
    const kept = await signIn(user);
    const refused = await client.request('POST', '/api/login', {
      body: { username: user.username, password: 'wrong' },
      headers: { cookie: kept.cookie, origin: own() },
    });
    expect(refused.status).toBe(401);
    expect(await stillWorks(kept.cookie)).toBe(true);
    const planted = await signIn(newUser());
    const twice = await loginRequest(user, { cookie: `${kept.cookie}; ${planted.cookie}`, origin: own() });
    expect(twice.status).toBe(200);
    expect(await stillWorks(kept.cookie)).toBe(true);
    expect(await stillWorks(planted.cookie)).toBe(true);
  });

  test('DELETE active that ends the current session clears both cookies; scope=others and other ids keep them', async () => {
    const user = newUser();
    const first = await signIn(user);
    const second = await signIn(user);
    const current = await signIn(user);
    const others = await client.request('DELETE', '/api/active?scope=others', withCookie(current.cookie, { origin: own() }));
    expect(others.status).toBe(204);
    expect(setCookies(others)).toEqual([]);
    expect(await stillWorks(current.cookie)).toBe(true);
    expect(await stillWorks(first.cookie)).toBe(false);
    const listed = await client.request(
      'DELETE',
      `/api/active?token_id=${second.session_id}`,
      withCookie(current.cookie, { origin: own() }),
    );
    expect(setCookies(listed)).toEqual([]);
    const ownOnly = await client.request(
      'DELETE',
      `/api/active?token_id=${current.session_id}`,
      withCookie(current.cookie, { origin: own() }),
    );
    expect(ownOnly.status).toBe(204);
    expectCleared(ownOnly);
    expect(await stillWorks(current.cookie)).toBe(false);
    const again = await signIn(user);
    const all = await client.request('DELETE', '/api/active', withCookie(again.cookie, { origin: own() }));
    expect(all.status).toBe(204);
    expectCleared(all);
  });

  test('reauthenticate by the cookie sets the renewed token cookies, Max-Age the remaining life, and the old cookie stops working', async () => {
    const user = newUser();
    const { cookie } = await signIn(user);
    clock.advance(3_600_000);
    const res = await client.request('POST', '/api/reauthenticate', {
      body: { username: user.username, password: user.password },
      ...withCookie(cookie, { 'sec-fetch-site': 'same-origin' }),
    });
    expect(res.status).toBe(200);
    const body = res.json as { session_id: string; expire_at: string; csrf_token: string };
    expect(Object.keys(body)).toEqual(['session_id', 'expire_at', 'csrf_token']);
    const renewed = cookieNamed(res, 'nilva_session');
    expect(Number(renewed.attributes.get('max-age'))).toBe(Math.floor((Date.parse(body.expire_at) - clock.now()) / 1000));
    expect(cookieNamed(res, 'nilva_csrf').value).toBe(csrfOf(renewed.value));
    expect(await stillWorks(`nilva_session=${renewed.value}`)).toBe(true);
    const old = await client.request('GET', '/api/active', withCookie(cookie));
    expect(old.status).toBe(401);
    expectCleared(old);
  });

  test('a session without expiry gets Max-Age of 400 days; SameSite=None becomes Lax over plain HTTP; tokenInBody answers the token', async () => {
    const forever = new Client(foreverApp.url);
    const plain = await loginRequest(newUser(), {}, { base: forever });
    expect(plain.status).toBe(200);
    const body = plain.json as { token: string; session_id: string; expire_at: null; csrf_token: string };
    expect(Object.keys(body)).toEqual(['token', 'session_id', 'expire_at', 'csrf_token']);
    expect(body.expire_at).toBeNull();
    const session = cookieNamed(plain, 'nilva_session');
    expect(body.token).toBe(session.value);
    expect(session.attributes.get('max-age')).toBe(String(FOUR_HUNDRED_DAYS));
    expect(session.attributes.get('samesite')).toBe('Lax');
    const secure = await loginRequest(newUser(), VIA_PROXY_HTTPS, { base: forever, localAddress: PROXY });
    for (const cookie of setCookies(secure)) {
      expect(cookie.attributes.get('samesite')).toBe('None');
      expect(cookie.attributes.has('secure')).toBe(true);
      expect(cookie.attributes.get('max-age')).toBe(String(FOUR_HUNDRED_DAYS));
    }
  });

  // Each case: a fresh session, `POST logout` sent with the cookie and these headers. A refused
  // one leaves the session working; an accepted one ends it.
  const CSRF_CASES: ReadonlyArray<{
    name: string;
    headers: (c: { csrf: string; own: string }) => Record<string, string>;
    refused?: string;
  }> = [
    { name: 'Sec-Fetch-Site same-origin', headers: () => ({ 'sec-fetch-site': 'same-origin' }) },
    { name: 'Sec-Fetch-Site none', headers: () => ({ 'sec-fetch-site': 'none' }) },
    { name: 'same-site from a trusted origin', headers: () => ({ 'sec-fetch-site': 'same-site', origin: TRUSTED }) },
    {
      name: 'cross-site from a trusted origin (any case)',
      headers: () => ({ 'sec-fetch-site': 'cross-site', origin: TRUSTED.toUpperCase() }),
    },
    {
      name: 'cross-site from an untrusted origin',
      headers: () => ({ 'sec-fetch-site': 'cross-site', origin: UNTRUSTED }),
      refused: `CSRF Failed: Origin checking failed - ${UNTRUSTED} does not match any trusted origins.`,
    },
    {
      name: 'same-site from another port of this host',
      headers: ({ own }) => ({ 'sec-fetch-site': 'same-site', origin: own.replace(/:\d+$/, ':1') }),
      refused: 'CSRF Failed: Origin checking failed - http://127.0.0.1:1 does not match any trusted origins.',
    },
    { name: 'cross-site without Origin', headers: () => ({ 'sec-fetch-site': 'cross-site' }), refused: 'CSRF Failed: CSRF token missing.' },
    { name: 'no Sec-Fetch-Site, Origin of this server', headers: ({ own }) => ({ origin: own }) },
    { name: 'no Sec-Fetch-Site, a trusted Origin', headers: () => ({ origin: TRUSTED }) },
    {
      name: 'no Sec-Fetch-Site, an untrusted Origin',
      headers: () => ({ origin: UNTRUSTED }),
      refused: `CSRF Failed: Origin checking failed - ${UNTRUSTED} does not match any trusted origins.`,
    },
    {
      name: 'Origin null',
      headers: () => ({ origin: 'null' }),
      refused: 'CSRF Failed: Origin checking failed - null does not match any trusted origins.',
    },
    { name: 'no browser header and no CSRF token', headers: () => ({}), refused: 'CSRF Failed: CSRF token missing.' },
    { name: 'no browser header, the valid X-CSRF-Token', headers: ({ csrf }) => ({ 'x-csrf-token': csrf }) },
    {
      name: 'no browser header, a wrong X-CSRF-Token',
      headers: ({ csrf }) => ({ 'x-csrf-token': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` }),
      refused: 'CSRF Failed: CSRF token incorrect.',
    },
    { name: 'an X-CSRF-Token of another length', headers: () => ({ 'x-csrf-token': 'x' }), refused: 'CSRF Failed: CSRF token incorrect.' },
    {
      name: 'a wrong X-CSRF-Token from this origin',
      headers: () => ({ 'x-csrf-token': csrfOf('someone-else'), 'sec-fetch-site': 'same-origin' }),
      refused: 'CSRF Failed: CSRF token incorrect.',
    },
    {
      name: 'the valid X-CSRF-Token from an untrusted origin',
      headers: ({ csrf }) => ({ 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site', origin: UNTRUSTED }),
    },
  ];

  test.each(CSRF_CASES)('CSRF check of a cookie-authenticated POST logout: $name', async ({ headers, refused }) => {
    const { cookie, csrf_token } = await signIn();
    const res = await client.request('POST', '/api/logout', withCookie(cookie, headers({ csrf: csrf_token, own: own() })));
    if (refused === undefined) {
      expect(res.status).toBe(204);
      expect(await stillWorks(cookie)).toBe(false);
    } else {
      expect(res.status).toBe(403);
      expect(res.json).toEqual({ detail: refused, code: 'csrf_failed' });
      expect(setCookies(res)).toEqual([]);
      expect(await stillWorks(cookie)).toBe(true);
    }
  });

  test('a cookie-authenticated DELETE active from an untrusted origin is refused and ends nothing; GET needs no check', async () => {
    const user = newUser();
    const first = await signIn(user);
    const second = await signIn(user);
    const forged = await client.request('DELETE', '/api/active', withCookie(first.cookie, { origin: UNTRUSTED }));
    expect(forged.status).toBe(403);
    expect((forged.json as { code: string }).code).toBe('csrf_failed');
    const listed = await client.request(
      'GET',
      '/api/active',
      withCookie(first.cookie, { 'sec-fetch-site': 'cross-site', origin: UNTRUSTED }),
    );
    expect(listed.status).toBe(200);
    expect((listed.json as unknown[]).length).toBe(2);
    const revoked = await client.request(
      'DELETE',
      `/api/active?token_id=${second.session_id}`,
      withCookie(first.cookie, { 'x-csrf-token': first.csrf_token }),
    );
    expect(revoked.status).toBe(204);
    expect(await stillWorks(second.cookie)).toBe(false);
    expect(await stillWorks(first.cookie)).toBe(true);
  });

  test('login CSRF: a sign-in from an untrusted origin is refused before the password is checked; trusted and non-browser ones pass', async () => {
    const user = newUser();
    const before = (await manager.listSessions(user.id)).length;
    const forged = await loginRequest(user, { 'sec-fetch-site': 'cross-site', origin: UNTRUSTED });
    expect(forged.status).toBe(403);
    expect(forged.json).toEqual({
      detail: `CSRF Failed: Origin checking failed - ${UNTRUSTED} does not match any trusted origins.`,
      code: 'csrf_failed',
    });
    expect(setCookies(forged)).toEqual([]);
    const noFetchSite = await loginRequest(user, { origin: UNTRUSTED });
    expect(noFetchSite.status).toBe(403);
    // An X-CSRF-Token proves nothing before there is a session.
    expect((await loginRequest(user, { 'sec-fetch-site': 'cross-site', origin: UNTRUSTED, 'x-csrf-token': 'x' })).status).toBe(403);
    expect((await manager.listSessions(user.id)).length).toBe(before);

    expect((await loginRequest(user, { 'sec-fetch-site': 'cross-site', origin: TRUSTED })).status).toBe(200);
    expect((await loginRequest(user, { 'sec-fetch-site': 'same-origin', origin: own() })).status).toBe(200);
    expect((await loginRequest(user, { origin: own() })).status).toBe(200);
    expect((await loginRequest(user)).status).toBe(200);
    expect((await manager.listSessions(user.id)).length).toBe(before + 4);
  });

  test('the Authorization header and the cookie of different credentials answer 400 conflicting_credentials', async () => {
    const mine = await signIn();
    const other = await signIn();
    const conflict = {
      detail: 'The Authorization header and the session cookie carry different credentials: send only one.',
      code: 'conflicting_credentials',
    };
    for (const path of ['/api/active', '/api/me']) {
      const res = await client.request('GET', path, { token: other.token, headers: { cookie: mine.cookie } });
      expect(res.status).toBe(400);
      expect(res.json).toEqual(conflict);
      expect(setCookies(res)).toEqual([]);
    }
    const logout = await client.request('POST', '/api/logout', { token: other.token, headers: { cookie: mine.cookie } });
    expect(logout.status).toBe(400);
    expect(await stillWorks(mine.cookie)).toBe(true);
    expect(await stillWorks(other.cookie)).toBe(true);
    // Two session cookies of different values (one planted by a sibling subdomain, say).
    const two = await client.request('GET', '/api/active', withCookie(`${mine.cookie}; nilva_session=${other.token}`));
    expect(two.status).toBe(400);
    expect(two.json).toEqual(conflict);
    // The same cookie twice is one credential.
    expect((await client.request('GET', '/api/active', withCookie(`${mine.cookie}; ${mine.cookie}`))).status).toBe(200);
  });

  test('the header and the cookie of the same token authenticate as the header, without a CSRF check', async () => {
    const { token, cookie } = await signIn();
    const res = await client.request('POST', '/api/logout', {
      token,
      headers: { cookie, 'sec-fetch-site': 'cross-site', origin: UNTRUSTED },
    });
    expect(res.status).toBe(204);
    // It carried the cookie of the ended session: the cookies are cleared.
    expectCleared(res);
    expect(await stillWorks(cookie)).toBe(false);
  });

  test('a forged or ended session cookie answers 401 and clears the cookies, on the routes and the middleware', async () => {
    const forged = `nilva_session=${'a'.repeat(50)}`;
    for (const path of ['/api/active', '/api/me', '/open']) {
      const res = await client.request('GET', path, withCookie(forged));
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ detail: 'Invalid token.' });
      expect(res.headers['www-authenticate']).toBe('Token');
      expectCleared(res);
    }
    const { token, cookie } = await signIn();
    expect((await client.request('POST', '/api/logout', { token })).status).toBe(204);
    const ended = await client.request('GET', '/api/me', withCookie(cookie));
    expect(ended.status).toBe(401);
    expect(ended.json).toEqual({ detail: 'User session is suspended.' });
    expectCleared(ended);
    // A forged cookie on a state-changing request fails the CSRF check first: nothing is looked up.
    const post = await client.request('POST', '/api/logout', withCookie(forged, { origin: UNTRUSTED }));
    expect(post.status).toBe(403);
  });

  test('an oversized or malformed session cookie answers 401 Invalid token and clears the cookies', async () => {
    for (const value of ['a'.repeat(513), 'abc!def', '"quoted"', 'x'.repeat(600)]) {
      const res = await client.request('GET', '/api/active', withCookie(`nilva_session=${value}`));
      expect(res.status, value).toBe(401);
      expect(res.json).toEqual({ detail: 'Invalid token.' });
      expectCleared(res);
    }
    // Other cookies are none of our business, and an empty session cookie is no cookie.
    const res = await client.request('GET', '/api/active', withCookie('theme=dark; nilva_session=; other=1'));
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect(setCookies(res)).toEqual([]);
  });

  test('header mode is unchanged: the token in the body, no Set-Cookie, and the cookie is not read', async () => {
    const headerClient = new Client(headerApp.url);
    const user = newUser();
    const res = await headerClient.request('POST', '/api/login', {
      body: { username: user.username, password: user.password },
      headers: { 'sec-fetch-site': 'cross-site', origin: UNTRUSTED },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json as object)).toEqual(['token', 'session_id', 'expire_at']);
    expect(res.headers['set-cookie']).toBeUndefined();
    const { token } = res.json as { token: string };
    const byCookie = await headerClient.request('GET', '/api/active', withCookie(`nilva_session=${token}`));
    expect(byCookie.status).toBe(401);
    expect(byCookie.json).toEqual({ detail: 'Authentication credentials were not provided.' });
    const bad = await headerClient.request('GET', '/api/me', withCookie(`nilva_session=${'b'.repeat(50)}`));
    expect(bad.status).toBe(401);
    expect(bad.headers['set-cookie']).toBeUndefined();
    const logout = await headerClient.request('POST', '/api/logout', { token, headers: { cookie: `nilva_session=${token}` } });
    expect(logout.status).toBe(204);
    expect(logout.headers['set-cookie']).toBeUndefined();
  });

  test('every response above is one the OpenAPI document describes (nilva-session/openapi)', () => {
    expect(contracts.flatMap((contract) => contract.problems())).toEqual([]);
  });
});

describe('cookie mode options', () => {
  let database: TestDatabase;
  let manager: SessionManager<unknown>;

  beforeAll(async () => {
    database = await openTestDatabase('sqlite');
    manager = new SessionManager({ store: database.store, logger: { warn: () => undefined } });
  });

  afterAll(async () => {
    await manager?.close();
    await database?.close();
  });

  const api = (cookie: unknown) =>
    new SessionApi({ manager, verifyCredentials: () => null, cookie: cookie as ConstructorParameters<typeof SessionApi>[0]['cookie'] });

  test('SessionApi.cookie exposes the resolved settings, and is undefined in header mode', () => {
    expect(api(undefined).cookie).toBeUndefined();
    expect(api(false).cookie).toBeUndefined();
    expect(api(true).cookie).toEqual({
      name: 'nilva_session',
      secureName: '__Host-nilva_session',
      sameSite: 'lax',
      trustedOrigins: [],
      tokenInBody: false,
      csrfHeaderName: 'X-CSRF-Token',
      csrfCookieName: 'nilva_csrf',
      csrfCookieSecureName: '__Host-nilva_csrf',
    });
    const custom = api({ name: 'app_sid', sameSite: 'strict', trustedOrigins: ['HTTPS://App.Example.com', 'http://127.0.0.1:5173'] });
    expect(custom.cookie).toMatchObject({
      name: 'app_sid',
      secureName: '__Host-app_sid',
      sameSite: 'strict',
      trustedOrigins: ['https://app.example.com', 'http://127.0.0.1:5173'],
    });
    expect(Object.isFrozen(custom.cookie)).toBe(true);
  });

  test('bad cookie options are TypeErrors naming the option and the bad entry', () => {
    expect(() => api('yes')).toThrow(/option "cookie" must be a boolean or an object/);
    expect(() => api({ name: '__Host-x;' })).toThrow(/"cookie.name"/);
    expect(() => api({ name: '' })).toThrow(/"cookie.name"/);
    expect(() => api({ name: 'nilva_csrf' })).toThrow(/"cookie.name"/);
    expect(() => api({ sameSite: 'Lax' })).toThrow(/"cookie.sameSite"/);
    expect(() => api({ tokenInBody: 'no' })).toThrow(/"cookie.tokenInBody"/);
    expect(() => api({ trustedOrigins: 'https://a.example' })).toThrow(/"cookie.trustedOrigins"/);
    expect(() => api({ secure: true })).toThrow(/unknown option "cookie.secure"/);
    for (const bad of [
      'https://app.example.com/',
      'https://app.example.com/path',
      'app.example.com',
      'ftp://x.example',
      'null',
      '*',
      'https://a.example:443',
    ]) {
      expect(() => api({ trustedOrigins: ['https://ok.example', bad] }), bad).toThrow(
        `option "cookie.trustedOrigins[1]" must be an origin such as "https://app.example.com" (scheme, host, optional port; no path), got ${JSON.stringify(bad)}`,
      );
    }
  });
});

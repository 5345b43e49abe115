// requireSecureTransport: credentials that crossed the network in clear text are refused with
// 403 insecure_transport before anything reads them (no password check, no token lookup), through
// Express, Fastify and Hono over real HTTP and in the web pages. Plain HTTP straight from this
// machine is accepted; a request relayed by the trusted proxy counts as secure only when the
// proxy says X-Forwarded-Proto: https. A non-loopback peer is given to api.handle/authenticate
// directly (a test on one machine connects over loopback).
import { SessionManager } from 'nilva-session';
import { type PageRequest, SessionPages } from 'nilva-session/admin';
import { type ApiRequest, INSECURE_TRANSPORT_CODE, InsecureTransportError, SessionApi } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FRAMEWORKS, PAGE_FRAMEWORKS, type RunningApp, startApp } from '../helpers/http-apps.js';
import { Client } from '../helpers/http-client.js';
import { PageClient, parseSetCookie, startPagesApp } from '../helpers/page-apps.js';
import { countQueries, type QueryCounter } from '../helpers/query-counter.js';

const REFUSAL = { detail: 'Credentials must be sent over HTTPS.', code: 'insecure_transport' };
const PUBLIC_CLIENT = '203.0.113.9';
/** What the trusted proxy on 127.0.0.1 adds for a client that came over plain HTTP. */
const RELAYED_PLAIN = { 'x-forwarded-for': PUBLIC_CLIENT, 'x-forwarded-proto': 'http' };
const RELAYED_TLS = { 'x-forwarded-for': PUBLIC_CLIENT, 'x-forwarded-proto': 'https' };
const CREDENTIALS = { username: 'alice', password: 'alice-pw' };

interface Setup {
  database: TestDatabase;
  counted: QueryCounter;
  api: SessionApi<unknown>;
  checked: string[];
}

/** A manager without a cache (every authentication reads the store, so a lookup would show) behind the trusted proxy 127.0.0.1. */
async function setUp(requireSecureTransport: boolean | undefined): Promise<Setup> {
  const database = await openTestDatabase('sqlite');
  const counted = countQueries(database);
  const checked: string[] = [];
  const manager = new SessionManager({
    store: counted.store,
    trustProxy: ['127.0.0.1'],
    loadUser: (id) => ({ id, isStaff: true }),
    logger: { warn: () => undefined },
  });
  const api = new SessionApi({
    manager,
    verifyCredentials: (username, password) => {
      checked.push(username);
      return username === CREDENTIALS.username && password === CREDENTIALS.password ? username : null;
    },
    ...(requireSecureTransport === undefined ? {} : { requireSecureTransport }),
  });
  return { database, counted, api, checked };
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  await setup?.api.manager.close();
  await setup?.database.close();
}

const apiRequest = (fields: Partial<ApiRequest>): ApiRequest => ({
  method: 'GET',
  path: 'active',
  query: new URLSearchParams(),
  authorization: undefined,
  userAgent: 'test',
  remoteAddress: PUBLIC_CLIENT,
  forwardedFor: undefined,
  contentType: undefined,
  body: undefined,
  ...fields,
});

describe('the requireSecureTransport option', () => {
  test('must be a boolean: anything else is a TypeError naming it', async () => {
    const setup = await setUp(undefined);
    try {
      for (const value of ['yes', 1, null, {}]) {
        expect(
          () =>
            new SessionApi({
              manager: setup.api.manager,
              verifyCredentials: () => null,
              requireSecureTransport: value as unknown as boolean,
            }),
        ).toThrow(/option "requireSecureTransport" must be a boolean/);
      }
      expect(
        () => new SessionApi({ manager: setup.api.manager, verifyCredentials: () => null, requireSecureTransports: true } as never),
      ).toThrow(/requireSecureTransport/);
    } finally {
      await tearDown(setup);
    }
  });

  test('is off by default: plain HTTP from a public address signs in and authenticates', async () => {
    const setup = await setUp(undefined);
    try {
      const login = await setup.api.handle(
        apiRequest({ method: 'POST', path: 'login', contentType: 'application/json', body: JSON.stringify(CREDENTIALS) }),
      );
      expect(login?.status).toBe(200);
      const { token } = JSON.parse(login?.body ?? '') as { token: string };
      expect((await setup.api.handle(apiRequest({ authorization: `Token ${token}` })))?.status).toBe(200);
    } finally {
      await tearDown(setup);
    }
  });
});

describe('api.handle and api.authenticate with requireSecureTransport', () => {
  let setup: Setup;
  let token = '';

  beforeAll(async () => {
    setup = await setUp(true);
    const login = await setup.api.handle(
      apiRequest({
        method: 'POST',
        path: 'login',
        remoteAddress: '127.0.0.1',
        contentType: 'application/json',
        body: JSON.stringify(CREDENTIALS),
      }),
    );
    token = (JSON.parse(login?.body ?? '') as { token: string }).token;
  });
  afterAll(() => tearDown(setup));

  test('from a public address over plain HTTP: 403 insecure_transport on every route, nothing read', async () => {
    setup.counted.reset();
    setup.checked.length = 0;
    const json = { contentType: 'application/json', body: JSON.stringify(CREDENTIALS) };
    for (const req of [
      apiRequest({ method: 'POST', path: 'login', ...json }),
      apiRequest({ method: 'POST', path: 'login' }),
      apiRequest({ authorization: `Token ${token}` }),
      apiRequest({ method: 'DELETE', authorization: `Token ${token}` }),
      apiRequest({ method: 'POST', path: 'logout', authorization: `Token ${token}` }),
      apiRequest({ authorization: `Token ${token}`, remoteAddress: `::ffff:${PUBLIC_CLIENT}` }),
      // X-Forwarded-Proto is believed only from the trusted proxy.
      apiRequest({ authorization: `Token ${token}`, forwardedProto: 'https' }),
      // Relayed by a proxy on this machine (here untrusted: 127.0.0.2), so not local.
      apiRequest({ authorization: `Token ${token}`, remoteAddress: '127.0.0.2', forwardedFor: PUBLIC_CLIENT }),
    ]) {
      const response = await setup.api.handle(req);
      expect(response?.status, `${req.method} ${req.path} ${req.remoteAddress}`).toBe(403);
      expect(JSON.parse(response?.body ?? '')).toEqual(REFUSAL);
      expect(response?.headers['www-authenticate']).toBeUndefined();
    }
    const outcome = await setup.api.authenticate(apiRequest({ authorization: `Token ${token}` }));
    expect(outcome?.ok).toBe(false);
    const error = outcome?.ok === false ? outcome.error : undefined;
    expect(error).toBeInstanceOf(InsecureTransportError);
    expect(error?.code).toBe('ERR_INSECURE_TRANSPORT');
    expect(JSON.parse(setup.api.error(error as InsecureTransportError).body ?? '')).toEqual(REFUSAL);
    expect(INSECURE_TRANSPORT_CODE).toBe(REFUSAL.code);
    // The token was never looked up, the password never checked.
    expect(setup.counted.statements).toEqual([]);
    expect(setup.checked).toEqual([]);
  });

  test('without credentials nothing is refused: anonymous stays anonymous', async () => {
    expect((await setup.api.handle(apiRequest({})))?.status).toBe(401);
    expect(await setup.api.authenticate(apiRequest({}))).toBeUndefined();
  });

  test('TLS, the trusted proxy saying https, or a loopback peer: accepted', async () => {
    for (const fields of [
      { encrypted: true },
      { remoteAddress: '127.0.0.1', forwardedFor: PUBLIC_CLIENT, forwardedProto: 'https' },
      { remoteAddress: '127.0.0.1', forwardedFor: PUBLIC_CLIENT, forwardedProto: 'HTTPS, http' },
      { remoteAddress: '127.0.0.1' },
      { remoteAddress: '127.8.9.10' },
      { remoteAddress: '::1' },
      { remoteAddress: '::ffff:127.0.0.5' },
    ] satisfies Array<Partial<ApiRequest>>) {
      const response = await setup.api.handle(apiRequest({ authorization: `Token ${token}`, ...fields }));
      expect(response?.status, JSON.stringify(fields)).toBe(200);
      expect((await setup.api.authenticate(apiRequest({ authorization: `Token ${token}`, ...fields })))?.ok).toBe(true);
    }
  });
});

describe.each(FRAMEWORKS)('requireSecureTransport through %s over real HTTP', (framework) => {
  let setup: Setup;
  let app: RunningApp;

  beforeAll(async () => {
    setup = await setUp(true);
    app = await startApp(framework, setup.api);
  });
  afterAll(async () => {
    await app?.close();
    await tearDown(setup);
  });

  test('plain HTTP straight from this machine: sign-in, the routes and both middlewares work', async () => {
    const client = new Client(app.url);
    const { token } = await client.login(CREDENTIALS.username, CREDENTIALS.password);
    expect((await client.request('GET', '/api/active', { token })).status).toBe(200);
    expect((await client.request('GET', '/api/me', { token })).status).toBe(200);
    expect((await client.request('GET', '/open', { token })).json).toEqual({ user: { id: 'alice', isStaff: true } });
  });

  test('relayed by the trusted proxy from a public client over plain HTTP: 403 on every credential, nothing read', async () => {
    const client = new Client(app.url);
    const { token } = await client.login(CREDENTIALS.username, CREDENTIALS.password);
    setup.counted.reset();
    setup.checked.length = 0;
    for (const headers of [RELAYED_PLAIN, { 'x-forwarded-for': PUBLIC_CLIENT }, { 'x-forwarded-proto': 'http' }]) {
      const responses = [
        await client.request('POST', '/api/login', { body: CREDENTIALS, headers }),
        await client.request('GET', '/api/active', { token, headers }),
        await client.request('DELETE', '/api/active', { token, headers }),
        await client.request('POST', '/api/logout', { token, headers }),
        await client.request('GET', '/api/me', { token, headers }),
        await client.request('GET', '/open', { token, headers }),
      ];
      for (const res of responses) {
        expect(res.status, JSON.stringify(headers)).toBe(403);
        expect(res.json).toEqual(REFUSAL);
      }
      // No credentials, nothing to refuse.
      expect((await client.request('GET', '/open', { headers })).json).toEqual({ user: null });
      expect((await client.request('GET', '/api/active', { headers })).status).toBe(401);
    }
    expect(setup.counted.statements).toEqual([]);
    expect(setup.checked).toEqual([]);
    // The session was neither used nor ended.
    expect((await client.request('GET', '/api/me', { token })).status).toBe(200);
  });

  test('relayed by the trusted proxy with X-Forwarded-Proto: https: accepted', async () => {
    const client = new Client(app.url);
    const login = await client.request('POST', '/api/login', { body: CREDENTIALS, headers: RELAYED_TLS });
    expect(login.status).toBe(200);
    const { token } = login.json as { token: string };
    expect((await client.request('GET', '/api/me', { token, headers: RELAYED_TLS })).status).toBe(200);
    expect((await client.request('GET', '/open', { token, headers: RELAYED_TLS })).json).toEqual({ user: { id: 'alice', isStaff: true } });
  });
});

describe.each(PAGE_FRAMEWORKS)('the pages with requireSecureTransport through %s', (framework) => {
  let setup: Setup;
  let pages: SessionPages<unknown>;
  let app: RunningApp;

  beforeAll(async () => {
    setup = await setUp(true);
    pages = new SessionPages({ api: setup.api, logger: { warn: (message) => console.error(message) } });
    app = await startPagesApp(framework, setup.api, pages);
  });
  afterAll(async () => {
    await app?.close();
    await tearDown(setup);
  });

  test('the session cookie and the sign-in form over plain HTTP from a public client: a 403 page, nothing read', async () => {
    const browser = new PageClient(app.url);
    expect((await browser.post('/login', CREDENTIALS)).status).toBe(303); // from this machine: fine
    expect((await browser.get('/devices')).status).toBe(200);
    setup.counted.reset();
    setup.checked.length = 0;
    const origin = { origin: browser.origin };
    for (const res of [
      await browser.get('/devices', RELAYED_PLAIN),
      await browser.post('/devices/revoke-others', {}, { ...origin, ...RELAYED_PLAIN }),
      await browser.post('/logout', {}, { ...origin, ...RELAYED_PLAIN }),
      await new PageClient(app.url).post('/login', CREDENTIALS, { ...origin, ...RELAYED_PLAIN }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toContain('HTTPS required');
      expect(res.text).toContain(REFUSAL.detail);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(setup.counted.statements).toEqual([]);
    expect(setup.checked).toEqual([]);
    // Still signed in: the refused sign-out did nothing.
    expect((await browser.get('/devices')).status).toBe(200);
  });

  test('over HTTPS at the trusted proxy: signing in sets a Secure cookie that works', async () => {
    const browser = new PageClient(app.url);
    const res = await browser.post('/login', CREDENTIALS, { origin: browser.origin.replace('http:', 'https:'), ...RELAYED_TLS });
    expect(res.status).toBe(303);
    expect(parseSetCookie(String(res.headers['set-cookie'])).attributes.has('secure')).toBe(true);
    expect((await browser.get('/devices', RELAYED_TLS)).status).toBe(200);
  });

  test('a cookie from a public peer (given to the handler directly) is refused; TLS from it is accepted', async () => {
    const browser = new PageClient(app.url);
    await browser.post('/login', CREDENTIALS);
    const request = (fields: Partial<PageRequest>): PageRequest => ({
      method: 'GET',
      path: '/devices',
      query: new URLSearchParams(),
      authorization: undefined,
      cookie: browser.cookie,
      userAgent: browser.userAgent,
      origin: undefined,
      secFetchSite: undefined,
      host: new URL(app.url).host,
      forwardedProto: undefined,
      forwardedFor: undefined,
      remoteAddress: PUBLIC_CLIENT,
      encrypted: false,
      contentType: undefined,
      body: undefined,
      ...fields,
    });
    const refused = await pages.handle(request({}));
    expect(refused?.status).toBe(403);
    expect(refused?.body).toContain(REFUSAL.detail);
    const token = browser.cookie?.split('=')[1] as string;
    const viaHeader = await pages.handle(request({ cookie: undefined, authorization: `Token ${token}` }));
    expect(viaHeader?.status).toBe(403);
    expect((await pages.handle(request({ encrypted: true })))?.status).toBe(200);
  });
});

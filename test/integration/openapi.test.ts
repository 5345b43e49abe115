// The OpenAPI document (nilva-session/openapi): valid OpenAPI 3.1 for every configuration, each
// schema valid JSON Schema 2020-12, and what a live app answers at another mount path is what
// its document says. The scenario tables check their own responses the same way.
import type { AddressInfo } from 'node:net';
import { Validator } from '@seriousme/openapi-schema-validator';
import express from 'express';
import { SessionManager, type SessionManagerOptions } from 'nilva-session';
import { nilvaExpress } from 'nilva-session/express';
import { SessionApi, type SessionApiOptions } from 'nilva-session/http';
import { type OpenApiDocument, type OpenApiOptions, openApiDocument } from 'nilva-session/openapi';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { type RunningApp, startApp } from '../helpers/http-apps.js';
import { Client, send } from '../helpers/http-client.js';
import { ContractChecker, type Exchange, recordContract } from '../helpers/openapi-responses.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const SECRET = 'openapi-test-signing-key-of-32-bytes!!';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';

type Node = Record<string, unknown>;

let database: TestDatabase;
const managers: SessionManager<unknown>[] = [];

beforeAll(async () => {
  database = await openTestDatabase('sqlite', { userIdType: 'integer' });
});

afterAll(async () => {
  for (const manager of managers) await manager.close();
  await database?.close();
});

function apiWith(
  manager: Omit<SessionManagerOptions, 'store'> = {},
  options: Omit<SessionApiOptions<unknown>, 'manager' | 'verifyCredentials'> = {},
): SessionApi<unknown> {
  const sessions = new SessionManager({ store: database.store, logger: { warn: () => undefined }, ...manager });
  managers.push(sessions);
  return new SessionApi({ manager: sessions, verifyCredentials: userCallbacks(makeUsers()).verifyCredentials, ...options });
}

/** What the OpenAPI validator and a strict JSON Schema 2020-12 compiler find wrong. */
async function problemsOf(document: OpenApiDocument): Promise<unknown[]> {
  const result = await new Validator().validate(JSON.parse(JSON.stringify(document)));
  return [...(result.valid ? [] : (result.errors as unknown[])), ...new ContractChecker(document).schemaProblems()];
}

const at = (document: OpenApiDocument, ...keys: string[]): unknown =>
  keys.reduce<unknown>((node, key) => (node as Node | undefined)?.[key], document);

const statuses = (document: OpenApiDocument, path: string, method: string) =>
  Object.keys(at(document, 'paths', path, method, 'responses') as Node);

describe('the OpenAPI document', () => {
  test('token only (the defaults): the four routes at /api, the Token scheme, no JWT routes', async () => {
    const document = openApiDocument(apiWith());
    expect(await problemsOf(document)).toEqual([]);
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: 'nilva-session API', version: '1.0.0' });
    expect(Object.keys(document.paths)).toEqual(['/api/login', '/api/logout', '/api/reauthenticate', '/api/active']);
    expect(Object.keys(at(document, 'paths', '/api/active') as Node)).toEqual(['get', 'delete']);
    expect(at(document, 'components', 'securitySchemes')).toEqual({
      tokenAuth: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'Authorization' }),
    });
    expect(at(document, 'paths', '/api/logout', 'post', 'security')).toEqual([{ tokenAuth: [] }]);
    expect(at(document, 'paths', '/api/login', 'post', 'security')).toEqual([]);
    // Throttled by default; nothing can answer 403 with these options.
    expect(statuses(document, '/api/login', 'post')).toEqual(['200', '400', '401', '413', '415', '429', '500', '503']);
    expect(statuses(document, '/api/logout', 'post')).toEqual(['204', '400', '401', '413', '500', '503']);
    expect(statuses(document, '/api/active', 'get')).toEqual(['200', '400', '401', '413', '500', '503']);
    expect(at(document, 'components', 'headers', 'Challenge', 'schema')).toEqual({ type: 'string', const: 'Token' });
    expect(at(document, 'components', 'schemas', 'TokenLogin', 'properties', 'token', 'pattern')).toBe('^[a-z0-9]{50}$');
    expect(at(document, 'components', 'schemas', 'TokenNotValid')).toBeUndefined();
    const query = (at(document, 'paths', '/api/active', 'delete', 'parameters') as Node[]).map((p) => [p.name, p.schema]);
    expect(query).toEqual([
      ['token_id', { type: 'array', items: { type: 'string', format: 'uuid' }, maxItems: 1000 }],
      ['scope', { type: 'string', enum: ['all', 'others'] }],
    ]);
    const paging = (at(document, 'paths', '/api/active', 'get', 'parameters') as Node[]).map((p) => [p.name, p.schema]);
    expect(paging).toEqual([
      ['limit', { type: 'integer', minimum: 1, maximum: 1000 }],
      ['cursor', { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' }],
    ]);
    expect(JSON.parse(JSON.stringify(document))).toEqual(document);
  });

  test('JWT on with Bearer first and rotation: the token routes, the http bearer scheme, the Bearer challenge', async () => {
    const document = openApiDocument(
      apiWith({ jwt: { signingKey: SECRET, rotateRefreshTokens: true }, schemes: ['bearer', 'token'], tokenSize: 64 }),
    );
    expect(await problemsOf(document)).toEqual([]);
    expect(Object.keys(document.paths)).toEqual([
      '/api/login',
      '/api/logout',
      '/api/reauthenticate',
      '/api/active',
      '/api/token',
      '/api/token/refresh',
      '/api/token/blacklist',
    ]);
    expect(at(document, 'components', 'securitySchemes', 'bearerAuth')).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(at(document, 'paths', '/api/active', 'get', 'security')).toEqual([{ bearerAuth: [] }, { tokenAuth: [] }]);
    expect(at(document, 'components', 'headers', 'Challenge', 'schema', 'const')).toBe('Bearer realm="api"');
    expect(at(document, 'components', 'headers', 'RefreshChallenge', 'schema', 'const')).toBe('Bearer realm="api"');
    expect(at(document, 'components', 'schemas', 'RefreshedAccess', 'required')).toEqual(['access', 'refresh']);
    expect(at(document, 'components', 'schemas', 'TokenLogin', 'properties', 'token', 'pattern')).toBe('^[a-z0-9]{64}$');
    expect(at(document, 'components', 'schemas', 'TokenNotValid')).toBeDefined();
    expect(statuses(document, '/api/token/refresh', 'post')).toEqual(['200', '400', '401', '413', '415', '429', '500', '503']);
    // reauthenticate answers the shape of the session's sign-in.
    expect(at(document, 'paths', '/api/reauthenticate', 'post', 'responses', '200', 'content', 'application/json', 'schema')).toEqual({
      oneOf: [{ $ref: '#/components/schemas/TokenLogin' }, { $ref: '#/components/schemas/TokenPair' }],
    });
  });

  test('renamed schemes, generic errors, no throttle, HTTPS required and a refusing session limit', async () => {
    const document = openApiDocument(
      apiWith(
        {
          jwt: { signingKey: SECRET },
          tokenKeyword: 'Session',
          bearerKeyword: 'JWT',
          genericErrors: true,
          maxSessionsPerUser: 3,
          sessionLimitAction: 'refuse',
        },
        { throttle: false, requireSecureTransport: true, maxTokenIds: 50, onVerifyCredentialsError: () => undefined },
      ),
    );
    expect(await problemsOf(document)).toEqual([]);
    expect(at(document, 'components', 'securitySchemes', 'bearerAuth')).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
    });
    expect(String(at(document, 'components', 'securitySchemes', 'tokenAuth', 'description'))).toContain('Authorization: Session <token>');
    expect(at(document, 'components', 'headers', 'Challenge', 'schema', 'const')).toBe('Session');
    expect(at(document, 'components', 'headers', 'RefreshChallenge', 'schema', 'const')).toBe('JWT realm="api"');
    // Generic errors: an invalid JWT is answered `Invalid token.`, never simplejwt's shape.
    expect(at(document, 'components', 'schemas', 'TokenNotValid')).toBeUndefined();
    expect(at(document, 'components', 'responses', 'TooManyRequests')).toBeUndefined();
    expect(statuses(document, '/api/login', 'post')).toEqual(['200', '400', '401', '403', '413', '415', '500', '503', 'default']);
    expect(statuses(document, '/api/token/refresh', 'post')).toEqual(['200', '400', '401', '403', '413', '415', '500', '503']);
    const codes = (path: string, method: string) =>
      at(document, 'paths', path, method, 'responses', '403', 'content', 'application/json', 'schema', 'properties', 'code', 'enum');
    expect(codes('/api/login', 'post')).toEqual(['insecure_transport', 'session_limit']);
    expect(codes('/api/token', 'post')).toEqual(['insecure_transport', 'session_limit']);
    expect(codes('/api/logout', 'post')).toEqual(['insecure_transport']);
    expect(codes('/api/reauthenticate', 'post')).toEqual(['insecure_transport']);
    expect(at(document, 'paths', '/api/active', 'delete', 'parameters', '0', 'schema', 'maxItems')).toBe(50);
  });

  test('cookie mode: the cookie schemes, the CSRF header, Set-Cookie, csrf_failed and the sign-in body without the token', async () => {
    const document = openApiDocument(apiWith({ jwt: { signingKey: SECRET } }, { cookie: { trustedOrigins: ['https://app.example.com'] } }));
    expect(await problemsOf(document)).toEqual([]);
    expect(at(document, 'components', 'securitySchemes', 'sessionCookie')).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: 'nilva_session',
    });
    expect(at(document, 'components', 'securitySchemes', 'secureSessionCookie')).toMatchObject({
      in: 'cookie',
      name: '__Host-nilva_session',
    });
    expect(at(document, 'paths', '/api/logout', 'post', 'security')).toEqual([
      { tokenAuth: [] },
      { bearerAuth: [] },
      { sessionCookie: [] },
      { secureSessionCookie: [] },
    ]);
    const headerParameters = (path: string, method: string) =>
      ((at(document, 'paths', path, method, 'parameters') as Node[] | undefined) ?? []).filter((p) => p.in === 'header').map((p) => p.name);
    expect(headerParameters('/api/logout', 'post')).toEqual(['X-CSRF-Token']);
    expect(headerParameters('/api/active', 'delete')).toEqual(['X-CSRF-Token']);
    expect(headerParameters('/api/active', 'get')).toEqual([]);
    expect(at(document, 'paths', '/api/login', 'post', 'responses', '200', 'headers', 'Set-Cookie', 'required')).toBe(true);
    expect(at(document, 'paths', '/api/logout', 'post', 'responses', '204', 'headers', 'Set-Cookie', 'required')).toBe(false);
    expect(at(document, 'components', 'schemas', 'CookieSignIn', 'required')).toEqual(['session_id', 'expire_at', 'csrf_token']);
    const codes = (path: string, method: string) =>
      at(document, 'paths', path, method, 'responses', '403', 'content', 'application/json', 'schema', 'properties', 'code', 'enum');
    expect(codes('/api/login', 'post')).toEqual(['csrf_failed']);
    expect(codes('/api/logout', 'post')).toEqual(['csrf_failed']);
    expect(codes('/api/active', 'delete')).toEqual(['csrf_failed']);
    // Neither checked for CSRF: a GET changes nothing, and the token routes set no cookie.
    expect(codes('/api/active', 'get')).toBeUndefined();
    expect(codes('/api/token', 'post')).toBeUndefined();
    const withToken = openApiDocument(apiWith({}, { cookie: { tokenInBody: true } }));
    expect(await problemsOf(withToken)).toEqual([]);
    expect(at(withToken, 'components', 'schemas', 'CookieSignIn', 'required')).toEqual(['token', 'session_id', 'expire_at', 'csrf_token']);
    expect(at(withToken, 'components', 'schemas', 'CookieSignInWithToken')).toBeUndefined();
  });

  test('another mount path, title, version, description and servers', async () => {
    const api = apiWith();
    const options: OpenApiOptions = {
      mountPath: '/v1/auth/',
      title: 'Accounts',
      version: '2.3.0',
      description: 'Sign-in and sessions.',
      servers: [{ url: 'https://accounts.example.com', description: 'production' }],
    };
    const document = openApiDocument(api, options);
    expect(await problemsOf(document)).toEqual([]);
    expect(Object.keys(document.paths)).toEqual(['/v1/auth/login', '/v1/auth/logout', '/v1/auth/reauthenticate', '/v1/auth/active']);
    expect(document.info).toEqual({ title: 'Accounts', version: '2.3.0', description: 'Sign-in and sessions.' });
    expect(document.servers).toEqual([{ url: 'https://accounts.example.com', description: 'production' }]);
    expect(Object.keys(openApiDocument(api, { mountPath: '/' }).paths)[0]).toBe('/login');
    expect(Object.keys(openApiDocument(api, { mountPath: 'auth' }).paths)[0]).toBe('/auth/login');
  });

  test('refuses an unknown option, a malformed mount path and a server without a url, naming them', () => {
    const api = apiWith();
    expect(() => openApiDocument(api, { mountpath: '/x' } as OpenApiOptions)).toThrow(
      /unknown option "mountpath".*did you mean "mountPath"/,
    );
    for (const mountPath of ['/api/{id}', '/api?x=1', '/my api', '/a#b']) {
      expect(() => openApiDocument(api, { mountPath })).toThrow(/option "mountPath" must be a URL path/);
    }
    expect(() => openApiDocument(api, { servers: [{ url: '' }] })).toThrow(/servers\[0\]/);
    expect(() => openApiDocument(api, { title: '' })).toThrow(/"title" must be a non-empty string/);
    expect(() => openApiDocument({} as SessionApi<unknown>)).toThrow(/needs a SessionApi/);
  });
});

describe('the drift check', () => {
  const response = (status: number, body: unknown, headers: Record<string, string> = {}): Exchange['response'] => {
    const text = body === undefined ? '' : JSON.stringify(body);
    return {
      status,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      text,
      json: body,
    };
  };

  test('names the method, path and status of an undocumented route, method, status, header or body', () => {
    const document = openApiDocument(apiWith());
    const checker = new ContractChecker(document);
    const exchanges: Exchange[] = [
      { method: 'GET', path: '/api/logins', response: response(404, { detail: 'x' }) },
      { method: 'PUT', path: '/api/login', response: response(200, {}) },
      { method: 'PUT', path: '/api/active', response: response(405, { detail: 'Method "PUT" not allowed.' }, { allow: 'GET' }) },
      { method: 'POST', path: '/api/login', response: response(418, { detail: 'teapot' }) },
      { method: 'GET', path: '/api/active', response: response(401, { detail: 'Authentication credentials were not provided.' }) },
      { method: 'POST', path: '/api/login', response: response(400, { username: 'not a list' }) },
      { method: 'POST', path: '/api/logout', response: response(204, { detail: 'a body' }) },
      { method: 'GET', path: '/api/me', response: response(418, undefined) },
    ];
    expect(checker.problems(exchanges, ['/api/me'])).toEqual([
      'GET /api/logins → 404: no such route in the document',
      'PUT /api/login → 200: the document has no PUT here, and the answer is not a 405',
      'PUT /api/active → 405: Allow "GET" is not the documented methods "GET, DELETE"',
      'POST /api/login → 418: status 418 is not documented (documented: 200, 400, 401, 413, 415, 429, 500, 503)',
      'GET /api/active → 401: header WWW-Authenticate is missing',
      expect.stringMatching(/^POST \/api\/login → 400: the body \{"username":"not a list"\} does not match the document: .*must be array/),
      'POST /api/logout → 204: the document says no body, got "{\\"detail\\":\\"a body\\"}"',
    ]);
  });

  test('accepts what the contract answers', () => {
    const checker = new ContractChecker(openApiDocument(apiWith()));
    const exchanges: Exchange[] = [
      { method: 'PUT', path: '/api/active/', response: response(405, { detail: 'Method "PUT" not allowed.' }, { allow: 'GET, DELETE' }) },
      {
        method: 'GET',
        path: '/api/active',
        response: response(401, { detail: 'Authentication credentials were not provided.' }, { 'www-authenticate': 'Token' }),
      },
      {
        method: 'POST',
        path: '/api/login',
        response: response(429, { detail: 'Request was throttled. Expected available in 3 seconds.' }, { 'retry-after': '3' }),
      },
      { method: 'POST', path: '/api/logout', response: response(204, undefined) },
      // A protected path checks the credentials before the method.
      {
        method: 'PUT',
        path: '/api/active',
        response: response(401, { detail: 'Authentication credentials were not provided.' }, { 'www-authenticate': 'Token' }),
      },
    ];
    expect(checker.problems(exchanges, [])).toEqual([]);
  });
});

describe('a live app in cookie mode', () => {
  let app: RunningApp;
  let api: SessionApi<unknown>;

  beforeAll(async () => {
    api = apiWith({}, { cookie: { trustedOrigins: ['http://app.example.test'] } });
    app = await startApp('express', api);
  });

  afterAll(async () => {
    await app?.close();
  });

  test('answers only what its document says: cookies set and cleared, CSRF refusals, conflicting credentials', async () => {
    const recorded = recordContract(app.url, openApiDocument(api));
    try {
      const client = new Client(app.url, FIREFOX);
      const evil = { origin: 'http://evil.example.test' };
      const credentials = { username: 'carol', password: 'carol-password' };
      expect((await client.request('POST', '/api/login', { body: credentials, headers: evil })).status).toBe(403);
      const login = await client.request('POST', '/api/login', { body: credentials });
      expect(login.status).toBe(200);
      const token = /nilva_session=([a-z0-9]+)/.exec(String(login.headers['set-cookie']))?.[1] as string;
      const { csrf_token } = login.json as { csrf_token: string };
      const cookie = { cookie: `nilva_session=${token}` };
      expect((await client.request('GET', '/api/active', { headers: cookie })).status).toBe(200);
      expect((await client.request('DELETE', '/api/active?scope=others', { headers: { ...cookie, ...evil } })).status).toBe(403);
      expect(
        (await client.request('DELETE', '/api/active?scope=others', { headers: { ...cookie, 'x-csrf-token': csrf_token } })).status,
      ).toBe(204);
      const renewed = await client.request('POST', '/api/reauthenticate', {
        token,
        headers: cookie,
        body: credentials,
      });
      expect(renewed.status).toBe(200);
      const fresh = (renewed.json as { token: string }).token;
      // Two session cookies of different tokens: which one is meant cannot be told.
      const twoCookies = { cookie: `nilva_session=${fresh}; nilva_session=${token}` };
      expect((await client.request('GET', '/api/active', { headers: twoCookies })).status).toBe(400);
      expect((await client.request('GET', '/api/active', { headers: { cookie: 'nilva_session=a-b' } })).status).toBe(401);
      expect((await client.request('GET', '/api/active', { headers: cookie })).status).toBe(401);
      const freshCookie = { cookie: `nilva_session=${fresh}`, 'sec-fetch-site': 'same-origin' };
      expect((await client.request('POST', '/api/logout', { headers: freshCookie })).status).toBe(204);
      expect(recorded.exchanges.length).toBe(10);
      expect(recorded.problems()).toEqual([]);
    } finally {
      recorded.stop();
    }
  });
});

describe('a live app at another mount path', () => {
  let server: ReturnType<ReturnType<typeof express>['listen']>;
  let url = '';
  let api: SessionApi<unknown>;

  beforeAll(async () => {
    api = apiWith({ jwt: { signingKey: SECRET } });
    const app = express();
    app.use('/v1/auth', nilvaExpress(api).routes);
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(() => resolve(undefined)));
  });

  test('answers only what its document says, on every route', async () => {
    const recorded = recordContract(url, openApiDocument(api, { mountPath: '/v1/auth' }), []);
    try {
      const client = new Client(url, FIREFOX);
      const p = (route: string) => `/v1/auth/${route}`;
      const login = await client.request('POST', p('login'), { body: { username: 'alice', password: 'alice-password' } });
      expect(login.status).toBe(200);
      const { token, session_id } = login.json as { token: string; session_id: string };
      await client.request('POST', p('login'), { body: { username: 'alice', password: 'alice-password' } });
      await client.request('POST', p('login/'), {
        body: 'username=alice&password=nope',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      await client.request('POST', p('login'), { body: { username: null } });
      await client.request('POST', p('login'), { body: '[1]' });
      await client.request('POST', p('login'), { body: '{' });
      await client.request('POST', p('login'), { body: 'x', headers: { 'content-type': 'text/xml' } });
      await client.request('POST', p('login'), { body: 'x'.repeat(70_000) });
      await client.request('PUT', p('login'));
      await client.request('PUT', p('active'));
      await client.request('HEAD', p('active'), { token });
      await client.request('PATCH', p('active'), { token });
      await client.request('GET', p('active'));
      await client.request('GET', p('active'), { headers: { authorization: 'Token a b' } });
      await client.request('GET', p('active'), { token });
      const first = await client.request('GET', `${p('active')}?limit=1`, { token });
      expect(first.headers.link).toMatch(/rel="next"/);
      await client.request('GET', `${p('active')}?limit=0`, { token });
      await client.request('GET', `${p('active')}?limit=1&cursor=!!`, { token });
      await client.request('DELETE', `${p('active')}?token_id=nope`, { token });
      await client.request('DELETE', `${p('active')}?scope=others&token_id=${session_id}`, { token });
      await client.request('POST', p('reauthenticate'), { token, body: { username: 'alice', password: 'nope' } });
      const renewed = await client.request('POST', p('reauthenticate'), { token, body: { username: 'alice', password: 'alice-password' } });
      expect(renewed.status).toBe(200);
      const fresh = (renewed.json as { token: string }).token;
      await client.request('DELETE', `${p('active')}?scope=others`, { token: fresh });
      await client.request('POST', p('logout'), { token: fresh });
      await client.request('POST', p('logout'), { token: fresh });
      const pair = await client.request('POST', p('token'), { body: { username: 'bob', password: 'bob-password' } });
      expect(pair.status).toBe(200);
      const { refresh, access } = pair.json as { refresh: string; access: string };
      await send(url, { path: p('active'), headers: { authorization: `Bearer ${access}`, 'user-agent': FIREFOX } });
      await send(url, { path: p('active'), headers: { authorization: 'Bearer not.a.jwt', 'user-agent': FIREFOX } });
      await send(url, { path: p('active'), headers: { authorization: 'Bearer a b', 'user-agent': FIREFOX } });
      await send(url, {
        method: 'POST',
        path: p('reauthenticate'),
        headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json', 'user-agent': FIREFOX },
        body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
      });
      await client.request('POST', p('token/refresh'), { body: { refresh } });
      await client.request('POST', p('token/refresh'), { body: { refresh: access } });
      await client.request('POST', p('token/refresh'), { body: {} });
      await client.request('POST', p('token/blacklist'), { body: { refresh } });
      await client.request('GET', p('token/blacklist'));
      const seen = new Set(recorded.exchanges.map((e) => e.response.status));
      expect([...seen].sort()).toEqual([200, 204, 400, 401, 405, 413, 415]);
      expect(recorded.exchanges.length).toBe(35);
      expect(recorded.problems()).toEqual([]);
    } finally {
      recorded.stop();
    }
  });
});

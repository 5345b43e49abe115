// JWT access/refresh pairs bound to sessions, over HTTP, through every framework and database.
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SessionApi } from '../../src/http/session-api.js';
import { openApiDocument } from '../../src/openapi/document.js';
import { DIALECTS, openTestDatabase } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FRAMEWORKS, type Framework, startApp } from '../helpers/http-apps.js';
import { Client, send, type TestResponse } from '../helpers/http-client.js';
import { recordContract } from '../helpers/openapi-responses.js';
import { type TestUser, userCallbacks } from '../helpers/users.js';

const SECRET = 'test-signing-key-of-at-least-32-bytes!';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

interface Pair {
  refresh: string;
  access: string;
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function harness(dialect: (typeof DIALECTS)[number], framework: Framework, rotateRefreshTokens: boolean, clock = new FakeClock()) {
  const database = await openTestDatabase(dialect, { userIdType: 'integer' });
  const users = new Map<string, TestUser>();
  const callbacks = userCallbacks(users);
  const manager = new SessionManager({
    store: database.store,
    cache: new MemorySessionCache(),
    loadUser: callbacks.loadUser,
    jwt: { signingKey: SECRET, rotateRefreshTokens, rotationGraceSeconds: 5 },
    clock: clock.now,
    logger: { warn: () => undefined },
  });
  const api = new SessionApi({ manager, verifyCredentials: callbacks.verifyCredentials });
  const app = await startApp(framework, api);
  const contract = recordContract(app.url, openApiDocument(api));
  let seq = 5000;
  return {
    database,
    manager,
    app,
    contract,
    newUser(): TestUser {
      const id = seq++;
      const user = { id, username: `jwt${id}`, password: `pw-${id}`, isActive: true };
      users.set(user.username, user);
      return user;
    },
    async obtain(user: TestUser, userAgent = FIREFOX): Promise<Pair> {
      const res = await new Client(app.url, userAgent).request('POST', '/api/token', {
        body: { username: user.username, password: user.password },
      });
      expect(res.status).toBe(200);
      return res.json as Pair;
    },
    bearer(path: string, access: string, options: { method?: string; userAgent?: string } = {}): Promise<TestResponse> {
      return send(app.url, {
        method: options.method ?? 'GET',
        path,
        headers: { authorization: `Bearer ${access}`, 'user-agent': options.userAgent ?? FIREFOX },
      });
    },
    post(path: string, body: unknown): Promise<TestResponse> {
      return new Client(app.url).request('POST', path, { body });
    },
    async close() {
      contract.stop();
      await app.close();
      await manager.close();
      await database.close();
    },
  };
}

const tokenNotValid = (message: string) => ({
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message }],
});

describe.each(DIALECTS)('JWT pairs on %s', (dialect) => {
  describe.each(FRAMEWORKS)('through %s', (framework) => {
    let h: Awaited<ReturnType<typeof harness>>;
    beforeAll(async () => {
      h = await harness(dialect, framework, false);
    });
    afterAll(async () => {
      await h?.close();
    });

    test('POST token returns a simplejwt pair bound to a new session; access lives 300 s', async () => {
      const user = h.newUser();
      const { refresh, access } = await h.obtain(user);
      const a = decodeJwt(access);
      const r = decodeJwt(refresh);
      expect(Object.keys(a)).toEqual(['token_type', 'exp', 'iat', 'jti', 'user_id', 'session_id']);
      expect(a.token_type).toBe('access');
      expect(r.token_type).toBe('refresh');
      expect((a.exp as number) - (a.iat as number)).toBe(300);
      expect((r.exp as number) - (r.iat as number)).toBe(86_400);
      expect(a.user_id).toBe(user.id);
      expect(a.session_id).toBe(r.session_id);
      expect(await h.database.store.findById(a.session_id as string)).toMatchObject({ userId: user.id, isActive: true });
    });

    test('Bearer authenticates, lists sessions, and DELETE active?token_id= works under Bearer', async () => {
      const user = h.newUser();
      const mine = await h.obtain(user);
      const other = await h.obtain(user);
      expect((await h.bearer('/api/me', mine.access)).status).toBe(200);
      const list = await h.bearer('/api/active', mine.access);
      expect(list.status).toBe(200);
      const items = list.json as Array<{ session_id: string; is_current: boolean }>;
      expect(items.length).toBe(2);
      expect(items.find((s) => s.is_current)?.session_id).toBe(decodeJwt(mine.access).session_id);
      const otherId = decodeJwt(other.access).session_id as string;
      const del = await h.bearer(`/api/active?token_id=${otherId}`, mine.access, { method: 'DELETE' });
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      expect((await h.bearer('/api/me', other.access)).json).toEqual({ detail: 'User is suspended.' });
      expect((await h.bearer('/api/me', mine.access)).status).toBe(200);
    });

    test('refresh returns a working access token; the session stays usable', async () => {
      const user = h.newUser();
      const { refresh } = await h.obtain(user);
      const res = await h.post('/api/token/refresh', { refresh });
      expect(res.status).toBe(200);
      const body = res.json as { access: string };
      expect(Object.keys(body)).toEqual(['access']);
      for (let i = 0; i < 10; i++) expect((await h.bearer('/api/me', body.access)).status).toBe(200);
      expect((await h.post('/api/token/refresh', { refresh })).status).toBe(200);
    });

    test('blacklist ends the session at once: access and refresh tokens both fail', async () => {
      const user = h.newUser();
      const { refresh, access } = await h.obtain(user);
      expect((await h.bearer('/api/me', access)).status).toBe(200);
      const res = await h.post('/api/token/blacklist', { refresh });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({});
      const me = await h.bearer('/api/me', access);
      expect(me.status).toBe(401);
      expect(me.json).toEqual({ detail: 'User is suspended.' });
      const again = await h.post('/api/token/refresh', { refresh });
      expect(again.status).toBe(401);
      expect(again.json).toEqual({ detail: 'Token is blacklisted', code: 'token_not_valid' });
      expect(again.headers['www-authenticate']).toBe('Bearer realm="api"');
    });

    test('tampered, alg none and refresh-as-access tokens get 401 token_not_valid', async () => {
      const user = h.newUser();
      const { refresh, access } = await h.obtain(user);
      const [, payload, signature] = access.split('.') as [string, string, string];
      const claims = decodeJwt(access);
      const tampered = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, user_id: 1 })}.${signature}`;
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
      for (const [token, message] of [
        [tampered, 'Token is invalid'],
        [none, 'Token is invalid'],
        [refresh, 'Token has wrong type'],
        ['not.a.jwt', 'Token is invalid'],
      ] as const) {
        const res = await h.bearer('/api/me', token);
        expect(res.status).toBe(401);
        expect(res.json).toEqual(tokenNotValid(message));
        expect(res.headers['www-authenticate']).toBe('Token');
      }
      // An access token sent to refresh: simplejwt's own answer, which names the reason.
      const asRefresh = await h.post('/api/token/refresh', { refresh: access });
      expect(asRefresh.status).toBe(401);
      expect(asRefresh.json).toEqual({ detail: 'Token has wrong type', code: 'token_not_valid' });
      expect(asRefresh.headers['www-authenticate']).toBe('Bearer realm="api"');
      const asBlacklist = await h.post('/api/token/blacklist', { refresh: access });
      expect(asBlacklist.json).toEqual({ detail: 'Token has wrong type', code: 'token_not_valid' });
    });

    test('Bearer with other than two words gets bad_authorization_header; lower-case bearer is not Bearer', async () => {
      const res = await send(h.app.url, { path: '/api/me', headers: { authorization: 'Bearer a b' } });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({
        detail: 'Authorization header must contain two space-delimited values',
        code: 'bad_authorization_header',
      });
      const lower = await send(h.app.url, { path: '/api/me', headers: { authorization: 'bearer abc' } });
      expect(lower.json).toEqual({ detail: 'Authentication credentials were not provided.' });
    });

    test('a user-agent change suspends a JWT session, for both schemes', async () => {
      const user = h.newUser();
      const { access } = await h.obtain(user, FIREFOX);
      expect((await h.bearer('/api/me', access)).status).toBe(200);
      const changed = await h.bearer('/api/me', access, { userAgent: CHROME });
      expect(changed.status).toBe(401);
      expect(changed.json).toEqual({ detail: 'User session is suspended.' });
      expect((await h.bearer('/api/me', access)).json).toEqual({ detail: 'User is suspended.' });
    });

    test('a signed token without the session claim, or naming another user’s session, is refused', async () => {
      const alice = h.newUser();
      const bob = h.newUser();
      const a = decodeJwt((await h.obtain(alice)).access);
      const now = Math.floor(Date.now() / 1000);
      const sign = (claims: Record<string, unknown>) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(Buffer.from(SECRET));
      const base = { token_type: 'access', exp: now + 300, iat: now, jti: 'f'.repeat(32), user_id: alice.id };
      const noClaim = await h.bearer('/api/me', await sign(base));
      expect(noClaim.json).toEqual({ detail: 'Token contained no recognizable session identification', code: 'token_not_valid' });
      const foreign = await h.bearer('/api/me', await sign({ ...base, user_id: bob.id, session_id: a.session_id }));
      expect(foreign.json).toEqual({ detail: 'Session not found.' });
      const missing = await h.bearer('/api/me', await sign({ ...base, session_id: crypto.randomUUID() }));
      expect(missing.json).toEqual({ detail: 'Session not found.' });
      const notUuid = await h.bearer('/api/me', await sign({ ...base, session_id: "' OR 1=1 --" }));
      expect(notUuid.status).toBe(401);
      expect(notUuid.json).toEqual({ detail: 'Session not found.' });
    });

    test('refresh for a revoked, deleted or foreign session is 401, never 500', async () => {
      const user = h.newUser();
      const { refresh, access } = await h.obtain(user);
      const sessionId = decodeJwt(access).session_id as string;
      await h.manager.revokeSession(sessionId, 'admin');
      const revoked = await h.post('/api/token/refresh', { refresh });
      expect(revoked.status).toBe(401);
      expect(revoked.json).toEqual({ detail: 'Token is invalid or expired', code: 'token_not_valid' });
      await h.database.store.deleteExpired({ before: new Date(0), inactiveBefore: new Date(Date.now() + 1000), limit: 1000 });
      const deleted = await h.post('/api/token/refresh', { refresh });
      expect(deleted.status).toBe(401);
      const missing = await h.post('/api/token/refresh', {});
      expect(missing.status).toBe(400);
      expect(missing.json).toEqual({ refresh: ['This field is required.'] });
    });

    test('every response above is one the OpenAPI document describes (nilva-session/openapi)', () => {
      expect(h.contract.problems()).toEqual([]);
    });
  });
});

describe.each(DIALECTS)('refresh rotation on %s', (dialect) => {
  let h: Awaited<ReturnType<typeof harness>>;
  const clock = new FakeClock();
  beforeAll(async () => {
    h = await harness(dialect, 'fastify', true, clock);
  });
  afterAll(async () => {
    await h?.close();
  });

  test('each refresh returns a new pair; the session stays active', async () => {
    const user = h.newUser();
    let { refresh } = await h.obtain(user);
    for (let i = 0; i < 3; i++) {
      const res = await h.post('/api/token/refresh', { refresh });
      expect(res.status).toBe(200);
      const body = res.json as Pair;
      expect(Object.keys(body)).toEqual(['access', 'refresh']);
      expect(body.refresh).not.toBe(refresh);
      expect((await h.bearer('/api/me', body.access)).status).toBe(200);
      refresh = body.refresh;
    }
  });

  test('N parallel refreshes with one token: exactly one succeeds, and a later reuse revokes the session', async () => {
    const user = h.newUser();
    const { refresh, access } = await h.obtain(user);
    const results = await Promise.all(Array.from({ length: 12 }, () => h.post('/api/token/refresh', { refresh })));
    const winners = results.filter((r) => r.status === 200);
    expect(winners.length).toBe(1);
    expect(results.filter((r) => r.status === 401).length).toBe(11);
    const fresh = winners[0]?.json as Pair;
    expect((await h.bearer('/api/me', fresh.access)).status).toBe(200);
    // Within the grace window the losers were refused without ending the session.
    expect(await h.database.store.findById(decodeJwt(access).session_id as string)).toMatchObject({ isActive: true });
    // Past it, the rotated-out token comes back: theft detection ends the session.
    clock.advance(5000);
    const reuse = await h.post('/api/token/refresh', { refresh });
    expect(reuse.status).toBe(401);
    const sessionId = decodeJwt(access).session_id as string;
    expect(await h.database.store.findById(sessionId)).toMatchObject({ isActive: false });
    expect((await h.bearer('/api/me', fresh.access)).status).toBe(401);
    expect((await h.post('/api/token/refresh', { refresh: fresh.refresh })).status).toBe(401);
  });

  test('every response above is one the OpenAPI document describes (nilva-session/openapi)', () => {
    expect(h.contract.problems()).toEqual([]);
  });
});

describe('WWW-Authenticate names the first configured scheme', () => {
  test('Bearer realm="api" when bearer comes first', async () => {
    const database = await openTestDatabase('sqlite');
    const manager = new SessionManager({ store: database.store, jwt: { signingKey: SECRET }, schemes: ['bearer', 'token'] });
    const api = new SessionApi({ manager, verifyCredentials: () => null });
    const app = await startApp('fastify', api);
    const contract = recordContract(app.url, openApiDocument(api));
    try {
      const res = await send(app.url, { path: '/api/active' });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
      expect(contract.problems()).toEqual([]);
    } finally {
      contract.stop();
      await app.close();
      await manager.close();
      await database.close();
    }
  });
});

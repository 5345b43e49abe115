// One scenario table, driven through Express, Fastify and Hono on SQLite, PostgreSQL and
// MariaDB: the HTTP contract (docs/contract.md) for opaque tokens, seen from outside over HTTP.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import type { SessionEvent } from '../../src/core/events.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SessionApi } from '../../src/http/session-api.js';
import { openApiDocument } from '../../src/openapi/document.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FRAMEWORKS, type RunningApp, startApp } from '../helpers/http-apps.js';
import { Client, send } from '../helpers/http-client.js';
import { recordContract } from '../helpers/openapi-responses.js';
import { type TestUser, userCallbacks } from '../helpers/users.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const FIREFOX_NEXT = 'Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each(DIALECTS)('HTTP contract on %s', (dialect) => {
  describe.each(FRAMEWORKS)('through %s', (framework) => {
    let database: TestDatabase;
    let app: RunningApp;
    let manager: SessionManager<unknown>;
    const clock = new FakeClock();
    const users = new Map<string, TestUser>();
    const events: SessionEvent[] = [];
    let nextUserId = 1000;
    let client: Client;
    let contract: ReturnType<typeof recordContract>;

    /** A fresh user per test, so counts are exact while tests share one table. */
    function newUser(): TestUser {
      const id = nextUserId++;
      const user = { id, username: `user${id}`, password: `pw-${id}`, isActive: true };
      users.set(user.username, user);
      return user;
    }

    async function login(user: TestUser, userAgent = FIREFOX, localAddress?: string) {
      const res = await new Client(app.url, userAgent).request('POST', '/api/login', {
        body: { username: user.username, password: user.password },
        ...(localAddress === undefined ? {} : { localAddress }),
      });
      expect(res.status).toBe(200);
      return res.json as { token: string; session_id: string; expire_at: string };
    }

    async function rows(): Promise<Array<Record<string, unknown>>> {
      const result = await sql<Record<string, unknown>>`select * from ${sql.table(database.tableName)}`.execute(database.db);
      return result.rows;
    }

    async function row(id: string): Promise<Record<string, unknown> | undefined> {
      return (await rows()).find((r) => String(r.id).toLowerCase() === id);
    }

    beforeAll(async () => {
      database = await openTestDatabase(dialect, { userIdType: 'integer' });
      const callbacks = userCallbacks(users);
      manager = new SessionManager({
        store: database.store,
        cache: new MemorySessionCache(),
        loadUser: callbacks.loadUser,
        clock: clock.now,
        touchFlushIntervalMs: 20,
        onEvent: (e) => events.push(e),
        logger: { warn: () => undefined },
      });
      // 300 ids fit in Node's 16 KiB header limit; the default of 1000 suits larger limits.
      const api = new SessionApi({ manager, verifyCredentials: callbacks.verifyCredentials, maxTokenIds: 300 });
      app = await startApp(framework, api);
      contract = recordContract(app.url, openApiDocument(api));
      client = new Client(app.url);
    });

    afterAll(async () => {
      contract?.stop();
      await app?.close();
      await manager?.close();
      await database?.close();
    });

    describe('login', () => {
      test('returns a 50-character token, the session id and the expiry one day ahead', async () => {
        const user = newUser();
        const res = await client.request('POST', '/api/login', { body: { username: user.username, password: user.password } });
        expect(res.status).toBe(200);
        const body = res.json as { token: string; session_id: string; expire_at: string };
        expect(Object.keys(body)).toEqual(['token', 'session_id', 'expire_at']);
        expect(body.token).toMatch(/^[a-z0-9]{50}$/);
        expect(body.session_id).toMatch(/^[0-9a-f-]{36}$/);
        expect(Date.parse(body.expire_at) - clock.now()).toBe(86_400_000);
        expect(res.headers['cache-control']).toBe('no-store');
      });

      test('refuses wrong credentials with the simplejwt message', async () => {
        const user = newUser();
        const res = await client.request('POST', '/api/login', { body: { username: user.username, password: 'nope' } });
        expect(res.status).toBe(401);
        expect(res.json).toEqual({ detail: 'No active account found with the given credentials' });
      });

      test('answers 400 per field for missing, null, blank and mistyped fields', async () => {
        let res = await client.request('POST', '/api/login', { body: { username: 'alice' } });
        expect(res.status).toBe(400);
        expect(res.json).toEqual({ password: ['This field is required.'] });
        res = await client.request('POST', '/api/login', { body: { username: null, password: ['x'] } });
        expect(res.json).toEqual({ username: ['This field may not be null.'], password: ['Not a valid string.'] });
        res = await client.request('POST', '/api/login', { body: { username: '  ', password: '' } });
        expect(res.json).toEqual({ username: ['This field may not be blank.'], password: ['This field may not be blank.'] });
      });

      test('answers 400, never 500, for hostile bodies', async () => {
        let res = await client.request('POST', '/api/login', { body: '{"username": "alice",' });
        expect(res.status).toBe(400);
        expect((res.json as { detail: string }).detail).toMatch(/^JSON parse error - /);
        res = await client.request('POST', '/api/login', { body: '[1,2]' });
        expect(res.status).toBe(400);
        expect(res.json).toEqual({ non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] });
        res = await client.request('POST', '/api/login', { body: '"x"' });
        expect(res.status).toBe(400);
        res = await client.request('POST', '/api/login', { body: 'x'.repeat(70_000) });
        expect(res.status).toBe(413);
        res = await client.request('POST', '/api/login', { body: 'a=b', headers: { 'content-type': 'text/plain' } });
        expect(res.status).toBe(415);
        res = await client.request('POST', '/api/login', { body: { username: 'a'.repeat(5000), password: 'x' } });
        expect(res.status).toBe(400);
      });

      test('stores a session without a User-Agent as "" instead of failing', async () => {
        const user = newUser();
        const res = await send(app.url, {
          method: 'POST',
          path: '/api/login',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: user.username, password: user.password }),
        });
        expect(res.status).toBe(200);
        const { session_id, token } = res.json as { session_id: string; token: string };
        expect((await row(session_id))?.user_agent).toBe('');
        const me = await send(app.url, { path: '/api/me', headers: { authorization: `Token ${token}` } });
        expect(me.status).toBe(200);
      });

      test('keeps only the SHA-256 of the token: never the raw token in a row or an event', async () => {
        const user = newUser();
        const { token, session_id } = await login(user);
        const stored = await row(session_id);
        expect(stored?.key_hash).toBe(sha256(token));
        expect(stored?.key_prefix).toBe(token.slice(0, 8));
        expect(JSON.stringify(await rows())).not.toContain(token);
        expect(JSON.stringify(events)).not.toContain(token);
      });
    });

    describe('authentication header', () => {
      test('no credentials on a protected route: 401 with WWW-Authenticate: Token', async () => {
        const res = await client.request('GET', '/api/active');
        expect(res.status).toBe(401);
        expect(res.json).toEqual({ detail: 'Authentication credentials were not provided.' });
        expect(res.headers['www-authenticate']).toBe('Token');
      });

      test.each([
        ['Token', 'Invalid token header. No credentials provided.'],
        ['Token a b', 'Invalid token header. Token string should not contain spaces.'],
        ['Token abc\u00ff\u00fe', 'Invalid token header. Token string should not contain invalid characters.'],
        [`Token ${'a'.repeat(49)}`, 'Invalid token.'],
        [`Token ${'a'.repeat(50)}`, 'Invalid token.'],
        [`Token ${'A'.repeat(50)}`, 'Invalid token.'],
        [`Token ${'x'.repeat(8000)}`, 'Invalid token.'],
      ])('%j answers 401 %j', async (header, detail) => {
        const res = await send(app.url, { path: '/api/active', headers: { authorization: header, 'user-agent': FIREFOX } });
        expect(res.status).toBe(401);
        expect(res.json).toEqual({ detail });
        expect(res.headers['www-authenticate']).toBe('Token');
      });

      test('a foreign scheme is anonymous: optional routes pass, protected ones ask for credentials', async () => {
        const open = await send(app.url, { path: '/open', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
        expect(open.status).toBe(200);
        expect(open.json).toEqual({ user: null });
        const closed = await send(app.url, { path: '/api/active', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
        expect(closed.json).toEqual({ detail: 'Authentication credentials were not provided.' });
      });

      test('the keyword is case-insensitive and the user is attached to the request', async () => {
        const user = newUser();
        const { token, session_id } = await login(user);
        for (const keyword of ['token', 'TOKEN', 'Token']) {
          const res = await send(app.url, { path: '/api/me', headers: { authorization: `${keyword} ${token}`, 'user-agent': FIREFOX } });
          expect(res.status).toBe(200);
          expect(res.json).toEqual({ user: { id: user.id, username: user.username, isActive: true }, session_id });
        }
      });

      test('a token in the query string is not a credential', async () => {
        const user = newUser();
        const { token } = await login(user);
        const res = await client.request('GET', `/api/active?token=${token}&access_token=${token}`);
        expect(res.status).toBe(401);
        expect(res.json).toEqual({ detail: 'Authentication credentials were not provided.' });
      });
    });

    describe('GET active', () => {
      test('lists only the caller’s active sessions, newest first, fields in contract order', async () => {
        const alice = newUser();
        const bob = newUser();
        const first = await login(alice, CHROME);
        clock.advance(1000);
        const second = await login(alice);
        await login(bob);
        const revoked = await login(alice);
        await client.request('POST', '/api/logout', { token: revoked.token, headers: { 'user-agent': FIREFOX } });
        const res = await new Client(app.url, FIREFOX).request('GET', '/api/active', { token: second.token });
        expect(res.status).toBe(200);
        const list = res.json as Array<Record<string, unknown>>;
        expect(list.map((s) => s.session_id)).toEqual([second.session_id, first.session_id]);
        expect(Object.keys(list[0] as object)).toEqual([
          'session_id',
          'user_id',
          'user_agent_data',
          'last_online',
          'last_ip',
          'created_at',
          'expire_at',
          'is_current',
        ]);
        expect(list.map((s) => s.is_current)).toEqual([true, false]);
        expect(list[0]?.user_id).toBe(alice.id);
        expect(list[0]?.last_ip).toBe('127.0.0.1');
        expect(list[1]?.user_agent_data).toEqual({
          os: 'Linux',
          device_brand: null,
          device_model: null,
          device_family: 'Other',
          browser: 'Chrome',
          is_mobile: false,
          is_tablet: false,
        });
        expect(list[1]?.created_at).toBe(list[1]?.last_online);
        expect(res.text).not.toContain(first.token);
        expect(res.text).not.toContain(sha256(first.token));
      });

      test('leaves out expired sessions', async () => {
        const user = newUser();
        const old = await login(user);
        clock.advance(86_400_000 - 1000);
        const fresh = await login(user);
        clock.advance(2000);
        const res = await client.request('GET', '/api/active', { token: fresh.token });
        expect((res.json as Array<{ session_id: string }>).map((s) => s.session_id)).toEqual([fresh.session_id]);
        expect(old.session_id).not.toBe(fresh.session_id);
      });

      test('pages with ?limit and the Link header’s cursor, in the whole list’s order, each session once', async () => {
        const user = newUser();
        const logins = [];
        for (let i = 0; i < 7; i++) {
          logins.push(await login(user));
          // Two pairs share a last_online, so ties must be broken across page boundaries.
          if (i % 2 === 1) clock.advance(1000);
        }
        const token = (logins[6] as { token: string }).token;
        const whole = await client.request('GET', '/api/active', { token });
        expect(whole.headers.link).toBeUndefined();
        const all = (whole.json as Array<{ session_id: string }>).map((s) => s.session_id);
        expect(all).toHaveLength(7);
        const paged: string[] = [];
        let url = '/api/active?limit=3';
        const sizes: number[] = [];
        for (let n = 0; n < 5; n++) {
          const res = await client.request('GET', url, { token });
          expect(res.status).toBe(200);
          const page = (res.json as Array<{ session_id: string; is_current: boolean }>).map((s) => s.session_id);
          sizes.push(page.length);
          paged.push(...page);
          const link = res.headers.link as string | undefined;
          if (link === undefined) break;
          const match = /^<([^>]+)>; rel="next"$/.exec(link);
          expect(match).not.toBeNull();
          // A relative reference: resolved against the request's own URL.
          const next = new URL(match?.[1] as string, `http://x${url}`);
          url = next.pathname + next.search;
        }
        expect(sizes).toEqual([3, 3, 1]);
        expect(paged).toEqual(all);
        const exact = await client.request('GET', '/api/active?limit=7', { token });
        expect((exact.json as unknown[]).length).toBe(7);
        expect(exact.headers.link).toBeUndefined();
      });

      test('a bad limit or cursor answers 400 naming it', async () => {
        const { token } = await login(newUser());
        for (const limit of ['0', '1001', '-1', '2.5', 'ten', '']) {
          const res = await client.request('GET', `/api/active?limit=${encodeURIComponent(limit)}`, { token });
          expect(res.status).toBe(400);
          expect(res.json).toEqual({ detail: `Invalid limit ${JSON.stringify(limit)}: give an integer from 1 to 1000.` });
        }
        const forged = Buffer.from('12.not-a-uuid').toString('base64url');
        for (const cursor of ['', '!!', forged, 'x'.repeat(200)]) {
          const res = await client.request('GET', `/api/active?limit=2&cursor=${encodeURIComponent(cursor)}`, { token });
          expect(res.status).toBe(400);
          expect(res.json).toEqual({ detail: 'Invalid cursor: use the one in the Link header of the previous page.' });
        }
      });
    });

    describe('revocation', () => {
      test('logout answers 204 with no body and the token is refused at once', async () => {
        const user = newUser();
        const { token } = await login(user);
        expect((await client.request('GET', '/api/me', { token })).status).toBe(200);
        const res = await client.request('POST', '/api/logout', { token });
        expect(res.status).toBe(204);
        expect(res.text).toBe('');
        const after = await client.request('GET', '/api/me', { token });
        expect(after.status).toBe(401);
        expect(after.json).toEqual({ detail: 'User session is suspended.' });
      });

      test('DELETE active?token_id= revokes exactly the listed sessions of the caller', async () => {
        const user = newUser();
        const current = await login(user);
        const a = await login(user);
        const b = await login(user);
        const keep = await login(user);
        for (const s of [a, b, keep]) expect((await client.request('GET', '/api/me', { token: s.token })).status).toBe(200);
        const res = await client.request('DELETE', `/api/active?token_id=${a.session_id}&token_id=${b.session_id.toUpperCase()}`, {
          token: current.token,
        });
        expect(res.status).toBe(204);
        expect(res.text).toBe('');
        expect((await client.request('GET', '/api/me', { token: a.token })).status).toBe(401);
        expect((await client.request('GET', '/api/me', { token: b.token })).status).toBe(401);
        expect((await client.request('GET', '/api/me', { token: keep.token })).status).toBe(200);
        expect((await client.request('GET', '/api/me', { token: current.token })).status).toBe(200);
      });

      test('another user’s session id is ignored as if unknown (no IDOR)', async () => {
        const alice = newUser();
        const bob = newUser();
        const a = await login(alice);
        const b = await login(bob);
        expect((await client.request('GET', '/api/me', { token: b.token })).status).toBe(200);
        const res = await client.request('DELETE', `/api/active?token_id=${b.session_id}`, { token: a.token });
        const unknown = await client.request('DELETE', `/api/active?token_id=${crypto.randomUUID()}`, { token: a.token });
        expect([res.status, res.text]).toEqual([unknown.status, unknown.text]);
        expect((await client.request('GET', '/api/me', { token: b.token })).status).toBe(200);
        expect((await client.request('GET', '/api/me', { token: a.token })).status).toBe(200);
      });

      test('DELETE active without token_id revokes every session of the caller, the current one included', async () => {
        const user = newUser();
        const other = newUser();
        const s1 = await login(user);
        const s2 = await login(user);
        const o = await login(other);
        expect((await client.request('DELETE', '/api/active', { token: s1.token })).status).toBe(204);
        expect((await client.request('GET', '/api/me', { token: s1.token })).status).toBe(401);
        expect((await client.request('GET', '/api/me', { token: s2.token })).status).toBe(401);
        expect((await client.request('GET', '/api/me', { token: o.token })).status).toBe(200);
      });

      test('DELETE active?scope=others keeps the current session', async () => {
        const user = newUser();
        const s1 = await login(user);
        const s2 = await login(user);
        expect((await client.request('DELETE', '/api/active?scope=others', { token: s1.token })).status).toBe(204);
        expect((await client.request('GET', '/api/me', { token: s1.token })).status).toBe(200);
        expect((await client.request('GET', '/api/me', { token: s2.token })).status).toBe(401);
      });

      test.each([
        ['token_id=not-a-uuid', 'Invalid token_id "not-a-uuid": not a UUID.'],
        ['token_id=', 'Invalid token_id: it is empty.'],
        ['token_id=%27%20OR%201%3D1%20--', 'Invalid token_id "\' OR 1=1 --": not a UUID.'],
        ['scope=everything', 'Invalid scope "everything": use "others" or "all".'],
      ])('DELETE active?%s answers 400 naming the bad value, and revokes nothing', async (query, detail) => {
        const user = newUser();
        const s = await login(user);
        const res = await client.request('DELETE', `/api/active?${query}`, { token: s.token });
        expect(res.status).toBe(400);
        expect(res.json).toEqual({ detail });
        expect((await client.request('GET', '/api/me', { token: s.token })).status).toBe(200);
      });

      test('DELETE active with more ids than maxTokenIds answers 400; duplicates count once', async () => {
        const user = newUser();
        const s = await login(user);
        const other = await login(user);
        const query = Array.from({ length: 301 }, () => `token_id=${crypto.randomUUID()}`).join('&');
        const res = await client.request('DELETE', `/api/active?${query}`, { token: s.token });
        expect(res.status).toBe(400);
        expect(res.json).toEqual({ detail: 'Too many token_id values: at most 300.' });
        const dup = await client.request('DELETE', `/api/active?token_id=${other.session_id}&token_id=${other.session_id}`, {
          token: s.token,
        });
        expect(dup.status).toBe(204);
        expect((await client.request('GET', '/api/me', { token: other.token })).status).toBe(401);
      });

      test('a deactivated user is refused even with a warm cache, once the app calls invalidateUser', async () => {
        const user = newUser();
        const { token } = await login(user);
        expect((await client.request('GET', '/api/me', { token })).status).toBe(200);
        user.isActive = false;
        await manager.invalidateUser(user.id);
        const res = await client.request('GET', '/api/me', { token });
        expect(res.status).toBe(401);
        expect(res.json).toEqual({ detail: 'User inactive or deleted.' });
      });
    });

    describe('binding and expiry', () => {
      test('a user-agent change suspends the session, and the old agent is refused afterwards', async () => {
        const user = newUser();
        const { token, session_id } = await login(user, FIREFOX);
        expect((await new Client(app.url, FIREFOX).request('GET', '/api/me', { token })).status).toBe(200);
        const changed = await new Client(app.url, CHROME).request('GET', '/api/me', { token });
        expect(changed.status).toBe(401);
        expect(changed.json).toEqual({ detail: 'User session is suspended.' });
        const again = await new Client(app.url, FIREFOX).request('GET', '/api/me', { token });
        expect(again.json).toEqual({ detail: 'User session is suspended.' });
        const stored = await row(session_id);
        expect(Boolean(stored?.is_active)).toBe(false);
        expect(stored?.detail).toBe('User suspended; because user agent changed!');
        expect(events.some((e) => e.type === 'session_suspended' && e.sessionId === session_id)).toBe(true);
      });

      test('a browser update is not a change under the default family policy', async () => {
        const user = newUser();
        const { token } = await login(user, FIREFOX);
        expect((await new Client(app.url, FIREFOX_NEXT).request('GET', '/api/me', { token })).status).toBe(200);
      });

      test('an IP change is accepted and only last_ip is written', async () => {
        const user = newUser();
        const { token, session_id } = await login(user);
        const before = await row(session_id);
        const res = await client.request('GET', '/api/me', { token, localAddress: '127.0.0.2' });
        expect(res.status).toBe(200);
        const after = await row(session_id);
        expect(after?.last_ip).toBe('127.0.0.2');
        expect({ ...after, last_ip: undefined }).toEqual({ ...before, last_ip: undefined });
      });

      test('an expired token answers with the original’s message and format', async () => {
        const user = newUser();
        const { token, expire_at } = await login(user);
        expect((await client.request('GET', '/api/me', { token })).status).toBe(200);
        clock.advance(86_400_000);
        const res = await client.request('GET', '/api/me', { token });
        clock.advance(-86_400_000);
        expect(res.status).toBe(401);
        const at = new Date(expire_at);
        const micro = at.getUTCMilliseconds() === 0 ? '' : `.${String(at.getUTCMilliseconds() * 1000).padStart(6, '0')}`;
        expect(res.json).toEqual({ detail: `Token has expired at ${expire_at.slice(0, 10)} ${expire_at.slice(11, 19)}${micro}+00:00` });
      });

      test('last_online is touched at most once per touch interval', async () => {
        const user = newUser();
        const { token, session_id } = await login(user);
        const created = (await row(session_id))?.last_online;
        clock.advance(30_000);
        await client.request('GET', '/api/me', { token });
        await manager.flush();
        expect(new Date((await row(session_id))?.last_online as string).getTime()).toBe(new Date(created as string).getTime());
        clock.advance(31_000);
        await client.request('GET', '/api/me', { token });
        await manager.flush();
        expect(new Date((await row(session_id))?.last_online as string).getTime()).toBe(clock.now());
      });
    });

    test('every response above is one the OpenAPI document describes (nilva-session/openapi)', () => {
      expect(contract.problems()).toEqual([]);
    });
  });
});

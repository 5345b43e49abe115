// The web pages (sign-in, your devices, admin) over HTTP through Express, Fastify and Hono on
// SQLite, and through Fastify on PostgreSQL and MariaDB: cookies, CSRF, escaping, the staff
// check, every admin change reaching the API at once, keyset paging.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AdminAuditEvent } from '../../src/admin/admin-service.js';
import { CONTENT_SECURITY_POLICY } from '../../src/admin/page-style.js';
import { SessionPages } from '../../src/admin/session-pages.js';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SessionApi } from '../../src/http/session-api.js';
import { KyselySessionAdminStore } from '../../src/store/kysely-session-admin-store.js';
import { openTestDatabase, type TestDatabase, type TestDialect } from '../helpers/databases.js';
import { PAGE_FRAMEWORKS, type PageFramework, type RunningApp } from '../helpers/http-apps.js';
import { Client } from '../helpers/http-client.js';
import { PageClient, parseSetCookie, relLink, startPagesApp, unescapeHtml } from '../helpers/page-apps.js';
import { type TestUser, userCallbacks } from '../helpers/users.js';

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const SESSION_TTL = 86_400;

const MATRIX: ReadonlyArray<readonly [TestDialect, PageFramework]> = [
  ...PAGE_FRAMEWORKS.map((framework) => ['sqlite', framework] as const),
  ['postgres', 'fastify'],
  ['mysql', 'fastify'],
];

describe.each(MATRIX)('pages on %s through %s', (dialect, framework) => {
  let database: TestDatabase;
  let app: RunningApp;
  let manager: SessionManager<unknown>;
  const audit: AdminAuditEvent[] = [];
  const users = new Map<string, TestUser & { isStaff?: boolean }>();
  let nextUserId = 100;

  function newUser(isStaff = false): TestUser {
    const id = nextUserId++;
    const user = { id, username: `user${id}`, password: `pw-${id}`, isActive: true, isStaff };
    users.set(user.username, user);
    return user;
  }

  async function apiLogin(user: TestUser, userAgent = IPHONE) {
    return new Client(app.url, userAgent).login(user.username, user.password);
  }

  async function apiMe(token: string, userAgent = IPHONE) {
    return new Client(app.url, userAgent).request('GET', '/api/active', { token });
  }

  async function signedIn(user: TestUser): Promise<PageClient> {
    const client = new PageClient(app.url);
    await client.signIn(user.username, user.password);
    return client;
  }

  beforeAll(async () => {
    database = await openTestDatabase(dialect, { userIdType: 'integer' });
    const callbacks = userCallbacks(users);
    const cache = new MemorySessionCache();
    manager = new SessionManager({
      store: database.store,
      cache,
      loadUser: (id) => {
        const user = [...users.values()].find((u) => u.id === Number(id));
        return user === undefined
          ? null
          : { id: user.id, username: user.username, isActive: user.isActive, isStaff: user.isStaff === true };
      },
      sessionTtlSeconds: SESSION_TTL,
      logger: { warn: () => undefined },
    });
    const api = new SessionApi({ manager, verifyCredentials: callbacks.verifyCredentials });
    const adminStore = new KyselySessionAdminStore({ db: database.db, dialect, tableName: database.tableName, userIdType: 'integer' });
    const pages = new SessionPages({
      api,
      adminStore,
      cache,
      isStaff: (user) => (user as { isStaff?: boolean }).isStaff === true,
      pageSize: 3,
      onAudit: (event) => audit.push(event),
    });
    app = await startPagesApp(framework, api, pages);
  });

  afterAll(async () => {
    await app?.close();
    await manager?.close();
    await database?.close();
  });

  describe('sign-in and cookie', () => {
    test('an anonymous visit to the devices page is sent to the sign-in form, and back afterwards', async () => {
      const client = new PageClient(app.url);
      const res = await client.get('/devices');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?next=%2Fdevices');
      const form = await client.get('/login?next=%2Fdevices');
      expect(form.status).toBe(200);
      expect(form.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(form.text).toContain('<input type="hidden" name="next" value="/devices">');
    });

    test('every page carries the strict CSP and its companion headers', async () => {
      const res = await new PageClient(app.url).get('/login');
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(CONTENT_SECURITY_POLICY).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; /);
      expect(CONTENT_SECURITY_POLICY).toContain("form-action 'self'");
      expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
      expect(CONTENT_SECURITY_POLICY).not.toContain('script-src');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).not.toMatch(/<script/i);
    });

    test('signing in sets an HttpOnly, SameSite=Lax cookie on Path=/ that lives no longer than the session', async () => {
      const user = newUser();
      const res = await new PageClient(app.url).post('/login', { username: user.username, password: user.password, next: '/devices' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/devices');
      const cookie = parseSetCookie(String(res.headers['set-cookie']));
      expect(cookie.name).toBe('nilva_session');
      expect(cookie.value).toMatch(/^[a-z0-9]{50}$/);
      expect(cookie.attributes.has('httponly')).toBe(true);
      expect(cookie.attributes.get('samesite')).toBe('Lax');
      expect(cookie.attributes.get('path')).toBe('/');
      const maxAge = Number(cookie.attributes.get('max-age'));
      expect(maxAge).toBeGreaterThan(SESSION_TTL - 60);
      expect(maxAge).toBeLessThanOrEqual(SESSION_TTL);
      // Plain HTTP, and X-Forwarded-Proto is not believed without trustProxy.
      expect(cookie.attributes.has('secure')).toBe(false);
      const forwarded = await new PageClient(app.url).post(
        '/login',
        { username: user.username, password: user.password },
        { origin: new URL(app.url).origin, 'x-forwarded-proto': 'https' },
      );
      expect(parseSetCookie(String(forwarded.headers['set-cookie'])).attributes.has('secure')).toBe(false);
      // The cookie's token is an ordinary session token.
      expect((await apiMe(cookie.value, new PageClient(app.url).userAgent)).status).toBe(200);
    });

    test('wrong credentials show the form again with the error and set no cookie', async () => {
      const user = newUser();
      const res = await new PageClient(app.url).post('/login', { username: user.username, password: 'wrong' });
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.text).toContain('No active account found with the given credentials.');
      expect(res.text).toContain(`value="${user.username}"`);
    });

    test('a sign-in posted from another site is refused (login CSRF)', async () => {
      const user = newUser();
      const res = await new PageClient(app.url).post(
        '/login',
        { username: user.username, password: user.password },
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      );
      expect(res.status).toBe(403);
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    test('next may only point at the pages: other URLs fall back to the devices page', async () => {
      const user = newUser();
      for (const next of ['https://evil.example/', '//evil.example/', '/\\evil.example', '/api/active', 'javascript:alert(1)']) {
        const res = await new PageClient(app.url).post('/login', { username: user.username, password: user.password, next });
        expect(res.headers.location, next).toBe('/devices');
      }
    });

    test('signing out revokes the session and clears the cookie (Max-Age=0)', async () => {
      const user = newUser();
      const client = await signedIn(user);
      const token = (client.cookie as string).split('=')[1] as string;
      const res = await client.post('/logout', {});
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?done=signed-out');
      const cleared = parseSetCookie(String(res.headers['set-cookie']));
      expect(cleared.value).toBe('');
      expect(cleared.attributes.get('max-age')).toBe('0');
      expect((await apiMe(token, client.userAgent)).json).toEqual({ detail: 'User session is suspended.' });
    });

    test('a revoked session’s cookie signs the browser out and is cleared', async () => {
      const user = newUser();
      const client = await signedIn(user);
      const cookie = client.cookie as string;
      await client.post('/logout', {});
      const res = await new PageClient(app.url).get('/devices', { cookie });
      expect(res.status).toBe(303);
      expect(parseSetCookie(String(res.headers['set-cookie'])).attributes.get('max-age')).toBe('0');
    });
  });

  describe('your devices', () => {
    test('lists the user’s sessions with browser, OS, device, IP and times, the current one marked, no secret', async () => {
      const user = newUser();
      const phone = await apiLogin(user);
      const client = await signedIn(user);
      const res = await client.get('/devices');
      expect(res.status).toBe(200);
      expect(res.text.match(/data-session-id="/g)).toHaveLength(2);
      expect(res.text).toContain('Mobile Safari');
      expect(res.text).toContain('Apple iPhone');
      expect(res.text).toContain('This device');
      expect(res.text).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+Z" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC">just now<\/time>/);
      expect(res.text).not.toContain(phone.token);
      expect(res.text).not.toContain((client.cookie as string).split('=')[1]);
    });

    test('revoking the other device ends it for the API at once', async () => {
      const user = newUser();
      const phone = await apiLogin(user);
      const client = await signedIn(user);
      expect((await apiMe(phone.token)).status).toBe(200); // warm cache
      const res = await client.post('/devices/revoke', { session_id: phone.session_id });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/devices?done=revoked');
      expect((await apiMe(phone.token)).json).toEqual({ detail: 'User session is suspended.' });
      const page = await client.get('/devices?done=revoked');
      expect(page.text.match(/data-session-id="/g)).toHaveLength(1);
      expect(page.text).toContain('The device was signed out.');
    });

    test('another user’s session id is ignored', async () => {
      const [alice, bob] = [newUser(), newUser()];
      const bobs = await apiLogin(bob);
      const client = await signedIn(alice);
      expect((await client.post('/devices/revoke', { session_id: bobs.session_id })).status).toBe(303);
      expect((await apiMe(bobs.token)).status).toBe(200);
    });

    test('"sign out all other devices" keeps only this one', async () => {
      const user = newUser();
      const others = [await apiLogin(user), await apiLogin(user)];
      const client = await signedIn(user);
      expect((await client.post('/devices/revoke-others', {})).status).toBe(303);
      for (const other of others) expect((await apiMe(other.token)).status).toBe(401);
      expect((await client.get('/devices')).status).toBe(200);
    });

    test('a cookie-authenticated POST from another origin is refused and changes nothing', async () => {
      const user = newUser();
      const phone = await apiLogin(user);
      const client = await signedIn(user);
      const cases: Array<Record<string, string>> = [
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        { origin: `http://localhost:${new URL(app.url).port}`, 'sec-fetch-site': 'same-site' },
        { origin: 'https://evil.example' },
        { origin: 'null' },
        {},
      ];
      for (const headers of cases) {
        const res = await client.post('/devices/revoke-others', {}, headers);
        expect(res.status, JSON.stringify(headers)).toBe(403);
        expect(res.text).toContain('sent from another site');
      }
      expect((await apiMe(phone.token)).status).toBe(200);
      // Sec-Fetch-Site decides when present; Origin alone must be this origin.
      expect((await client.post('/devices/revoke', { session_id: phone.session_id }, { 'sec-fetch-site': 'same-origin' })).status).toBe(
        303,
      );
    });

    test('the pages accept an Authorization header, which needs no same-origin check', async () => {
      const user = newUser();
      const phone = await apiLogin(user);
      const other = await apiLogin(user);
      const client = new PageClient(app.url, IPHONE);
      const list = await client.get('/devices', { authorization: `Token ${phone.token}` });
      expect(list.status).toBe(200);
      expect(list.text.match(/data-session-id="/g)).toHaveLength(2);
      const res = await client.post('/devices/revoke', { session_id: other.session_id }, { authorization: `Token ${phone.token}` });
      expect(res.status).toBe(303);
      expect((await apiMe(other.token)).status).toBe(401);
      const bad = await client.get('/devices', { authorization: 'Token nope' });
      expect(bad.status).toBe(401);
      expect(bad.text).toContain('Invalid token.');
    });
  });

  describe('admin', () => {
    test('anonymous visitors get the sign-in form; signed-in users who are not staff get 403', async () => {
      const anonymous = await new PageClient(app.url).get('/admin?status=inactive');
      expect(anonymous.status).toBe(303);
      expect(anonymous.headers.location).toBe(`/login?next=${encodeURIComponent('/admin?status=inactive')}`);
      const client = await signedIn(newUser());
      for (const path of ['/admin', '/admin/dashboard', '/admin/sessions/00000000-0000-4000-8000-000000000000']) {
        const res = await client.get(path);
        expect(res.status, path).toBe(403);
        expect(res.text).toContain('You do not have permission');
      }
      expect((await client.post('/admin/actions', { action: 'deactivate', id: '00000000-0000-4000-8000-000000000000' })).status).toBe(403);
    });

    test('the list shows id, key prefix, user, expiry, status, detail, times, and never a token or key hash', async () => {
      const user = newUser();
      const session = await apiLogin(user);
      const admin = await signedIn(newUser(true));
      const res = await admin.get(`/admin?user=${user.id}`);
      expect(res.status).toBe(200);
      const rows = res.text.match(/data-session-id="([^"]+)"/g) ?? [];
      expect(rows).toEqual([`data-session-id="${session.session_id}"`]);
      expect(res.text).toContain(`${session.token.slice(0, 8)}…`);
      expect(res.text).not.toContain(session.token.slice(0, 9));
      const [stored] = (
        await sql<{ key_hash: string }>`select key_hash from ${sql.table(database.tableName)} where user_id = ${user.id}`.execute(
          database.db,
        )
      ).rows;
      expect(res.text).not.toContain(stored?.key_hash.slice(0, 16));
      const detail = await admin.get(`/admin/sessions/${session.session_id}`);
      expect(detail.status).toBe(200);
      expect(detail.text).toContain(IPHONE.replaceAll('(', '('));
      expect(detail.text).not.toContain(session.token.slice(0, 9));
      expect(detail.text).not.toContain(stored?.key_hash.slice(0, 16));
    });

    test('filters by status, user and IP', async () => {
      const user = newUser();
      const active = await apiLogin(user);
      const ended = await apiLogin(user);
      await new Client(app.url, IPHONE).request('POST', '/api/logout', { token: ended.token });
      const admin = await signedIn(newUser(true));
      const ids = async (query: string) =>
        (await admin.get(`/admin?${query}`)).text.match(/data-session-id="([^"]+)"/g)?.map((m) => m.slice(17, -1)) ?? [];
      expect(await ids(`user=${user.id}&status=inactive`)).toEqual([ended.session_id]);
      expect(await ids(`user=${user.id}&status=active`)).toEqual([active.session_id]);
      expect((await ids(`user=${user.id}&ip=127.0.0.1`)).sort()).toEqual([active.session_id, ended.session_id].sort());
      expect(await ids(`user=${user.id}&ip=127.0.0.`)).toHaveLength(2);
      expect(await ids(`user=${user.id}&ip=10.`)).toEqual([]);
      const bad = await admin.get(`/admin?ip=${encodeURIComponent('1%')}`);
      expect(bad.status).toBe(200);
      expect(bad.text).toContain('Enter an IP address');
    });

    test('deactivate selected: the sessions are refused by the API at once, and audited with the admin’s id', async () => {
      const user = newUser();
      const a = await apiLogin(user);
      const b = await apiLogin(user);
      const keep = await apiLogin(user);
      for (const s of [a, b]) expect((await apiMe(s.token)).status).toBe(200); // cached
      const staff = newUser(true);
      const admin = await signedIn(staff);
      const res = await admin.post('/admin/actions', {
        action: 'deactivate',
        id: [a.session_id, b.session_id],
        return_to: `/admin?user=${user.id}`,
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/admin?user=${user.id}&done=deactivated&n=2`);
      for (const s of [a, b]) expect((await apiMe(s.token)).json).toEqual({ detail: 'User session is suspended.' });
      expect((await apiMe(keep.token)).status).toBe(200);
      expect((await admin.get(res.headers.location as string)).text).toContain('2 sessions deactivated.');
      const events = audit.filter((e) => e.userId === user.id);
      expect(events.map((e) => [e.type, e.sessionId, e.actorUserId]).sort()).toEqual(
        [
          ['admin_session_deactivated', a.session_id, staff.id],
          ['admin_session_deactivated', b.session_id, staff.id],
        ].sort(),
      );
    });

    test('"deactivate all sessions of user" ends every session of that user only, each audited', async () => {
      const [user, other] = [newUser(), newUser()];
      const sessions = [];
      for (let i = 0; i < 5; i++) sessions.push(await apiLogin(user));
      const bystander = await apiLogin(other);
      const staff = newUser(true);
      const admin = await signedIn(staff);
      const list = await admin.get(`/admin?user=${user.id}`);
      expect(list.text).toContain(`Deactivate all sessions of user ${user.id}`);
      const res = await admin.post('/admin/actions', {
        action: 'deactivate-user',
        user: String(user.id),
        return_to: `/admin?user=${user.id}`,
      });
      expect(res.headers.location).toBe(`/admin?user=${user.id}&done=deactivated&n=5`);
      for (const s of sessions) expect((await apiMe(s.token)).status).toBe(401);
      expect((await apiMe(bystander.token)).status).toBe(200);
      expect(audit.filter((e) => e.userId === user.id && e.actorUserId === staff.id)).toHaveLength(5);
    });

    test('edit changes only status and detail: reactivation lets the token in again; any other field is refused', async () => {
      const user = newUser();
      const s = await apiLogin(user);
      const admin = await signedIn(newUser(true));
      const path = `/admin/sessions/${s.session_id}`;
      for (const field of ['key_hash', 'user_id', 'created_at', 'user_agent', 'expire_at']) {
        const res = await admin.post(path, { is_active: 'true', detail: '', [field]: 'x' });
        expect(res.status, field).toBe(400);
        expect(res.text).toContain('cannot be changed');
      }
      let res = await admin.post(path, { is_active: 'false', detail: 'Laptop reported stolen.' });
      expect(res.status).toBe(303);
      expect((await apiMe(s.token)).json).toEqual({ detail: 'User session is suspended.' });
      const page = await admin.get(path);
      expect(page.text).toContain('Laptop reported stolen.');
      expect(page.text).toContain('<span class="tag off">inactive</span>');
      res = await admin.post(path, { is_active: 'true', detail: '' });
      expect(res.status).toBe(303);
      expect((await apiMe(s.token)).status).toBe(200);
      const [row] = (
        await sql<{
          detail: string | null;
          user_agent: string;
        }>`select detail, user_agent from ${sql.table(database.tableName)} where user_id = ${user.id}`.execute(database.db)
      ).rows;
      expect(row).toEqual({ detail: null, user_agent: IPHONE });
    });

    test('delete asks first, then the session is gone and its token unknown', async () => {
      const user = newUser();
      const s = await apiLogin(user);
      expect((await apiMe(s.token)).status).toBe(200);
      const admin = await signedIn(newUser(true));
      const confirm = await admin.post('/admin/actions', { action: 'delete', id: s.session_id, return_to: '/admin' });
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain('Delete 1 session?');
      expect((await apiMe(s.token)).status).toBe(200);
      const res = await admin.post('/admin/actions', { action: 'delete', confirm: 'yes', id: s.session_id, return_to: '/admin' });
      expect(res.headers.location).toBe('/admin?done=deleted&n=1');
      expect((await apiMe(s.token)).json).toEqual({ detail: 'Invalid token.' });
      expect((await admin.get(`/admin/sessions/${s.session_id}`)).status).toBe(404);
    });

    test('a stored <script> in a User-Agent is rendered as text on every page', async () => {
      const user = newUser();
      const evil = '<script>alert("ua")</script><img src=x onerror=alert(1)>';
      const s = await new Client(app.url, evil).login(user.username, user.password);
      const admin = await signedIn(newUser(true));
      for (const path of [`/admin?user=${user.id}`, `/admin/sessions/${s.session_id}`, '/admin/dashboard']) {
        const res = await admin.get(path);
        expect(res.text, path).not.toMatch(/<script|<img/i);
      }
      const detail = await admin.get(`/admin/sessions/${s.session_id}`);
      expect(detail.text).toContain('&lt;script&gt;alert(&quot;ua&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
      const own = await new PageClient(app.url, evil).get('/devices', { authorization: `Token ${s.token}` });
      expect(own.status).toBe(200);
      expect(own.text).not.toMatch(/<script|<img/i);
    });

    test('next and previous links walk a user’s sessions in keyset pages, each once', async () => {
      const user = newUser();
      const created: string[] = [];
      for (let i = 0; i < 8; i++) created.push((await apiLogin(user)).session_id);
      const admin = await signedIn(newUser(true));
      const seen: string[][] = [];
      let path: string | undefined = `/admin?user=${user.id}&sort=last_online&order=asc`;
      while (path !== undefined) {
        const res = await admin.get(path);
        expect(res.status).toBe(200);
        expect(res.text).not.toContain('not valid');
        seen.push(res.text.match(/data-session-id="([^"]+)"/g)?.map((m) => m.slice(17, -1)) ?? []);
        path = relLink(res.text, 'next');
      }
      expect(seen.map((p) => p.length)).toEqual([3, 3, 2]);
      expect(seen.flat().sort()).toEqual([...created].sort());
      expect(new Set(seen.flat()).size).toBe(8);
      // Back from the last page.
      const last = await admin.get(
        `/admin?user=${user.id}&sort=last_online&order=asc&cursor=${new URL(`http://x${relLink((await admin.get(`/admin?user=${user.id}&sort=last_online&order=asc`)).text, 'next') as string}`).searchParams.get('cursor')}`,
      );
      const prev = relLink(last.text, 'prev') as string;
      expect(prev).toBeDefined();
      const first = await admin.get(prev);
      expect(first.text.match(/data-session-id="([^"]+)"/g)?.map((m) => m.slice(17, -1))).toEqual(seen[0]);
      expect(relLink(first.text, 'prev')).toBeUndefined();
    });

    test('a forged or foreign cursor shows the first page with a notice, never an error', async () => {
      const admin = await signedIn(newUser(true));
      for (const cursor of ['garbage', Buffer.from('[1,"created_at","asc","a","x","y"]').toString('base64url'), 'a'.repeat(400)]) {
        const res = await admin.get(`/admin?cursor=${cursor}`);
        expect(res.status).toBe(200);
        expect(res.text).toContain('That page link is not valid');
      }
    });

    test('the dashboard shows active sessions now, logins per day and sessions by browser and OS as inline SVG', async () => {
      const admin = await signedIn(newUser(true));
      const res = await admin.get('/admin/dashboard');
      expect(res.status).toBe(200);
      const active = Number(unescapeHtml(/data-stat="active-now">([\d,]+)</.exec(res.text)?.[1] ?? '').replaceAll(',', ''));
      const [{ n }] = (
        await sql<{
          n: number | string;
        }>`select count(*) as n from ${sql.table(database.tableName)} where is_active = ${dialect === 'sqlite' ? 1 : true}`.execute(
          database.db,
        )
      ).rows as [{ n: number | string }];
      expect(active).toBe(Number(n));
      expect(res.text.match(/<svg /g)).toHaveLength(3);
      expect(res.text).toContain('Mobile Safari');
      expect(res.text).toContain('iOS');
      expect(res.text).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    });
  });
});

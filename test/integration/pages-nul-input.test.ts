// Values a database cannot store (NUL) or longer than their column, sent to the web pages: each
// is a 400 page naming the field, on every dialect, before any statement carries it, and no row
// changes. A lone surrogate cannot reach a query or form field at all (URLSearchParams holds
// well-formed strings only and turns one into U+FFFD), so it is tried where it can arrive: in the
// User-Agent of a request built by hand. The NULs also go over real HTTP.
import {
  type Kysely,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  sql,
  type UnknownRow,
} from 'kysely';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { type PageRequest, SessionPages } from 'nilva-session/admin';
import { SessionApi } from 'nilva-session/http';
import { KyselySessionAdminStore, KyselySessionStore } from 'nilva-session/kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { SessionDatabase } from '../../src/store/session-table.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { PAGE_FRAMEWORKS, type RunningApp } from '../helpers/http-apps.js';
import { PageClient, startPagesApp, unescapeHtml } from '../helpers/page-apps.js';

/** Records the parameters of every statement sent through its Kysely instance. */
class ParameterLog implements KyselyPlugin {
  readonly parameters: unknown[] = [];
  readonly #nodes = new WeakMap<object, RootOperationNode>();
  constructor(readonly compile: (node: RootOperationNode, queryId: PluginTransformQueryArgs['queryId']) => readonly unknown[]) {}
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.#nodes.set(args.queryId, args.node);
    this.parameters.push(...this.compile(args.node, args.queryId));
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

const NUL = '\u0000';
const SURROGATE = '\ud800';

interface Case {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly form?: Record<string, string | string[]>;
  /** Who sends it. */
  readonly as: 'anonymous' | 'user' | 'staff';
  /** The sentence of the 400 page. */
  readonly message: string;
}

/** Every field of every page, with a NUL and (where it has one) past its column size. */
function cases(victimId: string): Case[] {
  const list: Case[] = [];
  const bad = (field: string, label: string, make: (value: string) => Omit<Case, 'name' | 'message'>, maxLength?: number) => {
    list.push({ name: `${field} with NUL`, message: `${label}: null characters are not allowed.`, ...make(`a${NUL}b`) });
    if (maxLength !== undefined) {
      list.push({
        name: `${field} past ${maxLength} characters`,
        message: `${label}: ensure this field has no more than ${maxLength} characters.`,
        ...make('1'.repeat(maxLength + 1)),
      });
    }
  };
  // The sign-in form: the API's own field errors, each named.
  bad('username', 'Username', (v) => ({ method: 'POST', path: '/login', as: 'anonymous', form: { username: v, password: 'pw' } }), 1024);
  bad('password', 'Password', (v) => ({ method: 'POST', path: '/login', as: 'anonymous', form: { username: 'alice', password: v } }), 4096);
  bad(
    'next',
    'Parameter "next"',
    (v) => ({ method: 'POST', path: '/login', as: 'anonymous', form: { username: 'alice', password: 'pw', next: `/devices?${v}` } }),
    2000,
  );
  bad('next (GET)', 'Parameter "next"', (v) => ({ method: 'GET', path: '/login', as: 'anonymous', query: { next: v } }), 2000);
  // Sign-out, and the devices page's two forms.
  bad('logout form', 'Parameter "x"', (v) => ({ method: 'POST', path: '/logout', as: 'user', form: { x: v } }));
  bad(
    'session_id',
    'Parameter "session_id"',
    (v) => ({ method: 'POST', path: '/devices/revoke', as: 'user', form: { session_id: v } }),
    36,
  );
  bad('revoke-others form', 'Parameter "x"', (v) => ({ method: 'POST', path: '/devices/revoke-others', as: 'user', form: { x: v } }));
  bad('devices query', 'Parameter "done"', (v) => ({ method: 'GET', path: '/devices', as: 'user', query: { done: v } }));
  // The admin list's search.
  const list_ = (name: string, label: string, maxLength?: number) =>
    bad(`list ${name}`, label, (v) => ({ method: 'GET', path: '/admin', as: 'staff', query: { [name]: v } }), maxLength);
  list_('status', 'Status');
  list_('user', 'User id', 191);
  list_('ip', 'IP address', 45);
  list_('sort', 'Sort by');
  list_('order', 'Order');
  list_('cursor', 'Parameter "cursor"');
  // The edit form.
  const edit = `/admin/sessions/${victimId}`;
  bad('detail', 'Detail', (v) => ({ method: 'POST', path: edit, as: 'staff', form: { is_active: 'false', detail: v } }));
  list.push({
    name: 'detail past 1000 characters',
    method: 'POST',
    path: edit,
    as: 'staff',
    form: { is_active: 'false', detail: 'd'.repeat(1001) },
    message: 'Detail: ensure this field has no more than 1000 characters.',
  });
  bad('is_active', 'Status', (v) => ({ method: 'POST', path: edit, as: 'staff', form: { is_active: v, detail: '' } }));
  // The bulk form.
  const bulk = (form: Record<string, string | string[]>) => ({
    method: 'POST' as const,
    path: '/admin/actions',
    as: 'staff' as const,
    form,
  });
  bad('id', 'Parameter "id"', (v) => bulk({ action: 'deactivate', id: [victimId, v] }), 36);
  bad('action', 'Action', (v) => bulk({ action: v, id: victimId }));
  bad('user', 'User id', (v) => bulk({ action: 'deactivate-user', user: v }), 191);
  bad('return_to', 'Parameter "return_to"', (v) => bulk({ action: 'deactivate', id: victimId, return_to: `/admin?${v}` }), 2000);
  bad('confirm', 'Parameter "confirm"', (v) => bulk({ action: 'delete', id: victimId, confirm: v }));
  return list;
}

describe.each(DIALECTS)('the pages on %s', (dialect) => {
  let database: TestDatabase;
  let manager: SessionManager<unknown>;
  let pages: SessionPages<unknown>;
  let log: ParameterLog;
  const checked: string[] = [];
  const cookies: Record<'user' | 'staff', string> = { user: '', staff: '' };
  let victimId = '';

  const request = (fields: Partial<PageRequest>): PageRequest => ({
    method: 'GET',
    path: '/devices',
    query: new URLSearchParams(),
    authorization: undefined,
    cookie: undefined,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
    origin: undefined,
    secFetchSite: 'same-origin',
    host: '127.0.0.1:3000',
    forwardedProto: undefined,
    forwardedFor: undefined,
    remoteAddress: '127.0.0.1',
    encrypted: false,
    contentType: undefined,
    body: undefined,
    ...fields,
  });

  const form = (fields: Record<string, string | string[]>): string => {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const item of Array.isArray(v) ? v : [v]) body.append(k, item);
    return body.toString();
  };

  async function signIn(username: string): Promise<string> {
    const res = await pages.handle(
      request({
        method: 'POST',
        path: '/login',
        contentType: 'application/x-www-form-urlencoded',
        body: form({ username, password: 'pw' }),
      }),
    );
    expect(res?.status).toBe(303);
    return /^nilva_session=([a-z0-9]+);/.exec(res?.headers['set-cookie'] ?? '')?.[1] as string;
  }

  /** Every column of every row but last_online, which a sign-in elsewhere may touch. */
  async function rows(): Promise<unknown[]> {
    const { rows } = await sql<
      Record<string, unknown>
    >`select id, user_id, key_hash, is_active, detail, user_agent, last_ip, expire_at, created_at
      from ${sql.table(database.tableName)} order by id`.execute(database.db);
    return rows.map((row) => JSON.stringify(row));
  }

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
    const executor = database.db.getExecutor();
    log = new ParameterLog((node, queryId) => executor.compileQuery(node, queryId).parameters);
    const db = database.db.withPlugin(log) as Kysely<SessionDatabase>;
    const cache = new MemorySessionCache();
    manager = new SessionManager({
      store: new KyselySessionStore({ db, dialect, tableName: database.tableName }),
      cache,
      loadUser: (id) => ({ id, username: String(id), isStaff: id === 'root' }),
      logger: { warn: () => undefined },
    });
    const api = new SessionApi({
      manager,
      verifyCredentials: (username) => {
        checked.push(username);
        return ['alice', 'root', 'victim'].includes(username) ? username : null;
      },
    });
    pages = new SessionPages({
      api,
      adminStore: new KyselySessionAdminStore({ db, dialect, tableName: database.tableName }),
      cache,
      isStaff: (user) => (user as { isStaff: boolean }).isStaff,
      logger: { warn: (message) => console.error(message) },
    });
    cookies.user = await signIn('alice');
    cookies.staff = await signIn('root');
    await signIn('victim');
    const [victim] = await sql<{ id: string }>`select id from ${sql.table(database.tableName)} where user_id = 'victim'`
      .execute(database.db)
      .then((r) => r.rows);
    victimId = String(victim?.id);
  });

  afterAll(async () => {
    await manager?.close();
    await database?.close();
  });

  beforeEach(() => {
    log.parameters.length = 0;
    checked.length = 0;
  });

  test('every case below is a 400 page naming the field, with no statement carrying the value and no row changed', async () => {
    const before = await rows();
    const all = cases(victimId);
    expect(all.length).toBeGreaterThan(30);
    for (const c of all) {
      log.parameters.length = 0;
      const query = new URLSearchParams(c.query ?? {});
      const res = await pages.handle(
        request({
          method: c.method,
          path: c.path,
          query,
          cookie: c.as === 'anonymous' ? undefined : `nilva_session=${cookies[c.as]}`,
          ...(c.form === undefined ? {} : { contentType: 'application/x-www-form-urlencoded', body: form(c.form) }),
        }),
      );
      expect(res?.status, c.name).toBe(400);
      expect(unescapeHtml(res?.body ?? ''), c.name).toContain(c.message);
      expect(res?.headers['content-type'], c.name).toBe('text/html; charset=utf-8');
      const carried = log.parameters.filter(
        (p) => typeof p === 'string' && (p.includes(NUL) || /\p{Cs}/u.test(p) || /1{37}|d{1001}/.test(p)),
      );
      expect(carried, c.name).toEqual([]);
    }
    // Not even the application's credential check saw one of them.
    expect(checked).toEqual([]);
    expect(await rows()).toEqual(before);
  });

  test('a sign-in form error is shown on the form, the username kept', async () => {
    const res = await pages.handle(
      request({
        method: 'POST',
        path: '/login',
        contentType: 'application/x-www-form-urlencoded',
        body: form({ username: `al${NUL}ice`, password: 'pw', next: '/admin' }),
      }),
    );
    expect(res?.status).toBe(400);
    const page = unescapeHtml(res?.body ?? '');
    expect(page).toContain('<p class="error" role="alert">Username: null characters are not allowed.</p>');
    expect(page).toContain('<input type="hidden" name="next" value="/admin">');
    expect(page).not.toContain('Enter your username and password.');
  });

  test('a User-Agent no database can store is a 400 naming the header on sign-in, and no session is made', async () => {
    const before = await rows();
    for (const [userAgent, reason] of [
      [`Mozilla${NUL}`, 'null characters are not allowed'],
      [`Mozilla${SURROGATE}`, 'not a valid string'],
    ]) {
      const res = await pages.handle(
        request({
          method: 'POST',
          path: '/login',
          userAgent,
          contentType: 'application/x-www-form-urlencoded',
          body: form({ username: 'alice', password: 'pw' }),
        }),
      );
      expect(res?.status).toBe(400);
      expect(res?.body).toContain(`User-Agent header: ${reason}.`);
    }
    expect(checked).toEqual([]);
    expect(await rows()).toEqual(before);
  });

  test('a return address the Location header cannot carry falls back to the page it belongs to', async () => {
    const signInRes = await pages.handle(
      request({
        method: 'POST',
        path: '/login',
        contentType: 'application/x-www-form-urlencoded',
        body: form({ username: 'alice', password: 'pw', next: '/devices?q=\u20ac' }),
      }),
    );
    expect(signInRes?.status).toBe(303);
    expect(signInRes?.headers.location).toBe('/devices');
    const bulk = await pages.handle(
      request({
        method: 'POST',
        path: '/admin/actions',
        cookie: `nilva_session=${cookies.staff}`,
        contentType: 'application/x-www-form-urlencoded',
        body: form({ action: 'deactivate', return_to: '/admin?user=\u00e9' }),
      }),
    );
    expect(bulk?.status).toBe(303);
    expect(bulk?.headers.location).toBe('/admin?done=none-selected');
  });

  test('the pages still serve afterwards: the search, the edit and the bulk form work with good values', async () => {
    const search = await pages.handle(
      request({ path: '/admin', query: new URLSearchParams({ user: 'victim' }), cookie: `nilva_session=${cookies.staff}` }),
    );
    expect(search?.status).toBe(200);
    expect(search?.body).toContain(`data-session-id="${victimId}"`);
    const edit = await pages.handle(
      request({
        method: 'POST',
        path: `/admin/sessions/${victimId}`,
        cookie: `nilva_session=${cookies.staff}`,
        contentType: 'application/x-www-form-urlencoded',
        body: form({ is_active: 'true', detail: 'Checked.' }),
      }),
    );
    expect(edit?.status).toBe(303);
    const [row] = (
      await sql<{ detail: string }>`select detail from ${sql.table(database.tableName)} where id = ${victimId}`.execute(database.db)
    ).rows;
    expect(row?.detail).toBe('Checked.');
  });
});

describe.each(PAGE_FRAMEWORKS)('the pages over HTTP through %s', (framework) => {
  let database: TestDatabase;
  let manager: SessionManager<unknown>;
  let app: RunningApp;

  beforeAll(async () => {
    database = await openTestDatabase('postgres');
    manager = new SessionManager({
      store: database.store,
      loadUser: (id) => ({ id, isStaff: true }),
      logger: { warn: () => undefined },
    });
    const api = new SessionApi({ manager, verifyCredentials: (username) => (username === 'root' ? 'root' : null) });
    const pages = new SessionPages({
      api,
      adminStore: new KyselySessionAdminStore({ db: database.db, dialect: 'postgres', tableName: database.tableName }),
      isStaff: () => true,
      logger: { warn: (message) => console.error(message) },
    });
    app = await startPagesApp(framework, api, pages);
  });

  afterAll(async () => {
    await app?.close();
    await manager?.close();
    await database?.close();
  });

  test('a NUL in a search, a form or a return address is a 400 naming it, never a 500', async () => {
    const client = new PageClient(app.url);
    await client.signIn('root', 'pw');
    const search = await client.get('/admin?user=a%00b');
    expect(search.status).toBe(400);
    expect(search.text).toContain('User id: null characters are not allowed.');
    const deactivate = await client.post('/admin/actions', { action: 'deactivate-user', user: `a${NUL}b` });
    expect(deactivate.status).toBe(400);
    expect(deactivate.text).toContain('User id: null characters are not allowed.');
    const back = await client.post('/admin/actions', { action: 'deactivate', return_to: `/admin?x${NUL}` });
    expect(back.status).toBe(400);
    expect(unescapeHtml(back.text)).toContain('Parameter "return_to": null characters are not allowed.');
    const signIn = await new PageClient(app.url).post('/login', { username: `root${NUL}`, password: 'pw' });
    expect(signIn.status).toBe(400);
    expect(signIn.text).toContain('Username: null characters are not allowed.');
    // Only the sign-in of the test's own client made a session.
    const [{ n }] = (await sql<{ n: string | number }>`select count(*) as n from ${sql.table(database.tableName)}`.execute(database.db))
      .rows as [{ n: string | number }];
    expect(Number(n)).toBe(1);
  });
});

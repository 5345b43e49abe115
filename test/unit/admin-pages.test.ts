// SessionPages without a server or a database: option checks, routing, and a store that is down.
import { describe, expect, test } from 'vitest';
import type { PageRequest } from '../../src/admin/page-request.js';
import { SessionPages } from '../../src/admin/session-pages.js';
import type { SessionAdminStore } from '../../src/core/session-admin-store.js';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { SessionApi } from '../../src/http/session-api.js';

/** A store whose every call fails, as when the database is unreachable. */
const downStore = new Proxy({} as SessionStore, {
  get: () => () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')),
});
const adminStore = new Proxy({} as SessionAdminStore, {
  get: () => () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')),
});

function setUp(options: Partial<ConstructorParameters<typeof SessionPages>[0]> = {}) {
  const manager = new SessionManager({ store: downStore, logger: { warn: () => undefined } });
  const api = new SessionApi({ manager, verifyCredentials: () => 1, logger: { warn: () => undefined } });
  return new SessionPages({ api, adminStore, isStaff: () => true, logger: { warn: () => undefined }, ...options });
}

function request(fields: Partial<PageRequest>): PageRequest {
  return {
    method: 'GET',
    path: '/devices',
    query: new URLSearchParams(),
    authorization: undefined,
    cookie: undefined,
    userAgent: 'test',
    origin: undefined,
    secFetchSite: undefined,
    host: '127.0.0.1:3000',
    forwardedProto: undefined,
    forwardedFor: undefined,
    remoteAddress: '127.0.0.1',
    encrypted: false,
    contentType: undefined,
    body: undefined,
    ...fields,
  };
}

describe('SessionPages', () => {
  test('owns its four paths and what lies below them, nothing else', () => {
    const pages = setUp({ paths: { admin: '/staff/sessions' } });
    for (const path of ['/login', '/logout', '/devices', '/devices/revoke', '/staff/sessions', '/staff/sessions/dashboard']) {
      expect(pages.owns(path), path).toBe(true);
    }
    for (const path of ['/', '/admin', '/loginx', '/api/login', '/devicesx', '/staff']) expect(pages.owns(path), path).toBe(false);
    expect(pages.handle(request({ path: '/api/active' }))).toBeUndefined();
  });

  test('without adminStore there is no admin path, and isStaff is not needed', () => {
    const manager = new SessionManager({ store: downStore });
    const pages = new SessionPages({ api: new SessionApi({ manager, verifyCredentials: () => 1 }) });
    expect(pages.paths.admin).toBeUndefined();
    expect(pages.owns('/admin')).toBe(false);
  });

  test.each([
    [{ paths: { devices: '/' } }, /paths.devices/],
    [{ paths: { admin: '/admin/' } }, /paths.admin/],
    [{ paths: { admin: '/x y' } }, /paths.admin/],
    [{ paths: { devices: '/login' } }, /four different paths/],
    [{ paths: { admin: '/devices/admin' } }, /lies below/],
    [{ cookieName: 'a;b' }, /cookieName/],
    [{ isStaff: undefined }, /isStaff/],
    [{ pageSize: 0 }, /pageSize/],
  ])('refuses %j with a TypeError naming the option', (options, message) => {
    expect(() => setUp(options as Partial<ConstructorParameters<typeof SessionPages>[0]>)).toThrow(message);
    expect(() => setUp(options as Partial<ConstructorParameters<typeof SessionPages>[0]>)).toThrow(TypeError);
  });

  test('a database that is down gives a 503 page, not a 500 and not a sign-in', async () => {
    const pages = setUp();
    const cookie = `nilva_session=${'a'.repeat(50)}`;
    const page = await pages.handle(request({ cookie }));
    expect(page?.status).toBe(503);
    expect(page?.body).toContain('Service unavailable');
    const signIn = await pages.handle(
      request({
        method: 'POST',
        path: '/login',
        origin: 'http://127.0.0.1:3000',
        contentType: 'application/x-www-form-urlencoded',
        body: 'username=a&password=b',
      }),
    );
    expect(signIn?.status).toBe(503);
    expect(signIn?.headers['set-cookie']).toBeUndefined();
  });

  test('an anonymous POST changes nothing and is sent to sign in, back to the section’s first page', async () => {
    const pages = setUp();
    const res = await pages.handle(request({ method: 'POST', path: '/admin/actions', origin: 'http://127.0.0.1:3000' }));
    expect(res?.status).toBe(303);
    expect(res?.headers.location).toBe('/login?next=%2Fadmin');
  });

  test('a malformed cookie counts as none, and is cleared', async () => {
    const res = await setUp().handle(request({ cookie: 'nilva_session=%3Cscript%3E' }));
    expect(res?.status).toBe(303);
    expect(res?.headers['set-cookie']).toBe('nilva_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax');
  });
});

// "Sign out all other devices" behind a step-up, over HTTP on each framework: a sign-in older
// than freshAuthSeconds is asked for the password first; the right one renews this browser's
// session (new cookie, old token refused at once) and then signs the other devices out.
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { SessionPages } from 'nilva-session/admin';
import { SessionApi } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { PAGE_FRAMEWORKS, type RunningApp } from '../helpers/http-apps.js';
import { Client } from '../helpers/http-client.js';
import { PageClient, startPagesApp } from '../helpers/page-apps.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const FRESH_SECONDS = 600;

describe.each(PAGE_FRAMEWORKS)('step-up in the pages through %s', (framework) => {
  let database: TestDatabase;
  let app: RunningApp;
  let manager: SessionManager;
  const clock = new FakeClock();

  beforeAll(async () => {
    database = await openTestDatabase('sqlite', { userIdType: 'integer' });
    const users = userCallbacks(makeUsers());
    manager = new SessionManager({ store: database.store, cache: new MemorySessionCache(), clock: clock.now, loadUser: users.loadUser });
    const api = new SessionApi({ manager, verifyCredentials: users.verifyCredentials });
    app = await startPagesApp(framework, api, new SessionPages({ api }));
  });
  afterAll(async () => {
    await app?.close();
    await manager?.close();
    await database?.close();
  });

  const apiStatus = async (token: string) => (await new Client(app.url).request('GET', '/api/active', { token })).status;

  test('a recent sign-in signs the other devices out at once', async () => {
    const phone = await new Client(app.url).login('alice', 'alice-password');
    const browser = new PageClient(app.url);
    await browser.signIn('alice', 'alice-password');
    const res = await browser.post('/devices/revoke-others', {});
    expect(res.status).toBe(303);
    expect(await apiStatus(phone.token)).toBe(401);
  });

  test('an old sign-in is asked for the password; a wrong one changes nothing; the right one renews, then signs the others out', async () => {
    const phone = await new Client(app.url).login('bob', 'bob-password');
    const browser = new PageClient(app.url);
    await browser.signIn('bob', 'bob-password');
    const oldCookie = browser.cookie as string;
    clock.advance((FRESH_SECONDS + 1) * 1000);

    const asked = await browser.post('/devices/revoke-others', {});
    expect(asked.status).toBe(200);
    expect(asked.text).toContain('Confirm it’s you');
    expect(asked.text).toContain('name="password"');
    expect(await apiStatus(phone.token)).toBe(200);

    const wrong = await browser.post('/devices/revoke-others', { username: 'bob', password: 'guess' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('No active account found with the given credentials.');
    // Somebody else's password is no proof either.
    const foreign = await browser.post('/devices/revoke-others', { username: 'carol', password: 'carol-password' });
    expect(foreign.status).toBe(401);
    expect(await apiStatus(phone.token)).toBe(200);
    expect(browser.cookie).toBe(oldCookie);

    const done = await browser.post('/devices/revoke-others', { username: 'bob', password: 'bob-password' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/devices?done=revoked-others');
    expect(browser.cookie).not.toBe(oldCookie);
    expect(await apiStatus(phone.token)).toBe(401);
    // The browser goes on with its renewed session; its old token is dead.
    expect((await browser.get('/devices')).status).toBe(200);
    expect(await apiStatus(oldCookie.split('=')[1] as string)).toBe(401);
    const sessions = await manager.listSessions(2);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.authenticatedAt.getTime()).toBe(clock.now());
  });
});

test('freshAuthSeconds is validated', async () => {
  const database = await openTestDatabase('sqlite');
  try {
    const api = new SessionApi({ manager: new SessionManager({ store: database.store }), verifyCredentials: () => null });
    expect(() => new SessionPages({ api, freshAuthSeconds: 0 })).toThrow(/option "freshAuthSeconds"/);
    expect(() => new SessionPages({ api, freshAuthSeconds: null })).not.toThrow();
  } finally {
    await database.close();
  }
});

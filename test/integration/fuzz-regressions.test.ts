// Bugs the property-based fuzzers found over HTTP (test/fuzz/), each pinned by the smallest
// request that showed it, so they stay fixed whatever the generators draw next.
import { SessionManager } from 'nilva-session';
import { SessionPages } from 'nilva-session/admin';
import { SessionApi } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FRAMEWORKS, PAGE_FRAMEWORKS, type RunningApp, startApp } from '../helpers/http-apps.js';
import { send } from '../helpers/http-client.js';
import { PageClient, startPagesApp } from '../helpers/page-apps.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

/** A SQLite database, a manager and an API over them, and the app `start` makes with the API. */
function fuzzedApp(start: (api: SessionApi<unknown>) => Promise<RunningApp>) {
  const world = {} as { database: TestDatabase; manager: SessionManager<unknown>; app: RunningApp };
  beforeAll(async () => {
    world.database = await openTestDatabase('sqlite', { userIdType: 'integer' });
    const callbacks = userCallbacks(makeUsers());
    world.manager = new SessionManager({ store: world.database.store, loadUser: callbacks.loadUser, logger: { warn: () => undefined } });
    world.app = await start(new SessionApi({ manager: world.manager, verifyCredentials: callbacks.verifyCredentials }));
  });
  afterAll(async () => {
    await world.app?.close();
    await world.manager?.close();
    await world.database?.close();
  });
  return world;
}

describe.each(FRAMEWORKS)('found by fuzzing, through %s', (framework) => {
  const world = fuzzedApp((api) => startApp(framework, api));

  test("a body over 64 KiB to a path below the prefix that is not the API's is the framework's 404, not a 413 (was a 413 on Fastify)", async () => {
    const big = JSON.stringify({ username: 'a'.repeat(100_000) });
    for (const [method, path] of [
      ['PUT', '/api/sensitive'],
      ['POST', '/api/nothing-here'],
    ] as const) {
      const res = await send(world.app.url, { method, path, headers: { 'content-type': 'application/json' }, body: big });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    // The API's own paths still refuse the body.
    const own = await send(world.app.url, {
      method: 'POST',
      path: '/api/login',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(own.status).toBe(413);
    expect(own.json).toEqual({ detail: 'Request body too large.' });
  });
});

describe.each(PAGE_FRAMEWORKS)('found by fuzzing in the pages, through %s', (framework) => {
  const world = fuzzedApp((api) => startPagesApp(framework, api, new SessionPages({ api })));

  test('a path below /login or /logout as long as the devices path is no page (was the devices page, and /login/X/revoke ended a device)', async () => {
    const client = new PageClient(world.app.url);
    await client.signIn('alice', 'alice-password');
    const other = await world.manager.createSession({ userId: 1, ip: '127.0.0.1', userAgent: client.userAgent });
    // '/login/Y' and '/logout/' have the length of '/devices'; '/login/X' + '/revoke' was read as '/devices/revoke'.
    for (const path of ['/login/Y', '/logout/', '/login/X/']) {
      const res = await client.get(path);
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain(other.session.id);
    }
    const revoke = await client.post('/login/X/revoke', { session_id: other.session.id });
    expect(revoke.status).toBe(404);
    expect((await world.database.store.findById(other.session.id))?.isActive).toBe(true);
    // The real pages are where they were.
    expect((await client.get('/devices')).status).toBe(200);
    expect((await client.post('/devices/revoke', { session_id: other.session.id })).status).toBe(303);
    expect((await world.database.store.findById(other.session.id))?.isActive).toBe(false);
  });
});

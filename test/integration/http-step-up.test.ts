// Step-up over real HTTP on the three frameworks: a route behind requireFreshAuth(maxAge) wants a
// sign-in at most maxAge old; `POST reauthenticate` renews the session as re-authenticated (the
// old credential is refused at once) and the route accepts the new one.
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FRAMEWORKS, type RunningApp, SENSITIVE_MAX_AGE_SECONDS, startApp } from '../helpers/http-apps.js';
import { Client } from '../helpers/http-client.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const STALE_MS = (SENSITIVE_MAX_AGE_SECONDS + 1) * 1000;

describe.each(FRAMEWORKS)('step-up on %s', (framework) => {
  let database: TestDatabase;
  let app: RunningApp;
  let client: Client;
  let manager: SessionManager;
  const clock = new FakeClock();

  beforeAll(async () => {
    database = await openTestDatabase('sqlite', { userIdType: 'integer' });
    const users = userCallbacks(makeUsers());
    manager = new SessionManager({
      store: database.store,
      cache: new MemorySessionCache(),
      clock: clock.now,
      loadUser: users.loadUser,
      jwt: { signingKey: 'step-up-signing-key-of-at-least-32-bytes' },
    });
    app = await startApp(framework, new SessionApi({ manager, verifyCredentials: users.verifyCredentials }));
    client = new Client(app.url);
  });
  afterAll(async () => {
    await app?.close();
    await manager?.close();
    await database?.close();
  });

  const sensitive = (authorization: string) => client.request('POST', '/api/sensitive', { headers: { authorization } });
  const reauthenticate = (authorization: string, body: unknown) =>
    client.request('POST', '/api/reauthenticate', { headers: { authorization }, body });

  test('a fresh login passes; a stale one gets 403 reauthentication_required until it re-authenticates', async () => {
    const { token } = await client.login('alice', 'alice-password');
    expect((await sensitive(`Token ${token}`)).status).toBe(200);
    clock.advance(STALE_MS);
    const stale = await sensitive(`Token ${token}`);
    expect(stale.status).toBe(403);
    expect(stale.json).toEqual({
      detail: 'This action needs a recent sign-in: sign in again and retry.',
      code: 'reauthentication_required',
    });
    expect(stale.headers['www-authenticate']).toBeUndefined();
    // Ordinary routes do not care how old the sign-in is.
    expect((await client.request('GET', '/api/me', { token })).status).toBe(200);

    const wrong = await reauthenticate(`Token ${token}`, { username: 'alice', password: 'nope' });
    expect(wrong.status).toBe(401);
    // Another account's password proves nothing about this session.
    const other = await reauthenticate(`Token ${token}`, { username: 'bob', password: 'bob-password' });
    expect(other.status).toBe(401);
    expect(other.json).toEqual({ detail: 'No active account found with the given credentials' });

    const renewed = await reauthenticate(`Token ${token}`, { username: 'alice', password: 'alice-password' });
    expect(renewed.status).toBe(200);
    const body = renewed.json as { token: string; session_id: string; expire_at: string | null };
    expect(Object.keys(body).sort()).toEqual(['expire_at', 'session_id', 'token']);
    expect((await sensitive(`Token ${body.token}`)).status).toBe(200);
    // The old token stopped working at once.
    expect((await client.request('GET', '/api/me', { token })).status).toBe(401);
  });

  test('a JWT session re-authenticates into a new pair; its old access token is refused', async () => {
    const pair = (await client.request('POST', '/api/token', { body: { username: 'carol', password: 'carol-password' } })).json as {
      access: string;
      refresh: string;
    };
    clock.advance(STALE_MS);
    expect((await sensitive(`Bearer ${pair.access}`)).status).toBe(403);
    const renewed = await reauthenticate(`Bearer ${pair.access}`, { username: 'carol', password: 'carol-password' });
    expect(renewed.status).toBe(200);
    const next = renewed.json as { access: string; refresh: string };
    expect(Object.keys(next).sort()).toEqual(['access', 'refresh']);
    expect((await sensitive(`Bearer ${next.access}`)).status).toBe(200);
    expect((await sensitive(`Bearer ${pair.access}`)).status).toBe(401);
    expect((await client.request('POST', '/api/token/refresh', { body: { refresh: pair.refresh } })).status).toBe(401);
  });

  test('anonymous requests to a fresh-auth route get 401; reauthenticate needs a session', async () => {
    expect((await client.request('POST', '/api/sensitive')).status).toBe(401);
    expect((await client.request('POST', '/api/reauthenticate', { body: { username: 'alice', password: 'alice-password' } })).status).toBe(
      401,
    );
  });
});

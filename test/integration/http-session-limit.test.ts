// maxSessionsPerUser with sessionLimitAction 'refuse' over HTTP: a login at the cap is a 403 with
// a stable code, on login and on token, and the sessions already signed in keep working.
import { SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { type RunningApp, startApp } from '../helpers/http-apps.js';
import { Client } from '../helpers/http-client.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

describe('sessionLimitAction refuse', () => {
  let database: TestDatabase;
  let app: RunningApp;
  let manager: SessionManager;

  beforeAll(async () => {
    database = await openTestDatabase('postgres', { userIdType: 'integer' });
    const users = userCallbacks(makeUsers());
    manager = new SessionManager({
      store: database.store,
      loadUser: users.loadUser,
      maxSessionsPerUser: 2,
      sessionLimitAction: 'refuse',
      jwt: { signingKey: 'session-limit-signing-key-of-32-bytes!!' },
    });
    app = await startApp('fastify', new SessionApi({ manager, verifyCredentials: users.verifyCredentials }));
  });
  afterAll(async () => {
    await app?.close();
    await manager?.close();
    await database?.close();
  });

  test('a login at the cap is refused with 403 session_limit; signing out somewhere makes room', async () => {
    const client = new Client(app.url);
    const first = await client.login('alice', 'alice-password');
    const second = await client.request('POST', '/api/token', { body: { username: 'alice', password: 'alice-password' } });
    expect(second.status).toBe(200);
    for (const route of ['/api/login', '/api/token']) {
      const refused = await client.request('POST', route, { body: { username: 'alice', password: 'alice-password' } });
      expect(refused.status).toBe(403);
      expect(refused.json).toEqual({ detail: 'Too many active sessions: sign out on another device first.', code: 'session_limit' });
      expect(refused.headers['www-authenticate']).toBeUndefined();
    }
    expect((await client.request('GET', '/api/active', { token: first.token })).status).toBe(200);
    expect((await client.request('POST', '/api/logout', { token: first.token })).status).toBe(204);
    expect((await client.request('POST', '/api/login', { body: { username: 'alice', password: 'alice-password' } })).status).toBe(200);
  });
});

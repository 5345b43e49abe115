// Strings a database cannot store (NUL, lone surrogates) are a 400 naming the field, before any
// query: on PostgreSQL a NUL in a bound text parameter is a driver error that would read as an
// outage (503), so it must never reach the database.
import { SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';

describe.each(DIALECTS)('on %s', (dialect) => {
  let database: TestDatabase;
  let api: SessionApi<unknown>;
  const seen: string[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
    const manager = new SessionManager({ store: database.store, jwt: { signingKey: 'k'.repeat(32) } });
    api = new SessionApi({
      manager,
      verifyCredentials: (username) => {
        seen.push(username);
        return username === 'alice' ? 'alice' : null;
      },
    });
  });
  afterAll(async () => {
    await api?.manager.close();
    await database?.close();
  });

  const post = (path: string, body: unknown) =>
    api.handle({
      authorization: undefined,
      remoteAddress: '127.0.0.1',
      forwardedFor: undefined,
      userAgent: 'test',
      method: 'POST',
      path,
      query: new URLSearchParams(),
      contentType: 'application/json',
      body: JSON.stringify(body),
    });

  test.each(['login', 'token'])('POST %s: a NUL in the username or password is a 400 naming the field', async (route) => {
    for (const [field, body] of [
      ['username', { username: 'alice\u0000', password: 'x' }],
      ['password', { username: 'alice', password: 'x\u0000y' }],
    ] as const) {
      const response = await post(route, body);
      expect(response?.status).toBe(400);
      expect(JSON.parse(response?.body ?? '')).toEqual({ [field]: ['Null characters are not allowed.'] });
    }
    const surrogate = await post(route, { username: 'alice\ud800', password: 'x' });
    expect(surrogate?.status).toBe(400);
    expect(JSON.parse(surrogate?.body ?? '')).toEqual({ username: ['Not a valid string.'] });
    expect(seen.filter((name) => name.includes('\u0000'))).toEqual([]);
  });

  test.each(['token/refresh', 'token/blacklist'])('POST %s: a NUL in the refresh token is a 400 naming the field', async (route) => {
    const response = await post(route, { refresh: 'a.b\u0000.c' });
    expect(response?.status).toBe(400);
    expect(JSON.parse(response?.body ?? '')).toEqual({ refresh: ['Null characters are not allowed.'] });
  });

  test('the database still serves: a real login afterwards works', async () => {
    const response = await post('login', { username: 'alice', password: 'x' });
    expect(response?.status).toBe(200);
  });
});

// genericErrors: every credential failure looks the same to the client.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SessionApi } from '../../src/http/session-api.js';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { type RunningApp, startApp } from '../helpers/http-apps.js';
import { send } from '../helpers/http-client.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const OTHER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

describe('genericErrors', () => {
  let database: TestDatabase;
  let manager: SessionManager<unknown>;
  let app: RunningApp;
  const clock = new FakeClock();

  beforeAll(async () => {
    database = await openTestDatabase('sqlite');
    manager = new SessionManager({ store: database.store, cache: new MemorySessionCache(), clock: clock.now, genericErrors: true });
    app = await startApp('express', new SessionApi({ manager, verifyCredentials: () => null }));
  });
  afterAll(async () => {
    await app?.close();
    await manager?.close();
    await database?.close();
  });

  test('unknown, malformed, revoked, expired and suspended tokens all answer the same', async () => {
    const facts = { ip: '127.0.0.1', userAgent: UA };
    const revoked = await manager.createSession({ userId: 'u1', ...facts });
    await manager.revokeSession(revoked.session.id);
    const expired = await manager.createSession({ userId: 'u1', ...facts, expireAt: new Date(clock.now() + 1000) });
    const suspended = await manager.createSession({ userId: 'u1', ...facts });
    clock.advance(2000);
    const cases: Array<[string, string]> = [
      [`Token ${'a'.repeat(50)}`, UA],
      ['Token short', UA],
      ['Token a b', UA],
      [`Token ${revoked.token}`, UA],
      [`Token ${expired.token}`, UA],
      [`Token ${suspended.token}`, OTHER_UA],
      [`Token ${suspended.token}`, UA],
    ];
    const answers = [];
    for (const [authorization, ua] of cases) {
      const res = await send(app.url, { path: '/api/active', headers: { authorization, 'user-agent': ua } });
      answers.push({ status: res.status, body: res.text, challenge: res.headers['www-authenticate'] });
    }
    for (const answer of answers) expect(answer).toEqual({ status: 401, body: '{"detail":"Invalid token."}', challenge: 'Token' });
  });
});

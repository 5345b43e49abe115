// Brute-force protection, counted in this process: what a guesser, a credential stuffer and the
// real user see from `login`, `token`, `token/refresh` and the sign-in form, on SQLite, through
// the framework-free API and through Express, Fastify and Hono over HTTP.
import { setTimeout as sleep } from 'node:timers/promises';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { SessionPages } from 'nilva-session/admin';
import { type ApiResponse, SessionApi, type SessionApiOptions } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FRAMEWORKS, PAGE_FRAMEWORKS, startApp } from '../helpers/http-apps.js';
import { send } from '../helpers/http-client.js';
import { PageClient, startPagesApp } from '../helpers/page-apps.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const SIGNING_KEY = 'login-throttle-test-signing-key-32-bytes!';
const HERE = '203.0.113.7';
const ELSEWHERE = '198.51.100.20';

let database: TestDatabase;
let manager: SessionManager<unknown>;
const users = makeUsers();
const callbacks = userCallbacks(users);
/** How often the application's password check ran: a throttled attempt must not reach it. */
let checks = 0;
const logged: string[] = [];

beforeAll(async () => {
  database = await openTestDatabase('sqlite', { userIdType: 'integer' });
  manager = new SessionManager({
    store: database.store,
    cache: new MemorySessionCache(),
    loadUser: callbacks.loadUser,
    jwt: { signingKey: SIGNING_KEY },
    logger: { warn: (message) => logged.push(message) },
  });
});
afterAll(async () => {
  await manager.close();
  await database.close();
  // Nothing in this file is an outage or an application error.
  expect(logged).toEqual([]);
});

function newApi(throttle: SessionApiOptions<unknown>['throttle']): SessionApi<unknown> {
  return new SessionApi({
    manager,
    throttle,
    verifyCredentials: async (username, password) => {
      checks++;
      return callbacks.verifyCredentials(username, password);
    },
    logger: { warn: (message) => logged.push(message) },
  });
}

async function post(api: SessionApi<unknown>, path: string, body: unknown, ip = HERE): Promise<ApiResponse> {
  const response = await api.handle({
    method: 'POST',
    path,
    query: new URLSearchParams(),
    authorization: undefined,
    userAgent: 'curl/8.5.0',
    remoteAddress: ip,
    forwardedFor: undefined,
    contentType: 'application/json',
    body: JSON.stringify(body),
  });
  if (response === undefined) throw new Error(`no route ${path}`);
  return response;
}

const login = (api: SessionApi<unknown>, username: string, password: string, ip = HERE) => post(api, 'login', { username, password }, ip);
const right = (api: SessionApi<unknown>, ip = HERE) => login(api, 'alice', 'alice-password', ip);
const wrong = (api: SessionApi<unknown>, ip = HERE, username = 'alice') => login(api, username, 'guess', ip);

/** DRF's throttled answer; returns its `Retry-After` seconds, checked to be within 1…maxSeconds. */
function expectThrottled(
  response: { status: number; headers: Record<string, unknown>; body: string | undefined },
  maxSeconds: number,
): number {
  expect(response.status).toBe(429);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const seconds = Number(response.headers['retry-after']);
  expect(Number.isInteger(seconds)).toBe(true);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(maxSeconds);
  const unit = seconds === 1 ? 'second' : 'seconds';
  expect(JSON.parse(response.body ?? '')).toEqual({ detail: `Request was throttled. Expected available in ${seconds} ${unit}.` });
  return seconds;
}

describe('per address and account', () => {
  test('past the limit every attempt is 429 without a password check, even the right one, until the block ends', async () => {
    const api = newApi({ ipUsername: { points: 3, durationSeconds: 60, blockSeconds: 2 } });
    for (let i = 0; i < 3; i++) expect((await wrong(api)).status).toBe(401);
    const before = checks;
    const seconds = expectThrottled(await right(api), 2);
    expectThrottled(await wrong(api), 2);
    expect(checks).toBe(before);
    // Only this address and this account are blocked.
    expect((await right(api, ELSEWHERE)).status).toBe(200);
    expect((await login(api, 'bob', 'bob-password')).status).toBe(200);
    await sleep(seconds * 1000 + 200);
    const after = await right(api);
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body ?? '')).toHaveProperty('token');
  });

  test('one second left reads "1 second", as DRF words it', async () => {
    const api = newApi({ ipUsername: { points: 1, durationSeconds: 60, blockSeconds: 1 } });
    expect((await wrong(api)).status).toBe(401);
    const response = await wrong(api);
    expect(expectThrottled(response, 1)).toBe(1);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body).toBe('{"detail":"Request was throttled. Expected available in 1 second."}');
  });

  test('the defaults: the 11th attempt after 10 failures is refused for 15 minutes', async () => {
    const api = newApi(undefined);
    for (let i = 0; i < 10; i++) expect((await wrong(api)).status).toBe(401);
    const seconds = expectThrottled(await right(api), 900);
    expect(seconds).toBeGreaterThan(890);
  });

  test('a success from that address resets its count for that account', async () => {
    const api = newApi({ ipUsername: { points: 3, durationSeconds: 60, blockSeconds: 60 } });
    expect((await wrong(api)).status).toBe(401);
    expect((await wrong(api)).status).toBe(401);
    expect((await right(api)).status).toBe(200);
    // Three more failures are allowed again: without the reset the second would be refused.
    for (let i = 0; i < 3; i++) expect((await wrong(api)).status).toBe(401);
    expectThrottled(await wrong(api), 60);
  });

  test('the username is keyed trimmed and without case: ALICE and alice share the count', async () => {
    const api = newApi({ ipUsername: { points: 2, durationSeconds: 60, blockSeconds: 60 } });
    expect((await wrong(api, HERE, 'ALICE')).status).toBe(401);
    expect((await wrong(api, HERE, '  Alice ')).status).toBe(401);
    expectThrottled(await right(api), 60);
  });

  test('a burst of parallel guesses is counted before any password is checked', async () => {
    const api = new SessionApi({
      manager,
      throttle: { ipUsername: { points: 3, durationSeconds: 60, blockSeconds: 60 } },
      verifyCredentials: async (username, password) => {
        checks++;
        await sleep(20); // a password hash takes time
        return callbacks.verifyCredentials(username, password);
      },
    });
    const before = checks;
    const responses = await Promise.all(Array.from({ length: 20 }, () => wrong(api)));
    expect(responses.filter((r) => r.status === 401)).toHaveLength(3);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(17);
    expect(checks - before).toBe(3);
  });
});

describe('per account, from every address', () => {
  test('100 failures from other addresses block the account, but not from where it signed in within 30 days', async () => {
    const api = newApi(undefined);
    const knownDevice = '192.0.2.10';
    expect((await right(api, knownDevice)).status).toBe(200);
    for (let i = 0; i < 100; i++) expect((await wrong(api, `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`)).status).toBe(401);
    // A new address: the account's limit applies.
    const seconds = expectThrottled(await right(api, '10.9.9.9'), 3600);
    expect(seconds).toBeGreaterThan(3500);
    // The known device: the attacker did not lock the user out.
    expect((await right(api, knownDevice)).status).toBe(200);
    // Other accounts are not affected.
    expect((await login(api, 'bob', 'bob-password', '10.9.9.9')).status).toBe(200);
    // The known device's own address-and-account limit still applies.
    for (let i = 0; i < 10; i++) expect((await wrong(api, knownDevice)).status).toBe(401);
    expectThrottled(await right(api, knownDevice), 900);
  });

  test('knownDeviceSeconds: a device whose sign-in is older than the window is a new one again', async () => {
    const api = newApi({ username: { points: 2, durationSeconds: 60, blockSeconds: 60 }, knownDeviceSeconds: 1 });
    const device = '192.0.2.11';
    expect((await right(api, device)).status).toBe(200);
    expect((await wrong(api, '10.1.0.1')).status).toBe(401);
    expect((await wrong(api, '10.1.0.2')).status).toBe(401);
    expect((await right(api, device)).status).toBe(200); // known, within the second
    await sleep(1200);
    expectThrottled(await right(api, device), 60);
  });
});

describe('per address, every account', () => {
  test('credential stuffing from one address blocks it for every account, and only it', async () => {
    const api = newApi({ ip: { points: 5, durationSeconds: 60, blockSeconds: 30 } });
    for (let i = 0; i < 5; i++) expect((await wrong(api, HERE, `user${i}`)).status).toBe(401);
    expectThrottled(await right(api), 30);
    expectThrottled(await login(api, 'bob', 'bob-password'), 30);
    expect((await right(api, ELSEWHERE)).status).toBe(200);
  });

  test('refused attempts do not use up the other limits', async () => {
    // alice is blocked at this address; hammering her does not spend the address's limit.
    const api = newApi({
      ipUsername: { points: 1, durationSeconds: 60, blockSeconds: 60 },
      ip: { points: 3, durationSeconds: 60, blockSeconds: 60 },
    });
    expect((await wrong(api)).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await wrong(api)).status).toBe(429);
    expect((await login(api, 'bob', 'bob-password')).status).toBe(200);
  });
});

describe('JWT routes', () => {
  test('token shares the counts of login; a refused attempt is 429 before the password check', async () => {
    const api = newApi({ ipUsername: { points: 2, durationSeconds: 60, blockSeconds: 60 } });
    expect((await wrong(api)).status).toBe(401);
    expect((await post(api, 'token', { username: 'alice', password: 'guess' })).status).toBe(401);
    const before = checks;
    expectThrottled(await post(api, 'token', { username: 'alice', password: 'alice-password' }), 60);
    expect(checks).toBe(before);
    const elsewhere = await post(api, 'token', { username: 'alice', password: 'alice-password' }, ELSEWHERE);
    expect(elsewhere.status).toBe(200);
    expect(Object.keys(JSON.parse(elsewhere.body ?? '')).sort()).toEqual(['access', 'refresh']);
  });

  test('refused refresh tokens are limited per address (refresh and blacklist together); accepted ones are not counted', async () => {
    const api = newApi({ refresh: { points: 3, durationSeconds: 60, blockSeconds: 60 } });
    const pair = JSON.parse((await post(api, 'token', { username: 'alice', password: 'alice-password' }, ELSEWHERE)).body ?? '') as {
      refresh: string;
    };
    let refresh = pair.refresh;
    for (let i = 0; i < 5; i++) {
      const ok = await post(api, 'token/refresh', { refresh }, ELSEWHERE);
      expect(ok.status).toBe(200);
      refresh = (JSON.parse(ok.body ?? '') as { refresh?: string }).refresh ?? refresh;
    }
    expect((await post(api, 'token/refresh', { refresh: 'not-a-token' })).status).toBe(401);
    expect((await post(api, 'token/refresh', { refresh: 'still-not-a-token' })).status).toBe(401);
    expect((await post(api, 'token/blacklist', { refresh: 'nor-this' })).status).toBe(401);
    expectThrottled(await post(api, 'token/refresh', { refresh }), 60);
    expectThrottled(await post(api, 'token/blacklist', { refresh }), 60);
    expect((await post(api, 'token/refresh', { refresh }, ELSEWHERE)).status).toBe(200);
  });
});

describe('switched off or configured', () => {
  test('throttle: false counts nothing', async () => {
    const api = newApi(false);
    for (let i = 0; i < 30; i++) expect((await wrong(api)).status).toBe(401);
    expect((await right(api)).status).toBe(200);
  });

  test('one limit set to false is off, the others keep their defaults', async () => {
    const api = newApi({ ipUsername: false });
    for (let i = 0; i < 30; i++) expect((await wrong(api)).status).toBe(401);
    expect((await right(api)).status).toBe(200);
  });

  test('a limit given in part keeps the rest of its defaults', async () => {
    const api = newApi({ ipUsername: { points: 2 } });
    expect((await wrong(api)).status).toBe(401);
    expect((await wrong(api)).status).toBe(401);
    expect(expectThrottled(await right(api), 900)).toBeGreaterThan(890);
  });

  test('a body the API refuses (400) is no attempt and is not counted', async () => {
    const api = newApi({ ipUsername: { points: 1, durationSeconds: 60, blockSeconds: 60 } });
    for (let i = 0; i < 5; i++) expect((await post(api, 'login', { username: 'alice' })).status).toBe(400);
    expect((await right(api)).status).toBe(200);
  });
});

describe('options are validated', () => {
  const make = (throttle: unknown) => () => new SessionApi({ manager, verifyCredentials: () => null, throttle: throttle as false });
  test.each([
    [{ ipUsernme: {} }, 'nilva-session: unknown option "ipUsernme" for SessionApi option "throttle"; did you mean "ipUsername"?'],
    [{ ip: { point: 5 } }, 'nilva-session: unknown option "point" for SessionApi option "throttle.ip"; did you mean "points"?'],
    [{ ip: { block: 5 } }, 'nilva-session: unknown option "block" for SessionApi option "throttle.ip"; did you mean "blockSeconds"?'],
    [{ ip: { points: 0 } }, 'nilva-session: option "throttle.ip.points" must be an integer from 1 to 1000000, got 0'],
    [
      { username: { durationSeconds: 1.5 } },
      'nilva-session: option "throttle.username.durationSeconds" must be an integer from 1 to 2073600, got 1.5',
    ],
    [
      { refresh: { blockSeconds: '60' } },
      'nilva-session: option "throttle.refresh.blockSeconds" must be an integer from 1 to 2073600, got "60"',
    ],
    [
      { ipUsername: { blockSeconds: 30 * 86_400 } },
      'nilva-session: option "throttle.ipUsername.blockSeconds" must be an integer from 1 to 2073600, got 2592000',
    ],
    [{ ip: 5 }, 'nilva-session: option "throttle.ip" must be false or an object { points, durationSeconds, blockSeconds }'],
    [{ knownDeviceSeconds: -1 }, 'nilva-session: option "throttle.knownDeviceSeconds" must be an integer from 1 to 34560000, got -1'],
    [{ commandTimeoutMs: 0 }, 'nilva-session: option "throttle.commandTimeoutMs" must be a positive number, got 0'],
    [{ keyPrefix: 'has space' }, 'nilva-session: option "throttle.keyPrefix" must be up to 100 characters of A-Z a-z 0-9 : . _ -'],
    [
      { redis: 'redis://127.0.0.1:6379' },
      'nilva-session: option "throttle.redis" must be a node-redis client (createClient() of redis or @redis/client)',
    ],
    ['on', 'nilva-session: option "throttle" must be true, false or an object'],
  ])('%j', (throttle, message) => {
    expect(make(throttle)).toThrow(new TypeError(message));
  });

  test('a misspelled SessionApi option is named', () => {
    expect(() => new SessionApi({ manager, verifyCredentials: () => null, throttel: false } as never)).toThrow(
      new TypeError('nilva-session: unknown option "throttel" for SessionApi; did you mean "throttle"?'),
    );
  });

  test('true and {} are the defaults', async () => {
    for (const throttle of [true, {}] as const) {
      const api = newApi(throttle);
      for (let i = 0; i < 10; i++) expect((await wrong(api)).status).toBe(401);
      expectThrottled(await right(api), 900);
    }
  });
});

describe.each(FRAMEWORKS)('over HTTP through %s', (framework) => {
  test('the 429 reaches the client with Retry-After and the JSON body', async () => {
    const api = newApi({ ipUsername: { points: 1, durationSeconds: 60, blockSeconds: 60 } });
    const app = await startApp(framework, api);
    try {
      const body = (password: string) => JSON.stringify({ username: 'carol', password });
      const request = (password: string) =>
        send(app.url, { method: 'POST', path: '/api/login', headers: { 'content-type': 'application/json' }, body: body(password) });
      expect((await request('guess')).status).toBe(401);
      const refused = await request('carol-password');
      expectThrottled({ status: refused.status, headers: refused.headers, body: refused.text }, 60);
    } finally {
      await app.close();
    }
  });
});

describe.each(PAGE_FRAMEWORKS)('the pages over HTTP through %s', (framework) => {
  test('the sign-in form shows the wait on a 429 page and sends Retry-After', async () => {
    const api = newApi({ ipUsername: { points: 2, durationSeconds: 60, blockSeconds: 60 } });
    const pages = new SessionPages({ api, logger: { warn: (message) => logged.push(message) } });
    const app = await startPagesApp(framework, api, pages);
    try {
      const browser = new PageClient(app.url);
      for (let i = 0; i < 2; i++) {
        const refused = await browser.post('/login', { username: 'carol', password: 'guess' });
        expect(refused.status).toBe(401);
        expect(refused.text).toContain('No active account found with the given credentials.');
      }
      const before = checks;
      const page = await browser.post('/login', { username: 'carol', password: 'carol-password' });
      expect(page.status).toBe(429);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const seconds = Number(page.headers['retry-after']);
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
      expect(page.text).toContain(`Too many failed sign-in attempts. Try again in ${seconds} seconds.`);
      // The form is shown again, with the username kept.
      expect(page.text).toContain('name="password"');
      expect(page.text).toContain('value="carol"');
      expect(page.headers['set-cookie']).toBeUndefined();
      expect(checks).toBe(before);
    } finally {
      await app.close();
    }
  });
});

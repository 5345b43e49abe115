// verifyCredentials throwing is the application's failure: neither a wrong password nor a
// database outage. What the client is answered (DRF's generic 500, or what the app decides),
// and what the operator reads, once per call, without the password. SQLite.
import { MemorySessionCache, SessionError, SessionManager } from 'nilva-session';
import { SessionPages } from 'nilva-session/admin';
import { type ApiResponse, SessionApi, type SessionApiOptions } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { PageClient, startPagesApp } from '../helpers/page-apps.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const SECRET_PASSWORD = 'hunter2-correct-horse';

let database: TestDatabase;
let manager: SessionManager<unknown>;
const callbacks = userCallbacks(makeUsers());

beforeAll(async () => {
  database = await openTestDatabase('sqlite', { userIdType: 'integer' });
  manager = new SessionManager({
    store: database.store,
    cache: new MemorySessionCache(),
    loadUser: callbacks.loadUser,
    jwt: { signingKey: 'verify-credentials-errors-signing-key-32b' },
    logger: { warn: () => undefined },
  });
});
afterAll(async () => {
  await manager.close();
  await database.close();
});

function recording() {
  const lines: Array<{ level: 'warn' | 'error'; message: string }> = [];
  return {
    lines,
    logger: {
      warn: (message: string) => lines.push({ level: 'warn', message }),
      error: (message: string) => lines.push({ level: 'error', message }),
    },
  };
}

/** An app whose user table is broken: verifyCredentials throws while `broken` is set. */
function brokenApp(options: Partial<SessionApiOptions<unknown>> = {}) {
  const log = recording();
  const state = { broken: true };
  const api = new SessionApi({
    manager,
    logger: log.logger,
    verifyCredentials: (username, password) => {
      if (state.broken) throw new Error('relation "users" does not exist');
      return callbacks.verifyCredentials(username, password);
    },
    ...options,
  });
  return { api, state, lines: log.lines };
}

async function post(api: SessionApi<unknown>, path: string, username = 'alice', password = SECRET_PASSWORD): Promise<ApiResponse> {
  const response = await api.handle({
    method: 'POST',
    path,
    query: new URLSearchParams(),
    authorization: undefined,
    userAgent: 'curl/8.5.0',
    remoteAddress: '203.0.113.9',
    forwardedFor: undefined,
    contentType: 'application/json',
    body: JSON.stringify({ username, password }),
  });
  if (response === undefined) throw new Error(`no route ${path}`);
  return response;
}

describe('by default', () => {
  test('500 with DRF’s generic body, logged as an error once per call with the message, never the password', async () => {
    const { api, lines } = brokenApp();
    const first = await post(api, 'login');
    expect(first.status).toBe(500);
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.body).toBe('{"detail":"A server error occurred."}');
    expect(lines).toEqual([
      { level: 'error', message: 'nilva-session: verifyCredentials threw; login answers 500: relation "users" does not exist' },
    ]);
    const second = await post(api, 'token');
    expect(second.status).toBe(500);
    expect(lines).toHaveLength(2);
    expect(lines[1]?.message).toBe('nilva-session: verifyCredentials threw; token answers 500: relation "users" does not exist');
    expect(JSON.stringify(lines)).not.toContain(SECRET_PASSWORD);
  });

  test('a logger without error() gets a warning', async () => {
    const warnings: string[] = [];
    const { api } = brokenApp({ logger: { warn: (message) => warnings.push(message) } });
    expect((await post(api, 'login')).status).toBe(500);
    expect(warnings).toEqual(['nilva-session: verifyCredentials threw; login answers 500: relation "users" does not exist']);
  });

  test('a thrown SessionError keeps its own answer', async () => {
    const { api } = brokenApp({
      verifyCredentials: () => {
        throw new SessionError('ERR_STORE_UNAVAILABLE', 'the users database is down');
      },
    });
    const response = await post(api, 'login');
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.body).toBe('{"detail":"Service temporarily unavailable."}');
  });

  test('a throw is no failed attempt: it does not count toward the throttle', async () => {
    const { api, state } = brokenApp({ throttle: { ipUsername: { points: 1, durationSeconds: 60, blockSeconds: 60 } } });
    for (let i = 0; i < 3; i++) expect((await post(api, 'login', 'alice', 'wrong')).status).toBe(500);
    state.broken = false;
    expect((await post(api, 'login', 'alice', 'alice-password')).status).toBe(200);
  });
});

describe('onVerifyCredentialsError', () => {
  test('{ status, detail } is answered as JSON, and the log says which status went out', async () => {
    const seen: Array<{ error: unknown; ip: string }> = [];
    const { api, lines } = brokenApp({
      onVerifyCredentialsError: (error, facts) => {
        seen.push({ error, ip: facts.ip });
        return { status: 503, detail: 'The user directory is down.' };
      },
    });
    const response = await post(api, 'login');
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toBe('{"detail":"The user directory is down."}');
    expect(seen).toEqual([{ error: new Error('relation "users" does not exist'), ip: '203.0.113.9' }]);
    expect(lines.map((l) => l.message)).toEqual([
      'nilva-session: verifyCredentials threw; login answers 503: relation "users" does not exist',
    ]);
  });

  test('a whole response is answered as it is; undefined keeps the default', async () => {
    let answer: ApiResponse | undefined = { status: 502, headers: { 'content-type': 'text/plain', 'x-app': 'users' }, body: 'users down' };
    const { api } = brokenApp({ onVerifyCredentialsError: async () => answer });
    const custom = await post(api, 'login');
    expect(custom).toEqual({ status: 502, headers: { 'content-type': 'text/plain', 'x-app': 'users' }, body: 'users down' });
    answer = undefined;
    const fallback = await post(api, 'login');
    expect(fallback.status).toBe(500);
    expect(fallback.body).toBe('{"detail":"A server error occurred."}');
  });

  test('a mapping that throws or answers nonsense falls back to 500, and the one log line says so', async () => {
    const { api: throws, lines: thrown } = brokenApp({
      onVerifyCredentialsError: () => {
        throw new Error('mapper bug');
      },
    });
    expect((await post(throws, 'login')).status).toBe(500);
    expect(thrown.map((l) => l.message)).toEqual([
      'nilva-session: verifyCredentials threw; login answers 500: relation "users" does not exist; onVerifyCredentialsError threw: mapper bug',
    ]);
    const { api: nonsense, lines: said } = brokenApp({ onVerifyCredentialsError: () => ({ status: 200, detail: 'fine' }) });
    expect((await post(nonsense, 'login')).status).toBe(500);
    expect(said.map((l) => l.message)).toEqual([
      'nilva-session: verifyCredentials threw; login answers 500: relation "users" does not exist; onVerifyCredentialsError returned neither { status, detail } nor a response',
    ]);
  });

  test('must be a function', () => {
    expect(() => new SessionApi({ manager, verifyCredentials: () => null, onVerifyCredentialsError: 'x' as never })).toThrow(
      new TypeError('nilva-session: option "onVerifyCredentialsError" must be a function'),
    );
  });
});

test('the sign-in form shows a server error page, not "service unavailable"', async () => {
  const { api, lines } = brokenApp();
  const pages = new SessionPages({ api, logger: { warn: () => undefined } });
  const app = await startPagesApp('fastify', api, pages);
  try {
    const page = await new PageClient(app.url).post('/login', { username: 'alice', password: SECRET_PASSWORD });
    expect(page.status).toBe(500);
    expect(page.text).toContain('A server error occurred.');
    expect(page.text).not.toContain('Service temporarily unavailable.');
    expect(lines).toHaveLength(1);
  } finally {
    await app.close();
  }
});

// Strings a database cannot store (NUL, lone surrogates) are a 400 naming the field, before any
// query: on PostgreSQL a NUL in a bound text parameter is a driver error that would read as an
// outage (503), so it must never reach the database. The headers that are stored (User-Agent,
// the client IP from X-Forwarded-For) are cut or ignored rather than failing the insert (a
// MySQL `text` holds 64 KiB, less than a header of a server with a raised header limit).
import { connect } from 'node:net';
import { sql } from 'kysely';
import { SessionManager } from 'nilva-session';
import { MAX_USER_AGENT_LENGTH, SessionApi } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { FRAMEWORKS, type RunningApp, startApp } from '../helpers/http-apps.js';
import { Client, send } from '../helpers/http-client.js';

/**
 * Sends a request as raw bytes (header bytes a Node client would not send as given) over one
 * connection, and returns the status and the body's text.
 */
function rawRequest(baseUrl: string, request: Buffer): Promise<{ status: number; body: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    // Written, not ended: the server closes the connection after its answer (Connection: close).
    const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => {
      const data = Buffer.concat(chunks).toString('utf8');
      const split = data.indexOf('\r\n\r\n');
      const head = data.slice(0, split);
      let body = data.slice(split + 4);
      if (/^transfer-encoding: *chunked/im.test(head)) {
        let decoded = '';
        for (let at = 0; ; ) {
          const eol = body.indexOf('\r\n', at);
          const size = Number.parseInt(body.slice(at, eol), 16);
          if (!(size > 0)) break;
          decoded += body.slice(eol + 2, eol + 2 + size);
          at = eol + 2 + size + 2;
        }
        body = decoded;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body });
    });
    socket.on('error', reject);
  });
}

/** A raw HTTP/1.1 request; header values are given as bytes. */
function rawHttp(method: string, path: string, headers: ReadonlyArray<readonly [string, Buffer]>, body = ''): Buffer {
  const lines: Buffer[] = [Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`)];
  for (const [name, value] of headers) lines.push(Buffer.from(`${name}: `), value, Buffer.from('\r\n'));
  if (body !== '') lines.push(Buffer.from(`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`));
  lines.push(Buffer.from(`\r\n${body}`));
  return Buffer.concat(lines);
}

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

  const count = async () =>
    Number((await sql<{ n: number | string }>`select count(*) as n from ${sql.table(database.tableName)}`.execute(database.db)).rows[0]?.n);
  const activeCount = async () =>
    Number(
      (
        await sql<{ n: number | string }>`select count(*) as n from ${sql.table(database.tableName)}
          where is_active = ${dialect === 'sqlite' ? 1 : true}`.execute(database.db)
      ).rows[0]?.n,
    );
  const request = (fields: Partial<Parameters<SessionApi<unknown>['handle']>[0]>) =>
    api.handle({
      authorization: undefined,
      remoteAddress: '127.0.0.1',
      forwardedFor: undefined,
      userAgent: 'test',
      method: 'GET',
      path: 'active',
      query: new URLSearchParams(),
      contentType: undefined,
      body: undefined,
      ...fields,
    });

  test('DELETE active: a NUL in token_id or scope is a 400 naming the parameter, and nothing is revoked', async () => {
    const { token } = JSON.parse((await post('login', { username: 'alice', password: 'x' }))?.body ?? '') as { token: string };
    const [rows, active] = [await count(), await activeCount()];
    for (const [query, named] of [
      ['token_id=%00', 'token_id'],
      [`token_id=${encodeURIComponent('00000000-0000-4000-8000-00000000000\u0000')}`, 'token_id'],
      ['scope=others%00', 'scope'],
      ['scope=%00', 'scope'],
    ] as const) {
      const response = await request({ method: 'DELETE', authorization: `Token ${token}`, query: new URLSearchParams(query) });
      expect(response?.status, query).toBe(400);
      expect((JSON.parse(response?.body ?? '') as { detail: string }).detail, query).toContain(named);
    }
    expect([await count(), await activeCount()]).toEqual([rows, active]);
    expect((await request({ authorization: `Token ${token}` }))?.status).toBe(200);
  });

  test('an Authorization header the parser refuses (NUL, lone surrogate, not UTF-8) is a 401 before any lookup', async () => {
    const { token } = JSON.parse((await post('login', { username: 'alice', password: 'x' }))?.body ?? '') as { token: string };
    const [rows, active] = [await count(), await activeCount()];
    for (const authorization of [
      `Token ${token.slice(0, -1)}\u0000`,
      `Token ${token}\u0000`,
      `Token \u0000`,
      `Token ${token.slice(0, -1)}\ud800`,
      `Bearer a.b\u0000.c`,
      `Token ${Buffer.from('é', 'utf8').toString('latin1').slice(0, 1)}${token.slice(1)}`,
    ]) {
      for (const method of ['GET', 'DELETE']) {
        const response = await request({ method, authorization });
        expect(response?.status, JSON.stringify(authorization)).toBe(401);
        expect(JSON.parse(response?.body ?? '')).toHaveProperty('detail');
        expect(response?.headers['www-authenticate']).toBeDefined();
      }
      // Through the middleware's entry point too.
      const outcome = await api.authenticate({ authorization, remoteAddress: '127.0.0.1', forwardedFor: undefined, userAgent: 'test' });
      expect(outcome?.ok).toBe(false);
    }
    expect([await count(), await activeCount()]).toEqual([rows, active]);
    expect((await request({ authorization: `Token ${token}` }))?.status).toBe(200);
  });

  test('a User-Agent no database can store is a 400 naming the header, and no session is made', async () => {
    const rows = await count();
    for (const [userAgent, message] of [
      ['Mozilla\u0000', 'User-Agent header: null characters are not allowed.'],
      ['Mozilla\ud800', 'User-Agent header: not a valid string.'],
    ]) {
      for (const path of ['login', 'token']) {
        const response = await request({
          method: 'POST',
          path,
          userAgent,
          contentType: 'application/json',
          body: JSON.stringify({ username: 'alice', password: 'x' }),
        });
        expect(response?.status).toBe(400);
        expect(JSON.parse(response?.body ?? '')).toEqual({ detail: message });
      }
    }
    expect(await count()).toBe(rows);
    expect(seen.filter((name) => name.includes('\u0000'))).toEqual([]);
  });
});

describe.each(DIALECTS)('headers that reach the database, on %s', (dialect) => {
  let database: TestDatabase;
  let api: SessionApi<unknown>;
  const apps: Partial<Record<(typeof FRAMEWORKS)[number], RunningApp>> = {};

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
    // Strict: a User-Agent that differs by one character suspends the session, so a stored value
    // that is not what every later request presents would show at once.
    const manager = new SessionManager({
      store: database.store,
      userAgentPolicy: 'strict',
      trustProxy: ['127.0.0.1'],
      logger: { warn: () => undefined },
    });
    api = new SessionApi({ manager, verifyCredentials: (username) => (username === 'alice' ? 'alice' : null) });
    for (const framework of FRAMEWORKS) apps[framework] = await startApp(framework, api);
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await api?.manager.close();
    await database?.close();
  });

  const row = async (id: string) =>
    (
      await sql<{ user_agent: string; last_ip: string }>`select user_agent, last_ip from ${sql.table(database.tableName)}
        where id = ${id}`.execute(database.db)
    ).rows[0];

  test.each(FRAMEWORKS)(
    'through %s: a 10 KB User-Agent is kept to its first 1024 characters, and the session keeps working',
    async (framework) => {
      const url = (apps[framework] as RunningApp).url;
      const userAgent = `Mozilla/5.0 ${'x'.repeat(10_000)}`;
      const client = new Client(url, userAgent);
      const { token, session_id } = await client.login('alice', 'x');
      expect(MAX_USER_AGENT_LENGTH).toBe(1024);
      expect((await row(session_id))?.user_agent).toBe(userAgent.slice(0, 1024));
      for (let i = 0; i < 2; i++) expect((await client.request('GET', '/api/me', { token })).status).toBe(200);
      expect((await client.request('GET', '/api/active', { token })).status).toBe(200);
      // The strict policy still sees a change within the kept part.
      expect((await new Client(url, `Mozilla/5.1 ${'x'.repeat(10_000)}`).request('GET', '/api/me', { token })).status).toBe(401);
    },
  );

  test.each(FRAMEWORKS)('through %s: UTF-8 bytes in the User-Agent are stored as they arrive, and match afterwards', async (framework) => {
    const url = (apps[framework] as RunningApp).url;
    const bytes = Buffer.from('Mozilla/5.0 (é 😀)', 'utf8');
    const login = await rawRequest(url, rawHttp('POST', '/api/login', [['User-Agent', bytes]], '{"username":"alice","password":"x"}'));
    expect(login.status).toBe(200);
    const { token, session_id } = JSON.parse(login.body) as { token: string; session_id: string };
    // Node hands header bytes over as latin1: the UTF-8 of "é" and "😀" arrive as 2 and 4 characters.
    expect((await row(session_id))?.user_agent).toBe(bytes.toString('latin1'));
    const me = rawHttp('GET', '/api/me', [
      ['User-Agent', bytes],
      ['Authorization', Buffer.from(`Token ${token}`)],
    ]);
    expect((await rawRequest(url, me)).status).toBe(200);
  });

  test.each(FRAMEWORKS)(
    'through %s: a NUL or control character in a header is refused by Node before the app, and no session is made',
    async (framework) => {
      const url = (apps[framework] as RunningApp).url;
      const before = Number(
        (await sql<{ n: number | string }>`select count(*) as n from ${sql.table(database.tableName)}`.execute(database.db)).rows[0]?.n,
      );
      for (const bad of ['\u0000', '\u0001', '\u007f']) {
        const request = rawHttp(
          'POST',
          '/api/login',
          [['User-Agent', Buffer.from(`a${bad}b`, 'latin1')]],
          '{"username":"alice","password":"x"}',
        );
        expect((await rawRequest(url, request)).status).toBe(400);
      }
      const after = Number(
        (await sql<{ n: number | string }>`select count(*) as n from ${sql.table(database.tableName)}`.execute(database.db)).rows[0]?.n,
      );
      expect(after).toBe(before);
    },
  );

  test.each(FRAMEWORKS)(
    'through %s: X-Forwarded-For from the trusted proxy gives the client IP; a bogus one is ignored',
    async (framework) => {
      const url = (apps[framework] as RunningApp).url;
      const login = async (forwardedFor: string) => {
        const res = await send(url, {
          method: 'POST',
          path: '/api/login',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor, 'user-agent': 'test' },
          body: '{"username":"alice","password":"x"}',
        });
        expect(res.status, forwardedFor).toBe(200);
        return (await row((res.json as { session_id: string }).session_id))?.last_ip;
      };
      expect(await login('203.0.113.9')).toBe('203.0.113.9');
      expect(await login('::ffff:203.0.113.9')).toBe('203.0.113.9');
      expect(await login('198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
      for (const bogus of [
        'garbage',
        '999.1.1.1',
        '203.0.113.9 ; drop table',
        'x'.repeat(8_000),
        `${'1'.repeat(60)}`,
        '203.0.113.9%eth0',
      ]) {
        expect(await login(bogus), bogus).toBe('127.0.0.1');
      }
    },
  );

  test('a User-Agent past 64 KiB (a raised header limit, or a hand-built request) is cut at a code-point boundary, not an error', async () => {
    const base = {
      remoteAddress: '127.0.0.1',
      forwardedFor: undefined,
      method: 'POST',
      path: 'login',
      query: new URLSearchParams(),
      contentType: 'application/json',
      body: '{"username":"alice","password":"x"}',
    };
    // 1023 characters and then an emoji (two code units): the cut drops the whole emoji.
    for (const [userAgent, kept] of [
      ['é'.repeat(40_000), 'é'.repeat(1024)],
      [`${'a'.repeat(1023)}😀${'b'.repeat(100)}`, 'a'.repeat(1023)],
    ]) {
      const response = await api.handle({ ...base, authorization: undefined, userAgent });
      expect(response?.status).toBe(200);
      const { token, session_id } = JSON.parse(response?.body ?? '') as { token: string; session_id: string };
      expect((await row(session_id))?.user_agent).toBe(kept);
      const me = await api.handle({ ...base, method: 'GET', path: 'active', body: undefined, authorization: `Token ${token}`, userAgent });
      expect(me?.status).toBe(200);
    }
  });
});

// The demo as a newcomer meets it: its own process, embedded SQLite, driven over HTTP.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { sql } from 'kysely';
import { pageSecurityHeaders } from 'nilva-session/admin';
import { connectDatabase, type DatabaseConnection } from 'nilva-session/kysely';
import type { OpenApiDocument } from 'nilva-session/openapi';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type DemoDatabase, DemoUsers } from '../../examples/demo/demo-users.js';
import { Client } from '../helpers/http-client.js';
import { ContractChecker, recordContract } from '../helpers/openapi-responses.js';
import { type DemoProcess, run, startDemoProcess } from '../helpers/processes.js';
import { deleteNamespace } from '../helpers/redis.js';

/** The text of an HTML fragment that holds only text and the entities the pages escape. */
function textOf(fragment: string): string {
  return fragment
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

describe('demo server (npm start)', () => {
  let demo: DemoProcess;
  const dir = mkdtempSync(join(tmpdir(), 'nilva-demo-'));

  beforeAll(async () => {
    demo = await startDemoProcess({ DATABASE_URL: `sqlite:${join(dir, 'demo.sqlite')}` });
  });

  afterAll(async () => {
    await demo?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers /healthz once the database is reachable', async () => {
    const res = await new Client(demo.url).request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'ok', database: 'sqlite' });
  });

  test('its home page shows the address it really listens on, in its curl examples too', async () => {
    // PORT=0: the system picked the port, so it is not the default 3000.
    expect(demo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo.url).not.toBe('http://127.0.0.1:3000');
    const res = await new Client(demo.url).request('GET', '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain(`<a href="${demo.url}/" data-demo-url><code>${demo.url}</code></a>`);
    expect(res.text).not.toContain(':3000');
    const curls = res.text.split('\n').filter((line) => /\bcurl /.test(line));
    expect(curls).toHaveLength(4);
    for (const line of curls) expect(line).toContain(`${demo.url}/api/`);
    // Copied into a shell as printed, the first examples sign alice in and list her sessions here.
    const script = textOf(/<pre>([\s\S]*?)<\/pre>/.exec(res.text)?.[1] ?? '')
      .split('\n')
      .slice(0, 3)
      .join('\n');
    const listed = await run('bash', ['-c', `set -e\n${script}`]);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const sessions = JSON.parse(listed.stdout) as Array<{ user_id: number }>;
    expect(sessions.length).toBeGreaterThan(0);
    expect(new Set(sessions.map((s) => s.user_id))).toEqual(new Set([1]));
  });

  test('its home page is sent with the same security headers as the library pages, and its style passes their CSP', async () => {
    const client = new Client(demo.url);
    const [home, login] = [await client.request('GET', '/'), await client.request('GET', '/login')];
    expect(home.status).toBe(200);
    expect(login.status).toBe(200);
    const security = Object.keys(pageSecurityHeaders());
    expect(security).toEqual(
      expect.arrayContaining(['content-security-policy', 'x-frame-options', 'x-content-type-options', 'referrer-policy']),
    );
    const pick = (headers: Record<string, unknown>) =>
      Object.fromEntries([...security, 'content-type'].map((name) => [name, headers[name]]));
    expect(pick(home.headers)).toEqual(pick(login.headers));
    expect(pick(home.headers)).toEqual({ ...pageSecurityHeaders(), 'content-type': 'text/html; charset=utf-8' });
    // The one inline style is allowed by its hash, and nothing else is on the page to allow.
    const styles = [...home.text.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256')
      .update(styles[0] as string)
      .digest('base64');
    expect(String(home.headers['content-security-policy'])).toContain(`style-src 'sha256-${hash}'`);
    expect(home.text).not.toMatch(/<script|\sstyle=|<link|<img/i);
  });

  test('seeds alice, bob and admin, and serves the API at /api/', async () => {
    const client = new Client(demo.url);
    for (const name of ['alice', 'bob', 'admin']) {
      const { token } = await client.login(name, `${name}-password`);
      const me = await client.request('GET', '/api/me', { token });
      expect(me.status).toBe(200);
      expect((me.json as { user: { username: string } }).user.username).toBe(name);
    }
  });

  test('serves the OpenAPI 3.1 document of its API at /api/openapi.json, and answers as it says', async () => {
    const res = await new Client(demo.url).request('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const document = res.json as OpenApiDocument;
    expect(await new Validator().validate(JSON.parse(res.text))).toEqual({ valid: true });
    expect(new ContractChecker(document).schemaProblems()).toEqual([]);
    expect(document.info.title).toBe('nilva-session demo');
    // JWTs are on in the demo: the token routes are documented too.
    expect(Object.keys(document.paths)).toEqual([
      '/api/login',
      '/api/logout',
      '/api/reauthenticate',
      '/api/active',
      '/api/token',
      '/api/token/refresh',
      '/api/token/blacklist',
    ]);
    const recorded = recordContract(demo.url, document);
    try {
      const client = new Client(demo.url);
      const { token } = await client.login('bob', 'bob-password');
      expect((await client.request('GET', '/api/active?limit=1', { token })).status).toBe(200);
      const pair = await client.request('POST', '/api/token', { body: { username: 'bob', password: 'bob-password' } });
      const { refresh } = pair.json as { refresh: string };
      expect((await client.request('POST', '/api/token/refresh', { body: { refresh } })).status).toBe(200);
      expect((await client.request('POST', '/api/token/blacklist', { body: { refresh } })).status).toBe(200);
      expect((await client.request('POST', '/api/logout', { token })).status).toBe(204);
      expect((await client.request('GET', '/api/active', { token })).status).toBe(401);
      expect(recorded.exchanges).toHaveLength(7);
      expect(recorded.problems()).toEqual([]);
    } finally {
      recorded.stop();
    }
  });

  test('keeps users apart and ends sessions at once', async () => {
    const client = new Client(demo.url);
    const alice = await client.login('alice', 'alice-password');
    const bob = await client.login('bob', 'bob-password');
    const list = await client.request('GET', '/api/active', { token: alice.token });
    const ids = (list.json as Array<{ session_id: string; user_id: number }>).map((s) => s.user_id);
    expect(new Set(ids)).toEqual(new Set([1]));
    expect((await client.request('DELETE', `/api/active?token_id=${bob.session_id}`, { token: alice.token })).status).toBe(204);
    expect((await client.request('GET', '/api/me', { token: bob.token })).status).toBe(200);
    expect((await client.request('POST', '/api/logout', { token: bob.token })).status).toBe(204);
    expect((await client.request('GET', '/api/me', { token: bob.token })).json).toEqual({ detail: 'User session is suspended.' });
  });

  test('throttles sign-in by default: after 10 wrong passwords the 11th attempt is 429', async () => {
    const client = new Client(demo.url);
    // A name of its own: the other tests' users stay unblocked.
    const attempt = () => client.request('POST', '/api/login', { body: { username: 'mallory', password: 'guess' } });
    for (let i = 0; i < 10; i++) expect((await attempt()).status).toBe(401);
    const refused = await attempt();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(800);
    expect(refused.json).toEqual({ detail: `Request was throttled. Expected available in ${refused.headers['retry-after']} seconds.` });
  });

  test('keeps its seed users across restarts and never prints a token', async () => {
    const client = new Client(demo.url);
    const { token } = await client.login('alice', 'alice-password');
    await demo.stop();
    const output = demo.output();
    demo = await startDemoProcess({ DATABASE_URL: `sqlite:${join(dir, 'demo.sqlite')}` });
    const again = new Client(demo.url);
    expect((await again.request('GET', '/api/me', { token })).status).toBe(200);
    expect(output).not.toContain(token);
    expect(demo.output()).not.toContain(token);
  });
});

describe('demo server with JWT and Redis', () => {
  test('the sign-in throttle is shared through Redis: failures on one process count on the other', async () => {
    const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', REDIS_URL: 'redis://127.0.0.1:6379' };
    // The demo keeps the default prefix; start clean, and leave nothing behind for a rerun.
    await deleteNamespace('nilva:throttle:');
    const a = await startDemoProcess(env);
    const b = await startDemoProcess(env);
    try {
      const attempt = (url: string, password: string) =>
        new Client(url).request('POST', '/api/login', { body: { username: 'alice', password } });
      for (let i = 0; i < 5; i++) expect((await attempt(a.url, 'guess')).status).toBe(401);
      for (let i = 0; i < 5; i++) expect((await attempt(b.url, 'guess')).status).toBe(401);
      expect((await attempt(a.url, 'alice-password')).status).toBe(429);
      expect((await attempt(b.url, 'alice-password')).status).toBe(429);
    } finally {
      await a.stop();
      await b.stop();
      await deleteNamespace('nilva:throttle:');
    }
  });

  test('issues JWT pairs, and two demo processes on one PostgreSQL and one Redis behave as one', async () => {
    const env = {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      REDIS_URL: 'redis://127.0.0.1:6379',
      NILVA_SIGNING_KEY: 'demo-test-signing-key-0123456789abcdef',
    };
    const a = await startDemoProcess(env);
    const b = await startDemoProcess(env);
    try {
      expect((await new Client(a.url).request('GET', '/healthz')).json).toMatchObject({
        status: 'ok',
        database: 'postgres',
        cache: 'redis',
      });
      const client = new Client(a.url);
      const pair = (await client.request('POST', '/api/token', { body: { username: 'bob', password: 'bob-password' } })).json as {
        access: string;
        refresh: string;
      };
      const bearer = { headers: { authorization: `Bearer ${pair.access}` } };
      const { token } = await client.login('bob', 'bob-password');
      const onB = new Client(b.url);
      expect((await onB.request('GET', '/api/me', bearer)).status).toBe(200);
      expect((await onB.request('GET', '/api/me', { token })).status).toBe(200);
      // Revoke on A; B refuses at once.
      expect((await client.request('POST', '/api/token/blacklist', { body: { refresh: pair.refresh } })).status).toBe(200);
      expect((await client.request('POST', '/api/logout', { token })).status).toBe(204);
      expect((await onB.request('GET', '/api/me', bearer)).status).toBe(401);
      expect((await onB.request('GET', '/api/me', { token })).status).toBe(401);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

// A fresh database: nothing exists yet, so every process races to create the same tables and
// seed the same users. All of them must come up, whichever wins.
describe.each([
  { dialect: 'postgres', server: 'postgres://postgres@127.0.0.1:5432' },
  { dialect: 'mysql', server: 'mysql://root@127.0.0.1:3306' },
] as const)('demo processes started at once on a fresh $dialect database', ({ dialect, server }) => {
  let admin: DatabaseConnection<unknown>;
  const created: string[] = [];

  /** A new, empty database on the shared server; dropped after the tests. */
  async function freshDatabase(): Promise<string> {
    const name = `nilva_demo_${randomBytes(6).toString('hex')}`;
    await sql`create database ${sql.id(name)}`.execute(admin.db);
    created.push(name);
    return `${server}/${name}`;
  }

  beforeAll(async () => {
    admin = await connectDatabase(`${server}/test`);
  });

  afterAll(async () => {
    // Every connection to these databases is closed by now (PostgreSQL refuses to drop one in use).
    for (const name of created) await sql`drop database if exists ${sql.id(name)}`.execute(admin.db);
    await admin?.close();
  });

  test('three processes all come up, and each signs users in and serves them', async () => {
    const url = await freshDatabase();
    const env = { DATABASE_URL: url, NILVA_SIGNING_KEY: 'demo-concurrent-signing-key-0123456789' };
    const started = await Promise.allSettled([startDemoProcess(env), startDemoProcess(env), startDemoProcess(env)]);
    const demos = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    try {
      expect(started.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []))).toEqual([]);
      for (const [i, demo] of demos.entries()) {
        const client = new Client(demo.url);
        const username = ['alice', 'bob', 'admin'][i] as string;
        const { token } = await client.login(username, `${username}-password`);
        const me = await client.request('GET', '/api/me', { token });
        expect(me.status).toBe(200);
        expect((me.json as { user: { username: string } }).user.username).toBe(username);
      }
      // A JWT from one process is good on the others: they share the key and the sessions.
      const pair = (
        await new Client(demos[0]?.url ?? '').request('POST', '/api/token', { body: { username: 'bob', password: 'bob-password' } })
      ).json as { access: string };
      for (const demo of demos) {
        expect((await new Client(demo.url).request('GET', '/api/me', { headers: { authorization: `Bearer ${pair.access}` } })).status).toBe(
          200,
        );
      }
    } finally {
      await Promise.all(demos.map((demo) => demo.stop()));
    }
    expect(await seededUsers(url)).toEqual(['alice', 'bob', 'admin']);
  }, 120_000);

  test('the users table is created and seeded once when set-ups overlap', async () => {
    // Three set-ups in one process, each on its own pool, start together: closer than three
    // processes ever line up, so the creation and the inserts really overlap.
    for (let round = 0; round < 3; round++) {
      const url = await freshDatabase();
      const connections = await Promise.all([1, 2, 3].map(() => connectDatabase<DemoDatabase>(url)));
      try {
        const setUps = await Promise.allSettled(connections.map((c) => new DemoUsers(c.db, dialect).setUp()));
        expect(setUps.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []))).toEqual([]);
      } finally {
        await Promise.all(connections.map((c) => c.close()));
      }
      expect(await seededUsers(url)).toEqual(['alice', 'bob', 'admin']);
    }
  });
});

/** The usernames in the demo's users table, in id order. */
async function seededUsers(url: string): Promise<string[]> {
  const users = await connectDatabase<DemoDatabase>(url);
  try {
    return (await users.db.selectFrom('demo_user').select('username').orderBy('id').execute()).map((r) => r.username);
  } finally {
    await users.close();
  }
}

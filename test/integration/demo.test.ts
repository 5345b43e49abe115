// The demo as a newcomer meets it: its own process, embedded SQLite, driven over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client } from '../helpers/http-client.js';
import { type DemoProcess, startDemoProcess } from '../helpers/processes.js';

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

  test('seeds alice, bob and admin, and serves the API at /api/', async () => {
    const client = new Client(demo.url);
    for (const name of ['alice', 'bob', 'admin']) {
      const { token } = await client.login(name, `${name}-password`);
      const me = await client.request('GET', '/api/me', { token });
      expect(me.status).toBe(200);
      expect((me.json as { user: { username: string } }).user.username).toBe(name);
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

// The examples as an adopter runs them: `tsx examples/<name>/main.ts` in a process of its own,
// on a free port, with its own database, driven over HTTP. One list of scenarios serves the
// Express, Fastify, Hono and NestJS examples, on SQLite, PostgreSQL and MariaDB.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { connectDatabase } from 'nilva-session/kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client } from './http-client.js';
import { ROOT, TSX } from './processes.js';

/** The example apps under examples/. */
export type ExampleName = 'express' | 'fastify' | 'hono' | 'nestjs';

/** An example app running in its own process. */
export interface ExampleProcess {
  readonly url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `examples/<name>/main.ts` and waits for its "listening on" line. */
export function startExample(name: ExampleName, env: Record<string, string>): Promise<ExampleProcess> {
  return new Promise((resolve, reject) => {
    // Compiled under the example's own tsconfig.json, as tsc checks it (NestJS's needs decorators).
    const child: ChildProcess = spawn(TSX, ['--tsconfig', `examples/${name}/tsconfig.json`, `examples/${name}/main.ts`], {
      cwd: ROOT,
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let exited: Promise<number | null> | undefined;
    const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`examples/${name} did not start:\n${output}`));
    }, 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] === undefined || exited !== undefined) return;
      clearTimeout(timer);
      exited = exit;
      resolve({
        url: match[1],
        output: () => output,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exit;
        },
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    void exit.then((code) => {
      clearTimeout(timer);
      if (exited === undefined) reject(new Error(`examples/${name} exited with ${code} before listening:\n${output}`));
    });
  });
}

/** A database of its own for one run of an example, and how to drop it. */
interface ScratchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** The examples' databases: a SQLite file, a PostgreSQL schema, a MariaDB database, each made for the run. */
export const EXAMPLE_DIALECTS = ['sqlite', 'postgres', 'mysql'] as const;

async function scratchDatabase(dialect: (typeof EXAMPLE_DIALECTS)[number]): Promise<ScratchDatabase> {
  const name = `nilva_example_${randomBytes(6).toString('hex')}`;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'nilva-example-'));
    return { url: `sqlite:${join(dir, 'app.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = await connectDatabase(
    dialect === 'postgres' ? 'postgres://postgres@127.0.0.1:5432/test' : 'mysql://root@127.0.0.1:3306/test',
  );
  try {
    if (dialect === 'postgres') await sql`create schema ${sql.id(name)}`.execute(admin.db);
    else await sql`create database ${sql.id(name)}`.execute(admin.db);
  } finally {
    await admin.close();
  }
  return {
    // The app sees only its schema (PostgreSQL) or database (MariaDB), so its `user_session`
    // and `app_user` tables never meet another test's.
    url:
      dialect === 'postgres'
        ? `postgres://postgres@127.0.0.1:5432/test?options=${encodeURIComponent(`-c search_path=${name}`)}`
        : `mysql://root@127.0.0.1:3306/${name}`,
    async drop() {
      const again = await connectDatabase(
        dialect === 'postgres' ? 'postgres://postgres@127.0.0.1:5432/test' : 'mysql://root@127.0.0.1:3306/test',
      );
      try {
        if (dialect === 'postgres') await sql`drop schema if exists ${sql.id(name)} cascade`.execute(again.db);
        else await sql`drop database if exists ${sql.id(name)}`.execute(again.db);
      } finally {
        await again.close();
      }
    },
  };
}

interface StoredUser {
  readonly username: string;
  readonly password_hash: string;
}

/** Reads the example's users table directly, to see what it stored. */
async function storedUsers(url: string): Promise<StoredUser[]> {
  const database = await connectDatabase<{ app_user: StoredUser }>(url);
  try {
    return await database.db.selectFrom('app_user').select(['username', 'password_hash']).execute();
  } finally {
    await database.close();
  }
}

/**
 * The scenarios every example passes, once per database: sign-up, login, `/me` with the typed
 * user, wrong password and unknown user refused alike, logout, a restart that keeps users and
 * sessions, and a shutdown that exits 0.
 */
export function describeExample(name: ExampleName): void {
  describe.each(EXAMPLE_DIALECTS)(`examples/${name} on %s`, (dialect) => {
    let database: ScratchDatabase;
    let app: ExampleProcess;
    const password = 'correct horse battery staple';

    beforeAll(async () => {
      database = await scratchDatabase(dialect);
      app = await startExample(name, { DATABASE_URL: database.url });
    });

    afterAll(async () => {
      await app?.stop();
      await database?.drop();
    });

    test('sign-up creates a user and stores only a salted scrypt hash of the password', async () => {
      const client = new Client(app.url);
      const alice = await client.request('POST', '/signup', { body: { username: 'alice', password } });
      expect(alice.status).toBe(201);
      expect(alice.json).toEqual({ id: expect.any(Number), username: 'alice' });
      expect((await client.request('POST', '/signup', { body: { username: 'bob', password } })).status).toBe(201);

      const rows = await storedUsers(database.url);
      expect(rows.map((r) => r.username).sort()).toEqual(['alice', 'bob']);
      for (const row of rows) {
        expect(row.password_hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
        expect(row.password_hash).not.toContain(password);
      }
      // Same password, different salt: the hashes differ.
      expect(rows[0]?.password_hash).not.toBe(rows[1]?.password_hash);
    });

    test('sign-up refuses a taken username, a short password, a missing field and malformed JSON with 400', async () => {
      const client = new Client(app.url);
      const taken = await client.request('POST', '/signup', { body: { username: 'alice', password: 'another-password' } });
      expect(taken.status).toBe(400);
      expect(taken.json).toEqual({ username: ['A user with that username already exists.'] });
      const short = await client.request('POST', '/signup', { body: { username: 'carol', password: 'short' } });
      expect(short.status).toBe(400);
      expect(short.json).toEqual({ password: ['Use at least 8 characters.'] });
      const missing = await client.request('POST', '/signup', { body: { password } });
      expect(missing.status).toBe(400);
      expect(missing.json).toEqual({ username: ['This field is required.'] });
      // Each framework words a JSON syntax error its own way; all answer 400 in JSON.
      const malformed = await client.request('POST', '/signup', { body: '{"username": "carol",' });
      expect(malformed.status).toBe(400);
      expect(malformed.json).toBeTypeOf('object');
    });

    test('login gives a token, and /me with it answers the signed-in user', async () => {
      const client = new Client(app.url);
      const { token, session_id } = await client.login('alice', password);
      expect(token).toMatch(/^[a-z0-9]{50}$/);
      const me = await client.request('GET', '/me', { token });
      expect(me.status).toBe(200);
      expect(me.json).toEqual({ user: { id: expect.any(Number), username: 'alice' } });
      const active = await client.request('GET', '/api/active', { token });
      expect(active.status).toBe(200);
      expect(active.json).toContainEqual(expect.objectContaining({ session_id, is_current: true }));
    });

    test('a wrong password and an unknown username get the same 401', async () => {
      const client = new Client(app.url);
      const refused = { detail: 'No active account found with the given credentials' };
      const wrong = await client.request('POST', '/api/login', { body: { username: 'alice', password: 'wrong-password' } });
      expect(wrong.status).toBe(401);
      expect(wrong.json).toEqual(refused);
      const unknown = await client.request('POST', '/api/login', { body: { username: 'mallory', password } });
      expect(unknown.status).toBe(401);
      expect(unknown.json).toEqual(refused);
    });

    test('/me without a token, or with a made-up one, is 401', async () => {
      const client = new Client(app.url);
      const anonymous = await client.request('GET', '/me');
      expect(anonymous.status).toBe(401);
      expect(anonymous.json).toEqual({ detail: 'Authentication credentials were not provided.' });
      expect(anonymous.headers['www-authenticate']).toBe('Token');
      const madeUp = await client.request('GET', '/me', { token: 'a'.repeat(50) });
      expect(madeUp.status).toBe(401);
      expect(madeUp.json).toEqual({ detail: 'Invalid token.' });
    });

    test('logout ends the session: the same token then gets 401', async () => {
      const client = new Client(app.url);
      const { token } = await client.login('bob', password);
      expect((await client.request('GET', '/me', { token })).status).toBe(200);
      const logout = await client.request('POST', '/api/logout', { token });
      expect(logout.status).toBe(204);
      expect(logout.text).toBe('');
      const after = await client.request('GET', '/me', { token });
      expect(after.status).toBe(401);
      expect(after.json).toEqual({ detail: 'User session is suspended.' });
    });

    test('shuts down cleanly on SIGTERM and keeps users and sessions across a restart', async () => {
      const { token } = await new Client(app.url).login('alice', password);
      const code = await app.stop();
      expect(code).toBe(0);
      expect(app.output()).toContain('SIGTERM: shutting down');
      expect(app.output()).not.toContain(token);

      app = await startExample(name, { DATABASE_URL: database.url });
      const client = new Client(app.url);
      const me = await client.request('GET', '/me', { token });
      expect(me.status).toBe(200);
      expect(me.json).toEqual({ user: { id: expect.any(Number), username: 'alice' } });
      expect((await client.request('POST', '/api/login', { body: { username: 'bob', password } })).status).toBe(200);
    });
  });
}

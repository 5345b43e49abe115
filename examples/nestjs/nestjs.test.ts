// examples/nestjs as an adopter runs it (its own process, driven over HTTP on SQLite, PostgreSQL
// and MariaDB), and as a NestJS test would: the application module in a testing module, on a
// real port, through real HTTP requests.
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { connectDatabase, type DatabaseConnection, migrateSessionStore } from 'nilva-session/kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { describeExample } from '../../test/helpers/example-apps.js';
import { Client } from '../../test/helpers/http-client.js';
import { AppModule } from './app.module.js';
import { Users, type UsersDatabase } from './users.js';

describeExample('nestjs');

describe('examples/nestjs in a testing module', () => {
  let database: DatabaseConnection<UsersDatabase>;
  let app: INestApplication;
  let client: Client;

  beforeAll(async () => {
    database = await connectDatabase<UsersDatabase>('sqlite::memory:');
    await migrateSessionStore(database.db, { dialect: database.dialect, userIdType: 'integer' });
    await new Users(database.db, database.dialect).migrate();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(database)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    client = new Client(`http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  test('sign up, log in, /me, the active sessions, log out', async () => {
    const password = 'correct horse battery staple';
    const created = await client.request('POST', '/signup', { body: { username: 'alice', password } });
    expect(created.status).toBe(201);
    const { token, session_id } = await client.login('alice', password);
    const me = await client.request('GET', '/me', { token });
    expect(me.status).toBe(200);
    expect(me.json).toEqual({ user: { id: (created.json as { id: number }).id, username: 'alice' } });
    const active = await client.request('GET', '/api/active', { token });
    expect((active.json as Array<{ session_id: string; is_current: boolean }>).map((s) => [s.session_id, s.is_current])).toEqual([
      [session_id, true],
    ]);
    expect((await client.request('POST', '/api/logout', { token })).status).toBe(204);
    const after = await client.request('GET', '/me', { token });
    expect(after.status).toBe(401);
    expect(after.json).toEqual({ detail: 'User session is suspended.' });
  });
});

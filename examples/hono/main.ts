// A complete Hono app on nilva-session (on Node through @hono/node-server): sign-up, login,
// a protected route, logout. Configuration from the environment: DATABASE_URL
// [sqlite:./hono.sqlite] (or postgres://…, mysql://…), PORT [3000], HOST [127.0.0.1].
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { nilvaHono } from 'nilva-session/hono';
import { SessionApi } from 'nilva-session/http';
import { connectDatabase, KyselySessionStore, migrateSessionStore } from 'nilva-session/kysely';
import { type AppUser, readSignUp, Users, type UsersDatabase } from './users.js';

const databaseUrl = process.env.DATABASE_URL || 'sqlite:./hono.sqlite';
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 3000);

// The sessions live in the app's own database, next to its users.
const database = await connectDatabase<UsersDatabase>(databaseUrl);
const users = new Users(database.db, database.dialect);
try {
  // `user_id` is an integer because app_user.id is one; the store reads the type back.
  await migrateSessionStore(database.db, { dialect: database.dialect, userIdType: 'integer' });
  await users.migrate();
} catch (error) {
  await database.close();
  throw error;
}

// SessionManager<AppUser>, inferred from loadUser; the Hono middleware carries it on.
const sessions = new SessionManager({
  store: new KyselySessionStore({ db: database.db, dialect: database.dialect }),
  cache: new MemorySessionCache(),
  loadUser: users.loadUser,
});
// Fails here, with what to do, when the table is missing or the database is unreachable.
await sessions.ready();

const api = new SessionApi({ manager: sessions, verifyCredentials: users.verifyCredentials });
const nilva = nilvaHono(api);

const app = new Hono();

app.post('/signup', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return c.json({ detail: 'JSON parse error' }, 400);
  }
  const input = readSignUp(body);
  if (!input.ok) return c.json(input.errors, 400);
  const user = await users.signUp(input.username, input.password);
  if (user === undefined) return c.json({ username: ['A user with that username already exists.'] }, 400);
  return c.json(user, 201);
});

// POST /api/login, POST /api/logout, GET /api/active, DELETE /api/active.
app.route('/api', nilva.routes);

app.get('/me', nilva.requireAuth, (c) => {
  // AppUser, from SessionApi<AppUser> through requireAuth: no cast.
  const user: AppUser = c.get('nilva').user;
  return c.json({ user });
});

// Expired sessions are deleted once an hour (or run `nilva-session purge` from cron).
const purge = setInterval(() => {
  sessions.purgeExpired().catch((error: unknown) => console.error('purge failed:', error));
}, 3_600_000);
purge.unref();

const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
  console.log(`hono example listening on http://${host}:${info.port}`);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  clearInterval(purge);
  // Stop taking requests and let those in flight finish, then write the buffered
  // `last_online` updates, then close the pool.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sessions.close();
  await database.close();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

// A complete Fastify 5 app on nilva-session: sign-up, login, a protected route, logout.
// Configuration from the environment: DATABASE_URL [sqlite:./fastify.sqlite] (or postgres://…,
// mysql://…), PORT [3000], HOST [127.0.0.1].
import Fastify from 'fastify';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { nilvaFastify, nilvaFastifyRoutes } from 'nilva-session/fastify';
import { SessionApi } from 'nilva-session/http';
import { connectDatabase, KyselySessionStore, migrateSessionStore } from 'nilva-session/kysely';
import { type AppUser, readSignUp, Users, type UsersDatabase } from './users.js';

// Declared once, this types `request.nilva.user` as AppUser everywhere in the app.
declare module 'nilva-session' {
  interface Register {
    user: AppUser;
  }
}

const databaseUrl = process.env.DATABASE_URL || 'sqlite:./fastify.sqlite';
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

const sessions = new SessionManager({
  store: new KyselySessionStore({ db: database.db, dialect: database.dialect }),
  cache: new MemorySessionCache(),
  loadUser: users.loadUser,
});
// Fails here, with what to do, when the table is missing or the database is unreachable.
await sessions.ready();

const api = new SessionApi({ manager: sessions, verifyCredentials: users.verifyCredentials });

const app = Fastify({ logger: false });
// Decorates every request with `request.nilva` and the app with the two preHandlers.
await app.register(nilvaFastify, { api });
// POST /api/login, POST /api/logout, GET /api/active, DELETE /api/active.
await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });

// A failure of the app's own routes is logged, and the client gets no internals (Fastify's
// default error answer carries the error's message). Client errors keep Fastify's answer.
app.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
  if (error.statusCode !== undefined && error.statusCode < 500) return reply.send(error);
  console.error(error);
  return reply.code(500).send({ detail: 'A server error occurred.' });
});

app.post('/signup', { bodyLimit: 16 * 1024 }, async (request, reply) => {
  const input = readSignUp(request.body);
  if (!input.ok) return reply.code(400).send(input.errors);
  const user = await users.signUp(input.username, input.password);
  if (user === undefined) return reply.code(400).send({ username: ['A user with that username already exists.'] });
  return reply.code(201).send(user);
});

app.get('/me', { preHandler: app.nilvaRequireAuth }, async (request) => {
  // AppUser, through the Register declaration above: no cast.
  const user: AppUser | undefined = request.nilva?.user;
  return { user };
});

// Expired sessions are deleted once an hour (or run `nilva-session purge` from cron).
const purge = setInterval(() => {
  sessions.purgeExpired().catch((error: unknown) => console.error('purge failed:', error));
}, 3_600_000);
purge.unref();

// app.close() stops taking requests and lets those in flight finish; then these run: the
// buffered `last_online` updates are written and the pool is closed.
app.addHook('onClose', async () => {
  clearInterval(purge);
  await sessions.close();
  await database.close();
});

const url = await app.listen({ host, port });
console.log(`fastify example listening on ${url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

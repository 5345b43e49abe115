// A complete Express 5 app on nilva-session: sign-up, login, a protected route, logout.
// Configuration from the environment: DATABASE_URL [sqlite:./express.sqlite] (or postgres://…,
// mysql://…), PORT [3000], HOST [127.0.0.1].
import { createServer } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { nilvaExpress } from 'nilva-session/express';
import { SessionApi } from 'nilva-session/http';
import { connectDatabase, KyselySessionStore, migrateSessionStore } from 'nilva-session/kysely';
import { type AppUser, readSignUp, Users, type UsersDatabase } from './users.js';

// Declared once, this types `req.nilva.user` as AppUser everywhere in the app.
declare module 'nilva-session' {
  interface Register {
    user: AppUser;
  }
}

const databaseUrl = process.env.DATABASE_URL || 'sqlite:./express.sqlite';
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
const nilva = nilvaExpress(api);

const app = express();
app.disable('x-powered-by');

app.post('/signup', express.json({ limit: '16kb' }), async (req, res) => {
  const input = readSignUp(req.body);
  if (!input.ok) {
    res.status(400).json(input.errors);
    return;
  }
  const user = await users.signUp(input.username, input.password);
  if (user === undefined) {
    res.status(400).json({ username: ['A user with that username already exists.'] });
    return;
  }
  res.status(201).json(user);
});

// POST /api/login, POST /api/logout, GET /api/active, DELETE /api/active.
app.use('/api', nilva.routes);

app.get('/me', nilva.requireAuth, (req, res) => {
  // AppUser, through the Register declaration above: no cast.
  const user: AppUser | undefined = req.nilva?.user;
  res.json({ user });
});

// Errors of the JSON parser and of the handlers answer JSON, never Express's HTML error page
// (which shows a stack trace outside production).
const onError: ErrorRequestHandler = (error: { status?: unknown }, _req, res, _next) => {
  const status = error.status === 400 || error.status === 413 ? error.status : 500;
  if (status === 500) console.error(error);
  const detail = status === 400 ? 'JSON parse error' : status === 413 ? 'Request body too large.' : 'A server error occurred.';
  res.status(status).json({ detail });
};
app.use(onError);

// Expired sessions are deleted once an hour (or run `nilva-session purge` from cron).
const purge = setInterval(() => {
  sessions.purgeExpired().catch((error: unknown) => console.error('purge failed:', error));
}, 3_600_000);
purge.unref();

const server = createServer(app);
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, host, resolve);
});
const address = server.address();
const bound = typeof address === 'object' && address !== null ? address.port : port;
console.log(`express example listening on http://${host}:${bound}`);

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

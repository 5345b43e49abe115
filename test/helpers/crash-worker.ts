// One app process of test/integration/crash-consistency.test.ts, started with tsx and killed
// with SIGKILL at random moments: the HTTP contract (login, logout, active, token,
// token/refresh with rotation) on a PostgreSQL table and a Redis namespace the test names,
// plus `GET /api/me`, which reports the `last_online` the process holds for the session (so the
// test knows which touches it must find in the database after a crash).
//
// Environment: CRASH_DATABASE_URL, CRASH_TABLE, CRASH_REDIS_URL, CRASH_NAMESPACE,
// CRASH_SIGNING_KEY, CRASH_USERS (users user1…userN, password pw-N). Prints
// `listening on http://127.0.0.1:PORT` once it serves. It never shuts down by itself.
import express from 'express';
import { createRedisSessionCache } from '../../src/cache/create-redis-session-cache.js';
import type { UserId } from '../../src/core/session.js';
import { SessionManager } from '../../src/core/session-manager.js';
import { SessionApi } from '../../src/http/session-api.js';
import { nilvaExpress } from '../../src/integrations/express.js';
import { connectDatabase } from '../../src/store/connect.js';
import { KyselySessionStore } from '../../src/store/kysely-session-store.js';
import type { SessionDatabase } from '../../src/store/session-table.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`crash-worker: ${name} is not set`);
  return value;
}

const users = Number(required('CRASH_USERS'));
const { db } = await connectDatabase<SessionDatabase>(required('CRASH_DATABASE_URL'));
const store = new KyselySessionStore({ db, dialect: 'postgres', tableName: required('CRASH_TABLE'), userIdType: 'integer' });
const cache = await createRedisSessionCache({ url: required('CRASH_REDIS_URL'), namespace: required('CRASH_NAMESPACE') });
const manager = new SessionManager({
  store,
  cache,
  loadUser: (userId: UserId) => ({ id: Number(userId), isActive: true }),
  jwt: { signingKey: required('CRASH_SIGNING_KEY'), rotateRefreshTokens: true },
  // The shortest interval, so that every session is touched often enough for the test to see
  // which touches survive a crash. touchFlushIntervalMs keeps its default (1000 ms): the bound
  // the test checks.
  touchIntervalSeconds: 1,
});
await manager.ready();
const api = new SessionApi({
  manager,
  verifyCredentials: (username, password) => {
    const match = /^user(\d+)$/.exec(username);
    const id = match === null ? 0 : Number(match[1]);
    return id >= 1 && id <= users && password === `pw-${id}` ? id : null;
  },
  // The test signs in hundreds of times from one address, concurrently; the throttle's counts
  // are not what a crash can break (they live in memory and die with the process).
  throttle: false,
});
const nilva = nilvaExpress(api);
const app = express();
app.use('/api', nilva.routes);
app.get('/api/me', nilva.requireAuth, (req, res) => {
  res.json({ session_id: req.nilva?.session.id, last_online: req.nilva?.session.lastOnline });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});

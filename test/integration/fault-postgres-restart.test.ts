// PostgreSQL restarted under load: an app (SessionManager + SessionApi on Fastify, over real
// HTTP) on a private cluster of the test's own, with no cache so that every authenticated
// request reads the database, keeps serving sign-ins and authenticated requests while the test
// runs `pg_ctl stop -m fast`, waits a second and starts it again. What a client sees: 200s,
// then only 503s while the server is gone (never a 500, never a 401 for a valid token, never a
// request left hanging), then 200s again for every request once it answers; the operator reads
// one line for the outage and one for the recovery. The recovery time is reported.

import { sql } from 'kysely';
import { SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import {
  connectDatabase,
  type DatabaseConnection,
  KyselySessionStore,
  migrateSessionStore,
  type SessionDatabase,
} from 'nilva-session/kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { uniqueTableName } from '../helpers/databases.js';
import { type RunningApp, startApp } from '../helpers/http-apps.js';
import { send } from '../helpers/http-client.js';
import { type PrivatePostgres, startPrivatePostgres } from '../helpers/private-postgres.js';
import { type TestUser, userCallbacks } from '../helpers/users.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
/** Concurrent clients. Enough to keep requests in flight at every moment of the restart. */
const WORKERS = 8;
/** One sign-in per this many requests; the others are authenticated `GET /api/me`. */
const LOGIN_EVERY = 5;
/** No request may take longer: a store call that hangs would show as a timeout here. */
const REQUEST_BOUND_MS = 10_000;
/** How long the server stays stopped between `pg_ctl stop` returning and `pg_ctl start`. */
const DOWN_MS = 1000;
/** Load after recovery, to see that every request succeeds again. */
const AFTER_RECOVERY_MS = 3000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request as the client saw it: times in `performance.now()` ms. */
interface Sample {
  readonly kind: 'login' | 'me';
  readonly start: number;
  readonly end: number;
  /** The HTTP status; 0 for a request that failed without one or passed {@link REQUEST_BOUND_MS}. */
  readonly status: number;
  readonly failure?: string;
}

/** The manager's log, by level. */
function recordingLogger() {
  const errors: string[] = [];
  const warnings: string[] = [];
  return {
    errors,
    warnings,
    logger: {
      warn: (message: string) => void warnings.push(message),
      error: (message: string) => void errors.push(message),
    },
  };
}

describe('PostgreSQL restarted under load', () => {
  let pg: PrivatePostgres;
  let connection: DatabaseConnection<SessionDatabase>;
  let manager: SessionManager;
  let app: RunningApp;
  const users = new Map<string, TestUser>();
  const managerLog = recordingLogger();
  const apiLog = recordingLogger();

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    connection = await connectDatabase<SessionDatabase>(pg.url);
    const tableName = uniqueTableName('pg_restart');
    await migrateSessionStore(connection.db, { dialect: 'postgres', tableName, userIdType: 'integer' });
    for (let id = 1; id <= 50; id++) users.set(`user${id}`, { id, username: `user${id}`, password: `pw-${id}`, isActive: true });
    const callbacks = userCallbacks(users);
    // No cache: every authenticated request is a store read, so the outage is seen at once.
    manager = new SessionManager({
      store: new KyselySessionStore({ db: connection.db, dialect: 'postgres', tableName, userIdType: 'integer' }),
      loadUser: callbacks.loadUser,
      logger: managerLog.logger,
    });
    await manager.ready();
    // The throttle stays on (the default): every sign-in here is valid, so none is counted.
    const api = new SessionApi({ manager, verifyCredentials: callbacks.verifyCredentials, logger: apiLog.logger });
    app = await startApp('fastify', api as SessionApi<unknown>);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await manager?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await pg?.destroy();
  });

  async function timed(kind: Sample['kind'], method: string, path: string, headers: Record<string, string>, body?: string) {
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const response = await Promise.race([
        send(app.url, { method, path, headers: { 'user-agent': FIREFOX, ...headers }, ...(body === undefined ? {} : { body }) }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_BOUND_MS} ms`)), REQUEST_BOUND_MS);
        }),
      ]);
      return { sample: { kind, start, end: performance.now(), status: response.status }, json: response.json };
    } catch (error) {
      return { sample: { kind, start, end: performance.now(), status: 0, failure: String(error) }, json: undefined };
    } finally {
      clearTimeout(timer);
    }
  }

  async function login(username: string) {
    const user = users.get(username) as TestUser;
    const body = JSON.stringify({ username, password: user.password });
    const { sample, json } = await timed('login', 'POST', '/api/login', { 'content-type': 'application/json' }, body);
    return { sample, token: sample.status === 200 ? (json as { token: string }).token : undefined };
  }

  test('only 503s while it is down, every request succeeds once it is back, one log line each way', async ({ annotate }) => {
    // Many sessions, each read from the database on every request.
    const tokens: string[] = [];
    for (let i = 0; i < 200; i++) {
      const { token } = await login(`user${(i % users.size) + 1}`);
      expect(token).toBeDefined();
      tokens.push(token as string);
    }

    const samples: Sample[] = [];
    let running = true;
    let n = 0;
    const worker = async (w: number): Promise<void> => {
      while (running) {
        n++;
        if (n % LOGIN_EVERY === 0) {
          const { sample, token } = await login(`user${((n + w) % users.size) + 1}`);
          samples.push(sample);
          if (token !== undefined) tokens.push(token);
        } else {
          const token = tokens[(n * 7919 + w) % tokens.length] as string;
          samples.push((await timed('me', 'GET', '/api/me', { authorization: `Token ${token}` })).sample);
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    await sleep(1500);
    const stopIssued = performance.now();
    await pg.stop();
    const stopped = performance.now();
    await sleep(DOWN_MS);
    const startIssued = performance.now();
    await pg.start();
    const started = performance.now();
    const firstSuccess = async (): Promise<Sample | undefined> => {
      const deadline = performance.now() + 20_000;
      while (performance.now() < deadline) {
        const ok = samples.filter((s) => s.status === 200 && s.end > stopped).sort((a, b) => a.end - b.end)[0];
        if (ok !== undefined) return ok;
        await sleep(5);
      }
      return undefined;
    };
    const recovered = await firstSuccess();
    await sleep(AFTER_RECOVERY_MS);
    running = false;
    await Promise.all(workers);

    expect(recovered, 'a request succeeded within 20 s of pg_ctl start returning').toBeDefined();
    const recoveredAt = (recovered as Sample).end;
    // pg_ctl polls the server, so it can already answer requests when the command returns.
    const afterReturn = samples.filter((s) => s.status === 200 && s.end >= started).sort((a, b) => a.end - b.end)[0];
    expect(afterReturn).toBeDefined();
    const recoveryMs = (afterReturn as Sample).end - started;
    const report =
      `PostgreSQL restart: stop took ${Math.round(stopped - stopIssued)} ms, down ${Math.round(startIssued - stopped)} ms, ` +
      `start took ${Math.round(started - startIssued)} ms; recovery: first success ${Math.round(recoveryMs)} ms after pg_ctl start returned ` +
      `(the first of all ${Math.round(recoveredAt - startIssued)} ms after it was issued); ` +
      `${samples.length} requests, ${samples.filter((s) => s.status === 503).length} answered 503`;
    console.log(report);
    await annotate(report);

    // Every request had an answer, within the bound, and it was a 200 or a 503.
    const unexpected = samples.filter((s) => s.status !== 200 && s.status !== 503);
    expect(unexpected, 'statuses other than 200 and 503 (a 0 is a failure or a timeout)').toEqual([]);
    for (const s of samples) expect(s.end - s.start).toBeLessThan(REQUEST_BOUND_MS);
    // 503s only around the outage: none answered before the stop was issued, none for a request
    // sent after the first success that followed it.
    expect(samples.filter((s) => s.status === 503 && s.end < stopIssued)).toEqual([]);
    const after = samples.filter((s) => s.start >= recoveredAt);
    expect(after.length).toBeGreaterThan(20);
    expect(after.filter((s) => s.status !== 200)).toEqual([]);
    // While it was down, clients were told so: requests answered between the stop and the
    // start are all 503s, sign-ins and authenticated requests alike.
    const down = samples.filter((s) => s.start >= stopped && s.end <= startIssued);
    expect(down.length).toBeGreaterThan(0);
    expect(down.filter((s) => s.status !== 503)).toEqual([]);
    expect(new Set(down.map((s) => s.kind))).toEqual(new Set(['login', 'me']));
    // The recovery is quick: no reconnect back-off keeps a recovered database unused.
    expect(recoveryMs).toBeLessThan(5000);

    // One line for the outage (an error, with the store's explanation), one for the recovery.
    expect(managerLog.errors.filter((m) => m.startsWith('nilva-session: the session store failed'))).toHaveLength(1);
    expect(managerLog.warnings.filter((m) => m === 'nilva-session: the session store answers again')).toHaveLength(1);
    expect(managerLog.errors).toHaveLength(1);
    expect(apiLog.errors).toEqual([]);
  }, 60_000);

  // What made the restart above crash the process before connectDatabase listened on every
  // client: a client checked out (no query running) when its backend is terminated emits 'error'
  // on itself, and with no listener that is an uncaught exception (Vitest fails the run on it).
  test('a connection checked out when its backend is terminated fails its next statement, and the next request succeeds', async () => {
    const token = (await login('user1')).token as string;
    const failed = await connection.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
      const pid = (rows[0] as { pid: number }).pid;
      // From another connection of the pool, while this one is held between statements.
      await sql`select pg_terminate_backend(${pid})`.execute(connection.db);
      await sleep(200);
      return sql`select 1`.execute(conn).then(
        () => undefined,
        (error: unknown) => error,
      );
    });
    expect(failed).toBeInstanceOf(Error);
    const me = await timed('me', 'GET', '/api/me', { authorization: `Token ${token}` });
    expect(me.sample.status).toBe(200);
  });
});

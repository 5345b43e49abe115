// Storms on two app instances sharing one PostgreSQL table and one Redis (startCluster): many
// requests of one user at once, across both instances, and what must hold whatever their
// interleaving. No timing is asserted; each storm takes seconds.
//
// The sign-in throttle is off (`throttle: false`): these are one user's successful sign-ins and
// refreshes by the thousand from one address, and the throttle counts a parallel burst before
// checking it (and 199 refused refresh tokens would reach its per-address limit), which is not
// what these storms test.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TestResponse } from '../helpers/http-client.js';
import { type Cluster, type Instance, SIGNING_KEY, startCluster } from '../helpers/two-instances.js';
import type { TestUser } from '../helpers/users.js';

const CAP = 5;

interface Login {
  readonly sessionId: string;
  readonly token: string;
}

async function login(instance: Instance, user: TestUser): Promise<TestResponse> {
  return instance.request('POST', '/api/login', { body: { username: user.username, password: user.password } });
}

function loginOf(response: TestResponse): Login {
  const json = response.json as { session_id: string; token: string };
  return { sessionId: json.session_id, token: json.token };
}

/** The user's active, unexpired sessions as the database has them now. */
async function activeInDatabase(cluster: Cluster, userId: number): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(cluster.database.tableName)}
    where user_id = ${userId} and is_active and (expire_at is null or expire_at > now())`.execute(cluster.database.db);
  return Number(rows[0]?.n);
}

describe.each(['end-least-recent', 'refuse'] as const)('maxSessionsPerUser %s: 1,000 sign-ins and revocations of one user', (action) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({
      label: `storm-limit-${action}`,
      manager: { maxSessionsPerUser: CAP, sessionLimitAction: action },
      api: { throttle: false },
    });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  test(`never more than ${CAP} active at any observation, exactly ${CAP} once ${CAP} sign-ins succeed after the last revocation`, async () => {
    const user = cluster.newUser();
    const instances = [cluster.a, cluster.b];
    const succeeded: Login[] = [];
    /** Successful sign-ins no revocation has named yet, newest last. */
    const unrevoked: Login[] = [];
    const statuses: Record<string, number> = {};
    const count = (what: string, status: number) => {
      statuses[`${what} ${status}`] = (statuses[`${what} ${status}`] ?? 0) + 1;
    };
    // 1,000 requests, 100 in flight at a time, alternating the instances: 400 sign-ins, and 300
    // sign-ins each followed at once by a revocation through the other instance (a logout with
    // the session's own token, DELETE active?token_id= from the newest session of the user, or
    // SessionManager.revokeSession), shuffled. It revokes the session just signed in (an older
    // one is almost always ended by the cap already), or, when the sign-in was refused, the
    // newest one not revoked yet (with 'refuse' nothing else makes room).
    const ops = [...Array.from({ length: 400 }, () => 'login' as const), ...Array.from({ length: 300 }, () => 'login+revoke' as const)];
    for (let i = ops.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ops[i], ops[j]] = [ops[j] as (typeof ops)[number], ops[i] as (typeof ops)[number]];
    }
    const run = async (op: (typeof ops)[number], i: number) => {
      const instance = instances[i % 2] as Instance;
      // Later sign-ins are more recent (the cluster's clock only moves when told), so the cap ends
      // the oldest sessions.
      cluster.clock.advance(1);
      const response = await login(instance, user);
      count('login', response.status);
      let target: Login | undefined;
      if (response.status === 200) {
        target = loginOf(response);
        succeeded.push(target);
        if (op === 'login') {
          unrevoked.push(target);
          return;
        }
      } else {
        expect(response.status, response.text).toBe(action === 'refuse' ? 403 : 200);
        expect(response.json).toMatchObject({ code: 'session_limit' });
        if (op === 'login') return;
        target = unrevoked.pop();
        if (target === undefined) return count('revoke skipped', 0);
      }
      const other = instances[(i + 1) % 2] as Instance;
      if (i % 3 === 2) {
        // Straight to the manager, as an admin action would: the row is always written (or found
        // ended), racing the sign-ins' transactions.
        count('revoke (manager) ended', Number(await other.manager.revokeSession(target.sessionId, 'admin')));
        return;
      }
      const newest = succeeded[succeeded.length - 1] as Login;
      const revoked =
        i % 3 === 0
          ? await other.request('POST', '/api/logout', { authorization: `Token ${target.token}` })
          : await other.request('DELETE', `/api/active?token_id=${target.sessionId}`, { authorization: `Token ${newest.token}` });
      count('revoke', revoked.status);
      // 401: the session (or the one asking) was ended already by the cap.
      expect([204, 401], revoked.text).toContain(revoked.status);
    };

    let storming = true;
    const observed: number[] = [];
    const observe = async () => {
      while (storming) {
        const newest = succeeded[succeeded.length - 1];
        const [inA, inB, inDb, overHttp] = await Promise.all([
          cluster.a.manager.listSessions(user.id),
          cluster.b.manager.listSessions(user.id),
          activeInDatabase(cluster, user.id),
          newest === undefined ? undefined : cluster.b.request('GET', '/api/active', { authorization: `Token ${newest.token}` }),
        ]);
        observed.push(inA.length, inB.length, inDb);
        if (overHttp?.status === 200) observed.push((overHttp.json as unknown[]).length);
      }
    };
    const observers = [observe(), observe()];
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < ops.length) {
          const i = next++;
          await run(ops[i] as (typeof ops)[number], i);
        }
      }),
    );
    storming = false;
    await Promise.all(observers);

    console.log(
      `storm (${action}): ${JSON.stringify(statuses)}; ${observed.length} observations, most active seen ${Math.max(...observed)}`,
    );
    expect(observed.length).toBeGreaterThan(0);
    expect(Math.max(...observed)).toBeLessThanOrEqual(CAP);
    // What is active is what the database says, and every one of them is a sign-in that was
    // answered 200 and whose token works on both instances; every other one is refused.
    const active = await cluster.a.manager.listSessions(user.id);
    expect(active.length).toBe(await activeInDatabase(cluster, user.id));
    expect(active.length).toBeLessThanOrEqual(CAP);
    const activeIds = new Set(active.map((s) => s.id));
    const known = new Map(succeeded.map((s) => [s.sessionId, s]));
    for (const id of activeIds) expect(known.has(id)).toBe(true);
    for (const s of succeeded) {
      for (const instance of instances) {
        expect((await instance.get(`Token ${s.token}`)).status, s.sessionId).toBe(activeIds.has(s.sessionId) ? 200 : 401);
      }
    }

    // Every revocation has been answered: 20 sign-ins at once leave exactly the cap, and, with
    // 'refuse', exactly as many succeed as there were free places.
    const free = CAP - active.length;
    const tail = await Promise.all(Array.from({ length: 20 }, (_, i) => login(instances[i % 2] as Instance, user)));
    const ok = tail.filter((r) => r.status === 200);
    if (action === 'refuse') {
      expect(ok).toHaveLength(free);
      for (const r of tail.filter((x) => x.status !== 200)) expect(r).toMatchObject({ status: 403, json: { code: 'session_limit' } });
    } else {
      expect(ok).toHaveLength(20);
    }
    const final = await cluster.b.manager.listSessions(user.id);
    expect(final).toHaveLength(CAP);
    expect(await activeInDatabase(cluster, user.id)).toBe(CAP);
    const finalIds = new Set(final.map((s) => s.id));
    // The survivors are the latest sign-ins: with 'refuse' the old ones and the winners of the tail.
    for (const r of ok) {
      const s = loginOf(r);
      if (action === 'refuse') expect(finalIds.has(s.sessionId)).toBe(true);
      expect((await cluster.a.get(`Token ${s.token}`)).status).toBe(finalIds.has(s.sessionId) ? 200 : 401);
    }
  }, 120_000);
});

describe('rotation on, two instances', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({
      label: 'storm-refresh',
      manager: { jwt: { signingKey: SIGNING_KEY, rotateRefreshTokens: true } },
      api: { throttle: false },
    });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  test('200 concurrent refreshes of one refresh token: exactly one wins, its new pair works, the rest are 401', async () => {
    const user = cluster.newUser();
    const pair = await cluster.a.request('POST', '/api/token', { body: { username: user.username, password: user.password } });
    expect(pair.status).toBe(200);
    const { refresh } = pair.json as { refresh: string };
    const instances = [cluster.a, cluster.b];
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (instances[i % 2] as Instance).request('POST', '/api/token/refresh', { body: { refresh } })),
    );
    const won = answers.filter((r) => r.status === 200);
    console.log(`storm (refresh): ${won.length} won, ${answers.filter((r) => r.status === 401).length} refused of ${answers.length}`);
    expect(won).toHaveLength(1);
    for (const r of answers) if (r.status !== 200) expect(r).toMatchObject({ status: 401, json: { code: 'token_not_valid' } });
    const next = won[0]?.json as { access: string; refresh: string };
    expect(next.refresh).not.toBe(refresh);
    // The winner's pair works on both instances; the old token stays refused.
    for (const instance of instances) expect((await instance.get(`Bearer ${next.access}`)).status).toBe(200);
    const again = await cluster.b.request('POST', '/api/token/refresh', { body: { refresh: next.refresh } });
    expect(again.status).toBe(200);
    expect((await cluster.a.request('POST', '/api/token/refresh', { body: { refresh } })).status).toBe(401);
    expect((await cluster.a.get(`Bearer ${(again.json as { access: string }).access}`)).status).toBe(200);
  }, 60_000);
});

describe('revoke-all racing a sign-in', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ label: 'storm-revoke-all', api: { throttle: false } });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  test('100 rounds: the new session either survives (listed, its token works everywhere) or is ended (absent, refused everywhere)', async () => {
    const outcomes = { survived: 0, ended: 0 };
    for (let round = 0; round < 100; round++) {
      const user = cluster.newUser();
      const existing = await cluster.newSession(user);
      // Both at once, on different instances (alternating which); the new token is used at once
      // on the other instance, so a cache fill races the revocation too.
      const [revoker, signer] = round % 2 === 0 ? [cluster.a, cluster.b] : [cluster.b, cluster.a];
      const [revoked, signedIn] = await Promise.all([
        revoker.request('DELETE', '/api/active', { authorization: existing.tokenHeader }),
        login(signer, user).then(async (response) => {
          if (response.status === 200) await revoker.get(`Token ${loginOf(response).token}`);
          return response;
        }),
      ]);
      expect(revoked.status).toBe(204);
      expect(signedIn.status).toBe(200);
      const { sessionId, token } = loginOf(signedIn);
      const listedA = (await cluster.a.manager.listSessions(user.id)).map((s) => s.id);
      const listedB = (await cluster.b.manager.listSessions(user.id)).map((s) => s.id);
      const works = [(await cluster.a.get(`Token ${token}`)).status, (await cluster.b.get(`Token ${token}`)).status];
      const listed = listedA.includes(sessionId);
      expect(listedB.includes(sessionId)).toBe(listed);
      // Nothing else survives the revoke-all.
      expect(listedA.filter((id) => id !== sessionId)).toEqual([]);
      expect(works).toEqual(listed ? [200, 200] : [401, 401]);
      if (listed) outcomes.survived++;
      else outcomes.ended++;
    }
    console.log(`storm (revoke-all vs sign-in): ${JSON.stringify(outcomes)} of 100 rounds`);
  }, 120_000);
});

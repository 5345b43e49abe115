// Session renewal, the password-change helper and the reason a session ended, on two instances
// sharing one PostgreSQL table and one Redis: a renewed credential's predecessor must be refused
// at once on every instance, including the one that did not renew it and had it cached.
import { SessionError } from 'nilva-session';
import { KyselySessionAdminStore } from 'nilva-session/kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Cluster, FACTS, startCluster } from '../helpers/two-instances.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ label: 'renewal' });
});
afterAll(async () => {
  await cluster?.close();
});

/** Both instances have the credential cached (and accept it). */
async function warm(...headers: string[]): Promise<void> {
  for (const header of headers) {
    for (const instance of [cluster.a, cluster.b]) expect((await instance.get(header)).status).toBe(200);
  }
}

describe('renewSession', () => {
  test('a JWT session gets a new pair; the old token, access and refresh tokens are refused at once on both instances', async () => {
    const user = cluster.newUser();
    const old = await cluster.newSession(user);
    await warm(old.tokenHeader, old.bearerHeader);

    const renewed = await cluster.a.manager.renewSession(old.sessionId);
    expect(renewed.kind).toBe('jwt');
    if (renewed.kind !== 'jwt') return;

    for (const instance of [cluster.a, cluster.b]) {
      expect((await instance.get(old.tokenHeader)).status).toBe(401);
      expect((await instance.get(old.bearerHeader)).status).toBe(401);
      expect((await instance.get(`Bearer ${renewed.access}`)).status).toBe(200);
    }
    const refreshOld = await cluster.b.request('POST', '/api/token/refresh', { body: { refresh: old.refresh } });
    expect(refreshOld.status).toBe(401);
    const refreshNew = await cluster.b.request('POST', '/api/token/refresh', { body: { refresh: renewed.refresh } });
    expect(refreshNew.status).toBe(200);

    const ended = await cluster.database.store.findById(old.sessionId);
    expect(ended).toMatchObject({ isActive: false, endReason: 'renewed' });
    // The renewal keeps what identifies the sign-in: user, device, sign-in time, absolute expiry.
    const before = ended as NonNullable<typeof ended>;
    expect(renewed.session).toMatchObject({
      userId: user.id,
      userAgent: before.userAgent,
      createdAt: before.createdAt,
      expireAt: before.expireAt,
      authenticatedAt: before.authenticatedAt,
      isActive: true,
    });
    expect(renewed.session.id).not.toBe(old.sessionId);
  });

  test('an opaque-token session gets a new token; the old one is refused at once on both instances', async () => {
    const user = cluster.newUser();
    const { token, session } = await cluster.a.manager.createSession({ userId: user.id, ...FACTS });
    await warm(`Token ${token}`);

    const renewed = await cluster.b.manager.renewSession(session.id, { userId: user.id });
    expect(renewed.kind).toBe('token');
    if (renewed.kind !== 'token') return;
    for (const instance of [cluster.a, cluster.b]) {
      expect((await instance.get(`Token ${token}`)).status).toBe(401);
      expect((await instance.get(`Token ${renewed.token}`)).status).toBe(200);
    }
    const listed = await cluster.a.manager.listSessions(user.id);
    expect(listed.map((s) => s.id)).toEqual([renewed.session.id]);
  });

  test('reauthenticated: the time of the last authentication becomes now', async () => {
    const user = cluster.newUser();
    const old = await cluster.newSession(user);
    cluster.clock.advance(3_600_000);
    const manager = cluster.a.manager;
    const stale = await manager.authenticate(old.tokenHeader, FACTS);
    expect(stale?.ok).toBe(true);
    if (stale?.ok !== true) return;
    expect(manager.isFreshAuth(stale.session, 300)).toBe(false);

    const renewed = await manager.renewSession(old.sessionId, { reauthenticated: true });
    expect(renewed.session.authenticatedAt.getTime()).toBe(cluster.clock.now());
    const header = renewed.kind === 'jwt' ? `Bearer ${renewed.access}` : `Token ${renewed.token}`;
    const fresh = await cluster.b.manager.authenticate(header, FACTS);
    expect(fresh?.ok).toBe(true);
    if (fresh?.ok !== true) return;
    expect(cluster.b.manager.isFreshAuth(fresh.session, 300)).toBe(true);
    cluster.clock.advance(301_000);
    expect(cluster.b.manager.isFreshAuth(fresh.session, 300)).toBe(false);
  });

  test('a session that is not active, or not the given user’s, is refused and nothing is created', async () => {
    const user = cluster.newUser();
    const s = await cluster.newSession(user);
    await expect(cluster.a.manager.renewSession(s.sessionId, { userId: user.id + 1000 })).rejects.toMatchObject({
      code: 'ERR_SESSION_INVALID',
    });
    await cluster.a.manager.revokeSession(s.sessionId);
    const error = await cluster.a.manager.renewSession(s.sessionId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe('ERR_SESSION_INVALID');
    expect(await cluster.a.manager.listSessions(user.id)).toEqual([]);
  });
});

describe('passwordChanged', () => {
  test('ends every other session of the user on both instances and renews the current one', async () => {
    const user = cluster.newUser();
    const current = await cluster.newSession(user);
    const laptop = await cluster.newSession(user);
    const phone = await cluster.newSession(user);
    const someoneElse = await cluster.newSession(cluster.newUser());
    await warm(current.tokenHeader, laptop.tokenHeader, phone.bearerHeader, someoneElse.tokenHeader);

    const { ended, renewed } = await cluster.a.manager.passwordChanged(user.id, { currentSessionId: current.sessionId });
    expect(ended).toBe(2);
    expect(renewed?.session.authenticatedAt.getTime()).toBe(cluster.clock.now());
    for (const instance of [cluster.a, cluster.b]) {
      for (const header of [current.tokenHeader, laptop.tokenHeader, phone.bearerHeader])
        expect((await instance.get(header)).status).toBe(401);
      expect((await instance.get(someoneElse.tokenHeader)).status).toBe(200);
    }
    const laptopRow = await cluster.database.store.findById(laptop.sessionId);
    expect(laptopRow).toMatchObject({ isActive: false, endReason: 'password_changed', detail: 'Ended: the password was changed.' });
    expect((await cluster.a.manager.listSessions(user.id)).map((s) => s.id)).toEqual([renewed?.session.id]);
  });

  test('without a current session, every session of the user ends', async () => {
    const user = cluster.newUser();
    await cluster.newSession(user);
    await cluster.newSession(user);
    expect(await cluster.b.manager.passwordChanged(user.id)).toEqual({ ended: 2, renewed: undefined });
    expect(await cluster.a.manager.listSessions(user.id)).toEqual([]);
  });
});

describe('the reason a session ended is a code', () => {
  test('a blacklisted refresh token is told apart from an invalid one even after an admin edits the detail', async () => {
    const user = cluster.newUser();
    const s = await cluster.newSession(user);
    expect((await cluster.a.request('POST', '/api/token/blacklist', { body: { refresh: s.refresh } })).status).toBe(200);
    const admin = new KyselySessionAdminStore({ db: cluster.database.db, dialect: 'postgres', tableName: cluster.database.tableName });
    await admin.update(s.sessionId, { detail: 'Edited by support: customer asked to sign out.' });
    const response = await cluster.b.request('POST', '/api/token/refresh', { body: { refresh: s.refresh } });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ detail: 'Token is blacklisted', code: 'token_not_valid' });
  });
});

// JWTs the Django app's simplejwt issued before the move keep working after the conversion,
// given the same signing key: built here with jose exactly as simplejwt 5 builds them (HS256,
// header {"typ":"JWT","alg":"HS256"}, claims token_type, exp, iat, jti = uuid4().hex, user_id
// as an integer, and the original's session_id).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import { KyselySessionStore, migrateFromDjango } from 'nilva-session/kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DIALECTS } from '../helpers/databases.js';
import { type DjangoDatabase, FIXTURE_USER_IDS, fixtureTokens, openDjangoDatabase } from '../helpers/django-fixture.js';

// SIMPLE_JWT["SIGNING_KEY"] defaults to Django's SECRET_KEY (50 characters from startproject).
const SECRET_KEY = 'django-insecure-7f#q!x2v$0m@k9p&z3r^w8t*y5u(e1o)i4a6s';
const secret = new TextEncoder().encode(SECRET_KEY);
const quiet = { warn: () => undefined, error: () => undefined };
const tokens = fixtureTokens();
const byState = (state: string) => tokens.find((t) => t.expectedState === state) as (typeof tokens)[number];

/** A pair as simplejwt's RefreshToken.for_user + the original's session_id claim, issued `agoSeconds` ago. */
async function simplejwtPair(
  sessionId: string,
  userId: number,
  agoSeconds = 60,
): Promise<{ refresh: string; access: string; jti: string }> {
  const iat = Math.floor(Date.now() / 1000) - agoSeconds;
  const header = { typ: 'JWT', alg: 'HS256' } as const;
  const jti = randomUUID().replaceAll('-', '');
  const refresh = await new SignJWT({ token_type: 'refresh', exp: iat + 86_400, iat, jti, user_id: userId, session_id: sessionId })
    .setProtectedHeader(header)
    .sign(secret);
  // The access token copies every claim but token_type, exp and jti (its own).
  const access = await new SignJWT({
    token_type: 'access',
    exp: iat + 300,
    iat,
    jti: randomUUID().replaceAll('-', ''),
    user_id: userId,
    session_id: sessionId,
  })
    .setProtectedHeader(header)
    .sign(secret);
  return { refresh, access, jti };
}

describe.each(DIALECTS)('simplejwt tokens after the conversion on %s', (dialect) => {
  let django: DjangoDatabase;
  let store: KyselySessionStore;
  const facts = async (sessionId: string) => {
    const row = await store.findById(sessionId);
    return { ip: row?.lastIp ?? '', userAgent: row?.userAgent ?? '' };
  };
  const manager = (rotateRefreshTokens: boolean) =>
    new SessionManager({ store, logger: quiet, jwt: { signingKey: SECRET_KEY, rotateRefreshTokens } });

  beforeAll(async () => {
    django = await openDjangoDatabase(dialect);
    await migrateFromDjango(django.db, { dialect });
    store = new KyselySessionStore({ db: django.db, dialect });
  });
  afterAll(() => django.close());

  test('access tokens authenticate as their sessions do: accepted, expired, suspended', async () => {
    const sessions = manager(false);
    for (const token of tokens) {
      const { access } = await simplejwtPair(token.id, FIXTURE_USER_IDS[token.user]);
      const outcome = await sessions.authenticate(`Bearer ${access}`, await facts(token.id));
      if (token.accepted) expect(outcome, token.id).toMatchObject({ ok: true, scheme: 'bearer', session: { id: token.id } });
      else {
        const code = token.expectedState === 'expired' ? 'ERR_SESSION_EXPIRED' : 'ERR_SESSION_SUSPENDED';
        expect(outcome, token.id).toMatchObject({ ok: false, error: { code } });
      }
    }
    // The Bearer scheme's wording for an ended session, as the original's JWT class.
    const suspended = byState('suspended');
    const { access } = await simplejwtPair(suspended.id, FIXTURE_USER_IDS[suspended.user]);
    expect(await sessions.authenticate(`Bearer ${access}`, await facts(suspended.id))).toMatchObject({
      error: { message: 'User is suspended.' },
    });
    await sessions.close();
  });

  test('a refresh token refreshes without rotation, and its new access token authenticates', async () => {
    const sessions = manager(false);
    const token = byState('active');
    const { refresh } = await simplejwtPair(token.id, FIXTURE_USER_IDS[token.user]);
    const refreshed = await sessions.refresh(refresh);
    expect(refreshed).toMatchObject({ ok: true });
    if (!refreshed.ok) return;
    expect(refreshed.refresh).toBeUndefined();
    expect(await sessions.authenticate(`Bearer ${refreshed.access}`, await facts(token.id))).toMatchObject({ ok: true });
    expect((await store.findById(token.id))?.refreshJti).toBeNull(); // nothing recorded without rotation
    await sessions.close();
  });

  test('with rotateRefreshTokens, the session adopts the Django refresh token once, then rotates as usual', async () => {
    const sessions = manager(true);
    const token = byState('never-expires');
    const { refresh, jti } = await simplejwtPair(token.id, FIXTURE_USER_IDS[token.user]);
    expect((await store.findById(token.id))?.refreshJti).toBeNull();
    const first = await sessions.refresh(refresh);
    expect(first).toMatchObject({ ok: true });
    if (!first.ok || first.refresh === undefined) throw new Error('expected a rotated refresh token');
    const recorded = (await store.findById(token.id))?.refreshJti;
    expect(recorded).toMatch(/^[0-9a-f]{32}$/);
    expect(recorded).not.toBe(jti);
    // The Django token is rotated out now (within the grace period: refused, not punished).
    expect(await sessions.refresh(refresh)).toMatchObject({ ok: false, error: { code: 'ERR_REFRESH_INVALID' } });
    const second = await sessions.refresh(first.refresh);
    expect(second).toMatchObject({ ok: true });
    if (second.ok) expect(await sessions.authenticate(`Bearer ${second.access}`, await facts(token.id))).toMatchObject({ ok: true });
    await sessions.close();
  });

  test('of concurrent refreshes with one Django refresh token, exactly one wins', async () => {
    const sessions = manager(true);
    const token = tokens.filter((t) => t.expectedState === 'never-expires')[1] as (typeof tokens)[number];
    const { refresh } = await simplejwtPair(token.id, FIXTURE_USER_IDS[token.user]);
    const results = await Promise.all(Array.from({ length: 10 }, () => sessions.refresh(refresh)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.error.code === 'ERR_REFRESH_INVALID')).toBe(true);
    expect((await store.findById(token.id))?.isActive).toBe(true); // a race is refused, never punished
    await sessions.close();
  });

  test('over HTTP: an access token sent to token/refresh answers simplejwt’s "Token has wrong type"', async () => {
    const sessions = manager(false);
    const api = new SessionApi({ manager: sessions, verifyCredentials: () => null, throttle: false });
    const token = byState('active');
    const { access, refresh } = await simplejwtPair(token.id, FIXTURE_USER_IDS[token.user]);
    const request = (refreshToken: string) => ({
      method: 'POST',
      path: 'token/refresh',
      query: new URLSearchParams(),
      authorization: undefined,
      userAgent: 'curl/8.5.0',
      remoteAddress: '127.0.0.1',
      forwardedFor: undefined,
      contentType: 'application/json',
      body: JSON.stringify({ refresh: refreshToken }),
    });
    const wrong = await api.handle(request(access));
    expect(wrong?.status).toBe(401);
    expect(JSON.parse(wrong?.body ?? '')).toEqual({ detail: 'Token has wrong type', code: 'token_not_valid' });
    expect(wrong?.headers['www-authenticate']).toBe('Bearer realm="api"');
    const ok = await api.handle(request(refresh));
    expect(ok?.status).toBe(200);
    expect(Object.keys(JSON.parse(ok?.body ?? '{}'))).toEqual(['access']);
    await sessions.close();
  });
});

import { createHmac, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import { isCanonicalCompactJws, JwtCodec } from '../../src/tokens/jwt.js';
import { FakeClock } from '../helpers/fake-clock.js';

const SECRET = 'k'.repeat(32);
const SID = '2d3c4f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function codec(options: Partial<ConstructorParameters<typeof JwtCodec>[0]> = {}, clock = new FakeClock()) {
  return { jwt: new JwtCodec({ signingKey: SECRET, ...options }, clock.now), clock };
}

async function pair(jwt: JwtCodec, userId: string | number = 7) {
  return jwt.issuePair({ userId, sessionId: SID, expireAt: null, refreshJti: JwtCodec.newJti() });
}

describe('JwtCodec', () => {
  test('issues simplejwt claims plus session_id; access lives 300 s, refresh one day', async () => {
    const { jwt, clock } = codec();
    const { refresh, access } = await pair(jwt);
    const r = decodeJwt(refresh);
    const a = decodeJwt(access);
    const now = Math.floor(clock.now() / 1000);
    expect(Object.keys(r)).toEqual(['token_type', 'exp', 'iat', 'jti', 'user_id', 'session_id']);
    expect(r).toMatchObject({ token_type: 'refresh', iat: now, exp: now + 86_400, user_id: 7, session_id: SID });
    expect(a).toMatchObject({ token_type: 'access', iat: now, exp: now + 300, user_id: 7, session_id: SID });
    expect(a.jti).toMatch(/^[0-9a-f]{32}$/);
    expect(a.jti).not.toBe(r.jti);
    expect(decodeProtectedHeader(access)).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  test('the refresh token never outlives the session', async () => {
    const { jwt, clock } = codec();
    const expireAt = clock.now() + 3_600_000;
    const { refresh } = await jwt.issuePair({ userId: '7', sessionId: SID, expireAt, refreshJti: JwtCodec.newJti() });
    expect(decodeJwt(refresh).exp).toBe(Math.floor(expireAt / 1000));
  });

  test('verifies once, then answers synchronously from a memo keyed by the token hash', async () => {
    const { jwt } = codec();
    const { access } = await pair(jwt);
    const first = jwt.verifyAccess(access);
    expect(first).toBeInstanceOf(Promise);
    expect((await first).ok).toBe(true);
    const second = jwt.verifyAccess(access);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toMatchObject({ ok: true });
  });

  test('expiry is enforced on memo hits, with the leeway', async () => {
    const { jwt, clock } = codec({ leewaySeconds: 5 });
    const { access } = await pair(jwt);
    expect((await jwt.verifyAccess(access)).ok).toBe(true);
    clock.advance(304_000);
    expect(await jwt.verifyAccess(access)).toMatchObject({ ok: true });
    clock.advance(2000);
    expect(await jwt.verifyAccess(access)).toEqual({ ok: false, reason: 'Token is expired' });
    expect(await jwt.verify(access, 'access')).toEqual({ ok: false, reason: 'Token is expired' });
  });

  test('refuses alg none, a tampered payload, another HMAC algorithm and a refresh token as access', async () => {
    const { jwt } = codec();
    const { access, refresh } = await pair(jwt);
    const [h, p] = access.split('.') as [string, string];
    const claims = decodeJwt(access);
    expect(await jwt.verify(`${b64({ alg: 'none', typ: 'JWT' })}.${p}.`, 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
    expect(await jwt.verify(`${h}.${b64({ ...claims, user_id: 8 })}.${access.split('.')[2]}`, 'access')).toEqual({
      ok: false,
      reason: 'Token is invalid',
    });
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).sign(Buffer.from(SECRET));
    expect(await jwt.verify(hs512, 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
    expect(await jwt.verify(refresh, 'access')).toEqual({ ok: false, reason: 'Token has wrong type' });
    expect(await jwt.verify(access, 'refresh')).toEqual({ ok: false, reason: 'Token has wrong type' });
  });

  test('checks exp, nbf, iat, jti and token_type', async () => {
    const { jwt, clock } = codec({ leewaySeconds: 0 });
    const now = Math.floor(clock.now() / 1000);
    const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.from(SECRET));
    const base = { token_type: 'access', exp: now + 60, iat: now, jti: 'a'.repeat(32), user_id: 1, session_id: SID };
    expect(await jwt.verify(await sign(base), 'access')).toMatchObject({ ok: true });
    expect(await jwt.verify(await sign({ ...base, exp: undefined }), 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
    expect(await jwt.verify(await sign({ ...base, exp: now }), 'access')).toEqual({ ok: false, reason: 'Token is expired' });
    expect(await jwt.verify(await sign({ ...base, exp: '9999999999' }), 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
    expect(await jwt.verify(await sign({ ...base, nbf: now + 60 }), 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
    expect(await jwt.verify(await sign({ ...base, iat: now + 60 }), 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
    expect(await jwt.verify(await sign({ ...base, jti: undefined }), 'access')).toEqual({ ok: false, reason: 'Token has no id' });
    expect(await jwt.verify(await sign({ ...base, token_type: undefined }), 'access')).toEqual({ ok: false, reason: 'Token has no type' });
  });

  test('never throws on garbage', async () => {
    const { jwt } = codec();
    const garbage = ['a', 'a.b', 'a.b.c.d', '..', '%%.%%.%%', `${b64('{')}.e30.x`, 'null', '[]', 'x'.repeat(65_536), 'a\u0000b.c.d'];
    for (const token of garbage) {
      expect(await jwt.verify(token, 'access')).toMatchObject({ ok: false });
      expect(await jwt.verifyAccess(token)).toMatchObject({ ok: false });
    }
    // A well-signed token whose header demands an extension nobody understands (`crit`).
    const input = `${b64({ alg: 'HS256', crit: ['foo'], foo: 1 })}.${b64({ token_type: 'access', jti: 'x', exp: 9_999_999_999 })}`;
    const crit = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expect(await jwt.verify(crit, 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
  });

  test('a key in the header (jwk) never selects the verification key', async () => {
    const { jwt, clock } = codec();
    const attacker = generateKeyPairSync('ed25519');
    const now = Math.floor(clock.now() / 1000);
    const forged = await new SignJWT({ token_type: 'access', exp: now + 60, iat: now, jti: 'j', user_id: 1, session_id: SID })
      .setProtectedHeader({ alg: 'EdDSA', jwk: attacker.publicKey.export({ format: 'jwk' }) as never })
      .sign(attacker.privateKey);
    expect(await jwt.verify(forged, 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
  });

  test('rotates keys by kid: tokens of the previous key stay valid; unknown kids are refused', async () => {
    const clock = new FakeClock();
    const old = new JwtCodec({ signingKey: { kid: 'k1', algorithm: 'HS256', key: 'o'.repeat(32) } }, clock.now);
    const { access } = await old.issuePair({ userId: 1, sessionId: SID, expireAt: null, refreshJti: 'r' });
    const current = new JwtCodec(
      {
        signingKey: { kid: 'k2', algorithm: 'HS256', key: 'n'.repeat(32) },
        verificationKeys: [{ kid: 'k1', algorithm: 'HS256', key: 'o'.repeat(32) }],
      },
      clock.now,
    );
    expect(await current.verify(access, 'access')).toMatchObject({ ok: true });
    const next = await current.issueAccess({ userId: 1, sessionId: SID });
    expect(decodeProtectedHeader(next).kid).toBe('k2');
    const stranger = new JwtCodec({ signingKey: { kid: 'k3', algorithm: 'HS256', key: 'n'.repeat(32) } }, clock.now);
    const otherKid = await stranger.issueAccess({ userId: 1, sessionId: SID });
    expect(await current.verify(otherKid, 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
  });

  test('signs and verifies with EdDSA and ES256', async () => {
    for (const [algorithm, type] of [
      ['EdDSA', 'ed25519'],
      ['ES256', 'ec'],
    ] as const) {
      const { privateKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
      const { jwt } = codec({ signingKey: { algorithm, key: privateKey } });
      const { access } = await pair(jwt);
      expect(decodeProtectedHeader(access).alg).toBe(algorithm);
      expect(await jwt.verify(access, 'access')).toMatchObject({ ok: true });
    }
  });

  test('refuses weak or mismatched keys at construction with a TypeError naming the option', () => {
    const clock = new FakeClock();
    expect(() => new JwtCodec({ signingKey: 'short' }, clock.now)).toThrow(/jwt\.signingKey\.key.*32 bytes/);
    expect(() => new JwtCodec({ signingKey: { algorithm: 'none' as never, key: SECRET } }, clock.now)).toThrow(TypeError);
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(() => new JwtCodec({ signingKey: { algorithm: 'ES256', key: privateKey } }, clock.now)).toThrow(/jwt\.signingKey\.key/);
    expect(() => new JwtCodec({ signingKey: SECRET, sessionIdClaim: 'user_id' }, clock.now)).toThrow(/sessionIdClaim/);
  });
});

describe('canonical JWTs only', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  /** The same bytes spelled differently: the unused low bits of the last character set. */
  const flipUnusedBit = (segment: string) => {
    const last = segment.charAt(segment.length - 1);
    return segment.slice(0, -1) + ALPHABET.charAt(ALPHABET.indexOf(last) ^ 1);
  };

  test('other spellings of a valid token (padding, unused bits) are refused, though they decode to the same bytes', async () => {
    const { jwt } = codec();
    const { access } = await pair(jwt);
    const [header, payload, signature] = access.split('.') as [string, string, string];
    expect(signature.length % 4).toBe(3);
    const spellings = [
      `${access}=`,
      `${header}=.${payload}.${signature}`,
      `${header}.${payload}=.${signature}`,
      `${header}.${payload}.${flipUnusedBit(signature)}`,
      `${header}.${payload}.${signature}==`,
    ];
    // jose alone accepts the changed-bits spelling: the check is ours.
    await expect(jwtVerify(`${header}.${payload}.${flipUnusedBit(signature)}`, new TextEncoder().encode(SECRET))).resolves.toBeDefined();
    expect(await jwt.verifyAccess(access)).toMatchObject({ ok: true });
    for (const spelling of spellings) {
      expect(Buffer.from(spelling.split('.')[2] ?? '', 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
      expect(await jwt.verifyAccess(spelling)).toEqual({ ok: false, reason: 'Token is invalid' });
      expect(await jwt.verify(spelling, 'access')).toEqual({ ok: false, reason: 'Token is invalid' });
    }
  });

  test.each([
    ['two segments', 'a.b'],
    ['a segment of impossible length', 'eyJhbGciOiJIUzI1NiJ9.e.abc'],
    ['a character outside base64url', 'eyJhbGciOiJIUzI1NiJ9.eyJ+.abc'],
    ['an empty segment', 'eyJhbGciOiJIUzI1NiJ9..abc'],
  ])('%s is not canonical', (_name, token) => {
    expect(isCanonicalCompactJws(token)).toBe(false);
  });
});

describe('JwtCodec.newJti', () => {
  test('is 32 hex characters in UUIDv7 layout, and carries its issue time', () => {
    const at = Date.UTC(2026, 10, 27, 12, 0, 0, 123);
    const jti = JwtCodec.newJti(at);
    expect(jti).toMatch(/^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(JwtCodec.jtiTime(jti)).toBe(at);
    expect(JwtCodec.newJti(at)).not.toBe(jti);
  });
});

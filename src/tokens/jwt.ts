import { createPrivateKey, createPublicKey, createSecretKey, hash, type KeyObject, randomUUID } from 'node:crypto';
import { type JWTHeaderParameters, type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';

/** Signature algorithms this library signs and verifies with. `none` is never one of them. */
export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512' | 'EdDSA' | 'ES256';

const HMAC: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512']);
const ALGORITHMS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512', 'EdDSA', 'ES256']);

/** One key, bound to exactly one algorithm. */
export interface JwtKey {
  /** Key id, written to the `kid` header when signing and used to pick the key when verifying. */
  readonly kid?: string | undefined;
  readonly algorithm: JwtAlgorithm;
  /**
   * HMAC: the secret (at least 32 bytes). EdDSA/ES256: the private key (PEM or `KeyObject`) to
   * sign, or the public key to only verify.
   */
  readonly key: string | Uint8Array | KeyObject;
}

/**
 * JWT options (simplejwt-compatible claims). Validated once; a bad value throws a `TypeError`
 * naming the option.
 */
export interface JwtOptions {
  /**
   * The key that signs new tokens: a secret for HS256 (at least 32 bytes), or a {@link JwtKey}.
   * Required.
   */
  readonly signingKey: string | Uint8Array | KeyObject | JwtKey;
  /**
   * More keys accepted when verifying (key rotation): tokens signed by a previous key stay valid
   * until they expire. Pick keys by `kid`.
   */
  readonly verificationKeys?: readonly JwtKey[] | undefined;
  /** Access-token lifetime. Default 300. */
  readonly accessTokenTtlSeconds?: number | undefined;
  /** Refresh-token lifetime (never past the session's expiry). Default 86400. */
  readonly refreshTokenTtlSeconds?: number | undefined;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`. Default 5. */
  readonly leewaySeconds?: number | undefined;
  /** The claim naming the session. Default `session_id`. */
  readonly sessionIdClaim?: string | undefined;
  /** `iss` written and required, when set. */
  readonly issuer?: string | undefined;
  /** `aud` written and required, when set. */
  readonly audience?: string | undefined;
  /** Each refresh returns a new refresh token, atomically; reusing an old one revokes the session. Default false. */
  readonly rotateRefreshTokens?: boolean | undefined;
  /**
   * With rotation: for this long after a rotation, presenting the rotated-out refresh token is
   * refused without revoking the session (a client retrying, or concurrent refreshes). Later it
   * counts as theft and ends the session. Default 5.
   */
  readonly rotationGraceSeconds?: number | undefined;
}

/** The claims of a verified token. */
export interface JwtClaims {
  readonly token_type: 'access' | 'refresh';
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly user_id: unknown;
  readonly [claim: string]: unknown;
}

/** Why a token was refused, with simplejwt's messages. */
export type JwtFailure = 'Token is invalid' | 'Token is expired' | 'Token has no id' | 'Token has no type' | 'Token has wrong type';

/** A verification: the claims, or the reason. */
export type JwtVerification = { readonly ok: true; readonly claims: JwtClaims } | { readonly ok: false; readonly reason: JwtFailure };

interface ResolvedKey {
  readonly kid: string | undefined;
  readonly algorithm: JwtAlgorithm;
  readonly sign: KeyObject | undefined;
  readonly verify: KeyObject;
}

function fail(option: string, expected: string): never {
  throw new TypeError(`nilva-session: option "jwt.${option}" must be ${expected}`);
}

function seconds(option: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(option, `an integer of at least ${min}`);
  return value;
}

function resolveKey(option: string, input: JwtKey): ResolvedKey {
  if (typeof input !== 'object' || input === null) fail(option, 'a key');
  const { algorithm, kid } = input;
  if (typeof algorithm !== 'string' || !ALGORITHMS.has(algorithm)) fail(`${option}.algorithm`, 'one of HS256, HS384, HS512, EdDSA, ES256');
  if (kid !== undefined && (typeof kid !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(kid)))
    fail(`${option}.kid`, 'a short [A-Za-z0-9._-] string');
  const raw = input.key;
  if (HMAC.has(algorithm)) {
    let secret: KeyObject;
    if (typeof raw === 'string') secret = createSecretKey(Buffer.from(raw, 'utf8'));
    else if (raw instanceof Uint8Array) secret = createSecretKey(raw);
    else if (typeof raw === 'object' && raw !== null && raw.type === 'secret') secret = raw;
    else fail(`${option}.key`, 'a secret (string, bytes or secret KeyObject) for an HMAC algorithm');
    if ((secret.symmetricKeySize ?? 0) < 32) fail(`${option}.key`, 'at least 32 bytes long for HMAC (RFC 7518 §3.2)');
    return { kid, algorithm, sign: secret, verify: secret };
  }
  let key: KeyObject;
  try {
    if (typeof raw === 'string' || raw instanceof Uint8Array) {
      const text = Buffer.from(raw).toString('utf8');
      key = text.includes('PRIVATE KEY') ? createPrivateKey(text) : createPublicKey(text);
    } else key = raw;
  } catch {
    fail(`${option}.key`, `a PEM or KeyObject for ${algorithm}`);
  }
  if (key.type === 'secret') fail(`${option}.key`, `an asymmetric key for ${algorithm}`);
  const type = key.asymmetricKeyType;
  if ((algorithm === 'EdDSA' && type !== 'ed25519') || (algorithm === 'ES256' && type !== 'ec')) {
    fail(`${option}.key`, `a key of the type ${algorithm} uses`);
  }
  return key.type === 'private'
    ? { kid, algorithm, sign: key, verify: createPublicKey(key) }
    : { kid, algorithm, sign: undefined, verify: key };
}

/** Validated JWT configuration. */
export interface JwtConfig {
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly leewaySeconds: number;
  readonly sessionIdClaim: string;
  readonly rotateRefreshTokens: boolean;
  readonly rotationGraceSeconds: number;
  readonly algorithms: readonly JwtAlgorithm[];
}

const ACCESS_MEMO_MAX = 20_000;

const JWT_OPTIONS = optionNames<JwtOptions>({
  signingKey: true,
  verificationKeys: true,
  accessTokenTtlSeconds: true,
  refreshTokenTtlSeconds: true,
  leewaySeconds: true,
  sessionIdClaim: true,
  issuer: true,
  audience: true,
  rotateRefreshTokens: true,
  rotationGraceSeconds: true,
});

/**
 * Issues and verifies simplejwt-compatible access/refresh pairs with jose. Verified access tokens
 * are remembered by their SHA-256 until they expire, so a token is verified once, not on every
 * request (jose HS256 verify ≈ 70 µs here; a memo hit ≈ 1 µs).
 */
export class JwtCodec {
  readonly config: JwtConfig;
  readonly #signer: ResolvedKey;
  readonly #keys: readonly ResolvedKey[];
  readonly #issuer: string | undefined;
  readonly #audience: string | undefined;
  readonly #now: () => number;
  // The remembered verification itself, so that a hit allocates nothing. No per-entry TTL: a hit
  // checks `exp` anyway, and lru-cache's TTL bookkeeping would cost every hit a clock read.
  readonly #memo = new LRUCache<string, JwtVerification & { readonly ok: true }>({ max: ACCESS_MEMO_MAX });

  constructor(options: JwtOptions, now: () => number) {
    if (typeof options !== 'object' || options === null) throw new TypeError('nilva-session: option "jwt" must be an object');
    assertKnownOptions('the "jwt" option', options, JWT_OPTIONS);
    const signing = options.signingKey;
    if (signing === undefined) fail('signingKey', 'set (a secret of at least 32 bytes for HS256)');
    const signingKey: JwtKey =
      typeof signing === 'object' && signing !== null && 'algorithm' in signing && !(signing instanceof Uint8Array)
        ? (signing as JwtKey)
        : { algorithm: 'HS256', key: signing as string | Uint8Array | KeyObject };
    this.#signer = resolveKey('signingKey', signingKey);
    if (this.#signer.sign === undefined) fail('signingKey', 'a private key (a public key can only verify)');
    const extra = options.verificationKeys ?? [];
    if (!Array.isArray(extra)) fail('verificationKeys', 'an array of keys');
    this.#keys = [this.#signer, ...extra.map((k, i) => resolveKey(`verificationKeys[${i}]`, k))];
    const kids = this.#keys.map((k) => k.kid);
    if (this.#keys.length > 1 && kids.some((k) => k === undefined))
      fail('verificationKeys', 'keys that all have a kid (so tokens can name theirs)');
    if (new Set(kids).size !== kids.length) fail('verificationKeys', 'keys with distinct kids');
    const claim = options.sessionIdClaim ?? 'session_id';
    if (typeof claim !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(claim) || claim === 'user_id' || claim === 'jti') {
      fail('sessionIdClaim', 'a claim name other than the registered ones');
    }
    for (const name of ['issuer', 'audience'] as const) {
      const v = options[name];
      if (v !== undefined && (typeof v !== 'string' || v.length === 0)) fail(name, 'a non-empty string');
    }
    if (options.rotateRefreshTokens !== undefined && typeof options.rotateRefreshTokens !== 'boolean')
      fail('rotateRefreshTokens', 'a boolean');
    this.#issuer = options.issuer;
    this.#audience = options.audience;
    this.#now = now;
    this.config = Object.freeze({
      accessTokenTtlSeconds: seconds('accessTokenTtlSeconds', options.accessTokenTtlSeconds, 300, 1),
      refreshTokenTtlSeconds: seconds('refreshTokenTtlSeconds', options.refreshTokenTtlSeconds, 86_400, 1),
      leewaySeconds: seconds('leewaySeconds', options.leewaySeconds, 5, 0),
      sessionIdClaim: claim,
      rotateRefreshTokens: options.rotateRefreshTokens ?? false,
      rotationGraceSeconds: seconds('rotationGraceSeconds', options.rotationGraceSeconds, 5, 0),
      algorithms: Object.freeze([...new Set(this.#keys.map((k) => k.algorithm))]),
    });
  }

  /**
   * A new `jti`: 32 hex characters like simplejwt's, laid out as a UUIDv7 (48-bit millisecond
   * time, then random bits), so the time a refresh token was issued can be read back from the
   * `jti` a session records (see {@link JwtCodec.jtiTime}).
   */
  static newJti(now: number = Date.now()): string {
    const random = randomUUID().replaceAll('-', '');
    const time = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
    return `${time}7${random.slice(13, 16)}${((Number.parseInt(random[16] as string, 16) & 0x3) | 0x8).toString(16)}${random.slice(17)}`;
  }

  /** The issue time (epoch ms) written into a jti by {@link JwtCodec.newJti}. */
  static jtiTime(jti: string): number {
    return /^[0-9a-f]{12}/.test(jti) ? Number.parseInt(jti.slice(0, 12), 16) : 0;
  }

  /**
   * Signs a refresh token and its access token for a session. The refresh token never outlives
   * the session (`expireAt`).
   */
  async issuePair(input: {
    userId: string | number;
    sessionId: string;
    expireAt: number | null;
    refreshJti: string;
  }): Promise<{ refresh: string; access: string }> {
    const iat = Math.floor(this.#now() / 1000);
    let exp = iat + this.config.refreshTokenTtlSeconds;
    if (input.expireAt !== null) exp = Math.min(exp, Math.floor(input.expireAt / 1000));
    const refresh = await this.#sign({ token_type: 'refresh', exp, iat, jti: input.refreshJti, user_id: input.userId }, input.sessionId);
    const access = await this.issueAccess({ userId: input.userId, sessionId: input.sessionId, iat });
    return { refresh, access };
  }

  /** Signs an access token (`iat` defaults to now). */
  issueAccess(input: { userId: unknown; sessionId: string; iat?: number }): Promise<string> {
    const iat = input.iat ?? Math.floor(this.#now() / 1000);
    const exp = iat + this.config.accessTokenTtlSeconds;
    return this.#sign({ token_type: 'access', exp, iat, jti: JwtCodec.newJti(this.#now()), user_id: input.userId }, input.sessionId);
  }

  #sign(claims: { token_type: string; exp: number; iat: number; jti: string; user_id: unknown }, sessionId: string): Promise<string> {
    const payload: JWTPayload = { ...claims, [this.config.sessionIdClaim]: sessionId };
    if (this.#issuer !== undefined) payload.iss = this.#issuer;
    if (this.#audience !== undefined) payload.aud = this.#audience;
    const header: JWTHeaderParameters = { alg: this.#signer.algorithm, typ: 'JWT' };
    if (this.#signer.kid !== undefined) header.kid = this.#signer.kid;
    return new SignJWT(payload).setProtectedHeader(header).sign(this.#signer.sign as KeyObject);
  }

  /**
   * Verifies an access token. Synchronous when it was verified before (remembered by its
   * SHA-256, never by the token itself); a promise the first time.
   */
  verifyAccess(token: string): JwtVerification | Promise<JwtVerification> {
    if (token.length > 8192) return { ok: false, reason: 'Token is invalid' };
    const digest = hash('sha256', token, 'base64url');
    const hit = this.#memo.get(digest);
    if (hit !== undefined) {
      if (!this.#unexpired(hit.claims)) {
        this.#memo.delete(digest);
        return { ok: false, reason: 'Token is expired' };
      }
      return hit;
    }
    return this.verify(token, 'access').then((result) => {
      // Every later hit returns this very object, and the codec is public: frozen, so that no
      // caller can change what the next request is checked against.
      if (result.ok && this.#unexpired(result.claims))
        this.#memo.set(digest, Object.freeze({ ok: true, claims: Object.freeze(result.claims) }));
      return result;
    });
  }

  #unexpired(claims: JwtClaims): boolean {
    return this.#now() / 1000 < claims.exp + this.config.leewaySeconds;
  }

  /** Verifies a token of the given type: signature, allow-listed algorithm, `exp`/`nbf`/`iat`, `jti`, `token_type`. */
  async verify(token: string, type: 'access' | 'refresh'): Promise<JwtVerification> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) return { ok: false, reason: 'Token is invalid' };
    if (!isCanonicalCompactJws(token)) return { ok: false, reason: 'Token is invalid' };
    const now = this.#now();
    let payload: JWTPayload;
    try {
      const result = await jwtVerify(token, (header) => this.#keyFor(header), {
        algorithms: [...this.config.algorithms],
        clockTolerance: this.config.leewaySeconds,
        currentDate: new Date(now),
        requiredClaims: ['exp'],
        ...(this.#issuer === undefined ? {} : { issuer: this.#issuer }),
        ...(this.#audience === undefined ? {} : { audience: this.#audience }),
      });
      payload = result.payload;
    } catch (error) {
      return { ok: false, reason: error instanceof joseErrors.JWTExpired ? 'Token is expired' : 'Token is invalid' };
    }
    const { exp, iat, jti } = payload;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return { ok: false, reason: 'Token is invalid' };
    if (iat !== undefined && (typeof iat !== 'number' || iat > now / 1000 + this.config.leewaySeconds))
      return { ok: false, reason: 'Token is invalid' };
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 64) return { ok: false, reason: 'Token has no id' };
    const tokenType = payload.token_type;
    if (tokenType === undefined) return { ok: false, reason: 'Token has no type' };
    if (tokenType !== type) return { ok: false, reason: 'Token has wrong type' };
    return { ok: true, claims: payload as unknown as JwtClaims };
  }

  #keyFor(header: JWTHeaderParameters): KeyObject {
    // Only our own keys: `jku`, `x5u` and `jwk` headers never select a key (RFC 8725 §3.10).
    const candidates = this.#keys.length === 1 ? this.#keys : this.#keys.filter((k) => k.kid === header.kid);
    const key = candidates.find((k) => k.algorithm === header.alg);
    if (key === undefined) throw new joseErrors.JOSEAlgNotAllowed('no key for this token');
    return key.verify;
  }
}

/**
 * Whether a compact JWS is in the one spelling its bytes have: three base64url segments without
 * padding, each of a length base64url can produce, whose last character leaves the unused low
 * bits zero. Decoders accept `=` and ignore those bits, so without this one token would have
 * several accepted spellings, each a different memo key and a different string to blacklist.
 */
export function isCanonicalCompactJws(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  for (const part of parts) {
    if (!BASE64URL.test(part)) return false;
    const rest = part.length % 4;
    if (rest === 1) return false;
    if (rest === 0) continue;
    // 2 characters left carry 1 byte (4 unused bits), 3 carry 2 bytes (2 unused bits).
    const value = BASE64URL_ALPHABET.indexOf(part.charAt(part.length - 1));
    if ((value & (rest === 2 ? 0b1111 : 0b11)) !== 0) return false;
  }
  return true;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

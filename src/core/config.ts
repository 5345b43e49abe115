import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import type { JwtOptions } from '../tokens/jwt.js';
import type { SessionEvent, SessionLogger } from './events.js';
import type { UserId } from './session.js';
import type { SessionCache } from './session-cache.js';
import type { SessionStore } from './session-store.js';

/** How a change of User-Agent between requests is judged. */
export type UserAgentPolicy = 'family' | 'strict' | 'ignore';

/** What a login at `maxSessionsPerUser` does: end the least recently used session, or fail. */
export type SessionLimitAction = 'end-least-recent' | 'refuse';

/** Which client addresses may set the client IP through `X-Forwarded-For`. */
export type TrustProxy = boolean | number | readonly string[];

/**
 * Options of {@link SessionManager}. Validated once (a bad value throws a `TypeError` naming
 * the option), defaults applied, then frozen. The library never reads `process.env`.
 */
export interface SessionManagerOptions<TUser = unknown> {
  /** Where sessions live. Required. */
  readonly store: SessionStore;
  /** An accelerator in front of the store. Default: none (every request reads the store). */
  readonly cache?: SessionCache | undefined;
  /**
   * Loads the session's user on a cache miss; its result is cached with the session, so keep it
   * small and free of secrets. Return `null`/`undefined` when the user no longer exists.
   * Default: the user is `{ id: userId }`.
   */
  readonly loadUser?: ((userId: UserId) => TUser | null | undefined | Promise<TUser | null | undefined>) | undefined;
  /**
   * Whether the loaded user may still authenticate. Default: true unless the user has
   * `isActive === false` or `is_active === false`.
   */
  readonly isUserActive?: ((user: TUser) => boolean) | undefined;
  /** Characters of `[a-z0-9]` in an opaque token. Default 50, minimum 50, maximum 256. */
  readonly tokenSize?: number | undefined;
  /** Absolute lifetime of a new session, in seconds; `null` for none. Default 86400. */
  readonly sessionTtlSeconds?: number | null | undefined;
  /**
   * End a session unused this long, in seconds. Default: none. It is judged on `last_online`,
   * which is written once per `touchIntervalSeconds`, so it is accurate to within that interval:
   * a session whose requests come less than `idleTimeoutSeconds − touchIntervalSeconds` apart
   * (on any instance) never ends by it. Must be greater than `touchIntervalSeconds`.
   */
  readonly idleTimeoutSeconds?: number | null | undefined;
  /** How long a cached session may be reused before the store is asked again. Default 900. */
  readonly cacheTtlSeconds?: number | undefined;
  /** `last_online` is written at most this often per session. Default 60. */
  readonly touchIntervalSeconds?: number | undefined;
  /** Default `family`: browser, OS or device family change suspends; `strict`: any change. */
  readonly userAgentPolicy?: UserAgentPolicy | undefined;
  /** The opaque-token scheme, compared case-insensitively. Default `Token`. */
  readonly tokenKeyword?: string | undefined;
  /** The JWT scheme, compared case-sensitively (as simplejwt). Default `Bearer`. */
  readonly bearerKeyword?: string | undefined;
  /**
   * JWT access/refresh pairs bound to sessions (simplejwt-compatible). Off unless given; needs
   * `signingKey`.
   */
  readonly jwt?: JwtOptions | undefined;
  /**
   * The schemes accepted, in order; the first names the `WWW-Authenticate` challenge.
   * Default `['token']`, or `['token', 'bearer']` with `jwt`.
   */
  readonly schemes?: readonly ('token' | 'bearer')[] | undefined;
  /** When set, the client IP comes from `X-Forwarded-For`. Default false. */
  readonly trustProxy?: TrustProxy | undefined;
  /** Most active sessions per user. Default: unlimited. See `sessionLimitAction`. */
  readonly maxSessionsPerUser?: number | null | undefined;
  /**
   * A login at `maxSessionsPerUser`: `'end-least-recent'` (default) ends the user's least
   * recently used session, so signing in always works and an abandoned device is what goes;
   * `'refuse'` fails the login with `ERR_SESSION_LIMIT` (HTTP 403) until the user signs out
   * somewhere, so nobody holding the password can silently push the owner's devices out.
   */
  readonly sessionLimitAction?: SessionLimitAction | undefined;
  /** Every authentication failure answers `Invalid token.` Default false. */
  readonly genericErrors?: boolean | undefined;
  /** How often buffered `last_online` writes are flushed, in milliseconds. Default 1000. */
  readonly touchFlushIntervalMs?: number | undefined;
  /** Lifecycle events (created, suspended, revoked, …), for logs or audit. */
  readonly onEvent?: ((event: SessionEvent) => void) | undefined;
  /** Where warnings go. Default: `console.warn`. */
  readonly logger?: SessionLogger | undefined;
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  readonly clock?: (() => number) | undefined;
}

/** The validated, frozen configuration. */
export interface SessionConfig {
  readonly tokenSize: number;
  readonly sessionTtlSeconds: number | null;
  readonly idleTimeoutSeconds: number | null;
  readonly cacheTtlSeconds: number;
  readonly touchIntervalSeconds: number;
  readonly userAgentPolicy: UserAgentPolicy;
  readonly tokenKeyword: string;
  readonly bearerKeyword: string;
  readonly schemes: readonly ('token' | 'bearer')[];
  readonly trustProxy: TrustProxy;
  readonly maxSessionsPerUser: number | null;
  readonly sessionLimitAction: SessionLimitAction;
  readonly genericErrors: boolean;
  readonly touchFlushIntervalMs: number;
}

function fail(option: string, expected: string, value: unknown): never {
  throw new TypeError(`nilva-session: option "${option}" must be ${expected}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : String(value);
}

function integer(option: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(option, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function optionalInteger(option: string, value: unknown, fallback: number | null, min: number): number | null {
  if (value === null) return null;
  if (value === undefined) return fallback;
  return integer(option, value, 0, min);
}

function validTrustProxy(value: unknown): TrustProxy {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0)) {
    return Object.freeze([...(value as string[])]);
  }
  return fail('trustProxy', 'a boolean, a hop count or a list of addresses', value);
}

const MANAGER_OPTIONS = optionNames<SessionManagerOptions>({
  store: true,
  cache: true,
  loadUser: true,
  isUserActive: true,
  tokenSize: true,
  sessionTtlSeconds: true,
  idleTimeoutSeconds: true,
  cacheTtlSeconds: true,
  touchIntervalSeconds: true,
  userAgentPolicy: true,
  tokenKeyword: true,
  bearerKeyword: true,
  jwt: true,
  schemes: true,
  trustProxy: true,
  maxSessionsPerUser: true,
  sessionLimitAction: true,
  genericErrors: true,
  touchFlushIntervalMs: true,
  onEvent: true,
  logger: true,
  clock: true,
});

/** Validates options and applies defaults. Throws a `TypeError` naming the option. */
export function resolveConfig(options: SessionManagerOptions<never>): SessionConfig {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  assertKnownOptions('SessionManager', options, MANAGER_OPTIONS);
  const store = options.store as unknown;
  if (typeof store !== 'object' || store === null || typeof (store as { findByKeyHash?: unknown }).findByKeyHash !== 'function') {
    fail('store', 'a SessionStore', store);
  }
  const policy = options.userAgentPolicy ?? 'family';
  if (policy !== 'family' && policy !== 'strict' && policy !== 'ignore') {
    fail('userAgentPolicy', '"family", "strict" or "ignore"', policy);
  }
  const keyword = options.tokenKeyword ?? 'Token';
  if (typeof keyword !== 'string' || !/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/.test(keyword)) {
    fail('tokenKeyword', 'an HTTP auth-scheme token', keyword);
  }
  const bearer = options.bearerKeyword ?? 'Bearer';
  if (typeof bearer !== 'string' || !/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/.test(bearer)) {
    fail('bearerKeyword', 'an HTTP auth-scheme token', bearer);
  }
  if (bearer.toLowerCase() === keyword.toLowerCase()) fail('bearerKeyword', 'different from tokenKeyword', bearer);
  const schemes = options.schemes ?? (options.jwt === undefined ? ['token'] : ['token', 'bearer']);
  if (
    !Array.isArray(schemes) ||
    schemes.length === 0 ||
    new Set(schemes).size !== schemes.length ||
    !schemes.every((s) => s === 'token' || s === 'bearer')
  ) {
    fail('schemes', 'a non-empty list of "token" and "bearer"', schemes);
  }
  if (schemes.includes('bearer') && options.jwt === undefined) fail('schemes', 'free of "bearer" unless "jwt" is configured', schemes);
  for (const name of ['loadUser', 'isUserActive', 'onEvent', 'clock'] as const) {
    const v = options[name];
    if (v !== undefined && typeof v !== 'function') fail(name, 'a function', v);
  }
  const limitAction = options.sessionLimitAction ?? 'end-least-recent';
  if (limitAction !== 'end-least-recent' && limitAction !== 'refuse') {
    fail('sessionLimitAction', '"end-least-recent" or "refuse"', limitAction);
  }
  if (options.genericErrors !== undefined && typeof options.genericErrors !== 'boolean') {
    fail('genericErrors', 'a boolean', options.genericErrors);
  }
  const touchIntervalSeconds = integer('touchIntervalSeconds', options.touchIntervalSeconds, 60, 1);
  const idleTimeoutSeconds = optionalInteger('idleTimeoutSeconds', options.idleTimeoutSeconds, null, 1);
  // The idle check reads last_online, written once per touch interval: a timeout not above the
  // interval would end every session that long after its last write, however busy.
  if (idleTimeoutSeconds !== null && idleTimeoutSeconds <= touchIntervalSeconds) {
    fail('idleTimeoutSeconds', `greater than touchIntervalSeconds (${touchIntervalSeconds})`, idleTimeoutSeconds);
  }
  return Object.freeze({
    tokenSize: integer('tokenSize', options.tokenSize, 50, 50, 256),
    sessionTtlSeconds: optionalInteger('sessionTtlSeconds', options.sessionTtlSeconds, 86_400, 1),
    idleTimeoutSeconds,
    cacheTtlSeconds: integer('cacheTtlSeconds', options.cacheTtlSeconds, 900, 1),
    touchIntervalSeconds,
    userAgentPolicy: policy,
    tokenKeyword: keyword,
    bearerKeyword: bearer,
    schemes: Object.freeze([...schemes]),
    trustProxy: validTrustProxy(options.trustProxy),
    maxSessionsPerUser: optionalInteger('maxSessionsPerUser', options.maxSessionsPerUser, null, 1),
    sessionLimitAction: limitAction,
    genericErrors: options.genericErrors ?? false,
    touchFlushIntervalMs: integer('touchFlushIntervalMs', options.touchFlushIntervalMs, 1000, 1, 3_600_000),
  });
}

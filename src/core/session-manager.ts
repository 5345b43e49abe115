import { randomUUID } from 'node:crypto';
import { MAX_USER_AGENT_LENGTH, storedUserAgent } from '../lib/stored-user-agent.js';
import { pythonUtcString } from '../lib/time.js';
import { type JwtClaims, JwtCodec, type JwtVerification } from '../tokens/jwt.js';
import { hashData, isWellFormedToken, KEY_PREFIX_LENGTH, tokenGenerator } from '../tokens/opaque-token.js';
import { sameUserAgentFamily } from '../useragent/user-agent-data.js';
import { parseAuthorization } from './authorization-header.js';
import { resolveConfig, type SessionConfig, type SessionManagerOptions } from './config.js';
import { sessionEnd } from './end-details.js';
import { messages, SessionError, type SessionErrorCode } from './errors.js';
import type { SessionEndReason, SessionEvent, SessionLogger } from './events.js';
import type { SessionRecord, SessionRef, UserId } from './session.js';
import type { CachedSession, CacheRead, SessionCache } from './session-cache.js';
import { pageOfList, type SessionPage } from './session-page.js';
import type { ActivePage, SessionStore } from './session-store.js';
import { TouchBuffer } from './touch-buffer.js';

/** Facts about the request that the checks need. */
export interface RequestFacts {
  /** The client IP (see `clientIp`); `""` when unknown. */
  readonly ip: string;
  /** The raw `User-Agent` header; `""` when absent. */
  readonly userAgent: string;
}

/** A successful authentication. `session` is the cached record (no token in it). */
export interface AuthSuccess<TUser> {
  readonly ok: true;
  readonly user: TUser;
  readonly session: CachedSession;
  readonly scheme: 'token' | 'bearer';
}

/** A refused authentication; `error.code` says why. */
export interface AuthFailure {
  readonly ok: false;
  readonly error: SessionError;
}

export type AuthOutcome<TUser> = AuthSuccess<TUser> | AuthFailure;

/** A value now, or later. The in-process cache answers synchronously. */
export type MaybePromise<T> = T | Promise<T>;

/** The result of a login: the raw token (shown once, to the client) and the stored row. */
export interface CreatedSession {
  /** The opaque token. Hand it to the client; it is not kept anywhere. */
  readonly token: string;
  readonly session: SessionRecord;
}

/** Who is asking for a session, for {@link SessionManager.createSession}. */
export interface CreateSessionInput {
  readonly userId: UserId;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
  /** Absolute expiry; default `now + sessionTtlSeconds`. `null` for none. */
  readonly expireAt?: Date | null | undefined;
  /** The `jti` of the refresh token issued with the session (JWT pairs). */
  readonly refreshJti?: string | undefined;
}

/** The new credential of a renewed session: an opaque token, or a JWT pair for a JWT session. */
export type RenewedSession =
  | { readonly kind: 'token'; readonly token: string; readonly session: SessionRecord }
  | { readonly kind: 'jwt'; readonly access: string; readonly refresh: string; readonly session: SessionRecord };

/** Options of {@link SessionManager.renewSession}. */
export interface RenewSessionOptions {
  /**
   * The user has just proved who they are again (a password, a second factor): the renewed
   * session's `authenticatedAt` becomes now, so `requireFreshAuth` routes accept it. Default
   * false (a privilege change: the time of the last authentication is kept).
   */
  readonly reauthenticated?: boolean | undefined;
  /** Renew only a session of this user (a renewal asked for by a request). */
  readonly userId?: UserId | undefined;
  /** The request's address and user agent, recorded on the renewed session. */
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** Which message a failure carries depends on the scheme (docs/contract.md). */
type Scheme = 'token' | 'bearer';

/** Most ids of one revocation whose rows are read again to repair a lost invalidation. */
const MAX_REPAIR_LOOKUPS = 100;

/** purgeExpired's pause between batches when none is given (see there). */
const DEFAULT_PURGE_PAUSE_MS = 50;
/** How long the store must have gone without a failure before a success ends an outage. */
const STORE_RECOVERY_QUIET_MS = 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function defaultIsUserActive(user: unknown): boolean {
  if (typeof user !== 'object' || user === null) return user !== false;
  const u = user as { isActive?: unknown; is_active?: unknown };
  return u.isActive !== false && u.is_active !== false;
}

const consoleLogger: SessionLogger = {
  warn: (message, details) => console.warn(message, details ?? ''),
  error: (message, details) => console.error(message, details ?? ''),
};

/**
 * The session engine: creates sessions, authenticates requests against them through the
 * cache, lists and revokes them. Framework-free; stores and caches are passed in.
 *
 * @example
 * const sessions = new SessionManager({ store, cache: new MemorySessionCache() });
 * const { token } = await sessions.createSession({ userId: 42, ip, userAgent });
 * const outcome = await sessions.authenticate(`Token ${token}`, { ip, userAgent });
 */
export class SessionManager<TUser = unknown> {
  /** The validated, frozen configuration. */
  readonly config: SessionConfig;
  readonly #store: SessionStore;
  readonly #cache: SessionCache | undefined;
  readonly #loadUser: (userId: UserId) => unknown;
  // Held as `unknown` so a SessionManager<User> is usable where a SessionManager<unknown> is expected.
  readonly #isUserActive: (user: unknown) => boolean;
  readonly #onEvent: ((event: SessionEvent) => void) | undefined;
  readonly #logger: SessionLogger;
  readonly #now: () => number;
  readonly #touches: TouchBuffer;
  readonly #cacheTtlMs: number;
  readonly #touchIntervalMs: number;
  readonly #idleMs: number | null;
  readonly #jwt: JwtCodec | undefined;
  readonly #tokenKeyword: string | null;
  readonly #bearerKeyword: string | null;
  /**
   * Whether the store is in an outage: its cause is logged once per outage, not per request. It
   * ends with a success {@link STORE_RECOVERY_QUIET_MS} or more after the last failure: while a
   * server shuts down, a statement already running may still succeed between two failures, and
   * announcing that as a recovery would log the same outage twice.
   */
  #storeDown = false;
  /** When a store call last failed (`performance.now()`). */
  #storeFailedAt = 0;
  /** Likewise for the application's `loadUser`. */
  #loadUserDown = false;

  constructor(options: SessionManagerOptions<TUser>) {
    this.config = resolveConfig(options as unknown as SessionManagerOptions<never>);
    this.#store = options.store;
    this.#cache = options.cache;
    this.#loadUser = options.loadUser ?? ((userId: UserId) => ({ id: userId }));
    this.#isUserActive = (options.isUserActive as ((user: unknown) => boolean) | undefined) ?? defaultIsUserActive;
    this.#onEvent = options.onEvent;
    this.#logger = options.logger ?? consoleLogger;
    this.#now = options.clock ?? Date.now;
    this.#touches = new TouchBuffer(this.#store, this.config.touchFlushIntervalMs, this.#logger);
    this.#cacheTtlMs = this.config.cacheTtlSeconds * 1000;
    this.#touchIntervalMs = this.config.touchIntervalSeconds * 1000;
    this.#idleMs = this.config.idleTimeoutSeconds === null ? null : this.config.idleTimeoutSeconds * 1000;
    this.#jwt = options.jwt === undefined ? undefined : new JwtCodec(options.jwt, this.#now);
    this.#tokenKeyword = this.config.schemes.includes('token') ? this.config.tokenKeyword : null;
    this.#bearerKeyword = this.config.schemes.includes('bearer') ? this.config.bearerKeyword : null;
  }

  /** The JWT codec, when `jwt` is configured. */
  get jwt(): JwtCodec | undefined {
    return this.#jwt;
  }

  /** The current time of the injected clock, in epoch milliseconds. */
  now(): number {
    return this.#now();
  }

  // ---------------------------------------------------------------------------------------
  // Creation

  /**
   * Creates a session row and its opaque token. Only the token's SHA-256 is stored.
   * At `maxSessionsPerUser`, the least recently used session of the user is ended first
   * (`sessionLimitAction: 'refuse'`: the login fails instead). With a store that has
   * `insertWithinLimit` (the Kysely store), the count, the ending and the insert are one step per
   * user, so concurrent logins never leave more than the cap active.
   *
   * @throws SessionError `ERR_SESSION_LIMIT` at the cap with `'refuse'`, `ERR_STORE_UNAVAILABLE`
   *   when the store fails
   */
  async createSession(input: CreateSessionInput): Promise<CreatedSession> {
    if (typeof input.userId !== 'string' && typeof input.userId !== 'number') {
      throw new TypeError('nilva-session: createSession needs a userId (string or number)');
    }
    const now = this.#now();
    const token = tokenGenerator(this.config.tokenSize);
    const ttl = this.config.sessionTtlSeconds;
    const expireAt = input.expireAt !== undefined ? input.expireAt : ttl === null ? null : new Date(now + ttl * 1000);
    const created = new Date(now);
    const session: SessionRecord = Object.freeze({
      id: randomUUID(),
      userId: input.userId,
      keyHash: hashData(token),
      keyPrefix: token.slice(0, KEY_PREFIX_LENGTH),
      expireAt,
      isActive: true,
      lastOnline: created,
      lastIp: input.ip ?? '',
      userAgent: storedUserAgent(input.userAgent),
      detail: null,
      endReason: null,
      createdAt: created,
      authenticatedAt: created,
      refreshJti: input.refreshJti ?? null,
    });
    const max = this.config.maxSessionsPerUser;
    const insertWithinLimit = this.#store.insertWithinLimit?.bind(this.#store);
    if (max !== null && insertWithinLimit !== undefined) {
      // Pending touches first, so that "least recently used" is judged on them too.
      await this.#touches.flush();
      const limit = { max, action: this.config.sessionLimitAction, now: created, end: sessionEnd('session_limit') };
      const { inserted, ended } = await this.#storeCall(() => insertWithinLimit(session, limit, { token }));
      // Committed: now the caches.
      await this.#invalidate(ended);
      this.#emitRevoked(ended, 'session_limit');
      if (!inserted) throw new SessionError('ERR_SESSION_LIMIT', messages.sessionLimit);
    } else {
      const refuseAtLimit = max !== null && this.config.sessionLimitAction === 'refuse';
      if (max !== null) await this.#enforceLimit(input.userId, now);
      // The token goes along for a store that must keep it (Django coexistence); others ignore it.
      await this.#storeCall(() => this.#store.insert(session, { token }));
      if (refuseAtLimit) await this.#refuseOverLimit(session, now);
    }
    this.#emit({
      type: 'session_created',
      ts: created.toISOString(),
      sessionId: session.id,
      userId: session.userId,
      ip: session.lastIp,
      userAgent: session.userAgent,
    });
    return { token, session };
  }

  async #enforceLimit(userId: UserId, now: number): Promise<void> {
    const max = this.config.maxSessionsPerUser as number;
    await this.#touches.flush();
    const active = await this.#storeCall(() => this.#store.listActive(userId, new Date(now)));
    if (active.length < max) return;
    if (this.config.sessionLimitAction === 'refuse') throw new SessionError('ERR_SESSION_LIMIT', messages.sessionLimit);
    // listActive is newest first: the tail is the least recently used.
    const victims = active.slice(max - 1).map((s) => s.id);
    await this.#end(victims, 'session_limit', undefined);
  }

  /**
   * `refuse` mode with a store without `insertWithinLimit`, after the insert: concurrent logins
   * may each have counted fewer than the cap
   * before any of them inserted. A login that sees more than the cap once its own row is in
   * ends itself. The last of any set of sessions to be inserted sees them all, so the cap holds
   * whatever the interleaving; the price is that two logins racing for the last place may both
   * be refused (the user retries), never that both get in.
   */
  async #refuseOverLimit(session: SessionRecord, now: number): Promise<void> {
    const max = this.config.maxSessionsPerUser as number;
    const active = await this.#storeCall(() => this.#store.listActive(session.userId, new Date(now)));
    if (active.length <= max) return;
    await this.#end([session.id], 'session_limit', undefined);
    throw new SessionError('ERR_SESSION_LIMIT', messages.sessionLimit);
  }

  // ---------------------------------------------------------------------------------------
  // Renewal and step-up

  /**
   * Gives a session a new credential and makes the old one stop working at once, everywhere:
   * for a privilege change, and after the user re-authenticated (`reauthenticated: true`).
   * The session is replaced by a new one (new id, new token; with JWT, a new pair) that keeps
   * its user, device, sign-in time and absolute expiry; the old one ends with reason `renewed`
   * and is cleared from every cache, so its token, access tokens and refresh token are refused
   * on the next request on every instance.
   *
   * @throws SessionError `ERR_SESSION_INVALID` when the session is not active (or not the
   *   user's), `ERR_STORE_UNAVAILABLE` when the store fails
   */
  async renewSession(sessionId: string, options: RenewSessionOptions = {}): Promise<RenewedSession> {
    const old = await this.#storeCall(() => this.#store.findById(sessionId));
    const now = this.#now();
    if (
      old === undefined ||
      !old.isActive ||
      (old.expireAt !== null && now >= old.expireAt.getTime()) ||
      (options.userId !== undefined && String(old.userId) !== String(options.userId))
    ) {
      throw new SessionError('ERR_SESSION_INVALID', messages.invalidToken);
    }
    const jwt = old.refreshJti !== null ? this.#jwt : undefined;
    const token = tokenGenerator(this.config.tokenSize);
    const refreshJti = jwt === undefined ? null : JwtCodec.newJti(now);
    const session: SessionRecord = Object.freeze({
      ...old,
      id: randomUUID(),
      keyHash: hashData(token),
      keyPrefix: token.slice(0, KEY_PREFIX_LENGTH),
      lastOnline: new Date(now),
      lastIp: options.ip ?? old.lastIp,
      userAgent: options.userAgent === undefined ? old.userAgent : storedUserAgent(options.userAgent),
      authenticatedAt: options.reauthenticated === true ? new Date(now) : old.authenticatedAt,
      refreshJti,
    });
    // New first, then the old one ends: a failure in between leaves the user signed in.
    await this.#storeCall(() => this.#store.insert(session, { token }));
    const ended = await this.#end([old.id], 'renewed', undefined);
    if (ended.length === 0) {
      // The old session ended meanwhile (a logout, a revoke-all): the renewal must not outlive it.
      const after = await this.#storeCall(() => this.#store.findById(old.id));
      await this.#end([session.id], after?.endReason ?? 'revoked_by_user', undefined);
      throw new SessionError('ERR_SESSION_INVALID', messages.invalidToken);
    }
    this.#emit({
      type: 'session_created',
      ts: new Date(now).toISOString(),
      sessionId: session.id,
      userId: session.userId,
      ip: session.lastIp,
      userAgent: session.userAgent,
    });
    if (jwt === undefined) return { kind: 'token', token, session };
    const pair = await jwt.issuePair({
      userId: session.userId,
      sessionId: session.id,
      expireAt: session.expireAt === null ? null : session.expireAt.getTime(),
      refreshJti: refreshJti as string,
    });
    return { kind: 'jwt', ...pair, session };
  }

  /**
   * Call after a user's password changed: ends every other session of the user (reason
   * `password_changed`) and, when the change was made from `currentSessionId`, renews that
   * one as re-authenticated (the user just typed a password), so a stolen copy of its old token
   * stops working too. Returns how many sessions ended and the current session's new credential.
   *
   * @example
   * await users.setPassword(userId, newPassword);
   * const { renewed } = await sessions.passwordChanged(userId, { currentSessionId: req.nilva?.session.id });
   */
  async passwordChanged(
    userId: UserId,
    options: { readonly currentSessionId?: string | undefined } = {},
  ): Promise<{ readonly ended: number; readonly renewed: RenewedSession | undefined }> {
    const keep = options.currentSessionId;
    const ended = await this.revokeAllForUser(userId, { reason: 'password_changed', ...(keep === undefined ? {} : { exceptId: keep }) });
    if (keep === undefined) return { ended, renewed: undefined };
    const renewed = await this.renewSession(keep, { userId, reauthenticated: true });
    return { ended, renewed };
  }

  /**
   * Whether the session's last authentication is at most `maxAgeSeconds` old: the check behind
   * `requireFreshAuth` for sensitive routes (changing a password or an e-mail address, signing
   * out every other device).
   */
  isFreshAuth(session: Pick<CachedSession, 'authenticatedAt'>, maxAgeSeconds: number): boolean {
    return this.#now() - session.authenticatedAt <= maxAgeSeconds * 1000;
  }

  // ---------------------------------------------------------------------------------------
  // Authentication

  /**
   * Authenticates an `Authorization` header (`Token <key>`, or `Bearer <jwt>` with `jwt`).
   * Returns `undefined` when the request carries no credentials this manager handles
   * (anonymous), a failure with a stable code, or the user and session. Synchronous when the
   * in-process cache answers (and, for JWTs, the access token was verified before).
   */
  authenticate(header: string | undefined, facts: RequestFacts): MaybePromise<AuthOutcome<TUser> | undefined> {
    const parsed = parseAuthorization(header, this.#tokenKeyword, this.#bearerKeyword);
    switch (parsed.scheme) {
      case 'none':
        return undefined;
      case 'invalid':
        return { ok: false, error: parsed.error };
      case 'token':
        return this.authenticateToken(parsed.credentials, facts);
      case 'bearer':
        return this.authenticateAccessToken(parsed.credentials, facts);
    }
  }

  /**
   * Authenticates an access JWT: signature, claims and type, then the session behind its
   * `session_id` — exists, belongs to `user_id`, active, unexpired, user agent under the policy.
   */
  authenticateAccessToken(token: string, facts: RequestFacts): MaybePromise<AuthOutcome<TUser>> {
    const jwt = this.#jwt;
    if (jwt === undefined) return this.#fail('ERR_TOKEN_NOT_VALID', 'Token is invalid');
    const verified = jwt.verifyAccess(token);
    return verified instanceof Promise ? verified.then((v) => this.#withClaims(v, facts)) : this.#withClaims(verified, facts);
  }

  #withClaims(verified: JwtVerification, facts: RequestFacts): MaybePromise<AuthOutcome<TUser>> {
    if (!verified.ok) return this.#fail('ERR_TOKEN_NOT_VALID', verified.reason);
    const sessionId = this.#sessionIdOf(verified.claims);
    if (sessionId === undefined) return this.#fail('ERR_TOKEN_NO_SESSION', messages.tokenNoSession);
    if (!UUID.test(sessionId)) return this.#fail('ERR_SESSION_NOT_FOUND', messages.sessionNotFound);
    const userId = verified.claims.user_id;
    if (typeof userId !== 'string' && typeof userId !== 'number') return this.#fail('ERR_SESSION_NOT_FOUND', messages.sessionNotFound);
    return this.authenticateSessionId(sessionId, facts, userId);
  }

  #sessionIdOf(claims: JwtClaims): string | undefined {
    const value = claims[(this.#jwt as JwtCodec).config.sessionIdClaim];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  }

  /**
   * Authenticates a raw opaque token. A token of the wrong length or alphabet is refused
   * before any hashing or I/O.
   */
  authenticateToken(token: string, facts: RequestFacts): MaybePromise<AuthOutcome<TUser>> {
    if (!isWellFormedToken(token, this.config.tokenSize)) return this.#fail('ERR_SESSION_INVALID', messages.invalidToken);
    const keyHash = hashData(token);
    const cached = this.#cache === undefined ? undefined : this.#safeRead(this.#cache, 'key', keyHash);
    if (cached instanceof Promise) {
      return cached.then((entry) =>
        entry === undefined ? this.#miss('key', keyHash, facts, 'token') : this.#checkCached(entry, facts, 'token'),
      );
    }
    if (cached !== undefined) return this.#checkCached(cached, facts, 'token');
    return this.#miss('key', keyHash, facts, 'token');
  }

  /**
   * Authenticates by session id (the JWT path): the session must exist, be active, unexpired,
   * belong to `userId` when given, and pass the user-agent policy.
   */
  authenticateSessionId(sessionId: string, facts: RequestFacts, userId?: UserId): MaybePromise<AuthOutcome<TUser>> {
    const cached = this.#cache === undefined ? undefined : this.#safeRead(this.#cache, 'id', sessionId);
    if (cached instanceof Promise) return cached.then((entry) => this.#checkById(entry, sessionId, facts, userId));
    return this.#checkById(cached, sessionId, facts, userId);
  }

  #checkById(
    entry: CachedSession | undefined,
    sessionId: string,
    facts: RequestFacts,
    userId: UserId | undefined,
  ): MaybePromise<AuthOutcome<TUser>> {
    if (entry === undefined) return this.#miss('id', sessionId, facts, 'bearer', userId);
    // The claim and the row may spell one id differently (42 and "42"); equal values skip the strings.
    if (userId !== undefined && entry.userId !== userId && String(entry.userId) !== String(userId))
      return this.#fail('ERR_SESSION_NOT_FOUND', messages.sessionNotFound);
    return this.#checkCached(entry, facts, 'bearer');
  }

  // Takes the key rather than a closure: it runs on every request, and a closure per call is
  // an allocation the warm path does not need.
  #safeRead(cache: SessionCache, kind: 'key' | 'id', value: string): CacheRead {
    try {
      const r = kind === 'key' ? cache.byKeyHash(value) : cache.byId(value);
      if (r instanceof Promise) {
        return r.then(
          (entry) => entry,
          (error: unknown) => {
            this.#logger.warn('nilva-session: cache read failed; asking the store', { error: String(error) });
            return undefined;
          },
        );
      }
      return r;
    } catch (error) {
      this.#logger.warn('nilva-session: cache read failed; asking the store', { error: String(error) });
      return undefined;
    }
  }

  /** Cache hit: every check of a miss runs here too. */
  #checkCached(entry: CachedSession, facts: RequestFacts, scheme: Scheme): MaybePromise<AuthOutcome<TUser>> {
    const now = this.#now();
    if (entry.expireAt !== null && now >= entry.expireAt) return this.#expired(entry.expireAt);
    if (this.#idleMs !== null && now - this.#lastSeen(entry) >= this.#idleMs) {
      // The cached last_online may lag another instance's touches: let the store decide.
      return this.#miss(scheme === 'token' ? 'key' : 'id', scheme === 'token' ? entry.keyHash : entry.id, facts, scheme);
    }
    return this.#accept(entry, facts, scheme, now);
  }

  /** Cache miss: read the store, check the row, and fill the cache. */
  async #miss(kind: 'key' | 'id', lookup: string, facts: RequestFacts, scheme: Scheme, userId?: UserId): Promise<AuthOutcome<TUser>> {
    const epoch = this.#cache?.epoch() ?? 0;
    let row: SessionRecord | undefined;
    try {
      row = kind === 'key' ? await this.#store.findByKeyHash(lookup) : await this.#store.findById(lookup);
    } catch (error) {
      return { ok: false, error: this.#storeFailed(error) };
    }
    if (this.#storeDown) this.#storeAnswered();
    if (row === undefined || (userId !== undefined && String(row.userId) !== String(userId))) {
      return scheme === 'token'
        ? this.#fail('ERR_SESSION_INVALID', messages.invalidToken)
        : this.#fail('ERR_SESSION_NOT_FOUND', messages.sessionNotFound);
    }
    if (!row.isActive) {
      return this.#fail('ERR_SESSION_SUSPENDED', scheme === 'token' ? messages.sessionSuspended : messages.userSuspended);
    }
    const now = this.#now();
    if (row.expireAt !== null && now >= row.expireAt.getTime()) return this.#expired(row.expireAt.getTime());
    const lastOnline = Math.max(row.lastOnline.getTime(), this.#touches.pending(row.id) ?? 0);
    if (this.#idleMs !== null && now - lastOnline >= this.#idleMs) {
      await this.#end([row.id], 'idle_timeout', undefined).catch(() => undefined);
      return this.#fail('ERR_SESSION_IDLE', messages.idle);
    }
    const user = await this.#activeUser(row.userId);
    if (user instanceof SessionError) return { ok: false, error: user };
    if (user === undefined) return this.#fail('ERR_USER_INACTIVE', messages.userInactive);
    const entry: CachedSession = {
      id: row.id,
      userId: row.userId,
      keyHash: row.keyHash,
      expireAt: row.expireAt === null ? null : row.expireAt.getTime(),
      lastOnline,
      lastIp: row.lastIp,
      userAgent: row.userAgent,
      createdAt: row.createdAt.getTime(),
      authenticatedAt: row.authenticatedAt.getTime(),
      user,
    };
    const outcome = await this.#accept(entry, facts, scheme, now);
    if (outcome.ok && this.#cache !== undefined) {
      const ttl = entry.expireAt === null ? this.#cacheTtlMs : Math.min(this.#cacheTtlMs, entry.expireAt - now);
      if (ttl > 0) await this.#cacheWrite(() => (this.#cache as SessionCache).set(outcome.session, ttl, epoch));
    }
    return outcome;
  }

  /**
   * The session's user through `loadUser`: the user when it may still authenticate, `undefined`
   * when it is inactive or gone, a `SessionError` (503) when it could not be loaded.
   */
  async #activeUser(userId: UserId): Promise<unknown> {
    let user: unknown;
    try {
      user = await this.#loadUser(userId);
    } catch (error) {
      // The application's own user store failed: said once until it answers again.
      if (!this.#loadUserDown) {
        this.#loadUserDown = true;
        const log = this.#logger.error ?? this.#logger.warn;
        log.call(
          this.#logger,
          `nilva-session: loadUser threw; requests needing the user answer 503 until it recovers: ${describeError(error)}`,
        );
      }
      return storeUnavailable(error);
    }
    this.#loadUserDown = false;
    return user === null || user === undefined || !this.#isUserActive(user) ? undefined : user;
  }

  /** The checks shared by hits and misses once the session is known to be alive. */
  #accept(entry: CachedSession, facts: RequestFacts, scheme: Scheme, now: number): MaybePromise<AuthOutcome<TUser>> {
    if (!this.#isUserActive(entry.user)) return this.#fail('ERR_USER_INACTIVE', messages.userInactive);
    // Sessions keep the first MAX_USER_AGENT_LENGTH characters (SessionApi.facts cuts it already).
    const userAgent = facts.userAgent.length > MAX_USER_AGENT_LENGTH ? storedUserAgent(facts.userAgent) : facts.userAgent;
    if (entry.userAgent !== userAgent && this.#userAgentChanged(entry.userAgent, userAgent)) {
      return this.#suspend(entry, facts);
    }
    let current = entry;
    const ipChanged = facts.ip !== '' && facts.ip !== entry.lastIp;
    if (now - this.#lastSeen(entry) >= this.#touchIntervalMs || ipChanged) {
      current = { ...entry, lastOnline: now, lastIp: ipChanged ? facts.ip : entry.lastIp };
      this.#touches.add(entry.id, now);
      const cache = this.#cache;
      if (cache?.update !== undefined) void this.#cacheWrite(() => (cache.update as (e: CachedSession) => void | Promise<void>)(current));
    }
    const success: AuthSuccess<TUser> = { ok: true, user: entry.user as TUser, session: current, scheme };
    if (ipChanged) return this.#recordIp(entry, facts.ip).then(() => success);
    return success;
  }

  #lastSeen(entry: CachedSession): number {
    const pending = this.#touches.pending(entry.id);
    return pending !== undefined && pending > entry.lastOnline ? pending : entry.lastOnline;
  }

  #userAgentChanged(stored: string, presented: string): boolean {
    switch (this.config.userAgentPolicy) {
      case 'ignore':
        return false;
      case 'strict':
        return stored !== presented;
      case 'family':
        return !sameUserAgentFamily(stored, presented);
    }
  }

  /** Ends the session (only `is_active` and `detail` change), clears every cache, then refuses. */
  async #suspend(entry: CachedSession, facts: RequestFacts): Promise<AuthOutcome<TUser>> {
    const ref: SessionRef = { id: entry.id, keyHash: entry.keyHash, userId: entry.userId };
    try {
      await this.#store.deactivate([entry.id], sessionEnd('user_agent_changed'));
    } catch (error) {
      return { ok: false, error: this.#storeFailed(error) };
    }
    await this.#invalidate([ref]);
    this.#emit({
      type: 'session_suspended',
      ts: new Date(this.#now()).toISOString(),
      sessionId: entry.id,
      userId: entry.userId,
      ip: facts.ip,
      userAgent: facts.userAgent,
      reason: 'user_agent_changed',
    });
    return this.#fail('ERR_USER_AGENT_CHANGED', messages.sessionSuspended);
  }

  async #recordIp(entry: CachedSession, ip: string): Promise<void> {
    try {
      await this.#store.updateLastIp(entry.id, ip);
      this.#emit({
        type: 'session_ip_changed',
        ts: new Date(this.#now()).toISOString(),
        sessionId: entry.id,
        userId: entry.userId,
        previousIp: entry.lastIp,
        ip,
      });
    } catch (error) {
      // The request itself is fine; the address is recorded on the next change.
      this.#logger.warn('nilva-session: could not record the new IP', { sessionId: entry.id, error: String(error) });
    }
  }

  #expired(expireAt: number): AuthFailure {
    return { ok: false, error: new SessionError('ERR_SESSION_EXPIRED', `Token has expired at ${pythonUtcString(new Date(expireAt))}`) };
  }

  #fail(code: SessionErrorCode, message: string): AuthFailure {
    return { ok: false, error: new SessionError(code, message) };
  }

  // ---------------------------------------------------------------------------------------
  // JWT pairs (simplejwt-compatible)

  #requireJwt(): JwtCodec {
    if (this.#jwt === undefined) throw new TypeError('nilva-session: JWT pairs need the "jwt" option');
    return this.#jwt;
  }

  /**
   * Creates a session and a JWT pair bound to it (`POST P+token`). The refresh token's `jti` is
   * recorded on the session, so rotation can tell the current refresh token from old ones.
   *
   * @throws SessionError `ERR_STORE_UNAVAILABLE`
   */
  async createSessionWithTokens(input: CreateSessionInput): Promise<{ session: SessionRecord; refresh: string; access: string }> {
    const jwt = this.#requireJwt();
    const refreshJti = JwtCodec.newJti(this.#now());
    // The session also gets an opaque key, as in the original; nobody is given it.
    const { session } = await this.createSession({ ...input, refreshJti });
    const pair = await jwt.issuePair({
      userId: session.userId,
      sessionId: session.id,
      expireAt: session.expireAt === null ? null : session.expireAt.getTime(),
      refreshJti,
    });
    return { session, ...pair };
  }

  /**
   * A new access token for a refresh token (`POST P+token/refresh`), and with
   * `rotateRefreshTokens` a new refresh token too — atomically: of concurrent refreshes with one
   * token exactly one wins, and presenting a rotated-out token later revokes the session (theft
   * detection). Refused for a revoked, suspended or expired session or an inactive user; never
   * ends the session by itself.
   */
  async refresh(refreshToken: string): Promise<{ ok: true; access: string; refresh?: string } | AuthFailure> {
    const jwt = this.#requireJwt();
    try {
      const checked = await this.#checkRefresh(jwt, refreshToken);
      if (!checked.ok) return checked;
      const { row, jti } = checked;
      const user = await this.#activeUser(row.userId);
      if (user instanceof SessionError) return { ok: false, error: user };
      if (user === undefined) return this.#fail('ERR_NO_ACTIVE_ACCOUNT', messages.noActiveAccount);
      if (!jwt.config.rotateRefreshTokens) {
        return { ok: true, access: await jwt.issueAccess({ userId: row.userId, sessionId: row.id }) };
      }
      const next = JwtCodec.newJti(this.#now());
      // A session without refresh_jti (its refresh tokens predate rotation: the Python
      // original's, or issued while rotation was off) adopts this one; the store lets exactly
      // one of concurrent adoptions through, as it does for rotations.
      const rotated = await this.#storeCall(() => this.#store.rotateRefreshJti(row.id, jti, next));
      // Lost a race with a concurrent refresh of the same token: refuse, without revoking.
      if (!rotated) return this.#fail('ERR_REFRESH_INVALID', messages.refreshInvalid);
      const pair = await jwt.issuePair({
        userId: row.userId,
        sessionId: row.id,
        expireAt: row.expireAt === null ? null : row.expireAt.getTime(),
        refreshJti: next,
      });
      return { ok: true, access: pair.access, refresh: pair.refresh };
    } catch (error) {
      return { ok: false, error: storeUnavailable(error) };
    }
  }

  /**
   * Ends the session of a refresh token (`POST P+token/blacklist`, the JWT logout) and clears
   * every cache, so its access tokens are refused on the next request everywhere.
   */
  async blacklist(refreshToken: string): Promise<{ ok: true } | AuthFailure> {
    const jwt = this.#requireJwt();
    try {
      const checked = await this.#checkRefresh(jwt, refreshToken);
      if (!checked.ok) return checked;
      await this.#end([checked.row.id], 'blacklisted', undefined);
      return { ok: true };
    } catch (error) {
      return { ok: false, error: storeUnavailable(error) };
    }
  }

  async #checkRefresh(jwt: JwtCodec, token: string): Promise<{ ok: true; row: SessionRecord; jti: string } | AuthFailure> {
    const invalid = () => this.#fail('ERR_REFRESH_INVALID', messages.refreshInvalid);
    const verified = await jwt.verify(token, 'refresh');
    // simplejwt names this one reason on the refresh route (an access token sent to it):
    // `{"detail":"Token has wrong type","code":"token_not_valid"}`; every other one reads as
    // `Token is invalid or expired`.
    if (!verified.ok)
      return verified.reason === 'Token has wrong type' ? this.#fail('ERR_REFRESH_INVALID', messages.tokenWrongType) : invalid();
    const sessionId = this.#sessionIdOf(verified.claims);
    if (sessionId === undefined || !UUID.test(sessionId)) return invalid();
    const row = await this.#storeCall(() => this.#store.findById(sessionId));
    if (row === undefined || String(row.userId) !== String(verified.claims.user_id)) return invalid();
    if (!row.isActive)
      return row.endReason === 'blacklisted' ? this.#fail('ERR_REFRESH_BLACKLISTED', messages.refreshBlacklisted) : invalid();
    if (row.expireAt !== null && this.#now() >= row.expireAt.getTime()) return invalid();
    const jti = verified.claims.jti;
    if (jwt.config.rotateRefreshTokens && row.refreshJti !== null && row.refreshJti !== jti) {
      // A rotated-out refresh token. Just after the rotation it is a retry or a concurrent
      // refresh: refuse it. Later, someone holds a copy: end the session (theft detection).
      if (this.#now() - JwtCodec.jtiTime(row.refreshJti) >= jwt.config.rotationGraceSeconds * 1000) {
        await this.#end([row.id], 'refresh_reuse', undefined);
      }
      return invalid();
    }
    return { ok: true, row, jti };
  }

  // ---------------------------------------------------------------------------------------
  // Listing and revoking

  /**
   * The user's active, unexpired sessions, newest `last_online` first.
   *
   * @throws SessionError `ERR_STORE_UNAVAILABLE`
   */
  async listSessions(userId: UserId): Promise<SessionRecord[]> {
    await this.#touches.flush();
    return this.#storeCall(() => this.#store.listActive(userId, new Date(this.#now())));
  }

  /**
   * One page of {@link listSessions}: at most `page.limit` sessions in the same order, after
   * `page.after` (the previous page's `next`). `next` is where the following page starts, or
   * `undefined` on the last page. Sessions whose `last_online` moves while a client pages may
   * show twice or not at all, as in any list ordered by activity.
   *
   * @throws SessionError `ERR_STORE_UNAVAILABLE`
   * @throws TypeError when `page.limit` is not a positive integer
   */
  async listSessionsPage(userId: UserId, page: ActivePage): Promise<SessionPage> {
    const limit = page.limit;
    if (!Number.isInteger(limit) || limit < 1)
      throw new TypeError(`nilva-session: page.limit must be a positive integer, got ${String(limit)}`);
    await this.#touches.flush();
    const now = new Date(this.#now());
    // One more than asked tells whether a next page exists without a count.
    const wanted: ActivePage = { limit: limit + 1, after: page.after };
    const rows = await this.#storeCall(() =>
      this.#store.listActivePage === undefined
        ? this.#store.listActive(userId, now).then((all) => pageOfList(all, wanted))
        : this.#store.listActivePage(userId, now, wanted),
    );
    const sessions = rows.slice(0, limit);
    const last = sessions[sessions.length - 1];
    const next = rows.length > limit && last !== undefined ? { lastOnline: last.lastOnline, id: last.id } : undefined;
    return { sessions, next };
  }

  /**
   * Ends the given sessions of `userId`; ids of other users' sessions and unknown ids are
   * ignored. Returns how many were ended. Those of them already ended have their cache entries
   * cleared again, here and in every other process (see {@link revokeSession}).
   */
  async revokeSessions(userId: UserId, sessionIds: readonly string[], reason: SessionEndReason = 'revoked_by_user'): Promise<number> {
    if (sessionIds.length === 0) return 0;
    const ended = await this.#end(sessionIds, reason, userId);
    await this.#clearEnded(sessionIds, userId, ended);
    return ended.length;
  }

  /**
   * Ends one session, whoever owns it (logout, admin). Returns whether it was active. A session
   * already ended has its cache entries cleared again, here and in every other process.
   */
  async revokeSession(sessionId: string, reason: SessionEndReason = 'logout'): Promise<boolean> {
    const ended = await this.#end([sessionId], reason, undefined);
    if (ended.length > 0) return true;
    await this.#clearEnded([sessionId], undefined, ended);
    return false;
  }

  /**
   * Clears from every cache the sessions of `ids` (of `userId`, when given) that a revocation
   * found ended already. An earlier invalidation may have been lost: the session was ended by a
   * process without the cache, by one cut off from Redis that then exited, or by one killed
   * between its database write and its invalidation. Revoking again is how that is repaired,
   * so an answered revocation is never undone by an earlier crash: it must reach the caches
   * even though the rows no longer change. One lookup per such id, for the first
   * {@link MAX_REPAIR_LOOKUPS} of them: a request naming a thousand unknown ids must not cost a
   * thousand queries (a client revokes what it listed, a few ids at a time).
   */
  async #clearEnded(ids: readonly string[], userId: UserId | undefined, changed: readonly SessionRef[]): Promise<void> {
    if (this.#cache === undefined) return;
    const done = new Set(changed.map((ref) => ref.id));
    const refs: SessionRef[] = [];
    let lookups = 0;
    for (const id of new Set(ids)) {
      if (done.has(id)) continue;
      if (lookups++ >= MAX_REPAIR_LOOKUPS) break;
      const row = await this.#storeCall(() => this.#store.findById(id));
      if (row === undefined || row.isActive || (userId !== undefined && String(row.userId) !== String(userId))) continue;
      refs.push({ id: row.id, keyHash: row.keyHash, userId: row.userId });
    }
    await this.#invalidate(refs);
  }

  /** Ends every active session of the user, except `exceptId`. Returns how many were ended. */
  async revokeAllForUser(userId: UserId, options: { exceptId?: string; reason?: SessionEndReason } = {}): Promise<number> {
    const reason = options.reason ?? 'revoked_all';
    const refs = await this.#storeCall(() =>
      this.#store.deactivateAllForUser(
        userId,
        sessionEnd(reason),
        options.exceptId === undefined ? undefined : { exceptId: options.exceptId },
      ),
    );
    await this.#invalidate(refs);
    this.#emitRevoked(refs, reason);
    return refs.length;
  }

  /**
   * Call when a user is deactivated, deleted or changed: clears every cached session of the
   * user here and in every other process, so the next request reloads the user through
   * `loadUser` and is refused if the user is inactive.
   */
  async invalidateUser(userId: UserId): Promise<void> {
    const refs = await this.#storeCall(() => this.#store.refsForUser(userId));
    await this.#invalidate(refs);
  }

  async #end(ids: readonly string[], reason: SessionEndReason, userId: UserId | undefined): Promise<SessionRef[]> {
    const refs = await this.#storeCall(() =>
      this.#store.deactivate(ids, sessionEnd(reason), userId === undefined ? undefined : { userId }),
    );
    // Store first, then caches: a concurrent miss that read the row before the write cannot
    // re-cache it, because the invalidation moves the cache epoch its fill carries.
    await this.#invalidate(refs);
    this.#emitRevoked(refs, reason);
    return refs;
  }

  #emitRevoked(refs: readonly SessionRef[], reason: SessionEndReason): void {
    if (this.#onEvent === undefined) return;
    const ts = new Date(this.#now()).toISOString();
    for (const ref of refs) this.#emit({ type: 'session_revoked', ts, sessionId: ref.id, userId: ref.userId, reason });
  }

  /**
   * Deletes expired sessions (and, with `inactiveRetentionSeconds`, sessions ended longer ago
   * than that) in batches of `batchSize` rows (default 1000), each its own statement, waiting
   * `pauseMs` between batches (default 50; 0 goes as fast as the database can). The pause
   * leaves the database's disk to the application while a large backlog goes: deleting 2.5 M
   * rows of 10 M on PostgreSQL without it wrote WAL fast enough to force a checkpoint every
   * 10–20 seconds, whose flushes held a few concurrent logins' commits for 100–220 ms; with it
   * (about 15,000 rows a second) no login waited over 50 ms on an otherwise idle machine, and a
   * few in 17,000 did on a busy one. Active, unexpired sessions are never touched.
   *
   * @throws TypeError when `batchSize` is not a positive integer or `pauseMs` not a non-negative one
   */
  async purgeExpired(
    options: { batchSize?: number; pauseMs?: number; inactiveRetentionSeconds?: number } = {},
  ): Promise<{ deleted: number; batches: number }> {
    const limit = options.batchSize ?? 1000;
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('nilva-session: batchSize must be a positive integer');
    const pauseMs = options.pauseMs ?? DEFAULT_PURGE_PAUSE_MS;
    if (!Number.isSafeInteger(pauseMs) || pauseMs < 0) throw new TypeError('nilva-session: pauseMs must be a non-negative integer');
    const now = this.#now();
    const before = new Date(now);
    const retention = options.inactiveRetentionSeconds;
    const inactiveBefore = retention === undefined ? undefined : new Date(now - retention * 1000);
    let deleted = 0;
    let batches = 0;
    for (;;) {
      const refs = await this.#storeCall(() =>
        this.#store.deleteExpired(inactiveBefore === undefined ? { before, limit } : { before, inactiveBefore, limit }),
      );
      batches++;
      deleted += refs.length;
      await this.#invalidate(refs);
      if (refs.length < limit) break;
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    this.#emit({ type: 'sessions_purged', ts: new Date(this.#now()).toISOString(), count: deleted });
    return { deleted, batches };
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  async #invalidate(refs: readonly SessionRef[]): Promise<void> {
    if (refs.length === 0 || this.#cache === undefined) return;
    const cache = this.#cache;
    await this.#cacheWrite(() => cache.invalidate(refs));
  }

  async #cacheWrite(write: () => void | Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.#logger.warn('nilva-session: cache write failed', { error: String(error) });
    }
  }

  async #storeCall<T>(call: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await call();
    } catch (error) {
      throw this.#storeFailed(error);
    }
    if (this.#storeDown) this.#storeAnswered();
    return result;
  }

  /**
   * The 503 for a failed store call. The first failure of an outage is logged with the
   * store's explanation (what failed, what to do); the rest of the outage stays quiet.
   */
  #storeFailed(error: unknown): SessionError {
    if (error instanceof SessionError && error.code === 'ERR_STORE_UNAVAILABLE') return error;
    this.#storeFailedAt = performance.now();
    if (!this.#storeDown) {
      this.#storeDown = true;
      const log = this.#logger.error ?? this.#logger.warn;
      log.call(this.#logger, `nilva-session: the session store failed; requests answer 503 until it recovers. ${this.#explain(error)}`, {
        code: errorCode(error),
      });
    }
    return storeUnavailable(error);
  }

  #storeAnswered(): void {
    if (performance.now() - this.#storeFailedAt < STORE_RECOVERY_QUIET_MS) return;
    this.#storeDown = false;
    this.#logger.warn('nilva-session: the session store answers again');
  }

  #explain(error: unknown): string {
    try {
      const said: unknown = this.#store.explainError?.(error);
      if (typeof said === 'string') return said;
      // A store that breaks the contract (a promise, say) must not leave a rejection unhandled.
      if (said instanceof Promise) said.catch(() => undefined);
    } catch {
      // An explanation must never hide the failure it explains.
    }
    return describeError(error);
  }

  /**
   * Checks at start-up that the store can serve: the table exists, every migration is
   * applied, `user_id` is of the configured type, the database answers. Call it before
   * listening, so a forgotten `migrate` or a wrong URL stops the process with a message
   * instead of answering 503 to every request.
   *
   * @throws SessionError `ERR_STORE_NOT_READY` (the store is reachable but not set up; the
   *   message says what to run) or `ERR_STORE_UNAVAILABLE` (it cannot be reached; the message
   *   says why, with a hint)
   * @example
   * await sessions.ready();
   * app.listen(3000);
   */
  async ready(): Promise<void> {
    try {
      // A store without a check is asked for a session that cannot exist: a round trip.
      if (this.#store.check !== undefined) await this.#store.check();
      else await this.#store.findById('00000000-0000-4000-8000-000000000000');
    } catch (error) {
      if (error instanceof SessionError && error.code === 'ERR_STORE_NOT_READY') throw error;
      throw new SessionError('ERR_STORE_UNAVAILABLE', `nilva-session: the session store cannot be reached: ${this.#explain(error)}`, {
        cause: error,
      });
    }
  }

  #emit(event: SessionEvent): void {
    if (this.#onEvent === undefined) return;
    try {
      this.#onEvent(event);
    } catch (error) {
      this.#logger.warn('nilva-session: onEvent threw', { error: String(error) });
    }
  }

  /** Writes buffered `last_online` touches now. */
  flush(): Promise<void> {
    return this.#touches.flush();
  }

  /** Flushes pending writes. Closing the store and cache is the caller's business. */
  async close(): Promise<void> {
    await this.#touches.close();
  }
}

/**
 * Every store failure reaches callers as `ERR_STORE_UNAVAILABLE` (HTTP 503), whatever its cause
 * (kept as `cause`); a `SessionError` of the store's own (`ERR_STORE_NOT_READY`) is the cause too.
 */
function storeUnavailable(error: unknown): SessionError {
  if (error instanceof SessionError && error.code !== 'ERR_STORE_NOT_READY') return error;
  return new SessionError('ERR_STORE_UNAVAILABLE', messages.storeUnavailable, { cause: error });
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

function errorCode(error: unknown): string | undefined {
  if (error instanceof SessionError) return error.code;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

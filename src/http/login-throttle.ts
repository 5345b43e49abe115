import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import type { SessionLogger } from '../core/events.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import type { ApiResponse } from './api-types.js';
import { json } from './error-responses.js';

/**
 * One limit: after `points` failures counted within `durationSeconds` (a fixed window that
 * starts at the first failure), the next attempt is refused, and attempts stay refused for
 * `blockSeconds` from then.
 */
export interface ThrottleLimit {
  readonly points?: number | undefined;
  readonly durationSeconds?: number | undefined;
  readonly blockSeconds?: number | undefined;
}

/**
 * The parts of a node-redis / `@redis/client` v4+ client that the throttle uses (through
 * rate-limiter-flexible's `RateLimiterRedis` with `useRedisPackage`). Typed structurally, as the
 * cache's clients are, so this file imports no client. Give it an `error` listener, as any
 * node-redis client needs, and preferably `disableOfflineQueue: true`. A node-redis cluster
 * client (`createCluster()`: Redis Cluster, Valkey or ElastiCache in cluster mode) works as it
 * is: every command of a counter names that counter's one key, so it stays in one slot. While a
 * node is down, the counters of its slots are kept in memory (as for a single server that is
 * down) and the others in the cluster.
 */
export interface ThrottleRedisClient {
  /** While it is `false`, the throttle does not even send commands (in-memory limits apply). */
  readonly isReady: boolean;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  multi(): unknown;
  del(key: string): Promise<unknown>;
}

/**
 * Options of the sign-in throttle: the `throttle` option of `SessionApi`. Every limit counts
 * failures only; `false` turns one limit off.
 */
export interface LoginThrottleOptions {
  /** One address guessing one account's password. Default 10 failures in 15 min → 15 min. A success resets it. */
  readonly ipUsername?: ThrottleLimit | false | undefined;
  /**
   * One account, from every address (a distributed guess). Default 100 failures in 1 h → 1 h.
   * Not applied from a known device (see `knownDeviceSeconds`).
   */
  readonly username?: ThrottleLimit | false | undefined;
  /** One address, every account (credential stuffing). Default 100 failures in 15 min → 15 min. */
  readonly ip?: ThrottleLimit | false | undefined;
  /** Refused refresh tokens (`token/refresh`, `token/blacklist`), per address. Default 100 in 15 min → 15 min. */
  readonly refresh?: ThrottleLimit | false | undefined;
  /**
   * An address from which an account signed in within this many seconds is a known device for
   * it: the `username` limit does not apply there, so failures elsewhere cannot lock the user
   * out of where they usually sign in. Default 2 592 000 (30 days).
   */
  readonly knownDeviceSeconds?: number | undefined;
  /**
   * Shares the counts of every instance through Redis. Without it each process counts on its
   * own. While Redis cannot be used, each process counts in memory with the same limits.
   */
  readonly redis?: ThrottleRedisClient | undefined;
  /** Start of every Redis key. Default `nilva:throttle:`. */
  readonly keyPrefix?: string | undefined;
  /** A Redis command not answered within this many ms counts as failed (memory takes over). Default 500. */
  readonly commandTimeoutMs?: number | undefined;
}

/** A reserved sign-in attempt; tell it how the check of the password ended. */
export interface LoginAttempt {
  /** The password was right: the address's count for this account restarts, and it becomes a known device. */
  succeeded(): Promise<void>;
  /** The password was wrong (or the user may not sign in): the reserved points stay counted. */
  failed(): Promise<void>;
  /** No answer about the password (the check threw): nothing is counted. */
  cancelled(): Promise<void>;
}

/** A reserved refresh (or blacklist) attempt. */
export interface RefreshAttempt {
  /** The token was accepted: nothing is counted. */
  succeeded(): Promise<void>;
  /** The token was refused: it stays counted. */
  failed(): Promise<void>;
  /** No answer about the token (the store failed): nothing is counted. */
  cancelled(): Promise<void>;
}

/** An attempt refused: retry after this many whole seconds (at least 1). */
export interface ThrottleRefusal {
  readonly retryAfterSeconds: number;
}

type LimitName = 'ipUsername' | 'username' | 'ip' | 'refresh';

interface ResolvedLimit {
  readonly points: number;
  readonly durationSeconds: number;
  readonly blockSeconds: number;
}

/** The policy's defaults (README "Brute-force protection" says why). */
const DEFAULTS: Readonly<Record<LimitName, ResolvedLimit>> = {
  ipUsername: { points: 10, durationSeconds: 900, blockSeconds: 900 },
  username: { points: 100, durationSeconds: 3600, blockSeconds: 3600 },
  ip: { points: 100, durationSeconds: 900, blockSeconds: 900 },
  refresh: { points: 100, durationSeconds: 900, blockSeconds: 900 },
};
const DEFAULT_KNOWN_DEVICE_SECONDS = 30 * 86_400;
const DEFAULT_KEY_PREFIX = 'nilva:throttle:';
const DEFAULT_COMMAND_TIMEOUT_MS = 500;
/** Known devices this process remembers (its own, and its fallback while Redis is down). */
const LOCAL_KNOWN_DEVICES = 100_000;
/** The in-memory limiters wait with `setTimeout`, which cannot wait longer than 2^31 − 1 ms. */
const MAX_LIMIT_SECONDS = 24 * 86_400;
const MAX_KNOWN_DEVICE_SECONDS = 400 * 86_400;
const KEY_PREFIX_RE = /^[A-Za-z0-9:._-]{0,100}$/;

const OPTION_NAMES = optionNames<LoginThrottleOptions>({
  ipUsername: true,
  username: true,
  ip: true,
  refresh: true,
  knownDeviceSeconds: true,
  redis: true,
  keyPrefix: true,
  commandTimeoutMs: true,
});
const LIMIT_NAMES = optionNames<ThrottleLimit>({ points: true, durationSeconds: true, blockSeconds: true });

/**
 * The limiter interface the throttle needs; `RateLimiterMemory` and the Redis limiter wrapped in
 * its timeout both have it.
 */
interface Limiter {
  consume(key: string): Promise<RateLimiterRes>;
  reward(key: string): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
  set(key: string, points: number, secDuration: number): Promise<RateLimiterRes>;
  delete(key: string): Promise<boolean>;
}

/**
 * Brute-force protection for sign-in, framework-free. Each attempt first reserves a point in
 * every limit that applies and is refused (answered 429 without checking the password) when
 * one of them is spent; the points of a right password are given back. Reserving before the
 * check, rather than counting after it, is what stops a burst of parallel guesses: every one of
 * them is counted before any password is hashed.
 *
 * The counters are rate-limiter-flexible's (atomic in Redis through a Lua script), in memory by
 * default, in Redis with `redis`, with an in-memory insurance limiter behind Redis.
 */
export class LoginThrottle {
  readonly #limits: Partial<Record<LimitName, Limiter>>;
  readonly #knownLocal: LRUCache<string, true>;
  readonly #knownRemote: Limiter | undefined;
  readonly #knownDeviceSeconds: number;
  readonly #health: RedisHealth | undefined;

  /** @throws TypeError naming the option, on a bad or unknown one */
  constructor(options: LoginThrottleOptions, logger: SessionLogger) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('nilva-session: option "throttle" must be true, false or an object');
    assertKnownOptions('SessionApi option "throttle"', options, OPTION_NAMES);
    const redis = options.redis;
    if (
      redis !== undefined &&
      (typeof redis !== 'object' || redis === null || typeof redis.eval !== 'function' || typeof redis.multi !== 'function')
    ) {
      throw new TypeError('nilva-session: option "throttle.redis" must be a node-redis client (createClient() of redis or @redis/client)');
    }
    const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    if (typeof keyPrefix !== 'string' || !KEY_PREFIX_RE.test(keyPrefix)) {
      throw new TypeError('nilva-session: option "throttle.keyPrefix" must be up to 100 characters of A-Z a-z 0-9 : . _ -');
    }
    const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TypeError(`nilva-session: option "throttle.commandTimeoutMs" must be a positive number, got ${String(timeoutMs)}`);
    }
    this.#knownDeviceSeconds = integerOption(
      'knownDeviceSeconds',
      options.knownDeviceSeconds,
      DEFAULT_KNOWN_DEVICE_SECONDS,
      MAX_KNOWN_DEVICE_SECONDS,
    );
    this.#knownLocal = new LRUCache<string, true>({ max: LOCAL_KNOWN_DEVICES, ttl: this.#knownDeviceSeconds * 1000 });
    this.#health = redis === undefined ? undefined : new RedisHealth(logger, () => redis.isReady);

    const make = (name: string, limit: ResolvedLimit): Limiter => {
      const memory = { points: limit.points, duration: limit.durationSeconds, blockDuration: limit.blockSeconds };
      if (redis === undefined || this.#health === undefined) return new RateLimiterMemory(memory);
      const health = this.#health;
      const store = new RateLimiterRedis({
        ...memory,
        storeClient: redis,
        useRedisPackage: true,
        // A disconnected client fails at once instead of queueing (memory takes over).
        rejectIfRedisNotReady: true,
        keyPrefix: `${keyPrefix}${name}`,
      });
      // The timeout wrapper holds the insurance: it answers for a failed and for a hung command.
      return health.watch(
        new RLWrapperTimeouts({
          limiter: store,
          timeoutMs,
          blockDuration: limit.blockSeconds,
          insuranceLimiter: new InsuranceLimiter(memory, () => health.insuranceUsed()),
        }),
      );
    };
    const limits: Partial<Record<LimitName, Limiter>> = {};
    for (const name of Object.keys(DEFAULTS) as LimitName[]) {
      const limit = resolveLimit(name, options[name]);
      if (limit !== undefined) limits[name] = make(name === 'ipUsername' ? 'ip-username' : name, limit);
    }
    this.#limits = limits;
    this.#knownRemote =
      redis === undefined
        ? undefined
        : new RLWrapperTimeouts({
            limiter: new RateLimiterRedis({
              points: 1,
              duration: this.#knownDeviceSeconds,
              storeClient: redis,
              useRedisPackage: true,
              rejectIfRedisNotReady: true,
              keyPrefix: `${keyPrefix}known-device`,
            }),
            timeoutMs,
          });
  }

  /**
   * Reserves a sign-in attempt of `username` from `ip` (as `SessionApi.facts` gives it): the
   * attempt to settle once the password is checked, or a refusal.
   */
  async beginLogin(ip: string, username: string): Promise<LoginAttempt | ThrottleRefusal> {
    const user = usernameKey(username);
    const pair = `${ip}|${user}`;
    const { ipUsername, ip: perIp, username: perUser } = this.#limits;
    const [known, ...first] = await Promise.all([this.#isKnownDevice(pair), reserve(ipUsername, pair), reserve(perIp, ip)]);
    const reserved: Reservation[] = [...first];
    // A known device is not subject to the per-account limit (NIST SP 800-63B §5.2.2: a lockout
    // an attacker can cause elsewhere must not keep the user out).
    if (!reserved.some(isRefused) && !known) reserved.push(await reserve(perUser, user));
    const refusal = await settleRefusal(reserved);
    if (refusal !== undefined) return refusal;
    return {
      succeeded: async () => {
        this.#knownLocal.set(pair, true);
        await Promise.all([
          ipUsername?.delete(pair),
          giveBack(reserved.filter((r) => !('failure' in r) && r.limiter !== ipUsername)),
          this.#rememberKnownDevice(pair),
        ]);
      },
      failed: async () => undefined,
      cancelled: () => giveBack(reserved),
    };
  }

  /** Reserves a refresh or blacklist attempt from `ip`. */
  async beginRefresh(ip: string): Promise<RefreshAttempt | ThrottleRefusal> {
    const reserved = [await reserve(this.#limits.refresh, ip)];
    const refusal = await settleRefusal(reserved);
    if (refusal !== undefined) return refusal;
    return { succeeded: () => giveBack(reserved), failed: async () => undefined, cancelled: () => giveBack(reserved) };
  }

  async #isKnownDevice(pair: string): Promise<boolean> {
    if (this.#limits.username === undefined) return false;
    if (this.#knownLocal.has(pair)) return true;
    if (this.#knownRemote === undefined) return false;
    try {
      const known = (await this.#knownRemote.get(pair)) !== null;
      this.#health?.answered();
      return known;
    } catch (error) {
      this.#health?.failed(error);
      return false;
    }
  }

  async #rememberKnownDevice(pair: string): Promise<void> {
    if (this.#knownRemote === undefined || this.#limits.username === undefined) return;
    try {
      await this.#knownRemote.set(pair, 1, this.#knownDeviceSeconds);
      this.#health?.answered();
    } catch (error) {
      this.#health?.failed(error);
    }
  }
}

/** DRF's answer to a throttled request: 429, `Retry-After`, and its `detail` text. */
export function throttledResponse(retryAfterSeconds: number): ApiResponse {
  const n = Math.max(1, Math.ceil(retryAfterSeconds));
  return json(
    429,
    { detail: `Request was throttled. Expected available in ${n} second${n === 1 ? '' : 's'}.` },
    { 'retry-after': String(n) },
  );
}

/**
 * Usernames are keyed as DRF compares them case-insensitively in most apps, and hashed so that
 * keys are bounded and a Redis dump names nobody.
 */
function usernameKey(username: string): string {
  return createHash('sha256').update(username.trim().toLowerCase()).digest('hex');
}

type Reservation =
  | { readonly limiter: Limiter; readonly key: string; readonly admitted: true }
  | { readonly limiter: Limiter; readonly key: string; readonly admitted: false; readonly msBeforeNext: number }
  | { readonly limiter: undefined; readonly admitted: true }
  | { readonly failure: unknown };

async function reserve(limiter: Limiter | undefined, key: string): Promise<Reservation> {
  if (limiter === undefined) return { limiter, admitted: true };
  try {
    await limiter.consume(key);
    return { limiter, key, admitted: true };
  } catch (error) {
    // A spent limit rejects with its result; anything else is a failure of the limiter itself.
    if (error instanceof RateLimiterRes) return { limiter, key, admitted: false, msBeforeNext: error.msBeforeNext };
    return { failure: error };
  }
}

function isRefused(r: Reservation): boolean {
  return 'failure' in r || !r.admitted;
}

/**
 * When any limit refused (or failed), gives back the points the others took, since no password
 * is checked: the refusal, or `undefined` when every limit admitted the attempt.
 */
async function settleRefusal(reserved: readonly Reservation[]): Promise<ThrottleRefusal | undefined> {
  if (!reserved.some(isRefused)) return undefined;
  await giveBack(reserved);
  const failure = reserved.find((r) => 'failure' in r);
  if (failure !== undefined && 'failure' in failure) throw failure.failure;
  let ms = 0;
  for (const r of reserved) if (!('failure' in r) && !r.admitted) ms = Math.max(ms, r.msBeforeNext);
  return { retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) };
}

/**
 * Returns reserved points. A counter that is back at zero is deleted rather than kept until its
 * window ends: otherwise every account and address that signs in successfully would hold a
 * counter for an hour, and memory would grow with the sign-ins per hour. A failure counted
 * between the reward and the delete is lost (one point, in a race); nothing else is.
 */
async function giveBack(reserved: readonly Reservation[]): Promise<void> {
  await Promise.all(
    reserved.map(async (r) => {
      if ('failure' in r || !r.admitted || r.limiter === undefined) return;
      const after = await r.limiter.reward(r.key);
      if (after.consumedPoints <= 0) await r.limiter.delete(r.key);
    }),
  );
}

function resolveLimit(name: LimitName, value: ThrottleLimit | false | undefined): ResolvedLimit | undefined {
  if (value === false) return undefined;
  const defaults = DEFAULTS[name];
  if (value === undefined) return defaults;
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`nilva-session: option "throttle.${name}" must be false or an object { points, durationSeconds, blockSeconds }`);
  }
  assertKnownOptions(`SessionApi option "throttle.${name}"`, value, LIMIT_NAMES);
  return {
    points: integerOption(`${name}.points`, value.points, defaults.points, 1_000_000),
    durationSeconds: integerOption(`${name}.durationSeconds`, value.durationSeconds, defaults.durationSeconds, MAX_LIMIT_SECONDS),
    blockSeconds: integerOption(`${name}.blockSeconds`, value.blockSeconds, defaults.blockSeconds, MAX_LIMIT_SECONDS),
  };
}

/** Whole seconds and points: Redis expiries are whole seconds, and a fraction would be cut. */
function integerOption(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(
      `nilva-session: option "throttle.${name}" must be an integer from 1 to ${max}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
    );
  }
  return value;
}

/**
 * The in-memory limiter that answers while Redis cannot: it tells the throttle each time it is
 * used, which is the only sign rate-limiter-flexible gives of a failed Redis command.
 */
class InsuranceLimiter extends RateLimiterMemory {
  readonly #used: () => void;
  constructor(options: { points: number; duration: number; blockDuration: number }, used: () => void) {
    super(options);
    this.#used = used;
  }
  override consume(...args: Parameters<RateLimiterMemory['consume']>): Promise<RateLimiterRes> {
    this.#used();
    return super.consume(...args);
  }
  override reward(...args: Parameters<RateLimiterMemory['reward']>): Promise<RateLimiterRes> {
    this.#used();
    return super.reward(...args);
  }
  override get(...args: Parameters<RateLimiterMemory['get']>): Promise<RateLimiterRes | null> {
    this.#used();
    return super.get(...args);
  }
  override set(...args: Parameters<RateLimiterMemory['set']>): Promise<RateLimiterRes> {
    this.#used();
    return super.set(...args);
  }
  override block(...args: Parameters<RateLimiterMemory['block']>): Promise<RateLimiterRes> {
    this.#used();
    return super.block(...args);
  }
  override delete(...args: Parameters<RateLimiterMemory['delete']>): Promise<boolean> {
    this.#used();
    return super.delete(...args);
  }
}

/**
 * Whether the throttle can use Redis, reported once per outage (never per request) and once
 * when Redis answers again.
 */
class RedisHealth {
  readonly #logger: SessionLogger;
  readonly #isReady: () => boolean;
  #down = false;
  #insuranceUses = 0;

  constructor(logger: SessionLogger, isReady: () => boolean) {
    this.#logger = logger;
    this.#isReady = isReady;
  }

  insuranceUsed(): void {
    this.#insuranceUses++;
    this.failed(undefined);
  }

  failed(error: unknown): void {
    if (this.#down) return;
    this.#down = true;
    // The insurance is not told why Redis failed; the client's state says the likeliest reason.
    const cause =
      error !== undefined
        ? error instanceof Error
          ? error.message
          : String(error)
        : this.#isReady()
          ? 'a command failed or timed out'
          : 'the client is not connected';
    this.#logger.warn(
      `nilva-session: the sign-in throttle cannot use Redis (${cause}); each instance counts failed sign-ins in its own memory, with the same limits, until Redis answers again`,
    );
  }

  answered(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#logger.warn('nilva-session: the sign-in throttle uses Redis again');
  }

  /**
   * A limiter whose every operation that the insurance did not serve counts as Redis answering.
   * Operations overlap, so one served while another fell back is not counted: only a clean
   * answer ends an outage, never a fallback.
   */
  watch(limiter: RLWrapperTimeouts): Limiter {
    const run = async <T>(op: () => Promise<T>): Promise<T> => {
      const before = this.#insuranceUses;
      try {
        const result = await op();
        if (this.#insuranceUses === before) this.answered();
        return result;
      } catch (error) {
        // A spent limit is Redis answering too.
        if (error instanceof RateLimiterRes && this.#insuranceUses === before) this.answered();
        throw error;
      }
    };
    return {
      consume: (key) => run(() => limiter.consume(key)),
      reward: (key) => run(() => limiter.reward(key)),
      get: (key) => run(() => limiter.get(key)),
      set: (key, points, seconds) => run(() => limiter.set(key, points, seconds)),
      delete: (key) => run(() => limiter.delete(key)),
    };
  }
}

// Per-operation costs: what one `authenticate` costs on each path (warm in-process, Redis, cold
// per store), token creation, and the list of a user's 20 sessions. Fast, repeatable operations
// are measured with mitata; cold lookups by walking sessions that are each used once, so every
// sample really is cold.
import { webcrypto } from 'node:crypto';
import { jwtVerify } from 'jose';
import { measure } from 'mitata';
import type { SessionManager } from '../src/core/session-manager.js';
import type { ApiRequest } from '../src/http/api-types.js';
import { SessionApi } from '../src/http/session-api.js';
import type { SqlDialect } from '../src/store/session-table.js';
import { hashData, tokenGenerator } from '../src/tokens/opaque-token.js';
import {
  BENCH_SIGNING_KEY,
  type BenchDatabase,
  type BenchUser,
  DIALECT_LABELS,
  deleteNamespace,
  openBenchDatabase,
  USER_AGENT,
  uniqueNamespace,
} from './environment.js';
import type { BenchOptions } from './options.js';
import type { MicroResults, MicroRow } from './results.js';
import { type BenchCache, benchManager, type CacheKind, openBenchCache } from './session-stack.js';
import { formatNs, quantile } from './stats.js';

type AuthRequest = Pick<ApiRequest, 'authorization' | 'userAgent' | 'remoteAddress' | 'forwardedFor'>;

function request(authorization: string): AuthRequest {
  return { authorization, userAgent: USER_AGENT, remoteAddress: '127.0.0.1', forwardedFor: undefined };
}

const facts = { ip: '127.0.0.1', userAgent: USER_AGENT };

/** A manager, its API and cache over one database. */
interface Stack {
  readonly database: BenchDatabase;
  readonly cache: BenchCache;
  readonly manager: SessionManager<BenchUser>;
  readonly api: SessionApi<BenchUser>;
  readonly namespace: string;
  close(): Promise<void>;
}

async function openStack(dialect: SqlDialect, cacheKind: CacheKind, database?: BenchDatabase): Promise<Stack> {
  const db = database ?? (await openBenchDatabase(dialect, { label: 'micro' }));
  const namespace = uniqueNamespace(`micro-${cacheKind}`);
  const cache = await openBenchCache(cacheKind, namespace);
  const manager = benchManager(db.store, cache.cache);
  const api = new SessionApi({ manager, verifyCredentials: () => null });
  return {
    database: db,
    cache,
    manager,
    api,
    namespace,
    async close() {
      await manager.close();
      await cache.close();
      if (cacheKind === 'tiered' || cacheKind === 'redis') await deleteNamespace(namespace);
      if (database === undefined) await db.close();
    },
  };
}

function expectOk(outcome: unknown, what: string): void {
  if (typeof outcome !== 'object' || outcome === null || (outcome as { ok?: unknown }).ok !== true) {
    throw new Error(`${what}: authentication did not succeed (${JSON.stringify(outcome)})`);
  }
}

/** mitata over a repeatable operation; counts Redis commands and statements per call. */
async function repeated(
  group: string,
  name: string,
  fn: () => unknown,
  options: { quick: boolean; stack?: Stack | undefined; synchronous?: boolean; note?: string },
): Promise<MicroRow> {
  let calls = 0;
  const counted = () => {
    calls++;
    return fn();
  };
  const redisBefore = options.stack?.cache.redisCommands() ?? 0;
  const dbBefore = options.stack?.database.counter.queries ?? 0;
  const stats = await measure(counted, options.quick ? { min_cpu_time: 50e6, max_samples: 2000 } : { min_cpu_time: 300e6 });
  return {
    group,
    name,
    avgNs: stats.avg,
    p50Ns: stats.p50,
    p99Ns: stats.p99,
    synchronous: options.synchronous,
    redisPerOp: options.stack === undefined ? undefined : (options.stack.cache.redisCommands() - redisBefore) / calls,
    dbPerOp: options.stack === undefined ? undefined : (options.stack.database.counter.queries - dbBefore) / calls,
    note: options.note,
  };
}

/** Unmeasured calls before a walk: the first calls of a path load and compile code. */
const WALK_WARMUP = 20;

/**
 * Times `fn(i)` once for each i in [WALK_WARMUP, WALK_WARMUP + count) after calling it unmeasured
 * for i < WALK_WARMUP (each call on a fresh session): avg, p50, p99.
 */
async function walked(
  group: string,
  name: string,
  count: number,
  fn: (i: number) => Promise<unknown>,
  stack: Stack | undefined,
  note?: string,
): Promise<MicroRow> {
  const samples: number[] = [];
  for (let i = 0; i < WALK_WARMUP; i++) await fn(i);
  const redisBefore = stack?.cache.redisCommands() ?? 0;
  const dbBefore = stack?.database.counter.queries ?? 0;
  for (let i = WALK_WARMUP; i < WALK_WARMUP + count; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push((performance.now() - t0) * 1e6);
  }
  return {
    group,
    name,
    avgNs: samples.reduce((a, b) => a + b, 0) / samples.length,
    p50Ns: quantile(samples, 0.5),
    p99Ns: quantile(samples, 0.99),
    redisPerOp: stack === undefined ? undefined : (stack.cache.redisCommands() - redisBefore) / count,
    dbPerOp: stack === undefined ? undefined : (stack.database.counter.queries - dbBefore) / count,
    note,
  };
}

async function createTokens(manager: SessionManager<BenchUser>, count: number, firstUser = 1): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push((await manager.createSession({ userId: firstUser + i, ...facts })).token);
  return tokens;
}

export async function runMicro(options: BenchOptions, log: (line: string) => void): Promise<MicroResults> {
  const quick = options.quick;
  const cold = quick ? 150 : 500;
  const rows: MicroRow[] = [];
  const add = (row: MicroRow) => {
    rows.push(row);
    const counts = [
      row.dbPerOp === undefined ? '' : `db ${row.dbPerOp.toFixed(2)}/op`,
      row.redisPerOp === undefined ? '' : `redis ${row.redisPerOp.toFixed(2)}/op`,
      row.synchronous === undefined ? '' : row.synchronous ? 'sync' : 'async',
    ]
      .filter((s) => s !== '')
      .join(', ');
    log(`  ${row.name.padEnd(58)} ${formatNs(row.avgNs).padStart(9)} avg  ${formatNs(row.p99Ns).padStart(9)} p99  ${counts}`);
  };

  // --- Warm in-process cache: what an integration calls on every request.
  const warmGroup = 'Warm in-process cache';
  for (const kind of ['memory', 'tiered'] as const) {
    const stack = await openStack('sqlite', kind);
    try {
      const { token } = await stack.manager.createSession({ userId: 1, ...facts });
      const { access } = await stack.manager.createSessionWithTokens({ userId: 2, ...facts });
      const tokenReq = request(`Token ${token}`);
      const jwtReq = request(`Bearer ${access}`);
      expectOk(await stack.api.authenticate(tokenReq), 'warm token');
      expectOk(await stack.api.authenticate(jwtReq), 'warm jwt');
      const label = kind === 'memory' ? 'MemorySessionCache' : 'two-tier, in-process tier hit';
      const tokenSync = !(stack.api.authenticate(tokenReq) instanceof Promise);
      const jwtSync = !(stack.api.authenticate(jwtReq) instanceof Promise);
      add(
        await repeated(warmGroup, `opaque token, ${label}`, () => stack.api.authenticate(tokenReq), {
          quick,
          stack,
          synchronous: tokenSync,
        }),
      );
      add(
        await repeated(warmGroup, `JWT (verified before), ${label}`, () => stack.api.authenticate(jwtReq), {
          quick,
          stack,
          synchronous: jwtSync,
        }),
      );
    } finally {
      await stack.close();
    }
  }

  // --- Pieces and the stateless comparison.
  const pieces = 'Pieces and comparison';
  {
    const stack = await openStack('sqlite', 'memory');
    try {
      const { access } = await stack.manager.createSessionWithTokens({ userId: 3, ...facts });
      const token = tokenGenerator(50);
      add(await repeated(pieces, 'SHA-256 of an opaque token (hashData)', () => hashData(token), { quick }));
      const jwt = stack.manager.jwt as NonNullable<typeof stack.manager.jwt>;
      add(
        await repeated(pieces, 'JWT first seen: jose verify + claim checks (nilva)', () => jwt.verify(access, 'access'), {
          quick,
          note: 'once per access token; then remembered by its SHA-256',
        }),
      );
      const key = await webcrypto.subtle.importKey(
        'raw',
        new TextEncoder().encode(BENCH_SIGNING_KEY),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['verify'],
      );
      add(
        await repeated(
          pieces,
          'stateless JWT: jose jwtVerify, CryptoKey imported once',
          () => jwtVerify(access, key, { algorithms: ['HS256'] }),
          {
            quick,
            note: 'what a stateless-JWT app pays on every request',
          },
        ),
      );
    } finally {
      await stack.close();
    }
  }

  // --- Cold cache, per store: each sample is a session never seen by this process.
  const coldGroup = 'Cold cache: store read + cache fill (opaque token)';
  for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
    const stack = await openStack(dialect, 'memory');
    try {
      const tokens = await createTokens(stack.manager, cold + WALK_WARMUP);
      add(
        await walked(
          coldGroup,
          `${DIALECT_LABELS[dialect]}, MemorySessionCache`,
          cold,
          async (i) => expectOk(await stack.api.authenticate(request(`Token ${tokens[i]}`)), 'cold'),
          stack,
        ),
      );
    } finally {
      await stack.close();
    }
  }

  // --- Redis tiers (PostgreSQL behind them).
  const redisGroup = 'Redis tiers (PostgreSQL behind)';
  {
    const database = await openBenchDatabase('postgres', { label: 'micro' });
    try {
      const redis = await openStack('postgres', 'redis', database);
      try {
        const [token] = await createTokens(redis.manager, 1, 1);
        const req = request(`Token ${token}`);
        expectOk(await redis.api.authenticate(req), 'redis warm-up');
        add(
          await repeated(redisGroup, 'Redis only (RedisSessionCache), entry in Redis', () => redis.api.authenticate(req), {
            quick,
            stack: redis,
          }),
        );
      } finally {
        await redis.close();
      }
      const tiered = await openStack('postgres', 'tiered', database);
      try {
        const tokens = await createTokens(tiered.manager, cold + WALK_WARMUP, 1000);
        add(
          await walked(
            redisGroup,
            'two-tier, both tiers cold (PostgreSQL read, Redis fill)',
            cold,
            async (i) => expectOk(await tiered.api.authenticate(request(`Token ${tokens[i]}`)), 'tiered cold'),
            tiered,
          ),
        );
        tiered.cache.memory?.clear();
        add(
          await walked(
            redisGroup,
            'two-tier, in-process tier cold, Redis warm',
            cold,
            async (i) => expectOk(await tiered.api.authenticate(request(`Token ${tokens[i]}`)), 'tiered redis'),
            tiered,
            'as after another instance filled Redis, or after localTtlSeconds',
          ),
        );
      } finally {
        await tiered.close();
      }
    } finally {
      await database.close();
    }
  }

  // --- Token creation and the list of 20 sessions.
  const createGroup = 'Token creation and listing';
  add(await repeated(createGroup, 'token generation (CSPRNG, 50 chars of [a-z0-9])', () => tokenGenerator(50), { quick }));
  for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
    const stack = await openStack(dialect, 'memory');
    try {
      add(
        await walked(
          createGroup,
          `createSession (login) on ${DIALECT_LABELS[dialect]}`,
          cold,
          (i) => stack.manager.createSession({ userId: 10_000 + i, ...facts }),
          stack,
        ),
      );
      const tokens: string[] = [];
      for (let i = 0; i < 20; i++) tokens.push((await stack.manager.createSession({ userId: 7, ...facts })).token);
      const auth = request(`Token ${tokens[0]}`);
      const list: ApiRequest = {
        ...auth,
        method: 'GET',
        path: 'active',
        query: new URLSearchParams(),
        contentType: undefined,
        body: undefined,
      };
      const first = await stack.api.handle(list);
      if (first?.status !== 200 || (JSON.parse(first.body ?? '[]') as unknown[]).length !== 20) throw new Error('list of 20 failed');
      add(
        await walked(
          createGroup,
          `GET active: 20 sessions on ${DIALECT_LABELS[dialect]} (query + JSON)`,
          quick ? 100 : 300,
          async () => stack.api.handle(list),
          stack,
        ),
      );
    } finally {
      await stack.close();
    }
  }
  return { rows };
}

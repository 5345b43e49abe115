// The configurations the HTTP load part compares, shared by the load driver and the server child.

export const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** What authenticates `GET /me`, and through which cache. */
export const HTTP_CONFIGS = [
  'baseline',
  'noop-hook',
  'minimal-hook',
  'jose-jwt',
  'token-memory',
  'jwt-memory',
  'token-tiered',
  'jwt-tiered',
  'token-redis',
  'jwt-redis',
  'token-db',
] as const;
export type HttpConfig = (typeof HTTP_CONFIGS)[number];

export interface HttpConfigInfo {
  readonly label: string;
  /** Which credentials the load sends. */
  readonly credentials: 'token' | 'jwt';
  /** The cache in front of PostgreSQL; `none` reads the database on every request. */
  readonly cache: 'none' | 'memory' | 'tiered' | 'redis' | 'n/a';
  readonly description: string;
}

export const HTTP_CONFIG_INFO: Readonly<Record<HttpConfig, HttpConfigInfo>> = {
  baseline: {
    label: 'no authentication',
    credentials: 'token',
    cache: 'n/a',
    description: 'the same route with no authentication at all (the request still carries the header)',
  },
  'noop-hook': {
    label: 'empty auth hook',
    credentials: 'token',
    cache: 'n/a',
    description: 'a middleware / preHandler that only passes the request on: what the framework charges for a hook',
  },
  'minimal-hook': {
    label: 'hand-written sha256 + Map',
    credentials: 'token',
    cache: 'n/a',
    description:
      'the least a token check can do: an async middleware / preHandler hashing the token (createHash) and looking it up in a Map (no expiry, user agent or revocation checks)',
  },
  'jose-jwt': {
    label: 'stateless JWT (jose)',
    credentials: 'jwt',
    cache: 'n/a',
    description: 'a hand-written middleware verifying an HS256 JWT with jose on every request; no session, no revocation',
  },
  'token-memory': { label: 'nilva token, in-process', credentials: 'token', cache: 'memory', description: 'MemorySessionCache' },
  'jwt-memory': { label: 'nilva JWT, in-process', credentials: 'jwt', cache: 'memory', description: 'MemorySessionCache' },
  'token-tiered': {
    label: 'nilva token, two-tier',
    credentials: 'token',
    cache: 'tiered',
    description: 'createRedisSessionCache: in-process tier (30 s) in front of Redis',
  },
  'jwt-tiered': { label: 'nilva JWT, two-tier', credentials: 'jwt', cache: 'tiered', description: 'createRedisSessionCache' },
  'token-redis': {
    label: 'nilva token, Redis only',
    credentials: 'token',
    cache: 'redis',
    description: 'the Redis tier alone (RedisSessionCache): one round trip per request',
  },
  'jwt-redis': { label: 'nilva JWT, Redis only', credentials: 'jwt', cache: 'redis', description: 'RedisSessionCache alone' },
  'token-db': {
    label: 'nilva token, database every request',
    credentials: 'token',
    cache: 'none',
    description: 'no cache: PostgreSQL is read on every request (for contrast)',
  },
};

/** The configurations of the headline ratios, measured again over many rounds (with the baseline). */
export const HEADLINE_CONFIGS = ['token-memory', 'jwt-memory'] as const satisfies readonly HttpConfig[];

/**
 * Configurations a quick run keeps in the broad table (its per-operation part still times a read on
 * every store); the token and JWT rows come from the headline measurement.
 */
export const QUICK_HTTP_CONFIGS: readonly HttpConfig[] = ['baseline', 'minimal-hook', 'token-tiered'];

/** What the parent tells a server child on its command line. */
export interface ServerSpec {
  readonly framework: Framework;
  readonly config: HttpConfig;
  readonly tableName: string;
  readonly namespace: string;
}

/** Counters a server child reports after each load. */
export interface ServerCounters {
  readonly dbQueries: number;
  readonly dbWrites: number;
  readonly redisCommands: number;
  /** CPU time of the server process, microseconds (user + system). */
  readonly cpuMicros: number;
}

export type ServerMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'counters'; readonly counters: ServerCounters }
  | { readonly type: 'error'; readonly message: string };

export type ParentMessage = { readonly type: 'counters' } | { readonly type: 'close' };

// The shape of bench/.out/results.json: what each part measured, for the report.
import type { MachineFacts } from './environment.js';
import type { Framework, HttpConfig } from './http-configs.js';
import type { ProfileSummary } from './profile-summary.js';

/** One micro-benchmark: nanoseconds per operation (mitata). */
export interface MicroRow {
  readonly group: string;
  readonly name: string;
  readonly avgNs: number;
  readonly p50Ns: number;
  readonly p99Ns: number;
  /** Whether `authenticate` answered without a promise (warm in-process rows). */
  readonly synchronous?: boolean | undefined;
  /** Redis commands and database statements per operation, counted during the run. */
  readonly redisPerOp?: number | undefined;
  readonly dbPerOp?: number | undefined;
  readonly note?: string | undefined;
}

export interface MicroResults {
  readonly rows: MicroRow[];
}

/** One configuration of one framework in one round. */
export interface HttpRound {
  readonly framework: Framework;
  readonly config: HttpConfig;
  readonly round: number;
  /** 200 responses. */
  readonly requests: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non200: number;
  readonly errors: number;
  ratioToBaseline: number;
  readonly dbQueries: number;
  readonly dbWrites: number;
  readonly redisCommands: number;
  /** Server process CPU time over wall time (1 = one core busy). */
  readonly serverCpu: number;
  /** Load generator CPU time over wall time. */
  readonly clientCpu: number;
  /** Server CPU time per 200 response, microseconds. */
  readonly cpuMicrosPerRequest: number;
  /** The same round's baseline CPU per request over this one's: the throughput ratio a saturated server would show. */
  cpuRatioToBaseline: number;
  /** This configuration's server CPU per request minus its paired baseline's, microseconds (0 for the baseline). */
  overheadMicros: number;
  /** The configuration this measurement was paired with (for the baseline: whose headers it carried). */
  pairedWith: HttpConfig;
  /** Fraction of the machine's CPU busy with other work just before the measurement (see waitForQuiet). */
  readonly busyBefore: number;
}

/** Medians over the rounds of one configuration of one framework. */
export interface HttpCell {
  readonly framework: Framework;
  readonly config: HttpConfig;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Median over rounds of (req/s ÷ the same round's baseline req/s). */
  readonly ratioToBaseline: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
  readonly dbQueriesPerRequest: number;
  /** Statements that read (SELECT): a warm cache sends none. */
  readonly dbReadsPerRequest: number;
  /** Statements that write: the throttled last_online touches. */
  readonly dbWritesPerRequest: number;
  readonly redisCommandsPerRequest: number;
  readonly serverCpu: number;
  readonly clientCpu: number;
  readonly cpuMicrosPerRequest: number;
  /** Median over rounds of (baseline CPU per request ÷ this CPU per request). */
  readonly cpuRatioToBaseline: number;
  /** Non-200 responses and socket errors over all rounds (should be 0). */
  readonly failed: number;
}

export interface HttpResults {
  readonly connections: number;
  readonly seconds: number;
  readonly rounds: number;
  /** Fresh sets of server processes per framework (rounds are split between them). */
  readonly generations: number;
  /** Longest wait for a quiet machine before a pair of measurements. */
  readonly quietWaitMs: number;
  readonly warmupSeconds: number;
  readonly sessions: number;
  readonly frameworks: Framework[];
  readonly configs: HttpConfig[];
  readonly measurements: HttpRound[];
  readonly cells: HttpCell[];
  /** The headline rows over many more rounds, with confidence intervals (absent in results of older runs). */
  readonly headline?: HttpHeadline | undefined;
}

/** A mean over rounds with its 95 % confidence interval (Student's t). */
export interface Interval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  readonly halfWidth: number;
  readonly n: number;
}

export interface HeadlineRow {
  readonly framework: Framework;
  readonly config: HttpConfig;
  readonly rounds: number;
  /** req/s over the paired baseline's. */
  readonly ratio: Interval;
  /** Paired baseline's server CPU per request over this one's. */
  readonly cpuRatio: Interval;
  /** Server CPU per request over the paired, same-header baseline's, microseconds. */
  readonly overheadMicros: Interval;
  readonly cpuMicrosPerRequest: number;
  /** Median server CPU per request of the baseline measurements paired with this configuration. */
  readonly baselineCpuMicrosPerRequest: number;
  readonly failed: number;
}

export interface HeadlineDifference {
  readonly framework: Framework;
  /** Per round: the JWT's overhead over its baseline minus the token's over its own. */
  readonly jwtMinusTokenMicros: Interval;
}

export interface HttpHeadline {
  readonly rounds: number;
  readonly rows: HeadlineRow[];
  readonly differences: HeadlineDifference[];
  readonly measurements: HttpRound[];
}

export interface WritesResults {
  readonly store: string;
  readonly sessions: number;
  readonly requests: number;
  readonly requestsPerSessionPerSecond: number;
  readonly simulatedSeconds: number;
  readonly touchIntervalSeconds: number;
  readonly flushIntervalSeconds: number;
  /** Statements that changed rows (UPDATE/INSERT/DELETE), and all statements. */
  readonly writeStatements: number;
  readonly statements: number;
  /** Session rows whose last_online was written, summed over flushes. */
  readonly rowWrites: number;
  readonly writeStatementsPer1000Requests: number;
  readonly rowWritesPer1000Requests: number;
  /** The most row writes any one session got per touch interval. */
  readonly maxRowWritesPerSessionPerInterval: number;
  /** Row writes over sessions × intervals. */
  readonly meanRowWritesPerSessionPerInterval: number;
  /** The last_online lag observed: now − stored last_online, at the end, worst session (s). */
  readonly maxLastOnlineLagSeconds: number;
}

/** Latency of one operation measured at one size, milliseconds. */
export interface ScaleLatency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs?: number | undefined;
  readonly samples: number;
}

/** One answer measured at one size: `GET active` or an admin page, for the user with 10,000 sessions. */
export interface ScaleView extends ScaleLatency {
  readonly group: 'GET active' | 'admin';
  readonly name: string;
  /** What was asked, e.g. `GET active?limit=50`. */
  readonly request: string;
  /** Sessions in the answer. */
  readonly rows: number;
}

/** A purge (as `nilva-session purge` runs it, in a process of its own) with a login loop running next to it. */
export interface PurgeRun {
  /** Which of the expired rows it took. */
  readonly scope: string;
  readonly batchSize: number;
  /** purgeExpired's pause between batches (0: none). */
  readonly pauseMs: number;
  /** Share of the machine's CPU busy with other work just before (see waitForQuiet). */
  readonly busyBefore: number;
  readonly deleted: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly batches: number;
  /** Each batch's statement. */
  readonly batchMs: ScaleLatency;
  /** `createSession` (a login's store write), before the purge started and while it ran. */
  readonly loginBefore: ScaleLatency;
  readonly loginDuring: ScaleLatency;
  /** A cold `authenticate` (a manager without a cache: the store read, the user load), before and during. */
  readonly authBefore: ScaleLatency;
  readonly authDuring: ScaleLatency;
  /** Logins during the purge that took longer than the 50 ms target. */
  readonly loginsOverTarget: number;
  /** PostgreSQL: WAL written while the purge ran (the login loop's included), and checkpoints made. */
  readonly walMiB?: number | undefined;
  readonly checkpoints?: number | undefined;
}

export interface ScaleRow {
  /** Absent in results of earlier versions: PostgreSQL. */
  readonly dialect?: 'postgres' | 'mysql' | undefined;
  readonly sessions: number;
  readonly insertSeconds: number;
  /** Building the indexes after the load (and VACUUM ANALYZE on PostgreSQL). */
  readonly indexSeconds?: number | undefined;
  readonly tableMiB: number;
  readonly lookupByKey: ScaleLatency;
  readonly lookupById: ScaleLatency;
  /** The purge runs together (purgeRuns: each of them). */
  readonly purge: { readonly deleted: number; readonly seconds: number; readonly rowsPerSecond: number; readonly batches: number };
  readonly purgeRuns?: PurgeRun[] | undefined;
  /** From 100 k rows on. */
  readonly views?: ScaleView[] | undefined;
}

export interface MemoryRow {
  readonly sessions: number;
  readonly heapBytes: number;
  readonly bytesPerSession: number;
  readonly rssBytes: number;
}

export interface ScaleResults {
  readonly rows: ScaleRow[];
  readonly memory: MemoryRow;
  /** The PostgreSQL server's settings that shape the figures (checkpoints, buffers), as `SHOW` gives them. */
  readonly postgresSettings?: Readonly<Record<string, string>> | undefined;
}

export interface PropagationResults {
  readonly revocations: number;
  readonly received: number;
  /** From the revoking call's start (database write included) until the other instance dropped the session. */
  readonly endToEnd: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  /** From the database write's end (when the revoke is published) until the other instance dropped it. */
  readonly afterStoreWrite: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  /** Requests that the other instance still accepted after it was told (must be 0). */
  readonly acceptedAfterRevoke: number;
}

export interface ProfileResults {
  readonly servers: ProfileSummary[];
}

export interface PartRun {
  readonly measuredAt: string;
  readonly quick: boolean;
  readonly seconds: number;
}

export interface BenchResults {
  readonly machine: MachineFacts;
  readonly command: string;
  readonly quick: boolean;
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** When each part was measured (parts of earlier runs are kept until run again). */
  partRuns?: Partial<Record<'micro' | 'http' | 'writes' | 'scale' | 'propagation' | 'profile', PartRun>>;
  readonly micro?: MicroResults;
  readonly http?: HttpResults;
  readonly writes?: WritesResults;
  readonly scale?: ScaleResults;
  readonly propagation?: PropagationResults;
  readonly profile?: ProfileResults;
}

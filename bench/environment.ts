// The real services the benchmarks run against, each under a name no one else uses,
// with counters of what reaches them. Every helper here cleans up after itself.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createClient } from '@redis/client';
import { Kysely, type LogEvent, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';
import { KyselySessionStore } from '../src/store/kysely-session-store.js';
import { dropSessionStore, migrateSessionStore } from '../src/store/migrations.js';
import type { SessionDatabase, SqlDialect } from '../src/store/session-table.js';

export const DATABASE_URLS: Readonly<Record<SqlDialect, string>> = {
  sqlite: 'sqlite::memory:',
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  mysql: 'mysql://root@127.0.0.1:3306/test',
};

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** What the benchmarks call each database in the report. */
export const DIALECT_LABELS: Readonly<Record<SqlDialect, string>> = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB' };

/** A name no other run or test uses: `nilva_bench_<label>_<12 hex>`. */
export function uniqueName(label: string): string {
  return `nilva_bench_${label}_${randomBytes(6).toString('hex')}`;
}

/** Counts statements as the database driver sends them (Kysely's query log). */
export class QueryCounter {
  queries = 0;
  writes = 0;

  readonly log = (event: LogEvent): void => {
    if (event.level !== 'query') return;
    this.queries++;
    if (isWrite(event.query.sql)) this.writes++;
  };

  snapshot(): { queries: number; writes: number } {
    return { queries: this.queries, writes: this.writes };
  }
}

function isWrite(sql: string): boolean {
  const head = sql.trimStart().slice(0, 6).toLowerCase();
  if (head === 'insert' || head === 'update' || head === 'delete') return true;
  // The PostgreSQL touch is `with … update …`.
  return head.startsWith('with') && /\bupdate\b/i.test(sql);
}

/**
 * Opens a Kysely instance on the dialect's benchmark database with a query log, configured as
 * `connectDatabase` configures its drivers (UTC times on MySQL, WAL-less in-memory SQLite).
 */
export async function openKysely(dialect: SqlDialect, counter: QueryCounter, poolSize = 10): Promise<Kysely<SessionDatabase>> {
  switch (dialect) {
    case 'postgres': {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: DATABASE_URLS.postgres, max: poolSize });
      pool.on('error', () => undefined);
      return new Kysely<SessionDatabase>({ dialect: new PostgresDialect({ pool }), log: counter.log });
    }
    case 'mysql': {
      const { default: mysql } = await import('mysql2');
      const pool = mysql.createPool({
        uri: DATABASE_URLS.mysql,
        timezone: 'Z',
        dateStrings: false,
        supportBigNumbers: true,
        bigNumberStrings: false,
        connectionLimit: poolSize,
      });
      return new Kysely<SessionDatabase>({ dialect: new MysqlDialect({ pool }), log: counter.log });
    }
    case 'sqlite': {
      const { default: Database } = await import('better-sqlite3');
      return new Kysely<SessionDatabase>({ dialect: new SqliteDialect({ database: new Database(':memory:') }), log: counter.log });
    }
  }
}

/** A migrated session table of its own on one database, with a store and a query counter. */
export interface BenchDatabase {
  readonly dialect: SqlDialect;
  readonly tableName: string;
  readonly db: Kysely<SessionDatabase>;
  readonly store: KyselySessionStore;
  readonly counter: QueryCounter;
  /** Drops the table (when `owner`) and closes the pool. */
  close(): Promise<void>;
}

/**
 * Creates (or, with `tableName`, attaches to) a benchmark session table. The one that created
 * the table drops it on `close()`.
 */
export async function openBenchDatabase(
  dialect: SqlDialect,
  options: { tableName?: string; poolSize?: number; label?: string } = {},
): Promise<BenchDatabase> {
  const counter = new QueryCounter();
  const db = await openKysely(dialect, counter, options.poolSize);
  const owner = options.tableName === undefined;
  const tableName = options.tableName ?? uniqueName(options.label ?? 'session');
  if (owner) {
    try {
      await migrateSessionStore(db, { dialect, tableName, userIdType: 'integer' });
    } catch (error) {
      await db.destroy();
      throw error;
    }
  }
  let closed = false;
  return {
    dialect,
    tableName,
    db,
    counter,
    store: new KyselySessionStore({ db, dialect, tableName, userIdType: 'integer' }),
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (owner) await dropSessionStore(db, { dialect, tableName });
      } finally {
        await db.destroy();
      }
    },
  };
}

/** A Redis namespace of its own: `nilva-bench:<label>:<8 hex>:`. */
export function uniqueNamespace(label: string): string {
  return `nilva-bench:${label}:${randomBytes(4).toString('hex')}:`;
}

/** A node-redis client whose commands are counted (every command of the cache goes through `sendCommand`). */
export function countingRedisClient(url = REDIS_URL) {
  const client = createClient({ url, disableOfflineQueue: true, commandOptions: { timeout: 500 } });
  client.on('error', () => undefined);
  const counts = { commands: 0 };
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<typeof send>) => {
    counts.commands++;
    return send(...args);
  }) as typeof send;
  return { client, counts };
}

/** Deletes every key under `namespace`. */
export async function deleteNamespace(namespace: string, url = REDIS_URL): Promise<number> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const reply = (await client.sendCommand(['SCAN', cursor, 'MATCH', `${namespace}*`, 'COUNT', '1000'])) as [string, string[]];
      cursor = String(reply[0]);
      if (reply[1].length > 0) deleted += Number(await client.sendCommand(['UNLINK', ...reply[1].map(String)]));
    } while (cursor !== '0');
  } finally {
    await client.close();
  }
  return deleted;
}

/** The machine, as the report states it. */
export interface MachineFacts {
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly date: string;
}

export function machineFacts(): MachineFacts {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    date: new Date().toISOString(),
  };
}

/** The application's users, as a benchmarked app would keep them (no password hashes in the cache). */
export interface BenchUser {
  readonly id: number;
  readonly username: string;
  readonly isActive: boolean;
}

/** `loadUser` for the benchmarks: an in-memory registry, so only the session machinery is measured. */
export function benchLoadUser(userId: string | number): BenchUser {
  const id = Number(userId);
  return { id, username: `user${id}`, isActive: true };
}

/** A browser's User-Agent, sent on every benchmarked request and recorded on every session. */
export const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 nilva-bench';

/** A fixed HS256 secret for the benchmarks' JWTs (never used anywhere else). */
export const BENCH_SIGNING_KEY = 'nilva-bench-signing-key-0123456789abcdef';

/** Busy and total jiffies of all CPUs from /proc/stat; undefined where there is none. */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** The fraction (0..1) of the machine's CPU time spent busy over the next `ms` milliseconds; NaN off Linux. */
export async function machineBusy(ms = 300): Promise<number> {
  const a = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTimes();
  if (a === undefined || b === undefined || b.total === a.total) return Number.NaN;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Waits (up to `maxWaitMs`) until the machine is quiet — less than `threshold` of its CPU time
 * busy while the benchmark itself is idle — so that other work on a shared machine does not
 * land in a measurement. Returns the last busy fraction seen.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.15): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    // Not waiting at all: a short look, only to record how busy the machine was.
    const busy = await machineBusy(maxWaitMs === 0 ? 100 : 300);
    if (!(busy >= threshold) || performance.now() >= deadline) return busy;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

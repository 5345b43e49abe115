// How cost grows with the number of sessions: cold lookups and purge throughput on PostgreSQL
// tables of 10 k, 100 k and 1 M sessions (bulk-inserted with generate_series), and the memory
// 100 k cached sessions take in the in-process cache.
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import { MemorySessionCache } from '../src/cache/memory-session-cache.js';
import type { CachedSession } from '../src/core/session-cache.js';
import { hashData } from '../src/tokens/opaque-token.js';
import { type BenchDatabase, benchLoadUser, openBenchDatabase, USER_AGENT } from './environment.js';
import type { BenchOptions } from './options.js';
import type { MemoryRow, ScaleResults, ScaleRow } from './results.js';
import { benchManager } from './session-stack.js';
import { summarize } from './stats.js';

/** The opaque token of bulk-inserted session `i`: 50 characters of [a-z0-9], as the SQL below builds it. */
function tokenOf(i: number): string {
  return `b${String(i).padStart(49, '0')}`;
}

/** One session in five has expired (every fifth `i`), the rest expire tomorrow; five sessions per user. */
async function bulkInsert(database: BenchDatabase, count: number): Promise<void> {
  const table = sql.table(database.tableName);
  const users = Math.max(1, Math.floor(count / 5));
  const chunk = 250_000;
  for (let from = 1; from <= count; from += chunk) {
    const to = Math.min(count, from + chunk - 1);
    await sql`insert into ${table}
        (id, user_id, key_hash, key_prefix, expire_at, is_active, last_online, last_ip, user_agent, detail, created_at, refresh_jti)
      select gen_random_uuid(), (i % ${users}) + 1,
        encode(sha256(convert_to('b' || lpad(i::text, 49, '0'), 'UTF8')), 'hex'),
        substr('b' || lpad(i::text, 49, '0'), 1, 8),
        case when i % 5 = 0 then now() - interval '1 hour' else now() + interval '1 day' end,
        true, now() - interval '1 minute', '127.0.0.1', ${USER_AGENT}, null, now() - interval '2 hours', null
      from generate_series(${from}::int, ${to}::int) as i`.execute(database.db);
  }
  await sql`analyze ${table}`.execute(database.db);
}

/** A random index in [1, count] whose session has not expired. */
function liveIndex(count: number): number {
  for (;;) {
    const i = 1 + Math.floor(Math.random() * count);
    if (i % 5 !== 0) return i;
  }
}

async function measureSize(count: number, samples: number, log: (line: string) => void): Promise<ScaleRow> {
  const database = await openBenchDatabase('postgres', { label: `scale${count}` });
  try {
    const t0 = performance.now();
    await bulkInsert(database, count);
    const insertSeconds = (performance.now() - t0) / 1000;
    const size = await sql<{ bytes: string }>`select pg_total_relation_size(${database.tableName}) as bytes`.execute(database.db);
    const tableMiB = Number(size.rows[0]?.bytes ?? 0) / 2 ** 20;

    const cache = new MemorySessionCache();
    const manager = benchManager(database.store, cache);
    const facts = { ip: '127.0.0.1', userAgent: USER_AGENT };
    const warmup = 50;
    // By key hash (opaque tokens): each token used once, so each lookup is a cache miss.
    const used = new Set<number>();
    const keyMs: number[] = [];
    for (let n = 0; n < samples + warmup; n++) {
      let i = liveIndex(count);
      while (used.has(i) && used.size < count * 0.7) i = liveIndex(count);
      used.add(i);
      const start = performance.now();
      const outcome = await manager.authenticate(`Token ${tokenOf(i)}`, facts);
      const ms = performance.now() - start;
      if (outcome?.ok !== true) throw new Error(`scale: token ${i} was refused: ${JSON.stringify(outcome)}`);
      if (n >= warmup) keyMs.push(ms);
    }
    // By session id (the JWT path).
    const ids = await sql<{ id: string }>`select id from ${sql.table(database.tableName)}
      where expire_at > now() order by random() limit ${samples + warmup}`.execute(database.db);
    const idMs: number[] = [];
    for (const [n, row] of ids.rows.entries()) {
      const start = performance.now();
      const outcome = await manager.authenticateSessionId(row.id, facts);
      const ms = performance.now() - start;
      if (outcome.ok !== true) throw new Error(`scale: session ${row.id} was refused`);
      if (n >= warmup) idMs.push(ms);
    }

    const p0 = performance.now();
    const purged = await manager.purgeExpired({ batchSize: 1000 });
    const purgeSeconds = (performance.now() - p0) / 1000;
    await manager.close();
    const byKey = summarize(keyMs);
    const byId = summarize(idMs);
    const row: ScaleRow = {
      sessions: count,
      insertSeconds,
      tableMiB,
      lookupByKey: { p50Ms: byKey.p50Ms, p99Ms: byKey.p99Ms, samples: byKey.samples },
      lookupById: { p50Ms: byId.p50Ms, p99Ms: byId.p99Ms, samples: byId.samples },
      purge: { deleted: purged.deleted, seconds: purgeSeconds, rowsPerSecond: purged.deleted / purgeSeconds, batches: purged.batches },
    };
    log(
      `  ${count.toLocaleString('en')} sessions (${tableMiB.toFixed(0)} MiB, inserted in ${insertSeconds.toFixed(1)} s): ` +
        `cold lookup by key p50 ${byKey.p50Ms.toFixed(3)} ms p99 ${byKey.p99Ms.toFixed(3)} ms, by id p50 ${byId.p50Ms.toFixed(3)} ms ` +
        `p99 ${byId.p99Ms.toFixed(3)} ms; purged ${purged.deleted} in ${purgeSeconds.toFixed(2)} s (${Math.round(row.purge.rowsPerSecond)}/s)`,
    );
    return row;
  } finally {
    await database.close();
  }
}

function forceGc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    return;
  }
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Heap taken by `count` sessions in the in-process cache, each with its own strings, as rows read from a database have. */
function cacheMemory(count: number): MemoryRow {
  const cache = new MemorySessionCache({ max: count });
  forceGc();
  forceGc();
  const before = process.memoryUsage();
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const fresh = (s: string) => Buffer.from(s).toString();
    const entry: CachedSession = {
      id: randomUUID(),
      userId: i + 1,
      keyHash: hashData(tokenOf(i)),
      expireAt: now + 86_400_000,
      lastOnline: now,
      lastIp: fresh('127.0.0.1'),
      userAgent: fresh(USER_AGENT),
      createdAt: now,
      authenticatedAt: now,
      user: benchLoadUser(i + 1),
    };
    cache.set(entry, 900_000, cache.epoch());
  }
  forceGc();
  forceGc();
  const after = process.memoryUsage();
  if (cache.size !== count) throw new Error('cache did not keep every entry');
  const heapBytes = after.heapUsed - before.heapUsed;
  return { sessions: count, heapBytes, bytesPerSession: heapBytes / count, rssBytes: after.rss - before.rss };
}

export async function runScale(options: BenchOptions, log: (line: string) => void): Promise<ScaleResults> {
  const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= options.scaleMax);
  if (sizes.length === 0) sizes.push(options.scaleMax);
  const samples = options.quick ? 400 : 2000;
  const rows: ScaleRow[] = [];
  for (const count of sizes) rows.push(await measureSize(count, samples, log));
  const memory = cacheMemory(100_000);
  log(
    `  memory: ${(memory.heapBytes / 2 ** 20).toFixed(1)} MiB of heap for ${memory.sessions} cached sessions (${Math.round(memory.bytesPerSession)} B each)`,
  );
  return { rows, memory };
}

// How cost grows with the number of sessions, on PostgreSQL tables of 10 k to 10 M sessions and
// a MariaDB table of 1 M (bench/scale-load.ts: how they look and how they are loaded): cold
// lookups by key hash and by id; from 100 k rows on, `GET active` and the admin pages for a user
// with 10,000 sessions; the purge of the expired half in a process of its own with a login loop
// running next to it; and the memory 100 k cached sessions take in the in-process cache.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import { encodeAdminCursor } from '../src/admin/admin-cursor.js';
import type { PageRequest } from '../src/admin/page-request.js';
import { SessionPages } from '../src/admin/session-pages.js';
import { MemorySessionCache } from '../src/cache/memory-session-cache.js';
import type { CachedSession } from '../src/core/session-cache.js';
import type { SessionManager } from '../src/core/session-manager.js';
import { encodeCursor } from '../src/http/active-page-query.js';
import type { ApiRequest } from '../src/http/api-types.js';
import { SessionApi } from '../src/http/session-api.js';
import { KyselySessionAdminStore } from '../src/store/kysely-session-admin-store.js';
import { hashData } from '../src/tokens/opaque-token.js';
import {
  type BenchDatabase,
  type BenchUser,
  benchLoadUser,
  DATABASE_URLS,
  DIALECT_LABELS,
  openBenchDatabase,
  openKysely,
  QueryCounter,
  USER_AGENT,
  waitForQuiet,
} from './environment.js';
import type { BenchOptions } from './options.js';
import type { MemoryRow, PurgeRun, ScaleLatency, ScaleResults, ScaleRow, ScaleView } from './results.js';
import {
  HEAVY_SESSIONS,
  HEAVY_USER,
  heavySessions,
  ipOf,
  loadMysql,
  loadPostgres,
  ORDINARY_USER,
  randomLive,
  type ScaleLayout,
  scaleLayout,
  tokenOf,
} from './scale-load.js';
import type { PurgerArgs, PurgerMessage } from './scale-purger.js';
import { benchManager } from './session-stack.js';
import { quantile } from './stats.js';

/** The sizes of a full run; `--scale-max` cuts the list, `--quick` stops at 100 k. */
export const SCALE_SIZES = [10_000, 100_000, 1_000_000, 10_000_000] as const;
/** MariaDB's one size: the largest of these within `--scale-max`. */
const MARIADB_SIZES = [100_000, 1_000_000] as const;

/** The issue's target: a login running next to the purge never waits longer than this. */
export const LOGIN_WAIT_TARGET_MS = 50;

/**
 * One login (and one cold authenticate) every 10 ms: 100 a second, a busy site's rate, not a
 * write load of its own (run flat out, the loop wrote more WAL than the purge). A login that
 * takes longer delays the next ones, which then start at once.
 */
const LOGIN_PERIOD_MS = 10;

/** How one purge run is set up: the rows it takes and purgeExpired's settings. */
export interface PurgeSettings {
  readonly batchSize: number;
  readonly pauseMs: number;
  /** Purge only what expired at least this long ago. */
  readonly olderThanSeconds?: number;
  /** Which rows, for the report. */
  readonly scope: string;
}

/**
 * Every size purges its expired half in two runs: the older half of it as fast as the database
 * can (`--pause-ms 0`, the behaviour before the pause existed), then the rest with the library's
 * defaults (`nilva-session purge` without flags: batches of 1000, 50 ms apart).
 */
const PURGES: readonly PurgeSettings[] = [
  { batchSize: 1000, pauseMs: 0, olderThanSeconds: 15 * 86_400, scope: 'the older half of the expired rows' },
  { batchSize: 1000, pauseMs: 50, scope: 'the rest of the expired rows' },
];

function latency(samples: readonly number[]): ScaleLatency {
  // Not summarize(): its Math.max(...samples) overflows the stack beyond ~100 k samples.
  let max = Number.NaN;
  for (const v of samples) if (!(v <= max)) max = v;
  return { p50Ms: quantile(samples, 0.5), p99Ms: quantile(samples, 0.99), maxMs: max, samples: samples.length };
}

const ms = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(value < 10 ? 2 : 1)} ms`;

/** Calls `fn` `samples` times (fewer when `maxSeconds` run out, at least 5) after `warmup` unmeasured calls. */
async function sampleOf(fn: () => Promise<void>, samples: number, maxSeconds: number, warmup = 3): Promise<ScaleLatency> {
  for (let n = 0; n < warmup; n++) await fn();
  const out: number[] = [];
  const deadline = performance.now() + maxSeconds * 1000;
  while (out.length < samples && (out.length < 5 || performance.now() < deadline)) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return latency(out);
}

async function tableMiB(database: BenchDatabase): Promise<number> {
  if (database.dialect === 'postgres') {
    const size = await sql<{ bytes: string }>`select pg_total_relation_size(${database.tableName}) as bytes`.execute(database.db);
    return Number(size.rows[0]?.bytes ?? 0) / 2 ** 20;
  }
  await sql`analyze table ${sql.table(database.tableName)}`.execute(database.db);
  const size = await sql<{ bytes: string }>`select data_length + index_length as bytes from information_schema.tables
    where table_schema = database() and table_name = ${database.tableName}`.execute(database.db);
  return Number(size.rows[0]?.bytes ?? 0) / 2 ** 20;
}

/** Cold lookups: each session once, so each is a cache miss (store read, user load, cache fill). */
async function coldLookups(
  manager: SessionManager<BenchUser>,
  database: BenchDatabase,
  layout: ScaleLayout,
  samples: number,
  used: Set<number>,
): Promise<{ byKey: ScaleLatency; byId: ScaleLatency }> {
  const warmup = 50;
  // Each session once: a small table has only so many live ones (4,500 of 10 k).
  const live = Math.floor((layout.count - layout.expiredBelow) * 0.9) - heavySessions(layout).length;
  samples = Math.min(samples, Math.floor(live * 0.4) - warmup);
  const fresh = () => {
    let i = randomLive(layout);
    while (used.has(i)) i = randomLive(layout);
    used.add(i);
    return i;
  };
  const keyMs: number[] = [];
  for (let n = 0; n < samples + warmup; n++) {
    const i = fresh();
    const start = performance.now();
    const outcome = await manager.authenticate(`Token ${tokenOf(i)}`, { ip: ipOf(i), userAgent: USER_AGENT });
    const took = performance.now() - start;
    if (outcome?.ok !== true) throw new Error(`scale: token ${i} was refused: ${JSON.stringify(outcome)}`);
    if (n >= warmup) keyMs.push(took);
  }
  // By session id (the JWT path): ids of sessions not looked up yet, found by their hashes.
  const picked = Array.from({ length: samples + warmup }, fresh);
  const found = await database.db
    .selectFrom(database.tableName)
    .select(['id', 'key_hash'])
    .where(
      'key_hash',
      'in',
      picked.map((i) => hashData(tokenOf(i))),
    )
    .execute();
  const idOf = new Map(found.map((row) => [row.key_hash, String(row.id).toLowerCase()]));
  const idMs: number[] = [];
  for (const [n, i] of picked.entries()) {
    const id = idOf.get(hashData(tokenOf(i)));
    if (id === undefined) throw new Error(`scale: session ${i} is missing`);
    const start = performance.now();
    const outcome = await manager.authenticateSessionId(id, { ip: ipOf(i), userAgent: USER_AGENT });
    const took = performance.now() - start;
    if (outcome.ok !== true) throw new Error(`scale: session ${id} was refused`);
    if (n >= warmup) idMs.push(took);
  }
  return { byKey: latency(keyMs), byId: latency(idMs) };
}

/** `GET active` (through `SessionApi.handle`) and the admin pages (through `SessionPages.handle`) for the heavy user. */
async function measureViews(
  manager: SessionManager<BenchUser>,
  database: BenchDatabase,
  layout: ScaleLayout,
  quick: boolean,
  log: (line: string) => void,
): Promise<ScaleView[]> {
  const heavy = heavySessions(layout);
  const me = heavy[0] as number;
  const token = `Token ${tokenOf(me)}`;
  const api = new SessionApi({ manager, verifyCredentials: () => null });
  const adminStore = new KyselySessionAdminStore({ db: database.db, dialect: database.dialect, tableName: database.tableName });
  const pages = new SessionPages({
    api,
    adminStore,
    isStaff: (user: BenchUser) => user.id === HEAVY_USER,
    logger: { warn: () => undefined },
  });
  const apiRequest = (query: string): ApiRequest => ({
    method: 'GET',
    path: 'active',
    query: new URLSearchParams(query),
    authorization: token,
    userAgent: USER_AGENT,
    remoteAddress: ipOf(me),
    forwardedFor: undefined,
    contentType: undefined,
    body: undefined,
  });
  const pageRequest = (query: string): PageRequest => ({
    method: 'GET',
    path: '/admin',
    query: new URLSearchParams(query),
    authorization: token,
    cookie: undefined,
    userAgent: USER_AGENT,
    origin: undefined,
    secFetchSite: undefined,
    host: '127.0.0.1',
    forwardedProto: undefined,
    forwardedFor: undefined,
    remoteAddress: ipOf(me),
    encrypted: false,
    contentType: undefined,
    body: undefined,
  });
  const views: ScaleView[] = [];
  const samples = quick ? 60 : 200;
  const api200 = async (query: string): Promise<{ rows: number; link: string | undefined }> => {
    const response = await api.handle(apiRequest(query));
    if (response?.status !== 200 || response.body === undefined) throw new Error(`scale: GET active?${query} answered ${response?.status}`);
    return { rows: (JSON.parse(response.body) as unknown[]).length, link: response.headers.link };
  };
  const apiView = async (name: string, query: string, count: number, seconds: number) => {
    const { rows } = await api200(query);
    const figures = await sampleOf(
      async () => {
        await api.handle(apiRequest(query));
      },
      count,
      seconds,
    );
    views.push({ group: 'GET active', name, request: `GET active${query === '' ? '' : `?${query}`}`, rows, ...figures });
    log(`    GET active ${name}: ${rows} sessions, p50 ${ms(figures.p50Ms)} p99 ${ms(figures.p99Ms)}`);
  };
  // The whole list, as the contract answers it without ?limit.
  const whole = await manager.listSessions(HEAVY_USER);
  if (whole.length !== HEAVY_SESSIONS) throw new Error(`scale: the heavy user has ${whole.length} active sessions`);
  await apiView(`whole list (${HEAVY_SESSIONS.toLocaleString('en')} sessions, the contract's default)`, '', quick ? 10 : 30, 20);
  await apiView('first page, ?limit=50', 'limit=50', samples, 15);
  // The last page: after the 9,950th session of the list's order.
  const deep = whole[HEAVY_SESSIONS - 51];
  if (deep === undefined) throw new Error('scale: no deep position');
  const deepCursor = encodeCursor({ lastOnline: deep.lastOnline, id: deep.id });
  const last = await api200(`limit=50&cursor=${deepCursor}`);
  if (last.rows !== 50 || last.link !== undefined) throw new Error(`scale: the last page has ${last.rows} sessions, link ${last.link}`);
  await apiView('last page (after 9,950), ?limit=50&cursor=…', `limit=50&cursor=${deepCursor}`, samples, 15);

  const pageView = async (name: string, query: string, count: number, seconds: number) => {
    const first = await pages.handle(pageRequest(query));
    if (first?.status !== 200) throw new Error(`scale: /admin?${query} answered ${first?.status}: ${first?.body?.slice(0, 300)}`);
    const rows = (first.body?.match(/name="id" value="/g) ?? []).length;
    const figures = await sampleOf(
      async () => {
        await pages.handle(pageRequest(query));
      },
      count,
      seconds,
    );
    views.push({ group: 'admin', name, request: `GET /admin${query === '' ? '' : `?${query}`}`, rows, ...figures });
    log(`    admin ${name}: ${rows} rows, p50 ${ms(figures.p50Ms)} p99 ${ms(figures.p99Ms)}`);
  };
  await pageView('session list, first page', '', samples, 15);
  // Halfway down the list (newest first): the session created in the middle of the 60 days.
  const middle = await database.store.findByKeyHash(hashData(tokenOf(Math.floor(layout.count / 2))));
  if (middle === undefined) throw new Error('scale: no middle session');
  const cursor = encodeAdminCursor('created_at', 'desc', { direction: 'after', keyset: { value: middle.createdAt, id: middle.id } });
  await pageView(
    `a page halfway down, via its cursor (${Math.floor(layout.count / 2).toLocaleString('en')} rows in)`,
    `cursor=${cursor}`,
    samples,
    15,
  );
  await pageView('active only, first page', 'status=active', samples, 15);
  await pageView(`filtered by the user with ${HEAVY_SESSIONS.toLocaleString('en')} sessions`, `user=${HEAVY_USER}`, samples, 15);
  await pageView('filtered by a user with 5 sessions', `user=${ORDINARY_USER}`, samples, 15);
  await pageView('search by an exact IP address', `ip=${ipOf(me)}`, samples, 15);
  // One in 256 sessions, of every age: the address prefix of a large network.
  const prefix = `${ipOf(me).split('.').slice(0, 2).join('.')}.`;
  await pageView(`search by an address prefix (${prefix}, 1 in 256 sessions)`, `ip=${prefix}`, quick ? 20 : 60, 20);
  return views;
}

const purgerPath = fileURLToPath(new URL('./scale-purger.ts', import.meta.url));

/**
 * Runs the purge in a process of its own while this one logs users in, one every
 * LOGIN_PERIOD_MS (`createSession`, a login's store write, then a cold `authenticate`: a random
 * session, through a manager without a cache, so it reads the store); the loop runs alone for
 * `beforeSeconds` first.
 */
export async function purgeWithLogins(
  manager: SessionManager<BenchUser>,
  database: BenchDatabase,
  layout: ScaleLayout,
  settings: PurgeSettings,
  beforeSeconds: number,
): Promise<PurgeRun> {
  const uncached = benchManager(database.store, undefined);
  // Other work on this shared machine would land in the figures: wait a little for it to stop, and say how busy it was.
  const busyBefore = await waitForQuiet(20_000, 0.25);
  type Sample = { at: number; login: number; auth: number };
  const samples: Sample[] = [];
  let stop = false;
  let userId = 800_000_000;
  const loop = (async () => {
    for (let next = performance.now(); !stop; next += LOGIN_PERIOD_MS) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const at = performance.now();
      await manager.createSession({ userId: userId++, ip: '127.0.0.1', userAgent: USER_AGENT });
      const t1 = performance.now();
      // Through a manager without a cache: every authenticate reads the store.
      const i = randomLive(layout);
      const outcome = await uncached.authenticate(`Token ${tokenOf(i)}`, { ip: ipOf(i), userAgent: USER_AGENT });
      if (outcome?.ok !== true) throw new Error(`scale: token ${i} was refused during the purge`);
      samples.push({ at, login: t1 - at, auth: performance.now() - t1 });
    }
  })();
  const beforeEnd = performance.now() + beforeSeconds * 1000;
  await new Promise((resolve) => setTimeout(resolve, beforeSeconds * 1000));
  const args: PurgerArgs = {
    url: DATABASE_URLS[database.dialect],
    table: database.tableName,
    batchSize: settings.batchSize,
    pauseMs: settings.pauseMs,
    ...(settings.olderThanSeconds === undefined ? {} : { olderThanSeconds: settings.olderThanSeconds }),
  };
  const walBefore = database.dialect === 'postgres' ? await walPosition(database) : undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', purgerPath, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let startedAt = Number.NaN;
  let done: Extract<PurgerMessage, { event: 'done' }> | undefined;
  let endedAt = Number.NaN;
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  for await (const line of createInterface({ input: child.stdout })) {
    const message = JSON.parse(line) as PurgerMessage;
    if (message.event === 'start') startedAt = performance.now();
    else {
      endedAt = performance.now();
      done = message;
    }
  }
  const code = await exited;
  const walAfter = walBefore === undefined ? undefined : await walPosition(database);
  stop = true;
  await loop;
  await uncached.close();
  if (done === undefined || code !== 0) throw new Error(`scale: the purge process failed (exit ${code})`);
  const before = samples.filter((s) => s.at + s.login + s.auth <= beforeEnd);
  // A sample counts as during the purge when any of it overlaps the purge.
  const during = samples.filter((s) => s.at + s.login + s.auth >= startedAt && s.at <= endedAt);
  const slow = during.filter((s) => s.login > LOGIN_WAIT_TARGET_MS);
  if (process.env.NILVA_BENCH_DEBUG === '1') {
    const origin = Date.now() - performance.now();
    for (const s of slow) process.stderr.write(`slow login at ${new Date(origin + s.at).toISOString()}: ${s.login.toFixed(0)} ms\n`);
  }
  return {
    scope: settings.scope,
    batchSize: settings.batchSize,
    pauseMs: settings.pauseMs,
    busyBefore,
    deleted: done.deleted,
    seconds: done.seconds,
    rowsPerSecond: done.deleted / done.seconds,
    batches: done.batches,
    batchMs: latency(done.batchMs),
    loginBefore: latency(before.map((s) => s.login)),
    loginDuring: latency(during.map((s) => s.login)),
    authBefore: latency(before.map((s) => s.auth)),
    authDuring: latency(during.map((s) => s.auth)),
    loginsOverTarget: slow.length,
    ...(walBefore === undefined || walAfter === undefined
      ? {}
      : {
          walMiB: Number(BigInt(walAfter.lsn) - BigInt(walBefore.lsn)) / 2 ** 20,
          checkpoints: walAfter.checkpoints - walBefore.checkpoints,
        }),
  };
}

/** Where PostgreSQL's WAL is (bytes since its start) and how many checkpoints it has made. */
async function walPosition(database: BenchDatabase): Promise<{ lsn: string; checkpoints: number }> {
  const { rows } = await sql<{ lsn: string; checkpoints: string }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint::text as lsn,
    (select checkpoints_timed + checkpoints_req from pg_stat_bgwriter)::text as checkpoints`.execute(database.db);
  const row = rows[0];
  if (row === undefined) throw new Error('scale: no WAL position');
  return { lsn: row.lsn, checkpoints: Number(row.checkpoints) };
}

export function describePurge(run: PurgeRun): string {
  return (
    `${run.scope}: purged ${run.deleted.toLocaleString('en')} in ${run.seconds.toFixed(1)} s (${Math.round(run.rowsPerSecond).toLocaleString('en')}/s, ` +
    `${run.batches} batches of ${run.batchSize}${run.pauseMs > 0 ? `, ${run.pauseMs} ms apart` : ''}, batch p99 ${ms(run.batchMs.p99Ms)}); ` +
    `login p99/max ${ms(run.loginBefore.p99Ms)}/${ms(run.loginBefore.maxMs)} before, ${ms(run.loginDuring.p99Ms)}/${ms(run.loginDuring.maxMs)} during ` +
    `(${run.loginDuring.samples} logins; machine ${Math.round(run.busyBefore * 100)} % busy before); cold authenticate p99/max ${ms(run.authBefore.p99Ms)}/${ms(run.authBefore.maxMs)} before, ` +
    `${ms(run.authDuring.p99Ms)}/${ms(run.authDuring.maxMs)} during; ${run.loginsOverTarget} logins over ${LOGIN_WAIT_TARGET_MS} ms` +
    (run.walMiB === undefined ? '' : `; ${run.walMiB.toFixed(0)} MiB of WAL, ${run.checkpoints} checkpoints`)
  );
}

async function measureSize(
  dialect: 'postgres' | 'mysql',
  count: number,
  options: BenchOptions,
  purges: readonly PurgeSettings[],
  log: (line: string) => void,
): Promise<ScaleRow> {
  const samples = options.quick ? 400 : 3000;
  const database = await openBenchDatabase(dialect, { label: `scale${count}` });
  try {
    const layout = scaleLayout(count);
    const load = dialect === 'postgres' ? await loadPostgres(database, layout, log) : await loadMysql(database, layout);
    // The load's dirty pages written now, not by a checkpoint in the middle of a measurement.
    if (dialect === 'postgres') await sql`checkpoint`.execute(database.db);
    const size = await tableMiB(database);
    log(
      `  ${DIALECT_LABELS[dialect]}, ${count.toLocaleString('en')} sessions: ${size.toFixed(0)} MiB with indexes, inserted in ${load.insertSeconds.toFixed(1)} s, ` +
        `indexes${dialect === 'postgres' ? ' and VACUUM ANALYZE' : ''} ${load.indexSeconds.toFixed(1)} s`,
    );

    const cache = new MemorySessionCache({ max: 1_000_000 });
    const manager = benchManager(database.store, cache);
    const used = new Set<number>();
    await waitForQuiet(10_000, 0.25);
    const { byKey, byId } = await coldLookups(manager, database, layout, samples, used);
    log(
      `    cold lookup by key p50 ${ms(byKey.p50Ms)} p99 ${ms(byKey.p99Ms)}, by id p50 ${ms(byId.p50Ms)} p99 ${ms(byId.p99Ms)} ` +
        `(${byKey.samples} each)`,
    );
    const views = layout.heavyStride > 0 ? await measureViews(manager, database, layout, options.quick, log) : undefined;

    const purgeRuns: PurgeRun[] = [];
    for (const settings of purges) {
      // Each run from a clean start: the writes before it (the load, the lookups' touches, the
      // previous run) flushed now, not by a checkpoint that lands in this run's figures.
      if (dialect === 'postgres') await sql`checkpoint`.execute(database.db);
      const run = await purgeWithLogins(manager, database, layout, settings, options.quick ? 2 : count >= 1_000_000 ? 5 : 3);
      purgeRuns.push(run);
      log(`    ${describePurge(run)}`);
    }
    await manager.close();
    const deleted = purgeRuns.reduce((n, r) => n + r.deleted, 0);
    const seconds = purgeRuns.reduce((n, r) => n + r.seconds, 0);
    const batches = purgeRuns.reduce((n, r) => n + r.batches, 0);
    return {
      dialect,
      sessions: count,
      insertSeconds: load.insertSeconds,
      indexSeconds: load.indexSeconds,
      tableMiB: size,
      lookupByKey: byKey,
      lookupById: byId,
      purge: { deleted, seconds, rowsPerSecond: deleted / seconds, batches },
      purgeRuns,
      ...(views === undefined ? {} : { views }),
    };
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

/** The settings that decide how often PostgreSQL checkpoints and what it keeps in memory. */
const POSTGRES_SETTINGS = [
  'max_wal_size',
  'checkpoint_timeout',
  'shared_buffers',
  'synchronous_commit',
  'full_page_writes',
  'wal_compression',
  'autovacuum',
] as const;

async function postgresSettings(): Promise<Record<string, string>> {
  const db = await openKysely('postgres', new QueryCounter(), 1);
  try {
    const out: Record<string, string> = {};
    for (const name of POSTGRES_SETTINGS) {
      const { rows } = await sql<Record<string, string>>`show ${sql.raw(name)}`.execute(db);
      out[name] = String(Object.values(rows[0] ?? {})[0] ?? '');
    }
    return out;
  } finally {
    await db.destroy();
  }
}

export async function runScale(options: BenchOptions, log: (line: string) => void): Promise<ScaleResults> {
  const settings = await postgresSettings();
  log(
    `  PostgreSQL: ${Object.entries(settings)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const sizes: number[] = SCALE_SIZES.filter((n) => n <= options.scaleMax);
  if (sizes.length === 0) sizes.push(options.scaleMax);
  const rows: ScaleRow[] = [];
  for (const count of sizes) rows.push(await measureSize('postgres', count, options, PURGES, log));
  // MariaDB at 1 M (100 k with --quick): the same measurements, without the 10 M table.
  const mariadb = [...MARIADB_SIZES].reverse().find((n) => n <= options.scaleMax);
  if (mariadb !== undefined) rows.push(await measureSize('mysql', mariadb, options, PURGES, log));
  const memory = cacheMemory(100_000);
  log(
    `  memory: ${(memory.heapBytes / 2 ** 20).toFixed(1)} MiB of heap for ${memory.sessions} cached sessions (${Math.round(memory.bytesPerSession)} B each)`,
  );
  return { rows, memory, postgresSettings: settings };
}

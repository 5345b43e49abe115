// Crash consistency: two app processes (test/helpers/crash-worker.ts) on one real PostgreSQL
// table and one Redis namespace serve the HTTP contract while clients sign in, sign out,
// revoke, obtain JWT pairs and refresh them (rotation on), and the test SIGKILLs a process at
// random moments, half of the time while a request of a chosen kind is in flight. The two
// alternate, so one always serves; a killed one is replaced at once by a process started ahead.
// After each kill (and at the end) a fresh SessionManager over a fresh store reads the database
// and the invariants below must hold. The run kills 110 times in about two and a half minutes.
// It found two bugs, fixed with their regression tests in crash-redis-invalidation.test.ts.
//
// What the test knows is only what a client knows: a request whose response arrived is
// ACKNOWLEDGED; one cut by a kill may or may not have happened. The invariants:
//
// 1. An acknowledged logout or revoke is never undone: the row stays inactive with the reason
//    of an ending the clients asked for, and its token (or access token, or refresh token) is
//    refused by the fresh manager, by the process that acknowledged it and by every process
//    started after (others may hold a local copy for the pub/sub latency; that window is the
//    cache's documented one, not a crash's).
// 2. An acknowledged login (opaque token or JWT pair) is usable: its row is active and complete
//    and its credential authenticates, until the client asks to end it.
// 3. A login not acknowledged is either absent or complete and usable: every row of the table is
//    one the clients asked for (each login sends a User-Agent naming its attempt), at most one
//    per attempt, with every column present and consistent (key hash and prefix of its token,
//    times, reason code iff inactive, refresh jti iff a JWT login), and active ones authenticate.
// 4. Once a refresh was acknowledged with a new refresh token, the old one is refused (by the
//    fresh manager, and the row's refresh_jti is no longer its jti), whatever crashed after.
//    A refresh cut by a kill either rotated or did not: presenting its token again succeeds
//    only if it had not.
// 5. Only last_online touches may be lost, and only recent ones. A process writes its touches at
//    most touchFlushIntervalMs (the default, 1000 ms) after making them, plus the time the write
//    itself takes (WRITE_ALLOWANCE_MS is allowed for it on two busy cores). So a touch made at
//    time L is in the database unless a process alive at L died before L + 1000 + 1500 ms. Each
//    `GET /api/me` answer reports the last_online its process holds for the session (its own
//    touch, or one it read from Redis or the database); the test checks, per session, that the
//    row's last_online is at least every reported value that no such death excuses.

import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { type AuthOutcome, SessionManager } from 'nilva-session';
import { KyselySessionStore } from 'nilva-session/kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { hashData, KEY_PREFIX_LENGTH } from '../../src/tokens/opaque-token.js';
import { bundleCrashWorker, type CrashWorker, type Outcome, startCrashWorker } from '../helpers/crash-cluster.js';
import { openTestDatabase, TEST_DATABASE_URLS, type TestDatabase } from '../helpers/databases.js';
import { deleteNamespace, REDIS_URL, uniqueNamespace } from '../helpers/redis.js';

/** SIGKILLs of the run, the last two of them at the end (both processes at once). */
const KILLS = 110;
const USERS = 6;
const CLIENTS = 5;
/** The workers' touchFlushIntervalMs (they keep the default). */
const FLUSH_MS = 1000;
/** Time allowed for a flush's UPDATE itself, on top of FLUSH_MS. */
const WRITE_ALLOWANCE_MS = 1500;
const SIGNING_KEY = `crash-consistency-${randomBytes(16).toString('hex')}`;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const SESSION_TTL_MS = 86_400_000;
/** Every reason the clients' requests can end a session with. */
const END_REASONS = new Set(['logout', 'revoked_by_user', 'refresh_reuse']);

type Kind = 'login' | 'token' | 'me' | 'refresh' | 'logout' | 'revoke';

interface Attempt {
  readonly n: number;
  readonly kind: 'login' | 'token';
  readonly userId: number;
  readonly userAgent: string;
  acked: boolean;
  /** The row seen for it in an earlier check (a row never disappears: nothing purges). */
  rowId?: string;
}

interface Claim {
  /** The last_online a process reported. */
  readonly at: number;
}

interface Session {
  readonly id: string;
  readonly userId: number;
  readonly kind: 'token' | 'jwt';
  readonly userAgent: string;
  readonly token?: string;
  access?: string;
  /** The current refresh token; `undefined` once it is unknown (a refresh was cut). */
  refresh?: string | undefined;
  /** A refresh token presented by a refresh that got no answer: it may have been rotated out. */
  uncertainRefresh?: string | undefined;
  /** Rotated out by an acknowledged refresh: refused forever, and never the row's jti again. */
  readonly retired: string[];
  /**
   * Presented again after a cut refresh and refused (rotated by the cut one, or the session had
   * ended meanwhile): refused forever.
   */
  readonly refused: string[];
  /** The reasons of every ending the clients asked for. */
  readonly endsAsked: Set<string>;
  /** The acknowledged ending: which process answered it, and when. */
  endAcked?: { readonly worker: CrashWorker; readonly at: number };
  busy: boolean;
  /** Changed since the last check: its credentials are tried by the next one. */
  dirty: boolean;
  /** Reported last_online values not yet proven or excused. */
  claims: Claim[];
  /** The latest reported last_online that must be in the database. */
  proven: number;
}

function mustLive(s: Session): boolean {
  return s.endsAsked.size === 0;
}

const sessions: Session[] = [];
const byId = new Map<string, Session>();
const attempts = new Map<number, Attempt>();
const violations: string[] = [];
const counts = {
  kills: 0,
  midRequestKills: 0,
  acked: {} as Record<string, number>,
  unacked: {} as Record<string, number>,
  staleOtherProcess: 0,
  touchesProven: 0,
  touchesExcused: 0,
  touchesLost: 0,
  oldestLostTouchMs: 0,
  checkMs: 0,
  waitedForSpareMs: 0,
  checks: 0,
  credentialChecks: 0,
};

function violation(message: string): void {
  if (violations.length < 50) violations.push(message);
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function random<T>(items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(Math.random() * items.length)];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function claimsOf(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function jtiOf(jwt: string): string {
  return String(claimsOf(jwt).jti);
}

function credential(s: Session): string {
  return s.kind === 'token' ? `Token ${s.token}` : `Bearer ${s.access}`;
}

let database: TestDatabase;
let namespace: string;
let bundle: Awaited<ReturnType<typeof bundleCrashWorker>>;
/** The two worker slots the clients send requests to; `undefined` between a kill and the next promotion. */
const slots: Array<CrashWorker | undefined> = [undefined, undefined];
/**
 * Processes started ahead and idle until a kill frees a slot: a killed process is replaced at
 * once, and the kills are not paced by start-up times.
 */
const spares: Array<Promise<CrashWorker>> = [];
/** Every process that served, and since when (it can have touched, cached or answered nothing before). */
const served = new Map<CrashWorker, number>();
let workerEnv: Record<string, string>;
const SPARES = 3;

function spawnSpare(): void {
  const spare = startCrashWorker(bundle.path, workerEnv, (message) => violation(message));
  spare.catch(() => undefined);
  spares.push(spare);
}

async function promote(slot: number): Promise<void> {
  const started = Date.now();
  const next = spares.shift();
  spawnSpare();
  const worker = await (next as Promise<CrashWorker>);
  counts.waitedForSpareMs += Date.now() - started;
  served.set(worker, Date.now());
  slots[slot] = worker;
}

beforeAll(async () => {
  database = await openTestDatabase('postgres', { userIdType: 'integer' });
  namespace = uniqueNamespace('crash-consistency');
  bundle = await bundleCrashWorker();
  workerEnv = {
    CRASH_DATABASE_URL: TEST_DATABASE_URLS.postgres,
    CRASH_TABLE: database.tableName,
    CRASH_REDIS_URL: REDIS_URL,
    CRASH_NAMESPACE: namespace,
    CRASH_SIGNING_KEY: SIGNING_KEY,
    CRASH_USERS: String(USERS),
  };
  for (let i = 0; i < SPARES; i++) spawnSpare();
  await Promise.all([promote(0), promote(1)]);
});

afterAll(async () => {
  for (const worker of slots) await worker?.kill().catch(() => undefined);
  for (const spare of spares.splice(0)) await (await spare.catch(() => undefined))?.kill();
  await bundle?.remove();
  if (namespace !== undefined) await deleteNamespace(namespace).catch(() => undefined);
  await database?.close();
});

// ---------------------------------------------------------------------------------------------
// Clients

let paused = false;
let stopping = false;
let resume: Promise<void> = Promise.resolve();
let release: () => void = () => undefined;
let running = 0;

function pause(): void {
  paused = true;
  resume = new Promise((resolve) => {
    release = resolve;
  });
}

function unpause(): void {
  paused = false;
  release();
}

async function idle(): Promise<void> {
  while (running > 0) await sleep(2);
}

function liveWorker(): CrashWorker | undefined {
  return random(slots.filter((w): w is CrashWorker => w !== undefined && w.diedAt === undefined));
}

/** A request on a live process, counted as acknowledged or not. */
async function call(
  kind: Kind,
  worker: CrashWorker,
  method: string,
  path: string,
  options: { authorization?: string | undefined; body?: unknown; userAgent: string },
): Promise<Outcome> {
  const outcome = await worker.request(method, path, { kind, ...options });
  if (outcome.acked) bump(counts.acked, kind);
  else {
    bump(counts.unacked, kind);
    // A process that is still alive never leaves a request unanswered.
    if (worker.diedAt === undefined) violation(`${kind} on live worker ${worker.incarnation} got no answer: ${outcome.error}`);
  }
  return outcome;
}

function unexpected(what: string, outcome: Outcome & { acked: true }): void {
  violation(`${what}: answered ${outcome.status} ${JSON.stringify(outcome.json)}`);
}

let nextAttempt = 1;

async function login(worker: CrashWorker, kind: 'login' | 'token'): Promise<void> {
  const userId = 1 + Math.floor(Math.random() * USERS);
  const n = nextAttempt++;
  const userAgent = `${FIREFOX} crash-attempt/${n}`;
  const attempt: Attempt = { n, kind, userId, userAgent, acked: false };
  attempts.set(n, attempt);
  const body = { username: `user${userId}`, password: `pw-${userId}` };
  const outcome = await call(kind, worker, 'POST', kind === 'login' ? '/api/login' : '/api/token', { body, userAgent });
  if (!outcome.acked) return;
  if (outcome.status !== 200) return unexpected(`${kind} of user ${userId}`, outcome);
  attempt.acked = true;
  const json = outcome.json as { token?: string; session_id?: string; access?: string; refresh?: string };
  const id = kind === 'login' ? String(json.session_id) : String(claimsOf(String(json.access)).session_id);
  const session: Session = {
    id,
    userId,
    kind: kind === 'login' ? 'token' : 'jwt',
    userAgent,
    ...(kind === 'login' ? { token: String(json.token) } : { access: String(json.access), refresh: String(json.refresh) }),
    retired: [],
    refused: [],
    endsAsked: new Set(),
    busy: false,
    dirty: true,
    claims: [],
    proven: 0,
  };
  sessions.push(session);
  byId.set(id, session);
}

/** `GET /api/me`: an alive session is accepted, an ended one refused (see invariant 1). */
async function me(worker: CrashWorker, s: Session): Promise<void> {
  const live = mustLive(s);
  const outcome = await call('me', worker, 'GET', '/api/me', { authorization: credential(s), userAgent: s.userAgent });
  if (!outcome.acked) return;
  const ended = s.endAcked;
  if (outcome.status === 200) {
    const json = outcome.json as { session_id?: string; last_online?: number };
    if (json.session_id !== s.id) return unexpected(`me of ${s.id}`, outcome);
    if (ended !== undefined) {
      // Only a process that was already running when another acknowledged the ending can still
      // hold a local copy (for the pub/sub latency); the one that acknowledged it, and any
      // process started after, must refuse.
      if (worker === ended.worker || (served.get(worker) as number) > ended.at) {
        const late = worker === ended.worker ? 'the one that acknowledged its ending' : 'serving since after the ending';
        violation(
          `ended session ${s.id} (${s.kind}) accepted by worker ${worker.incarnation} (${late}); ended by worker ${ended.worker.incarnation} at ${ended.at}, stderr: ${ended.worker.stderr().slice(-600)}`,
        );
      } else counts.staleOtherProcess++;
      return;
    }
    if (typeof json.last_online === 'number') s.claims.push({ at: json.last_online });
    return;
  }
  if (outcome.status === 401 && !live) return;
  unexpected(`me of ${live ? 'alive' : 'ending'} session ${s.id}`, outcome);
}

async function refresh(worker: CrashWorker, s: Session): Promise<void> {
  const presented = s.uncertainRefresh ?? s.refresh;
  if (presented === undefined) return;
  const retry = s.uncertainRefresh !== undefined;
  const live = mustLive(s);
  const outcome = await call('refresh', worker, 'POST', '/api/token/refresh', { body: { refresh: presented }, userAgent: s.userAgent });
  s.dirty = true;
  if (!outcome.acked) {
    // Rotated or not: unknown. Presented again later, it tells.
    s.uncertainRefresh = presented;
    s.refresh = undefined;
    if (retry) s.endsAsked.add('refresh_reuse');
    return;
  }
  if (outcome.status === 200) {
    const json = outcome.json as { access?: string; refresh?: string };
    if (s.endAcked !== undefined) return violation(`refresh of ended session ${s.id} accepted by worker ${worker.incarnation}`);
    if (typeof json.refresh !== 'string' || typeof json.access !== 'string') return unexpected(`refresh of ${s.id}`, outcome);
    s.retired.push(presented);
    s.refresh = json.refresh;
    s.access = json.access;
    s.uncertainRefresh = undefined;
    return;
  }
  if (outcome.status === 401) {
    if (retry) {
      // The cut refresh had rotated it: refused now, refused forever. Presenting a rotated-out
      // token past rotationGraceSeconds also ends the session (theft detection).
      s.refused.push(presented);
      s.uncertainRefresh = undefined;
      s.endsAsked.add('refresh_reuse');
      return;
    }
    if (!live) return;
  }
  unexpected(`refresh of ${live ? 'alive' : 'ending'} session ${s.id}`, outcome);
}

/** `POST logout`, or `DELETE active?token_id=` from another alive session of the same user. */
async function end(worker: CrashWorker, s: Session, by: Session | undefined): Promise<void> {
  const kind: Kind = by === undefined ? 'logout' : 'revoke';
  const reason = by === undefined ? 'logout' : 'revoked_by_user';
  const wasLive = mustLive(s);
  s.endsAsked.add(reason);
  s.dirty = true;
  const outcome =
    by === undefined
      ? await call(kind, worker, 'POST', '/api/logout', { authorization: credential(s), userAgent: s.userAgent })
      : await call(kind, worker, 'DELETE', `/api/active?token_id=${s.id}`, { authorization: credential(by), userAgent: by.userAgent });
  if (!outcome.acked) return;
  if (outcome.status === 204) {
    s.endAcked ??= { worker, at: Date.now() };
    return;
  }
  // A logout of a session that an earlier cut request may have ended is refused: fine.
  if (outcome.status === 401 && by === undefined && !wasLive) return;
  unexpected(`${kind} of ${s.id}`, outcome);
}

function pick(filter: (s: Session) => boolean): Session | undefined {
  // Recent sessions are the ones a client would use; old ones are still tried now and then.
  const recent = sessions.slice(-60);
  return random((Math.random() < 0.8 ? recent : sessions).filter((s) => !s.busy && filter(s)));
}

async function step(worker: CrashWorker): Promise<void> {
  const roll = Math.random();
  if (roll < 0.14) return login(worker, 'login');
  if (roll < 0.22) return login(worker, 'token');
  let chosen: Session[] = [];
  let run: () => Promise<void>;
  if (roll < 0.55) {
    const s = pick((x) => Math.random() < 0.85 || !mustLive(x));
    if (s === undefined) return;
    chosen = [s];
    run = () => me(worker, s);
  } else if (roll < 0.75) {
    const s = pick((x) => x.kind === 'jwt' && (x.refresh !== undefined || x.uncertainRefresh !== undefined));
    if (s === undefined) return;
    chosen = [s];
    run = () => refresh(worker, s);
  } else if (roll < 0.87) {
    const s = pick((x) => x.endAcked === undefined && x.uncertainRefresh === undefined);
    if (s === undefined) return;
    chosen = [s];
    run = () => end(worker, s, undefined);
  } else {
    const s = pick((x) => x.endAcked === undefined);
    if (s === undefined) return;
    s.busy = true;
    const by = pick((x) => x.userId === s.userId && x !== s && mustLive(x));
    s.busy = false;
    if (by === undefined) return;
    chosen = [s, by];
    run = () => end(worker, s, by);
  }
  for (const s of chosen) s.busy = true;
  try {
    await run();
  } finally {
    for (const s of chosen) s.busy = false;
  }
}

async function client(): Promise<void> {
  while (!stopping) {
    if (paused) {
      await resume;
      continue;
    }
    const worker = liveWorker();
    if (worker === undefined) {
      await sleep(5);
      continue;
    }
    running++;
    try {
      await step(worker);
    } finally {
      running--;
    }
    await sleep(10 + Math.random() * 40);
  }
}

// ---------------------------------------------------------------------------------------------
// Checks, with a fresh manager and store over the database

interface Row {
  id: string;
  user_id: string | number;
  key_hash: string;
  key_prefix: string;
  expire_at: Date | null;
  is_active: boolean;
  last_online: Date;
  last_ip: string;
  user_agent: string;
  detail: string | null;
  end_reason: string | null;
  created_at: Date;
  authenticated_at: Date;
  refresh_jti: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function freshManager(): SessionManager {
  const store = new KyselySessionStore({ db: database.db, dialect: 'postgres', tableName: database.tableName, userIdType: 'integer' });
  return new SessionManager({
    store,
    loadUser: (userId) => ({ id: Number(userId), isActive: true }),
    // A rotated-out refresh token is refused without ending its session, so the check changes
    // nothing; its touches are never written (the interval is never reached).
    jwt: { signingKey: SIGNING_KEY, rotateRefreshTokens: true, rotationGraceSeconds: 10 * 365 * 86_400 },
    touchFlushIntervalMs: 3_600_000,
    logger: { warn: (message) => violation(`checker warned: ${message}`) },
  });
}

/** Whether a process alive at `at` died before the touch it made then had to be written. */
function touchStatus(at: number, now: number): 'proven' | 'excused' | 'pending' {
  const due = at + FLUSH_MS + WRITE_ALLOWANCE_MS;
  let pending = false;
  for (const [worker, from] of served) {
    const died = worker.diedAt;
    if (from > at || (died !== undefined && died < at)) continue;
    if (died !== undefined && died < due) return 'excused';
    if (died === undefined && now < due) pending = true;
  }
  return pending ? 'pending' : 'proven';
}

function checkRow(row: Row, now: number): void {
  const where = `row ${row.id}`;
  const problems: string[] = [];
  const userId = Number(row.user_id);
  if (!UUID.test(row.id)) problems.push('id is not a UUID');
  if (!Number.isInteger(userId) || userId < 1 || userId > USERS) problems.push(`user_id ${row.user_id}`);
  if (!/^[0-9a-f]{64}$/.test(row.key_hash)) problems.push('key_hash');
  if (typeof row.key_prefix !== 'string' || !new RegExp(`^[a-z0-9]{${KEY_PREFIX_LENGTH}}$`).test(row.key_prefix))
    problems.push('key_prefix');
  if (typeof row.is_active !== 'boolean') problems.push('is_active');
  if (row.is_active !== (row.end_reason === null)) problems.push(`end_reason ${row.end_reason} with is_active ${row.is_active}`);
  if (row.is_active !== (row.detail === null)) problems.push(`detail ${row.detail} with is_active ${row.is_active}`);
  if (row.end_reason !== null && !END_REASONS.has(row.end_reason)) problems.push(`end_reason ${row.end_reason}`);
  if (!(row.created_at instanceof Date) || !(row.last_online instanceof Date) || !(row.authenticated_at instanceof Date)) {
    problems.push('times');
  } else {
    if (row.authenticated_at.getTime() !== row.created_at.getTime()) problems.push('authenticated_at ≠ created_at');
    if (row.expire_at?.getTime() !== row.created_at.getTime() + SESSION_TTL_MS) problems.push('expire_at ≠ created_at + ttl');
    if (row.last_online.getTime() < row.created_at.getTime() || row.last_online.getTime() > now) problems.push('last_online out of range');
  }
  if (row.last_ip !== '127.0.0.1') problems.push(`last_ip ${row.last_ip}`);
  const n = Number(/ crash-attempt\/(\d+)$/.exec(row.user_agent)?.[1]);
  const attempt = attempts.get(n);
  if (attempt === undefined) problems.push(`user_agent names no attempt: ${row.user_agent}`);
  else {
    if (attempt.userId !== userId) problems.push(`user ${userId} for attempt of user ${attempt.userId}`);
    if ((attempt.kind === 'token') !== (row.refresh_jti !== null)) problems.push(`refresh_jti ${row.refresh_jti} for a ${attempt.kind}`);
    if (attempt.rowId !== undefined && attempt.rowId !== row.id) problems.push(`second row for attempt ${n}`);
    attempt.rowId = row.id;
  }
  if (problems.length > 0) violation(`${where}: ${problems.join('; ')}`);
}

async function authenticates(checker: SessionManager, authorization: string, userAgent: string): Promise<AuthOutcome<unknown> | undefined> {
  counts.credentialChecks++;
  return checker.authenticate(authorization, { ip: '127.0.0.1', userAgent });
}

async function check(label: string, full: boolean): Promise<void> {
  counts.checks++;
  // Touches are judged as of before the read (a touch due by then must be in what it reads);
  // times in rows must not be later than after it.
  const readAt = Date.now();
  const checker = freshManager();
  const { rows } = await sql<Row>`select * from ${sql.table(database.tableName)}`.execute(database.db);
  const now = Date.now();
  const rowById = new Map<string, Row>();
  for (const row of rows) {
    checkRow(row, now);
    rowById.set(row.id, row);
  }
  for (const attempt of attempts.values()) {
    if (attempt.acked && attempt.rowId === undefined) violation(`${label}: acknowledged ${attempt.kind} ${attempt.n} has no row`);
  }
  // Rows of logins nobody saw answered: nobody can end them, so they are active and usable.
  for (const row of rows) {
    if (byId.has(row.id)) continue;
    const n = Number(/ crash-attempt\/(\d+)$/.exec(row.user_agent)?.[1]);
    const attempt = attempts.get(n);
    if (attempt === undefined || attempt.acked) {
      if (attempt?.acked) violation(`${label}: row ${row.id} of acknowledged attempt ${n} is not the session it answered`);
      continue;
    }
    if (!row.is_active) violation(`${label}: unacknowledged login's row ${row.id} is inactive (${row.end_reason})`);
    const outcome = await checker.authenticateSessionId(row.id, { ip: '127.0.0.1', userAgent: row.user_agent }, Number(row.user_id));
    counts.credentialChecks++;
    if (!outcome.ok) violation(`${label}: unacknowledged login's row ${row.id} does not authenticate (${outcome.error.code})`);
  }

  const sample = new Set(sessions.filter(() => Math.random() < 20 / Math.max(20, sessions.length)));
  for (const s of sessions) {
    const row = rowById.get(s.id);
    if (row === undefined) {
      violation(`${label}: acknowledged session ${s.id} has no row`);
      continue;
    }
    const allowed = new Set(s.endsAsked);
    if (s.token !== undefined && (row.key_hash !== hashData(s.token) || row.key_prefix !== s.token.slice(0, KEY_PREFIX_LENGTH))) {
      violation(`${label}: row ${s.id} does not hold its token's hash and prefix`);
    }
    if (s.endAcked !== undefined && row.is_active) violation(`${label}: acknowledged ending of ${s.id} undone: the row is active`);
    if (!row.is_active && !allowed.has(row.end_reason ?? ''))
      violation(`${label}: ${s.id} ended as ${row.end_reason}, asked ${[...allowed]}`);
    if (mustLive(s) && !row.is_active) violation(`${label}: alive session ${s.id} is inactive (${row.end_reason})`);
    if (mustLive(s) && s.refresh !== undefined && row.refresh_jti !== jtiOf(s.refresh)) {
      violation(`${label}: ${s.id}'s refresh_jti is not its current refresh token's`);
    }
    for (const old of s.retired) {
      if (row.refresh_jti === jtiOf(old)) violation(`${label}: ${s.id}'s refresh_jti is a rotated-out token's again`);
    }
    // Touches (invariant 5).
    const keep: Claim[] = [];
    for (const claim of s.claims) {
      const status = touchStatus(claim.at, readAt);
      if (status === 'pending') keep.push(claim);
      else if (status === 'proven') {
        counts.touchesProven++;
        s.proven = Math.max(s.proven, claim.at);
      } else {
        counts.touchesExcused++;
        if (row.last_online.getTime() < claim.at) {
          counts.touchesLost++;
          const killed = [...served].filter(([w, from]) => w.diedAt !== undefined && from <= claim.at && w.diedAt >= claim.at);
          const age = Math.max(...killed.map(([w]) => (w.diedAt as number) - claim.at));
          counts.oldestLostTouchMs = Math.max(counts.oldestLostTouchMs, age);
        }
      }
    }
    s.claims = keep;
    if (row.last_online.getTime() < s.proven) {
      violation(`${label}: ${s.id}'s last_online ${row.last_online.toISOString()} lost a touch of ${new Date(s.proven).toISOString()}`);
    }

    if (!full && !s.dirty && !sample.has(s)) continue;
    s.dirty = false;
    // Credentials, through the fresh manager.
    const outcome = await authenticates(checker, credential(s), s.userAgent);
    const accepted = outcome?.ok === true;
    if (mustLive(s) && !accepted)
      violation(`${label}: alive session ${s.id} refused (${outcome?.ok === false ? outcome.error.code : 'anonymous'})`);
    if (s.endAcked !== undefined && accepted) violation(`${label}: ended session ${s.id} accepted`);
    if (!mustLive(s) && s.endAcked === undefined && accepted !== row.is_active) {
      // The rows were read before this check, and the worker still serving may since have
      // answered an ending that was in flight: judge on the row as it is after the check, and
      // a second check after that read; only a disagreement that persists is a violation.
      const { rows: again } = await sql<Row>`select * from ${sql.table(database.tableName)} where id = ${s.id}`.execute(database.db);
      const second = (await authenticates(checker, credential(s), s.userAgent))?.ok === true;
      const { rows: after } = await sql<Row>`select * from ${sql.table(database.tableName)} where id = ${s.id}`.execute(database.db);
      const activeThroughout = again[0]?.is_active === true && after[0]?.is_active === true;
      const endedThroughout = again[0]?.is_active === false && after[0]?.is_active === false;
      if ((second && endedThroughout) || (!second && activeThroughout)) {
        violation(`${label}: ${s.id} accepted ${second} but its row says active ${after[0]?.is_active}`);
      }
    }
    for (const old of [...s.retired, ...s.refused]) {
      counts.credentialChecks++;
      const result = await checker.refresh(old);
      if (result.ok) violation(`${label}: rotated-out refresh token of ${s.id} accepted`);
    }
    if (s.endAcked !== undefined && s.refresh !== undefined) {
      counts.credentialChecks++;
      const result = await checker.refresh(s.refresh);
      if (result.ok) violation(`${label}: refresh token of ended session ${s.id} accepted`);
    }
  }
  if (full) {
    // The end: every alive session's current refresh token refreshes once more, and the pair it
    // returns works.
    for (const s of sessions) {
      if (!mustLive(s) || s.refresh === undefined) continue;
      const result = await checker.refresh(s.refresh);
      counts.credentialChecks++;
      if (!result.ok || result.refresh === undefined) {
        violation(`${label}: alive session ${s.id}'s refresh token refused (${result.ok ? 'no new token' : result.error.code})`);
        continue;
      }
      const access = await authenticates(checker, `Bearer ${result.access}`, s.userAgent);
      if (access?.ok !== true) violation(`${label}: the access token refreshed for ${s.id} is refused`);
      if ((await checker.refresh(s.refresh)).ok) violation(`${label}: ${s.id}'s refresh token accepted twice`);
      s.retired.push(s.refresh);
      s.refresh = result.refresh;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The killer

async function killOne(slot: number): Promise<void> {
  const worker = slots[slot] as CrashWorker;
  if (Math.random() < 0.5) {
    // While a request of this kind is in flight there: most land between its database write and
    // its answer, or inside the write.
    const kind = random<Kind>(['login', 'token', 'refresh', 'logout', 'revoke', 'me']) as Kind;
    await Promise.race([worker.nextRequest(kind), sleep(3000)]);
    await sleep(Math.random() * 6);
    if (worker.inflight(kind) > 0) counts.midRequestKills++;
  } else {
    // A random moment; one in three waits long enough for touches to reach the bound.
    await sleep(Math.random() < 0.35 ? 2000 + Math.random() * 2500 : Math.random() * 500);
  }
  await worker.kill();
  counts.kills++;
  slots[slot] = undefined;
}

test(`SIGKILLed ${KILLS} times mid-traffic, the database keeps every acknowledged fact`, async () => {
  const clients = Array.from({ length: CLIENTS }, () => client());
  for (let k = 0; k < KILLS - 2; k++) {
    // Alternating: the other process serves while one dies and is replaced.
    const slot = k % 2;
    await killOne(slot);
    pause();
    await idle();
    const started = Date.now();
    await check(`after kill ${counts.kills}`, false);
    counts.checkMs += Date.now() - started;
    await promote(slot);
    unpause();
  }
  // The end: both processes at once, mid-traffic, then the full check.
  await sleep(500);
  await Promise.all(
    slots.map(async (worker, slot) => {
      await worker?.kill();
      counts.kills++;
      slots[slot] = undefined;
    }),
  );
  stopping = true;
  unpause();
  await Promise.all(clients);
  await check('at the end', true);

  // What the processes logged (a Redis command timing out on the starved machine, say).
  const logged: Record<string, number> = {};
  for (const worker of served.keys()) {
    for (const line of worker.stderr().split('\n')) if (line.trim() !== '') bump(logged, line.slice(0, 120));
  }
  console.log(`crash consistency: ${JSON.stringify(counts)}; sessions ${sessions.length}, attempts ${attempts.size}`);
  console.log(`crash consistency, worker logs: ${JSON.stringify(logged)}`);
  expect(violations).toEqual([]);
  expect(counts.kills).toBeGreaterThanOrEqual(100);
  // The run exercised what it claims to: requests cut of every kind, and touches checked.
  for (const kind of ['login', 'token', 'refresh', 'logout', 'revoke', 'me']) {
    expect(counts.unacked[kind] ?? 0, `${kind} requests cut by a kill`).toBeGreaterThan(0);
    expect(counts.acked[kind] ?? 0, `${kind} requests answered`).toBeGreaterThan(0);
  }
  expect(counts.touchesProven).toBeGreaterThan(0);
}, 400_000);

#!/usr/bin/env node
// The `nilva-session` command: database maintenance for the session table.
import { parseArgs } from 'node:util';
import type { SessionRecord, UserId } from '../core/session.js';
import type { SessionCache } from '../core/session-cache.js';
import { SessionManager } from '../core/session-manager.js';
import { connectDatabase } from '../store/connect.js';
import { type DjangoConversionReport, migrateFromDjango } from '../store/django-conversion.js';
import { KyselySessionStore } from '../store/kysely-session-store.js';
import { migrateSessionStore } from '../store/migrations.js';
import type { UserIdType } from '../store/session-table.js';
import { userAgentData } from '../useragent/user-agent-data.js';
import { parseDuration } from './parse-duration.js';
import { createProgress } from './progress.js';

const USAGE = `Usage: nilva-session <command> [options]

Commands:
  migrate                      Create or upgrade the session table and its indexes (safe to run again).
  migrate --from-django        Convert the Python original's user_session table in place, keeping every
                               session (docs/migrating-from-django.md). Batched, resumable after an
                               interruption (run it again), idempotent. With:
    --dry-run                  print the plan and the sessions by state; change nothing
    --expire-missing-after D   give the sessions without expiry one, D after the conversion starts
                               (30d, 12h, 90m, 3600s); default: they keep never expiring, as the
                               original promised
    --coexistence              PostgreSQL, MySQL: the Django app keeps serving the same table (triggers
                               fill this library's columns for its rows; MySQL ids keep Django's form)
    --end-coexistence          the move is over: drop the coexistence triggers
    --drop-raw-keys            drop the raw key column, once every row has its hash (no way back to
                               the Django app afterwards)
  purge                        Delete expired sessions in batches (and, with --inactive-retention-days,
                               sessions ended longer ago than that). Active sessions are never touched.
  sessions list --user ID      The user's active, unexpired sessions, newest first (no tokens shown).
  sessions revoke --user ID    End every session of the user.
  sessions revoke --session ID End one session.
                               With --redis-url (or $REDIS_URL), running app instances drop the
                               session from their caches at once; without it they may keep serving
                               it from an in-process cache until its cache entry expires.

Options:
  --database-url URL            postgres://…, mysql://… or sqlite:PATH (default: $DATABASE_URL)
  --redis-url URL               the apps' Redis, for cache invalidation (default: $REDIS_URL)
  --redis-namespace NS          the apps' cache namespace (default: nilva:)
  --table NAME                  session table name (default: user_session)
  --user-id-type string|integer type of user_id when migrate creates the table (default: string);
                               other commands read it from the table (given, it must agree)
  --batch-size N                rows per statement (purge) or per transaction (--from-django) (default: 1000)
  --pause-ms N                  purge: wait N ms between batches, leaving the database's disk to the apps
                               while a large backlog goes; 0 for as fast as it can (default: 50)
  --inactive-retention-days N   purge also deletes sessions inactive for N days
  -h, --help                    show this help

Examples:
  DATABASE_URL=postgres://postgres@127.0.0.1/app nilva-session migrate --user-id-type integer
  nilva-session purge --database-url sqlite:./app.sqlite --inactive-retention-days 30
  nilva-session sessions revoke --user 42 --redis-url redis://127.0.0.1:6379
`;

class UsageError extends Error {}

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function nonNegativeInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

function userIdOf(value: string | undefined, type: 'string' | 'integer' | undefined): UserId {
  if (value === undefined || value === '') throw new UsageError('give --user ID');
  // Without a type the store matches the text against the table's own user_id type.
  if (type !== 'integer') return value;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new UsageError(`--user must be an integer with --user-id-type integer, got ${JSON.stringify(value)}`);
  return n;
}

function row(session: SessionRecord): string {
  const ua = userAgentData(session.userAgent);
  const expires = session.expireAt === null ? 'never' : session.expireAt.toISOString();
  return [
    session.id,
    `${session.keyPrefix}…`,
    session.lastOnline.toISOString(),
    session.lastIp || '-',
    `${ua.browser} on ${ua.os}`,
    `expires ${expires}`,
  ].join('  ');
}

/** What the conversion found and did, for people. */
function conversionSummary(report: DjangoConversionReport, dialect: string): string {
  const c = report.counts;
  const lines = [
    `${report.dryRun ? 'dry run (nothing changed): ' : ''}${report.tableName} on ${dialect}, ${report.state === 'original' ? "the Python original's table" : report.state}`,
    `sessions: ${c.active} active, ${c.neverExpires} never-expires, ${c.expired} expired, ${c.suspended} suspended (${c.total} in all)`,
    ...(report.keyLengths.length === 0
      ? []
      : [`raw keys by length: ${report.keyLengths.map((k) => `${k.length} characters: ${k.count}`).join(', ')}`]),
    'plan:',
    ...report.plan.map((step) => `  - ${step}`),
  ];
  if (report.keyLengths.length > 1) {
    lines.push('note: the keys differ in length; tokenSize accepts one length: the other keys will be refused');
  }
  if (!report.dryRun) {
    lines.push(
      `converted ${report.converted} row(s); recorded ${report.applied.length === 0 ? 'no migration' : report.applied.join(', ')}; ` +
        `coexistence triggers ${report.coexistence ? 'on' : 'off'}; raw keys ${report.rawKeys ? 'kept' : 'dropped'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'database-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'redis-namespace': { type: 'string' },
      table: { type: 'string' },
      'user-id-type': { type: 'string' },
      'batch-size': { type: 'string' },
      'pause-ms': { type: 'string' },
      'inactive-retention-days': { type: 'string' },
      'from-django': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'expire-missing-after': { type: 'string' },
      coexistence: { type: 'boolean' },
      'end-coexistence': { type: 'boolean' },
      'drop-raw-keys': { type: 'boolean' },
      user: { type: 'string' },
      session: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  if (command !== 'migrate' && command !== 'purge' && command !== 'sessions')
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (command === 'sessions' && sub !== 'list' && sub !== 'revoke') throw new UsageError('use "sessions list" or "sessions revoke"');
  const url = values['database-url'] ?? process.env.DATABASE_URL;
  if (url === undefined || url === '') throw new UsageError('give --database-url or set DATABASE_URL');
  const rawIdType = values['user-id-type'];
  if (rawIdType !== undefined && rawIdType !== 'string' && rawIdType !== 'integer') {
    throw new UsageError('--user-id-type must be "string" or "integer"');
  }
  const userIdType = rawIdType as UserIdType | undefined;
  const tableName = values.table;
  const batchSize = positiveInteger('batch-size', values['batch-size']);
  const pauseMs = nonNegativeInteger('pause-ms', values['pause-ms']);
  if (pauseMs !== undefined && command !== 'purge') throw new UsageError('--pause-ms goes with purge');
  const retentionDays = positiveInteger('inactive-retention-days', values['inactive-retention-days']);
  if (sub === 'revoke' && (values.user === undefined) === (values.session === undefined)) {
    throw new UsageError('give either --user ID or --session ID');
  }
  const userId = sub === 'list' || values.user !== undefined ? userIdOf(values.user, userIdType) : undefined;
  const fromDjango = values['from-django'] === true;
  for (const name of ['dry-run', 'expire-missing-after', 'coexistence', 'end-coexistence', 'drop-raw-keys'] as const) {
    if (values[name] !== undefined && !fromDjango) throw new UsageError(`--${name} goes with migrate --from-django`);
  }
  if (fromDjango && command !== 'migrate') throw new UsageError('--from-django goes with migrate');
  const rawExpiry = values['expire-missing-after'];
  const expireMissingAfterSeconds = rawExpiry === undefined ? undefined : parseDuration(rawExpiry);
  if (rawExpiry !== undefined && expireMissingAfterSeconds === undefined) {
    throw new UsageError(`--expire-missing-after must be a duration such as 30d, 12h, 90m or 3600s, got ${JSON.stringify(rawExpiry)}`);
  }
  if (values.coexistence === true && (values['drop-raw-keys'] === true || values['end-coexistence'] === true)) {
    throw new UsageError('--coexistence goes with neither --end-coexistence nor --drop-raw-keys');
  }
  if (fromDjango && userIdType !== undefined)
    throw new UsageError("--user-id-type does not go with --from-django: user_id keeps the original's type");

  const database = await connectDatabase(url);
  let cache: SessionCache | undefined;
  try {
    const table = tableName === undefined ? {} : { tableName };
    const idType = userIdType === undefined ? {} : { userIdType };
    if (command === 'migrate' && fromDjango) {
      const progress = createProgress(process.stderr, `converting ${tableName ?? 'user_session'}`);
      let drawn = false;
      const report = await migrateFromDjango(database.db, {
        dialect: database.dialect,
        ...table,
        ...(batchSize === undefined ? {} : { batchSize }),
        ...(expireMissingAfterSeconds === undefined ? {} : { expireMissingAfterSeconds }),
        dryRun: values['dry-run'] === true,
        coexistence: values.coexistence === true,
        endCoexistence: values['end-coexistence'] === true,
        dropRawKeys: values['drop-raw-keys'] === true,
        onProgress: ({ done, total }) => {
          drawn = true;
          progress.update(done, total);
        },
      });
      if (drawn) progress.finish();
      process.stdout.write(conversionSummary(report, database.dialect));
      return 0;
    }
    if (command === 'migrate') {
      await migrateSessionStore(database.db, { dialect: database.dialect, ...idType, ...table });
      process.stdout.write(`migrated ${tableName ?? 'user_session'} on ${database.dialect}\n`);
      return 0;
    }
    const redisUrl = values['redis-url'] ?? process.env.REDIS_URL;
    if (sub === 'revoke' && redisUrl !== undefined && redisUrl !== '') {
      const { createRedisSessionCache } = await import('../cache/create-redis-session-cache.js');
      const namespace = values['redis-namespace'];
      cache = await createRedisSessionCache({ url: redisUrl, ...(namespace === undefined ? {} : { namespace }) });
    }
    const store = new KyselySessionStore({ db: database.db, dialect: database.dialect, ...idType, ...table });
    const manager = new SessionManager({ store, cache });
    try {
      await manager.ready();
      if (command === 'purge') {
        const result = await manager.purgeExpired({
          ...(batchSize === undefined ? {} : { batchSize }),
          ...(pauseMs === undefined ? {} : { pauseMs }),
          ...(retentionDays === undefined ? {} : { inactiveRetentionSeconds: retentionDays * 86_400 }),
        });
        process.stdout.write(`purged ${result.deleted} session(s) in ${result.batches} batch(es)\n`);
      } else if (sub === 'list') {
        const sessions = await manager.listSessions(userId as UserId);
        for (const session of sessions) process.stdout.write(`${row(session)}\n`);
        process.stdout.write(`${sessions.length} active session(s)\n`);
      } else {
        const count =
          userId !== undefined
            ? await manager.revokeAllForUser(userId, { reason: 'admin' })
            : Number(await manager.revokeSession((values.session as string).toLowerCase(), 'admin'));
        process.stdout.write(`revoked ${count} session(s)\n`);
        if (cache === undefined && count > 0) {
          process.stderr.write(
            'note: no --redis-url: running apps may serve these sessions from an in-process cache until the entry expires\n',
          );
        }
      }
    } finally {
      await manager.close();
    }
    return 0;
  } finally {
    await cache?.close?.();
    await database.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`nilva-session: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const causeMessage = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
    // The library's own errors already say what failed and what to do, with their prefix.
    const cause = causeMessage === '' || message.includes(causeMessage) ? '' : ` (${causeMessage})`;
    process.stderr.write(`${message.startsWith('nilva-session: ') ? '' : 'nilva-session: '}${message}${cause}\n`);
    process.exitCode = 1;
  },
);

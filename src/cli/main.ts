#!/usr/bin/env node
// The `nilva-session` command: database maintenance for the session table.
import { parseArgs } from 'node:util';
import { SessionManager } from '../core/session-manager.js';
import { connectDatabase } from '../store/connect.js';
import { KyselySessionStore } from '../store/kysely-session-store.js';
import { migrateSessionStore } from '../store/migrations.js';

const USAGE = `Usage: nilva-session <command> [options]

Commands:
  migrate   Create or upgrade the session table and its indexes (safe to run again).
  purge     Delete expired sessions in batches (and, with --inactive-retention-days,
            sessions ended longer ago than that). Active sessions are never touched.

Options:
  --database-url URL            postgres://…, mysql://… or sqlite:PATH (default: $DATABASE_URL)
  --table NAME                  session table name (default: user_session)
  --user-id-type string|integer type of user_id when migrate creates the table (default: string)
  --batch-size N                rows deleted per statement by purge (default: 1000)
  --inactive-retention-days N   purge also deletes sessions inactive for N days
  -h, --help                    show this help

Examples:
  DATABASE_URL=postgres://postgres@127.0.0.1/app nilva-session migrate
  nilva-session purge --database-url sqlite:./app.sqlite --inactive-retention-days 30
`;

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

class UsageError extends Error {}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'database-url': { type: 'string' },
      table: { type: 'string' },
      'user-id-type': { type: 'string' },
      'batch-size': { type: 'string' },
      'inactive-retention-days': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help === true || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  if (command !== 'migrate' && command !== 'purge') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const url = values['database-url'] ?? process.env.DATABASE_URL;
  if (url === undefined || url === '') throw new UsageError('give --database-url or set DATABASE_URL');
  const userIdType = values['user-id-type'] ?? 'string';
  if (userIdType !== 'string' && userIdType !== 'integer') throw new UsageError('--user-id-type must be "string" or "integer"');
  const tableName = values.table;
  const batchSize = positiveInteger('batch-size', values['batch-size']);
  const retentionDays = positiveInteger('inactive-retention-days', values['inactive-retention-days']);

  const database = await connectDatabase(url);
  try {
    const table = tableName === undefined ? {} : { tableName };
    if (command === 'migrate') {
      await migrateSessionStore(database.db, { dialect: database.dialect, userIdType, ...table });
      process.stdout.write(`migrated ${tableName ?? 'user_session'} on ${database.dialect}\n`);
      return 0;
    }
    const store = new KyselySessionStore({ db: database.db, dialect: database.dialect, ...table });
    const manager = new SessionManager({ store });
    const result = await manager.purgeExpired({
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(retentionDays === undefined ? {} : { inactiveRetentionSeconds: retentionDays * 86_400 }),
    });
    await manager.close();
    process.stdout.write(`purged ${result.deleted} session(s) in ${result.batches} batch(es)\n`);
    return 0;
  } finally {
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
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    process.stderr.write(`nilva-session: ${error instanceof Error ? error.message : String(error)}${cause}\n`);
    process.exitCode = 1;
  },
);

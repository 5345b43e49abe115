// `nilva-session migrate --from-django` as a process, against the original's table on the three
// real databases: the dry run, the conversion, refusals, and a run killed with SIGKILL in the
// middle of 20,000 rows and run again, whose result equals an uninterrupted run's.
import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { SessionManager } from 'nilva-session';
import { KyselySessionStore } from 'nilva-session/kysely';
import { afterEach, describe, expect, test } from 'vitest';
import { DIALECTS } from '../helpers/databases.js';
import { type DjangoDatabase, fixtureTokens, insertGeneratedSessions, openDjangoDatabase } from '../helpers/django-fixture.js';
import { ROOT, run, TSX } from '../helpers/processes.js';

const CLI = 'src/cli/main.ts';
const quiet = { warn: () => undefined, error: () => undefined };

describe.each(DIALECTS)('nilva-session migrate --from-django on %s', (dialect) => {
  const opened: DjangoDatabase[] = [];
  const open = async (...args: Parameters<typeof openDjangoDatabase> extends [unknown, ...infer R] ? R : never) => {
    const database = await openDjangoDatabase(dialect, ...args);
    opened.push(database);
    return database;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((d) => d.close()));
  });

  test('--dry-run prints the plan and the sessions by state, and changes nothing', async () => {
    const django = await open();
    const r = await run(TSX, [CLI, 'migrate', '--from-django', '--dry-run', '--database-url', django.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dry run (nothing changed): user_session on');
    expect(r.stdout).toContain('sessions: 4 active, 4 never-expires, 3 expired, 1 suspended (12 in all)');
    expect(r.stdout).toContain('raw keys by length: 50 characters: 12');
    expect(r.stdout).toContain('keep the sessions without expire_at never-expiring');
    expect(r.stderr).toBe('');
    const again = await run(TSX, [CLI, 'migrate', '--from-django', '--dry-run', '--database-url', django.url]);
    expect(again.stdout).toContain("the Python original's table"); // still unconverted
  });

  test('converts, with plain progress lines when not on a terminal; the tokens then authenticate', async () => {
    const django = await open();
    const r = await run(TSX, [CLI, 'migrate', '--from-django', '--database-url', django.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('converting user_session: 0/12 rows (0%)');
    expect(r.stderr).toMatch(/converting user_session: 12\/12 rows \(100%\), \d+ rows\/s, done\n$/);
    expect(r.stderr).not.toContain('\r');
    expect(r.stdout).toContain(
      'converted 12 row(s); recorded create_session_table, add_refresh_jti, add_admin_indexes, add_end_reason_and_authenticated_at, add_user_last_online_index; coexistence triggers off; raw keys kept',
    );
    const plain = await run(TSX, [CLI, 'migrate', '--database-url', django.url]);
    expect(plain.code, plain.stderr).toBe(0);
    const store = new KyselySessionStore({ db: django.db, dialect });
    const manager = new SessionManager({ store, logger: quiet });
    await manager.ready();
    for (const token of fixtureTokens()) {
      const row = await store.findById(token.id);
      const outcome = await manager.authenticate(`Token ${token.key}`, { ip: row?.lastIp ?? '', userAgent: row?.userAgent ?? '' });
      expect(outcome?.ok, token.id).toBe(token.accepted);
    }
    await manager.close();
    const again = await run(TSX, [CLI, 'migrate', '--from-django', '--drop-raw-keys', '--database-url', django.url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('converted 0 row(s); recorded no migration; coexistence triggers off; raw keys dropped');
  });

  test('refuses a table it does not recognise (exit 1, naming the difference), and bad flags (exit 2)', async () => {
    const django = await open();
    await django.run([
      dialect === 'mysql' ? 'ALTER TABLE `user_session` DROP COLUMN `detail`' : 'ALTER TABLE "user_session" DROP COLUMN "detail"',
    ]);
    const refused = await run(TSX, [CLI, 'migrate', '--from-django', '--database-url', django.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('column `detail` is missing');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const bad = await run(TSX, [CLI, 'migrate', '--from-django', '--expire-missing-after', '30 days', '--database-url', django.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--expire-missing-after must be a duration such as 30d');
    const alone = await run(TSX, [CLI, 'migrate', '--drop-raw-keys', '--database-url', django.url]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--drop-raw-keys goes with migrate --from-django');
    if (dialect === 'sqlite') {
      const coexist = await run(TSX, [CLI, 'migrate', '--from-django', '--coexistence', '--database-url', django.url]);
      expect(coexist.code).toBe(1);
      expect(coexist.stderr).toContain('"coexistence" is for PostgreSQL and MySQL/MariaDB');
    }
  });

  test('killed with SIGKILL in the middle of 20,000 rows, then run again: the result equals an uninterrupted run', async () => {
    const [interrupted, straight] = await Promise.all([open(['auth_user', 'ddl']), open(['auth_user', 'ddl'])]);
    await Promise.all([insertGeneratedSessions(interrupted, 20_000, 7), insertGeneratedSessions(straight, 20_000, 7)]);
    // Small batches: hundreds of transactions, so the kill lands in the middle of the work.
    const args = (url: string) => [CLI, 'migrate', '--from-django', '--batch-size', '50', '--database-url', url];

    const killed = await new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
      // node itself with tsx's loader: the `tsx` command would run the CLI in a child process,
      // which a SIGKILL of the command does not reach.
      const child = spawn(process.execPath, ['--import', 'tsx', ...args(interrupted.url)], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Past a tenth of the rows and not at the end: kill it in the middle of the work.
        const seen = [...stderr.matchAll(/converting user_session: (\d+)\/20000/g)].map((m) => Number(m[1]));
        if (seen.some((n) => n >= 2000 && n < 20_000) && child.exitCode === null) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('close', (_code, signal) => resolve({ signal, stderr }));
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    // It stopped part-way: some rows converted, some not.
    expect(await convertedRows(interrupted)).toBeGreaterThan(0);
    expect(await convertedRows(interrupted)).toBeLessThan(20_000);

    const [resumed, uninterrupted] = await Promise.all([run(TSX, args(interrupted.url)), run(TSX, args(straight.url))]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resume the interrupted conversion of "user_session"');
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);

    const [a, b] = await Promise.all([dump(interrupted), dump(straight)]);
    expect(a.rows).toHaveLength(20_000);
    expect(a.rows).toEqual(b.rows);
    expect(a.migrations).toEqual(b.migrations);
    expect(a.rows.every((row) => typeof row.key_hash === 'string' && row.key_hash.length === 64)).toBe(true);
    // Three runs of 400 transactions each, on two busy cores: a generous bound.
  }, 180_000);
});

/** Rows already in this library's form: hashed (PostgreSQL, MySQL), or copied into the rebuilt table (SQLite). */
async function convertedRows(django: DjangoDatabase): Promise<number> {
  const query =
    django.dialect === 'sqlite'
      ? sql<{ n: number }>`select count(*) as n from user_session__nilva_django`
      : sql<{ n: number }>`select count(*) as n from user_session where key_hash is not null`;
  return Number((await query.execute(django.db)).rows[0]?.n);
}

/** Every row of the converted table, in id order, and the migrations recorded for it. */
async function dump(django: DjangoDatabase): Promise<{ rows: Record<string, unknown>[]; migrations: unknown[] }> {
  const { rows } = await sql<Record<string, unknown>>`select * from user_session order by id`.execute(django.db);
  const { rows: migrations } = await sql<{ version: number; name: string }>`select version, name from nilva_session_migrations
    where table_name = 'user_session' order by version`.execute(django.db);
  return { rows, migrations: migrations.map((m) => `${m.version} ${m.name}`) };
}

// The conversion of the Python original's table (as real Django created and filled it, from
// test/fixtures/django-user-session) on the three real databases: every token of tokens.csv
// authenticates as the file says afterwards, and the table is this library's.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { SessionManager } from 'nilva-session';
import { KyselySessionStore, migrateFromDjango, migrateSessionStore } from 'nilva-session/kysely';
import { afterEach, describe, expect, test } from 'vitest';
import { DIALECTS } from '../helpers/databases.js';
import { type DjangoDatabase, FIXTURE_USER_IDS, fixtureStatements, fixtureTokens, openDjangoDatabase } from '../helpers/django-fixture.js';

const tokens = fixtureTokens();
const quiet = { warn: () => undefined, error: () => undefined };

async function columnsOf(django: DjangoDatabase, table = 'user_session'): Promise<string[]> {
  const query =
    django.dialect === 'postgres'
      ? sql<{
          name: string;
        }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${table}`
      : django.dialect === 'mysql'
        ? sql<{
            name: string;
          }>`select column_name as name from information_schema.columns where table_schema = database() and table_name = ${table}`
        : sql<{ name: string }>`select name from pragma_table_info(${table})`;
  return (await query.execute(django.db)).rows.map((row) => String(row.name).toLowerCase());
}

async function tableExists(django: DjangoDatabase, table: string): Promise<boolean> {
  return (await columnsOf(django, table)).length > 0;
}

/** The refusal each refused state answers, by the original's contract. */
const REFUSAL = { expired: 'ERR_SESSION_EXPIRED', suspended: 'ERR_SESSION_SUSPENDED' } as const;

describe.each(DIALECTS)('migrateFromDjango on %s', (dialect) => {
  let django: DjangoDatabase | undefined;
  afterEach(async () => {
    await django?.close();
    django = undefined;
  });

  test('every fixture token authenticates as tokens.csv says, and the table is this library’s', async () => {
    django = await openDjangoDatabase(dialect);
    const report = await migrateFromDjango(django.db, { dialect });
    expect(report.state).toBe('original');
    expect(report.converted).toBe(12);
    expect(report.applied).toEqual([
      'create_session_table',
      'add_refresh_jti',
      'add_admin_indexes',
      'add_end_reason_and_authenticated_at',
      'add_user_last_online_index',
    ]);
    expect(report.counts).toEqual({ active: 4, neverExpires: 4, expired: 3, suspended: 1, total: 12 });
    expect(report.rawKeys).toBe(true);

    // migrateSessionStore sees an up-to-date table; the store and the manager accept it.
    expect(await migrateSessionStore(django.db, { dialect })).toEqual({ applied: [] });
    const store = new KyselySessionStore({ db: django.db, dialect });
    const manager = new SessionManager({ store, logger: quiet });
    await manager.ready();
    expect(store.userIdType).toBe('integer');

    for (const token of tokens) {
      const row = await store.findById(token.id);
      expect(row, token.id).toBeDefined();
      expect(row?.userId).toBe(FIXTURE_USER_IDS[token.user]);
      // The client sends what it sent at sign-in: the stored address and User-Agent.
      const facts = { ip: row?.lastIp ?? '', userAgent: row?.userAgent ?? '' };
      const outcome = await manager.authenticate(`Token ${token.key}`, facts);
      if (token.accepted) {
        expect(outcome, `${token.expectedState} ${token.id}`).toMatchObject({ ok: true, session: { id: token.id } });
      } else {
        const state = token.expectedState as keyof typeof REFUSAL;
        expect(outcome, `${token.expectedState} ${token.id}`).toMatchObject({ ok: false, error: { code: REFUSAL[state] } });
      }
    }
    await manager.close();
  });

  test('the rows take this library’s forms: hyphenated ids, hashes, addresses, times, end reasons', async () => {
    django = await openDjangoDatabase(dialect);
    await migrateFromDjango(django.db, { dialect });
    const { rows } = await sql<Record<string, unknown>>`select * from user_session`.execute(django.db);
    expect(rows).toHaveLength(12);
    const byId = new Map(rows.map((row) => [String(row.id), row]));
    for (const token of tokens) {
      const row = byId.get(token.id);
      expect(row, `${token.id} is stored hyphenated`).toBeDefined();
      expect(row?.key).toBe(token.key); // kept until --drop-raw-keys
      expect(row?.key_hash).toBe(createHash('sha256').update(token.key).digest('hex'));
      expect(row?.key_prefix).toBe(token.key.slice(0, 8));
      expect(row?.end_reason).toBe(token.expectedState === 'suspended' ? 'user_agent_changed' : null);
      expect(row?.refresh_jti).toBeNull();
      expect(String(row?.authenticated_at)).toBe(String(row?.created_at));
    }
    const ip = (id: string) => byId.get(id)?.last_ip;
    expect(ip('dbadf472-2faf-461e-b64d-d7ad2a175fdd')).toBe('2001:db8:85a3::8a2e:370:7334'); // no /128 (PostgreSQL's inet text)
    expect(ip('d5b4e8e6-0ce8-43f4-91b8-a9c4adde46a7')).toBe('192.0.2.33');
    const time = (id: string, column: string) => byId.get(id)?.[column];
    if (dialect === 'sqlite') {
      // ISO-8601 UTC text, which the store compares as text: Django's naive text is gone.
      expect(time('42396cb5-d007-438a-96b6-f696066ebbf0', 'expire_at')).toBe('2099-06-30T20:29:59.999Z');
      expect(time('1eedbf54-50b6-4957-83f4-0fe349fee825', 'created_at')).toBe('2025-05-13T13:13:17.000Z');
      expect(time('46fcd802-f9c7-4094-b452-4517b84b2606', 'expire_at')).toBeNull();
      expect(time('dbadf472-2faf-461e-b64d-d7ad2a175fdd', 'expire_at')).toBe('2099-01-31T06:00:00.250Z');
    } else {
      expect((time('42396cb5-d007-438a-96b6-f696066ebbf0', 'expire_at') as Date).toISOString()).toBe('2099-06-30T20:29:59.999Z');
      expect((time('1eedbf54-50b6-4957-83f4-0fe349fee825', 'created_at') as Date).toISOString()).toBe('2025-05-13T13:13:17.000Z');
    }
  });

  test('a dry run reports the plan and the counts by state, and writes nothing', async () => {
    django = await openDjangoDatabase(dialect);
    const report = await migrateFromDjango(django.db, { dialect, dryRun: true });
    expect(report).toMatchObject({ dryRun: true, state: 'original', converted: 0, applied: [], coexistence: false, rawKeys: true });
    expect(report.counts).toEqual({ active: 4, neverExpires: 4, expired: 3, suspended: 1, total: 12 });
    expect(report.keyLengths).toEqual([{ length: 50, count: 12 }]);
    expect(report.plan.join('\n')).toContain('keep the sessions without expire_at never-expiring');
    expect(await columnsOf(django)).not.toContain('key_hash');
    expect(await tableExists(django, 'nilva_session_migrations')).toBe(false);
    expect(await tableExists(django, 'user_session__nilva_django')).toBe(false);
  });

  test('a table that is not the original’s is refused, with what differs, and left alone', async () => {
    django = await openDjangoDatabase(dialect, ['auth_user']);
    // The original's DDL without `detail`, with expire_at as text, and a column it never had.
    const ddl = fixtureStatements(dialect, 'ddl').map((statement) =>
      statement
        .replace(/, [`"]detail[`"] (long)?text NULL/, ', "extra" integer NULL'.replaceAll('"', dialect === 'mysql' ? '`' : '"'))
        .replace(/([`"]expire_at[`"]) [a-z ()0-9]+? NULL/, '$1 varchar(30) NULL'),
    );
    await django.run(ddl);
    const refused = migrateFromDjango(django.db, { dialect });
    await expect(refused).rejects.toThrow(/is not the Python original's user_session, so it is left alone/);
    await expect(refused).rejects.toThrow('column `detail` is missing');
    await expect(refused).rejects.toThrow(/column `expire_at` is (varchar\(30\)|character varying), expected a date-time/);
    await expect(refused).rejects.toThrow("column `extra` is not one of the original's");
    await expect(migrateFromDjango(django.db, { dialect, dryRun: true })).rejects.toThrow('column `detail` is missing');
    expect(await columnsOf(django)).not.toContain('key_hash');
    // migrateSessionStore refuses the original's table too, rather than record it as migrated.
    const original = await openDjangoDatabase(dialect);
    try {
      await expect(migrateSessionStore(original.db, { dialect })).rejects.toThrow('nilva-session migrate --from-django');
      expect(await columnsOf(original)).not.toContain('key_hash');
    } finally {
      await original.close();
    }
  });

  test('dropRawKeys drops the key column once every row has its hash; the tokens still work', async () => {
    django = await openDjangoDatabase(dialect);
    const report = await migrateFromDjango(django.db, { dialect, dropRawKeys: true });
    expect(report).toMatchObject({ converted: 12, rawKeys: false });
    expect(await columnsOf(django)).not.toContain('key');
    expect((await migrateFromDjango(django.db, { dialect, dryRun: true })).keyLengths).toEqual([]);
    const store = new KyselySessionStore({ db: django.db, dialect });
    const manager = new SessionManager({ store, logger: quiet });
    await manager.ready();
    for (const token of tokens) {
      const row = await store.findById(token.id);
      const outcome = await manager.authenticate(`Token ${token.key}`, { ip: row?.lastIp ?? '', userAgent: row?.userAgent ?? '' });
      expect(outcome?.ok, token.id).toBe(token.accepted);
    }
    await manager.close();
  });

  test('expireMissingAfterSeconds gives the never-expiring sessions an expiry from the start of the conversion', async () => {
    django = await openDjangoDatabase(dialect);
    const before = Date.now();
    const report = await migrateFromDjango(django.db, { dialect, expireMissingAfterSeconds: 30 * 86_400 });
    const after = Date.now();
    expect(report.plan.join('\n')).toContain('give the active sessions without expire_at an expiry 2592000 s after the conversion started');
    const store = new KyselySessionStore({ db: django.db, dialect });
    const manager = new SessionManager({ store, logger: quiet });
    for (const token of tokens) {
      const row = await store.findById(token.id);
      if (token.expectedState === 'never-expires') {
        const at = row?.expireAt?.getTime() ?? Number.NaN;
        // Whole seconds: the recorded start has no fraction.
        expect(at).toBeGreaterThanOrEqual(before - 1000 + 30 * 86_400_000);
        expect(at).toBeLessThanOrEqual(after + 30 * 86_400_000);
      }
      const outcome = await manager.authenticate(`Token ${token.key}`, { ip: row?.lastIp ?? '', userAgent: row?.userAgent ?? '' });
      expect(outcome?.ok, token.id).toBe(token.accepted);
    }
    // The other rows keep their expiry (the fixture's, to the millisecond).
    expect((await store.findById('46b2343f-3bf1-412f-bc6d-45c4a0ec7418'))?.expireAt?.toISOString()).toBe('2025-01-15T12:00:00.000Z');
    await manager.close();
  });

  test('options are validated', async () => {
    django = await openDjangoDatabase(dialect, ['auth_user']);
    const db = django.db;
    await expect(migrateFromDjango(db, { dialect, batchSize: 0 })).rejects.toThrow(
      'option "batchSize" must be an integer from 1 to 100000',
    );
    await expect(migrateFromDjango(db, { dialect, expireMissingAfterSeconds: -1 })).rejects.toThrow(
      'option "expireMissingAfterSeconds" must be a positive integer or null',
    );
    await expect(migrateFromDjango(db, { dialect, dropRawKey: true } as never)).rejects.toThrow('did you mean "dropRawKeys"?');
    await expect(migrateFromDjango(db, { dialect, coexistence: true, dropRawKeys: true })).rejects.toThrow(TypeError);
    await expect(migrateFromDjango(db, { dialect })).rejects.toThrow('the table "user_session" does not exist');
  });

  test('the raw key column stays empty for sessions created here without djangoCoexistence', async () => {
    django = await openDjangoDatabase(dialect);
    await migrateFromDjango(django.db, { dialect });
    const manager = new SessionManager({ store: new KyselySessionStore({ db: django.db, dialect }), logger: quiet });
    const { token, session } = await manager.createSession({ userId: FIXTURE_USER_IDS.alice, ip: '10.0.0.1', userAgent: 'curl/8.5.0' });
    await manager.close();
    const { rows } = await sql<Record<string, unknown>>`select * from user_session where key_hash = ${session.keyHash}`.execute(django.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.key).toBeNull();
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  test('a second run has nothing to do; the store lists and revokes converted sessions', async () => {
    django = await openDjangoDatabase(dialect);
    await migrateFromDjango(django.db, { dialect });
    const again = await migrateFromDjango(django.db, { dialect });
    expect(again).toMatchObject({ state: 'converted', converted: 0, applied: [] });
    const manager = new SessionManager({ store: new KyselySessionStore({ db: django.db, dialect }), logger: quiet });
    const alice = await manager.listSessions(FIXTURE_USER_IDS.alice);
    // Alice's accepted sessions, newest last_online first.
    expect(alice.map((s) => s.id)).toEqual(['dbadf472-2faf-461e-b64d-d7ad2a175fdd', '46fcd802-f9c7-4094-b452-4517b84b2606']);
    expect(await manager.revokeSession('46fcd802-f9c7-4094-b452-4517b84b2606', 'logout')).toBe(true);
    const never = tokens[0] as (typeof tokens)[number];
    expect(await manager.authenticate(`Token ${never.key}`, { ip: '203.0.113.24', userAgent: '' })).toMatchObject({
      ok: false,
      error: { code: 'ERR_SESSION_SUSPENDED' },
    });
    await manager.close();
  });
});

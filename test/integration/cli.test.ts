// The `nilva-session` command against real databases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { run, TSX } from '../helpers/processes.js';

const CLI = 'src/cli/main.ts';
const dir = mkdtempSync(join(tmpdir(), 'nilva-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nilva-session CLI', () => {
  test('--help describes migrate and purge', async () => {
    const r = await run(TSX, [CLI, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('migrate');
    expect(r.stdout).toContain('purge');
  });

  test('an unknown command or a bad option exits 2 with the usage', async () => {
    const r = await run(TSX, [CLI, 'explode'], { DATABASE_URL: 'sqlite::memory:' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "explode"');
    const bad = await run(TSX, [CLI, 'purge', '--batch-size', 'lots'], { DATABASE_URL: 'sqlite::memory:' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--batch-size must be a positive integer');
  });

  test('without a database URL it says what to give', async () => {
    const r = await run(TSX, [CLI, 'migrate'], { DATABASE_URL: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL');
  });

  test('migrate is idempotent and purge deletes nothing on an empty table (SQLite file)', async () => {
    const url = `sqlite:${join(dir, 'cli.sqlite')}`;
    for (let i = 0; i < 2; i++) {
      const m = await run(TSX, [CLI, 'migrate'], { DATABASE_URL: url });
      expect(m.code, m.stderr).toBe(0);
    }
    const p = await run(TSX, [CLI, 'purge', '--database-url', url, '--inactive-retention-days', '30']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe('purged 0 session(s) in 1 batch(es)\n');
  });

  test('an unreachable database exits 1 with a message, not a stack trace', async () => {
    const r = await run(TSX, [CLI, 'migrate'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nilva-session: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('nilva-session sessions list | revoke', () => {
  test('lists a user’s sessions without tokens, and a revoke reaches a running app’s cache through Redis', async () => {
    const { openTestDatabase } = await import('../helpers/databases.js');
    const { SessionManager } = await import('../../src/core/session-manager.js');
    const { createRedisSessionCache } = await import('../../src/cache/create-redis-session-cache.js');
    const database = await openTestDatabase('postgres', { userIdType: 'integer' });
    const namespace = `cli-${process.pid}-${Date.now()}:`;
    const cache = await createRedisSessionCache({ url: 'redis://127.0.0.1:6379', namespace });
    const manager = new SessionManager({ store: database.store, cache, logger: { warn: () => undefined } });
    const facts = { ip: '10.0.0.1', userAgent: 'curl/8.4.0' };
    try {
      const { token, session } = await manager.createSession({ userId: 42, ...facts });
      expect((await manager.authenticate(`Token ${token}`, facts))?.ok).toBe(true);
      expect(manager.authenticate(`Token ${token}`, facts)).toMatchObject({ ok: true }); // warm: synchronous
      const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' };
      const common = ['--table', database.tableName, '--user-id-type', 'integer'];
      const list = await run(TSX, [CLI, 'sessions', 'list', '--user', '42', ...common], env);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain(session.id);
      expect(list.stdout).toContain(`${token.slice(0, 8)}…`);
      expect(list.stdout).not.toContain(token);
      expect(list.stdout).toContain('1 active session(s)');
      const revoke = await run(
        TSX,
        [CLI, 'sessions', 'revoke', '--user', '42', ...common, '--redis-url', 'redis://127.0.0.1:6379', '--redis-namespace', namespace],
        env,
      );
      expect(revoke.code, revoke.stderr).toBe(0);
      expect(revoke.stdout).toBe('revoked 1 session(s)\n');
      const deadline = Date.now() + 2000;
      let outcome = await manager.authenticate(`Token ${token}`, facts);
      while (outcome?.ok && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        outcome = await manager.authenticate(`Token ${token}`, facts);
      }
      expect(outcome?.ok).toBe(false);
      const bad = await run(TSX, [CLI, 'sessions', 'revoke', ...common], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('give either --user ID or --session ID');
    } finally {
      await manager.close();
      await cache.close();
      await database.close();
    }
  });
});

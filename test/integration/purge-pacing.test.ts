// purgeExpired's pause between batches (`pauseMs`, `nilva-session purge --pause-ms`), against the
// real stores: the batches are spaced, and the purge still deletes every expired row and no other.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SessionManager } from '../../src/core/session-manager.js';
import type { SessionStore } from '../../src/core/session-store.js';
import { connectDatabase, KyselySessionStore, migrateSessionStore } from '../../src/store/index.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { run, TSX } from '../helpers/processes.js';

const facts = { ip: '10.1.1.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0' };

/** The store, with the start and end (ms) of every deleteExpired call recorded. */
function timedStore(store: SessionStore): { store: SessionStore; calls: Array<{ start: number; end: number; deleted: number }> } {
  const calls: Array<{ start: number; end: number; deleted: number }> = [];
  const proxy = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target) as unknown;
      if (name === 'deleteExpired') {
        return async (options: Parameters<SessionStore['deleteExpired']>[0]) => {
          const start = performance.now();
          const refs = await target.deleteExpired(options);
          calls.push({ start, end: performance.now(), deleted: refs.length });
          return refs;
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: proxy, calls };
}

describe.each(DIALECTS)('purgeExpired pacing on %s', (dialect) => {
  let database: TestDatabase;
  let userSeq = 1;

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
  });
  afterAll(async () => {
    await database?.close();
  });

  test('pauseMs waits between batches, not after the last one, and the purge still deletes every expired row and no live one', async () => {
    const { store, calls } = timedStore(database.store);
    const manager = new SessionManager({ store });
    try {
      const userId = `pacing-${userSeq++}`;
      const live = await manager.createSession({ userId, ...facts });
      const expired = [];
      for (let i = 0; i < 5; i++) expired.push(await manager.createSession({ userId, ...facts, expireAt: new Date(Date.now() - 60_000) }));
      const result = await manager.purgeExpired({ batchSize: 2, pauseMs: 40 });
      expect(result).toEqual({ deleted: 5, batches: 3 });
      expect(calls.map((c) => c.deleted)).toEqual([2, 2, 1]);
      // Timers may fire a fraction of a millisecond early.
      for (let k = 1; k < calls.length; k++) {
        expect((calls[k]?.start ?? 0) - (calls[k - 1]?.end ?? 0)).toBeGreaterThanOrEqual(39);
      }
      for (const s of expired) expect(await database.store.findById(s.session.id)).toBeUndefined();
      expect((await manager.authenticate(`Token ${live.token}`, facts))?.ok).toBe(true);
    } finally {
      await manager.close();
    }
  });

  test('pauseMs must be a non-negative integer', async () => {
    const manager = new SessionManager({ store: database.store });
    try {
      for (const pauseMs of [-1, 1.5, Number.NaN]) {
        await expect(manager.purgeExpired({ pauseMs })).rejects.toThrow(/pauseMs must be a non-negative integer/);
      }
      await expect(manager.purgeExpired({ pauseMs: 0 })).resolves.toMatchObject({ batches: 1 });
    } finally {
      await manager.close();
    }
  });
});

describe('nilva-session purge --pause-ms', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nilva-pacing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('purges in spaced batches; a bad value or another command exits 2', async () => {
    const url = `sqlite:${join(dir, 'pacing.sqlite')}`;
    const database = await connectDatabase(url);
    try {
      await migrateSessionStore(database.db, { dialect: database.dialect });
      const manager = new SessionManager({ store: new KyselySessionStore({ db: database.db, dialect: database.dialect }) });
      for (let i = 0; i < 3; i++) await manager.createSession({ userId: 'u1', ...facts, expireAt: new Date(Date.now() - 60_000) });
      await manager.close();
    } finally {
      await database.close();
    }
    const p = await run(TSX, ['src/cli/main.ts', 'purge', '--database-url', url, '--batch-size', '2', '--pause-ms', '20']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe('purged 3 session(s) in 2 batch(es)\n');
    for (const value of ['soon', '1.5', '=-5']) {
      const bad = await run(TSX, [
        'src/cli/main.ts',
        'purge',
        '--database-url',
        url,
        `--pause-ms${value.startsWith('=') ? value : ''}`,
        ...(value.startsWith('=') ? [] : [value]),
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`--pause-ms must be a non-negative integer, got "${value.replace(/^=/, '')}"`);
    }
    const elsewhere = await run(TSX, ['src/cli/main.ts', 'migrate', '--database-url', url, '--pause-ms', '5']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('--pause-ms goes with purge');
  });
});

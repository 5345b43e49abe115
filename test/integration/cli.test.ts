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

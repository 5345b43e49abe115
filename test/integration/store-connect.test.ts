// connectDatabase against the real servers: every URL form, the SQLite pragmas, and drivers
// loaded only when their scheme is used.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import { connectDatabase } from '../../src/store/connect.js';
import type { SqlDialect } from '../../src/store/session-table.js';

const run = promisify(execFile);
const STORE_MODULE = new URL('../../src/store/index.ts', import.meta.url).href;
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const files: string[] = [];

function tempFile(): string {
  const file = join(tmpdir(), `nilva-connect-${randomUUID()}.db`);
  files.push(file);
  return file;
}

afterAll(() => {
  for (const file of files) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
});

describe('connectDatabase', () => {
  const cases: Array<[string, () => string, SqlDialect]> = [
    ['postgres://', () => 'postgres://postgres@127.0.0.1:5432/test', 'postgres'],
    ['postgresql://', () => 'postgresql://postgres@127.0.0.1:5432/test', 'postgres'],
    ['mysql://', () => 'mysql://root@127.0.0.1:3306/test', 'mysql'],
    ['mariadb://', () => 'mariadb://root@127.0.0.1:3306/test', 'mysql'],
    ['sqlite::memory:', () => 'sqlite::memory:', 'sqlite'],
    ['file::memory:', () => 'file::memory:', 'sqlite'],
    ['sqlite:PATH', () => `sqlite:${tempFile()}`, 'sqlite'],
    ['sqlite:///ABSOLUTE', () => `sqlite://${tempFile()}`, 'sqlite'],
    ['file:///ABSOLUTE', () => pathToFileURL(tempFile()).href, 'sqlite'],
  ];

  test.each(cases)('opens %s', async (_name, url, dialect) => {
    const connection = await connectDatabase(url());
    try {
      expect(connection.dialect).toBe(dialect);
      const { rows } = await sql<{ one: number | string }>`select 1 as one`.execute(connection.db);
      expect(Number(rows[0]?.one)).toBe(1);
    } finally {
      await connection.close();
    }
  });

  test('opens SQLite files in WAL mode with a busy timeout', async () => {
    const file = tempFile();
    const connection = await connectDatabase(`sqlite:${file}`);
    try {
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(connection.db);
      expect(mode.rows[0]?.journal_mode).toBe('wal');
      const timeout = await sql<{ timeout: number }>`pragma busy_timeout`.execute(connection.db);
      expect(timeout.rows[0]?.timeout).toBe(5000);
    } finally {
      await connection.close();
    }
  });

  test('mysql2 pools convert Dates as UTC, both ways', async () => {
    const connection = await connectDatabase('mysql://root@127.0.0.1:3306/test');
    try {
      const at = new Date(Date.UTC(2026, 10, 27, 23, 59, 59, 999));
      const { rows } = await sql<{
        text: string;
        back: Date;
      }>`select cast(${at} as char) as text, cast(${at} as datetime(3)) as back`.execute(connection.db);
      expect(rows[0]?.text).toBe('2026-11-27 23:59:59.999');
      expect(rows[0]?.back).toEqual(at);
    } finally {
      await connection.close();
    }
  });

  test.each([
    ['postgres://postgres@127.0.0.1:5432/test', ['pg']],
    ['mysql://root@127.0.0.1:3306/test', ['mysql2']],
    ['sqlite::memory:', ['better-sqlite3']],
  ])('loads only the driver of %s', async (url, expected) => {
    // A fresh process, so that no other test has loaded a driver already.
    const code = `
      const { connectDatabase } = await import(${JSON.stringify(STORE_MODULE)});
      const connection = await connectDatabase(process.argv[1]);
      await connection.close();
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(process.cwd() + '/').cache);
      const drivers = ['pg', 'mysql2', 'better-sqlite3'].filter((name) => loaded.some((path) => path.includes('/node_modules/' + name + '/')));
      process.stdout.write(JSON.stringify(drivers));`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, url], { cwd: REPO_ROOT });
    expect(JSON.parse(stdout)).toEqual(expected);
  });
});

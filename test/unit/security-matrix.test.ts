// SECURITY.md names, for every security requirement, the test that proves it. A renamed or
// deleted test would leave a requirement unproven while the table still claimed it: here every
// named test must exist, under that title, in that file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

interface Row {
  readonly id: string;
  readonly file: string;
  readonly title: string;
}

/** The requirement rows of SECURITY.md's table: `| id | requirement | file | `title` |`. */
function rows(): Row[] {
  const text = readFileSync(join(ROOT, 'SECURITY.md'), 'utf8');
  const out: Row[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    // ['', id, requirement, file, test, '']
    if (cells.length !== 6 || !/^test\/\S+\.test\.ts$/.test(cells[3] ?? '')) continue;
    const title = /^`(.+)`$/.exec(cells[4] ?? '')?.[1];
    out.push({ id: cells[1] ?? '', file: cells[3] ?? '', title: title ?? '' });
  }
  return out;
}

test('SECURITY.md lists its requirements, each with a test file and title, ids unique', () => {
  const table = rows();
  expect(table.length).toBeGreaterThanOrEqual(80);
  expect(new Set(table.map((row) => row.id)).size).toBe(table.length);
  for (const row of table) expect(row.title, row.id).not.toBe('');
});

test('every test SECURITY.md names exists in the file it names', () => {
  const missing: string[] = [];
  for (const row of rows()) {
    const path = join(ROOT, row.file);
    if (!existsSync(path)) {
      missing.push(`${row.id}: no file ${row.file}`);
      continue;
    }
    const source = readFileSync(path, 'utf8');
    // The title as the test declares it: test('…'), it("…"), test.each(…)(`…`).
    const declared = ["'", '"', '`'].some((quote) => source.includes(`${quote}${row.title}${quote}`));
    if (!declared) missing.push(`${row.id}: no test titled ${JSON.stringify(row.title)} in ${row.file}`);
  }
  expect(missing).toEqual([]);
});

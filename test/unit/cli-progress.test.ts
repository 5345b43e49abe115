import { describe, expect, test } from 'vitest';
import { parseDuration } from '../../src/cli/parse-duration.js';
import { createProgress, duration } from '../../src/cli/progress.js';

function output(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, written, write: (text: string) => written.push(text) };
}

describe('createProgress', () => {
  test('on a terminal: one line redrawn in place, with a bar, rows/s and the time left', () => {
    let now = 0;
    const out = output(true);
    const progress = createProgress(out, 'converting user_session', () => now);
    now = 1000;
    progress.update(1000, 4000);
    expect(out.written).toEqual([
      `\r[${'#'.repeat(8)}${'-'.repeat(22)}] converting user_session: 1000/4000 rows (25%), 1000 rows/s, ETA 3s\x1b[K`,
    ]);
    now = 1050;
    progress.update(1100, 4000); // within 100 ms of the last drawing: not redrawn
    expect(out.written).toHaveLength(1);
    now = 4000;
    progress.update(4000, 4000);
    progress.finish();
    expect(out.written.at(-1)).toBe(`\r[${'#'.repeat(30)}] converting user_session: 4000/4000 rows (100%), 1000 rows/s, done\x1b[K\n`);
  });

  test('elsewhere: plain lines, one per tenth of the work, and none repeated at the end', () => {
    let now = 0;
    const out = output(false);
    const progress = createProgress(out, 'converting t', () => now);
    for (let done = 0; done <= 1000; done += 50) {
      now += 100;
      progress.update(done, 1000);
    }
    progress.finish();
    expect(out.written).toHaveLength(11);
    expect(out.written[0]).toBe('converting t: 0/1000 rows (0%), 0 rows/s, ETA ?\n');
    expect(out.written[1]).toMatch(/^converting t: 100\/1000 rows \(10%\), \d+ rows\/s, ETA \d+s\n$/);
    expect(out.written.at(-1)).toMatch(/^converting t: 1000\/1000 rows \(100%\), \d+ rows\/s, done\n$/);
    expect(out.written.join('')).not.toContain('\r');
  });

  test('an empty job finishes at once, with one line', () => {
    const out = output(false);
    const progress = createProgress(out, 'converting t', () => 0);
    progress.update(0, 0);
    progress.finish();
    expect(out.written).toEqual(['converting t: 0/0 rows (100%), 0 rows/s, done\n']);
  });
});

describe('duration and parseDuration', () => {
  test.each([
    [12, '12s'],
    [185, '3m05s'],
    [3720, '1h02m'],
    [Number.POSITIVE_INFINITY, '?'],
  ])('duration(%d) is %s', (seconds, text) => {
    expect(duration(seconds)).toBe(text);
  });

  test.each([
    ['30d', 2_592_000],
    ['12h', 43_200],
    ['90m', 5400],
    ['3600s', 3600],
  ])('parseDuration(%j) is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each(['', '30', '0d', '-1d', '1.5d', '30 days', '1w', 'd'])('parseDuration(%j) is no duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  hashData,
  isWellFormedToken,
  randomTokenGenerator,
  tokenExpireAtGenerator,
  tokenGenerator,
} from '../../src/tokens/opaque-token.js';

describe('opaque tokens', () => {
  test('tokenGenerator: 50 characters of [a-z0-9] by default and never fewer', () => {
    expect(tokenGenerator()).toMatch(/^[a-z0-9]{50}$/);
    expect(tokenGenerator(20)).toHaveLength(50);
    expect(tokenGenerator(64)).toMatch(/^[a-z0-9]{64}$/);
  });

  test('tokenGenerator: 10,000 tokens are all distinct', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(tokenGenerator());
    expect(seen.size).toBe(10_000);
  });

  test('randomTokenGenerator: characters are uniform (chi-square, no modulo bias)', () => {
    const counts = new Map<string, number>();
    const sample = randomTokenGenerator(180_000);
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(36);
    const expected = sample.length / 36;
    let chi = 0;
    for (const n of counts.values()) chi += (n - expected) ** 2 / expected;
    // 35 degrees of freedom: p = 0.0001 at about 74.
    expect(chi).toBeLessThan(74);
  });

  test('no Math.random anywhere in src/', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk(join(import.meta.dirname, '../../src'));
    const offenders = files.filter((f) => readFileSync(f, 'utf8').includes('Math.random'));
    expect(offenders).toEqual([]);
  });

  test('hashData: SHA-256 hex of a string, "" for anything else', () => {
    expect(hashData('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashData(42)).toBe('');
    expect(hashData(undefined)).toBe('');
  });

  test('tokenExpireAtGenerator: now + ttl in UTC', () => {
    expect(tokenExpireAtGenerator(60, Date.UTC(2026, 10, 27, 12)).toISOString()).toBe('2026-11-27T12:01:00.000Z');
  });

  test('isWellFormedToken: exact length and alphabet only', () => {
    const good = tokenGenerator();
    expect(isWellFormedToken(good, 50)).toBe(true);
    expect(isWellFormedToken(good.slice(1), 50)).toBe(false);
    expect(isWellFormedToken(`${good}a`, 50)).toBe(false);
    expect(isWellFormedToken(`A${good.slice(1)}`, 50)).toBe(false);
    expect(isWellFormedToken(`-${good.slice(1)}`, 50)).toBe(false);
    expect(isWellFormedToken('x'.repeat(65_536), 50)).toBe(false);
  });
});

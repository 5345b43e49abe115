import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { MemorySessionCache } from '../../src/cache/memory-session-cache.js';
import type { CachedSession } from '../../src/core/session-cache.js';
import { FakeClock } from '../helpers/fake-clock.js';

function entry(fields: Partial<CachedSession> = {}): CachedSession {
  const id = fields.id ?? randomUUID();
  return {
    id,
    userId: 7,
    keyHash: createHash('sha256').update(`token-${id}`).digest('hex'),
    expireAt: null,
    lastOnline: 1_000,
    lastIp: '203.0.113.7',
    userAgent: 'curl/8.5.0',
    createdAt: 1_000,
    authenticatedAt: 1_000,
    user: { id: 7, isActive: true },
    ...fields,
  };
}

const ref = (e: CachedSession) => ({ id: e.id, keyHash: e.keyHash, userId: e.userId });

describe('MemorySessionCache', () => {
  test('byKeyHash / byId: a hit is answered synchronously, not with a promise', () => {
    const cache = new MemorySessionCache();
    const e = entry();
    cache.set(e, 1000, cache.epoch());
    const byHash = cache.byKeyHash(e.keyHash);
    const byId = cache.byId(e.id);
    expect(byHash).not.toBeInstanceOf(Promise);
    expect(byHash).toBe(e);
    expect(byId).toBe(e);
  });

  test('ttl: an entry is gone once its ttl has passed, from both indexes', () => {
    const clock = new FakeClock(1_000_000);
    const cache = new MemorySessionCache({ clock: clock.now });
    const e = entry();
    cache.set(e, 1000, cache.epoch());
    clock.advance(999);
    expect(cache.byId(e.id)).toBe(e);
    clock.advance(2);
    expect(cache.byId(e.id)).toBeUndefined();
    expect(cache.byKeyHash(e.keyHash)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('update: replaces the entry and keeps its expiry', () => {
    const clock = new FakeClock(1_000_000);
    const cache = new MemorySessionCache({ clock: clock.now });
    const e = entry();
    cache.set(e, 1000, cache.epoch());
    clock.advance(600);
    const touched = { ...e, lastOnline: 1_600, lastIp: '198.51.100.1' };
    cache.update(touched);
    expect(cache.byId(e.id)).toBe(touched);
    expect(cache.remainingTtlMs(e.keyHash)).toBe(400);
    clock.advance(401);
    expect(cache.byKeyHash(e.keyHash)).toBeUndefined();
  });

  test('update: does nothing for a session that is not cached', () => {
    const cache = new MemorySessionCache();
    const e = entry();
    cache.update(e);
    expect(cache.byKeyHash(e.keyHash)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('max: the least recently used sessions are evicted, from both indexes', () => {
    const cache = new MemorySessionCache({ max: 3 });
    const entries = [entry(), entry(), entry(), entry(), entry()];
    for (const e of entries) cache.set(e, 10_000, cache.epoch());
    expect(cache.size).toBe(3);
    expect(cache.byId((entries[0] as CachedSession).id)).toBeUndefined();
    expect(cache.byKeyHash((entries[1] as CachedSession).keyHash)).toBeUndefined();
    expect(cache.byId((entries[4] as CachedSession).id)).toBe(entries[4]);
  });

  test('epoch: a fill that read the store before an invalidation is refused', () => {
    const cache = new MemorySessionCache();
    const e = entry();
    const epoch = cache.epoch();
    cache.invalidate([ref(entry())]);
    cache.set(e, 1000, epoch);
    expect(cache.byKeyHash(e.keyHash)).toBeUndefined();
    cache.set(e, 1000, cache.epoch());
    expect(cache.byKeyHash(e.keyHash)).toBe(e);
  });

  test('clear: drops everything and moves the epoch', () => {
    const cache = new MemorySessionCache();
    const e = entry();
    cache.set(e, 1000, cache.epoch());
    const epoch = cache.epoch();
    cache.clear();
    expect(cache.epoch()).not.toBe(epoch);
    expect(cache.byId(e.id)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('invalidate: finds the entry by id even when the ref carries another key hash', () => {
    const cache = new MemorySessionCache();
    const e = entry();
    cache.set(e, 1000, cache.epoch());
    cache.invalidate([{ id: e.id, keyHash: 'f'.repeat(64), userId: 7 }]);
    expect(cache.byKeyHash(e.keyHash)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('set: a session re-cached under a new key hash leaves no entry under the old one', () => {
    const cache = new MemorySessionCache();
    const e = entry();
    const rekeyed = { ...e, keyHash: 'a'.repeat(64) };
    cache.set(e, 1000, cache.epoch());
    cache.set(rekeyed, 1000, cache.epoch());
    expect(cache.byKeyHash(e.keyHash)).toBeUndefined();
    expect(cache.byId(e.id)).toBe(rekeyed);
    expect(cache.size).toBe(1);
  });

  test('set: a ttl that is not positive stores nothing', () => {
    const cache = new MemorySessionCache();
    const e = entry();
    cache.set(e, 0, cache.epoch());
    cache.set(e, Number.NaN, cache.epoch());
    expect(cache.size).toBe(0);
  });

  test('options: a bad max or clock is a TypeError naming the option', () => {
    expect(() => new MemorySessionCache({ max: 0 })).toThrow(/"max"/);
    expect(() => new MemorySessionCache({ max: 1.5 })).toThrow(TypeError);
    expect(() => new MemorySessionCache({ clock: 5 as unknown as () => number })).toThrow(/"clock"/);
  });
});
